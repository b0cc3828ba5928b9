#!/usr/bin/env python3
"""Intent cross-validation in a few minutes, while writing training data: the features and model of
bot/classifiers.py (TF-IDF word 1-2-grams and character 2-5-grams, the sentence vectors of config.yml's
encoders at their weights, a 0/1 feature for each lookup table and regex and for each kind of entity the spaCy
pipeline finds, the message's shape; a linear SVM) over 5 stratified folds of data/nlu, in scikit-learn instead
of through Rasa's graph. `make bench` gives the pipeline's own figures.

    .venv/bin/python scripts/quick_intent_cv.py            # macro-F1 and accuracy
    .venv/bin/python scripts/quick_intent_cv.py --report   # + per-intent F1, top confusions, the wrong examples
    .venv/bin/python scripts/quick_intent_cv.py --seed 1   # other folds: the seed alone moves macro-F1 by ~0.005

Sentence vectors are cached in var/cache/ (a file per encoder and runtime, keyed by text), so a second run only
encodes what changed.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "var" / "cache"


def load(folder: Path = ROOT / "data" / "nlu"):
    """(text, intent, file) for every intent example, and the lookup tables and regexes as Rasa's RegexFeaturizer
    compiles them (configured as in config.yml: whole words, any case), all read by Rasa's own loader."""
    from rasa.nlu.utils.pattern_utils import extract_patterns
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    rows, merged = [], None
    for path in sorted(folder.glob("*.yml")):
        data = load_data(str(path))
        rows += [(m.get(TEXT), m.get(INTENT), path.name) for m in data.intent_examples]
        merged = data if merged is None else merged.merge(data)
    patterns = [(p["name"], re.compile(p["pattern"], re.IGNORECASE)) for p in extract_patterns(merged)]
    return rows, patterns


def encoders(config_file: Path = ROOT / "config.yml"):
    """The sentence encoders of config.yml's pipeline, each with its full settings (model, runtime, weight, model_dir)."""
    import yaml

    from bot.featurizers import SentenceEncoderFeaturizer

    pipeline = yaml.safe_load(config_file.read_text())["pipeline"]
    return [e for step in pipeline if step["name"].endswith("SentenceEncoderFeaturizer")
            for e in SentenceEncoderFeaturizer.encoder_settings({**SentenceEncoderFeaturizer.get_default_config(), **step})]


def entity_flags(texts, config_file: Path = ROOT / "config.yml"):
    """EntityLabelFeaturizer's features: a 0/1 column for each label the spaCy pipeline (models/spacy, built by
    `mobility train`) finds in the texts, less config.yml's ignore_labels."""
    import spacy
    import yaml

    from bot.nlp import SPACY_DIR

    pipeline = yaml.safe_load(config_file.read_text())["pipeline"]
    step = next((s for s in pipeline if s["name"].endswith("EntityLabelFeaturizer")), None)
    if step is None:
        return np.zeros((len(texts), 0), dtype=np.float32), []
    found = [{e.label_ for e in doc.ents} for doc in spacy.load(SPACY_DIR).pipe(texts)]
    labels = sorted(set().union(*found) - set(step.get("ignore_labels", [])))
    return np.array([[1.0 if label in f else 0.0 for label in labels] for f in found], dtype=np.float32), labels


