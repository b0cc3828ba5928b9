"""Builds the assistant's spaCy pipeline from the knowledge base: a tokenizer and an entity ruler.

No spaCy model can be downloaded on these machines, and none is needed: the entities the assistant
needs (countries and nationalities in English and Dutch, Belgian Communities, grants, residence cards,
programme types, ...) are a closed vocabulary held by the knowledge base.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from knowledge.kb import KnowledgeBase
from knowledge.vocabulary import entity_patterns

SPACY_DIR = Path(__file__).resolve().parent.parent / "models" / "spacy" / "mobility_en"
CONFIG = Path(__file__).resolve().parent.parent / "config.yml"


def extractor_labels() -> set:
    """The entity labels Rasa's SpacyEntityExtractor keeps (its `dimensions` in config.yml): what the action
    server receives of the ruler's entities (helper labels such as not_entity never reach it)."""
    import yaml

    pipeline = yaml.safe_load(CONFIG.read_text())["pipeline"]
    return set(next(c for c in pipeline if c["name"] == "SpacyEntityExtractor")["dimensions"])


def build_pipeline(kb: KnowledgeBase):
    """A blank English pipeline with an entity ruler holding the knowledge base's patterns."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(entity_patterns(kb))
    nlp.meta["name"] = "mobility_en"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Entity ruler built from the mobility-assistant knowledge base"
    return nlp


def patterns_fingerprint(kb: KnowledgeBase) -> str:
    return hashlib.sha256(json.dumps(entity_patterns(kb), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def ensure_pipeline(kb: KnowledgeBase, target: Path = SPACY_DIR) -> Path:
    """Write the pipeline to disk unless the one there was built from the same patterns."""
    stamp = target / "patterns.sha"
    fp = patterns_fingerprint(kb)
    if stamp.exists() and stamp.read_text() == fp:
        return target
    nlp = build_pipeline(kb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    stamp.write_text(fp)
    return target