def sentence_vectors(texts, featurizer):
    """The featurizer's vectors of texts, unweighted."""
    model, runtime = featurizer["model"], featurizer["runtime"]
    cache = CACHE / f"sentences-{model}-{runtime}.npz"
    cached = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            cached = dict(zip(data["texts"].tolist(), data["vectors"]))
    todo = sorted({t for t in texts if t not in cached})
    if todo:
        from bot.featurizers import encoder

        for text, encoded in zip(todo, encoder(featurizer["model_dir"], runtime, model).encode(todo)):
            cached[text] = encoded.sentence.astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(cached)
        np.savez(cache, texts=np.array(keys), vectors=np.stack([cached[k] for k in keys]))
    return np.stack([cached[t] for t in texts])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="per-intent F1, confusions and wrong examples")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-patterns", action="store_true", help="leave the lookup/regex features out")
    parser.add_argument("--C", type=float, default=None, help="the SVM's C (default: the classifier's)")
    parser.add_argument("--seed", type=int, default=0, help="the folds' random seed (default 0)")
    parser.add_argument("--weight", action="append", default=[], metavar="MODEL=W",
                        help="an encoder's weight instead of config.yml's (0 leaves it out); repeatable")
    args = parser.parse_args(argv)

    from scipy.sparse import csr_matrix, hstack
    from sklearn.svm import LinearSVC
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    from bot.classifiers import VECTORIZERS, SentenceIntentClassifier, _vectorizer, confidences, shape_features

    config = SentenceIntentClassifier.get_default_config()
    C = args.C or config["C"]
    rows, found = load()
    texts = [r[0] for r in rows]
    labels = np.array([r[1] for r in rows])
    weights = dict(w.split("=") for w in args.weight)
    vectors = []
    for featurizer in encoders():
        weight = float(weights.get(featurizer["model"], featurizer["weight"]))
        print(f"encoder: {featurizer['model']} ({featurizer['runtime']}), weight {weight:g}")
        if weight:
            vectors.append(sentence_vectors(texts, featurizer) * weight * config["sentence_weight"])
    sentences = np.hstack(vectors)  # less the training fold's mean in each fold, as the classifier does
    dense = shape_features(texts) * config["shape_weight"]
    if found and not args.no_patterns:
        flags = np.array([[1.0 if p.search(t) else 0.0 for _, p in found] for t in texts], dtype=np.float32)
        dense = np.hstack([dense, flags])  # as the classifier takes RegexFeaturizer's features: unscaled
        print("patterns:", ", ".join(f"{name} ({int(flags[:, i].sum())} examples)" for i, (name, _) in enumerate(found)))
    entities, entity_labels = entity_flags(texts)
    if entity_labels:
        dense = np.hstack([dense, entities])
        print("entities:", ", ".join(f"{name} ({int(entities[:, i].sum())})" for i, name in enumerate(entity_labels)))
    predicted = np.empty(len(rows), dtype=object)
    confidence = np.zeros(len(rows))
    for train, test in StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(texts, labels):
        vectorizers = [_vectorizer(s).fit([texts[i] for i in train]) for s in VECTORIZERS.values()]

        mean = sentences[train].mean(axis=0)

        def features(index):
            return hstack([v.transform([texts[i] for i in index]) for v in vectorizers]
                          + [csr_matrix(dense[index]), csr_matrix(sentences[index] - mean)]).tocsr()

        clf = LinearSVC(C=C, max_iter=int(config["max_iter"]), random_state=0).fit(features(train), labels[train])
        p = confidences(clf.decision_function(features(test)), config["temperature"])
        predicted[test] = clf.classes_[p.argmax(1)]
        confidence[test] = p.max(1)
    predicted = predicted.astype(str)
    print(f"{len(rows)} examples, {len(set(labels))} intents, {args.folds} folds (seed {args.seed}), C={C:g}: "
          f"intent macro-F1 {f1_score(labels, predicted, average='macro'):.4f}, "
          f"accuracy {accuracy_score(labels, predicted):.4f}")
    if args.report:
        names = sorted(set(labels))
        scores = f1_score(labels, predicted, average=None, labels=names)
        print("\nper intent (worst first):")
        for name, score in sorted(zip(names, scores), key=lambda x: x[1]):
            print(f"  {score:.3f}  {name} ({(labels == name).sum()})")
        pairs = collections.Counter((t, p) for t, p in zip(labels, predicted) if t != p)
        print("\ntop confusions (true -> predicted):")
        for (t, p), n in pairs.most_common(25):
            print(f"  {n:3d}  {t} -> {p}")
        print("\nwrong examples (true -> predicted, confidence):")
        for i in np.argsort(-confidence):
            if labels[i] != predicted[i]:
                print(f"  {labels[i]} -> {predicted[i]} {confidence[i]:.2f} [{rows[i][2]}] {texts[i]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
