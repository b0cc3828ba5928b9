"""Rasa NLU component: the intent classifier, a linear support vector machine over what a message says and what it
means.

Features: TF-IDF of word uni- and bigrams and of character 2-5-grams within words (sublinear counts, so a
typo or a Dutch inflection still shares most of its n-grams), beside the sentence vectors of
bot.featurizers.SentenceEncoderFeaturizer (less their mean over the training examples), the sparse sentence
features of the pipeline's sparse featurizers (Rasa's RegexFeaturizer: one 0/1 feature for each lookup table and
regex of data/nlu/lookups.yml; bot.featurizers.EntityLabelFeaturizer: one for each kind of entity the message
names) and the message's shape: how many words (1, 2, 3, 4-6, 7 or more) and whether it ends in a question mark
("danke" and "Italy" are one word, a question to answer is seldom one).

The model: scikit-learn's LinearSVC (one machine per intent against the rest, squared hinge loss). Its confidences
are the softmax of the intents' margins times `temperature`, the temperature at which the confidences fit the
held-out folds best (lowest log loss). Chosen by cross-validation (the figures in get_default_config): higher
intent macro-F1 than the logistic regression it replaced, and better-fitting confidences; README.md (`make bench`)
compares the pipeline with DIET and with Rasa's default pipeline. It fits in seconds.

The trained model is kept as JSON and NumPy arrays (no pickle: loading a model runs no code of the file).
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional, Text

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.featurizers import SentenceEncoderFeaturizer

logger = logging.getLogger(__name__)
WORD = re.compile(r"\w", re.UNICODE)
WORDS = re.compile(r"\w+", re.UNICODE)


def shape_features(texts: List[Text]) -> np.ndarray:
    """0/1 features of each text's shape: 1, 2, 3, 4-6 or 7+ words; ends in a question mark."""
    rows = []
    for text in texts:
        n = len(WORDS.findall(text))
        rows.append([n == 1, n == 2, n == 3, 4 <= n <= 6, n >= 7, text.rstrip().endswith("?")])
    return np.array(rows, dtype=np.float32).reshape(len(texts), 6)

def confidences(margins: np.ndarray, temperature: float) -> np.ndarray:
    """The intents' confidences from a linear SVM's margins, (messages, intents): the softmax of the margins times the
    temperature. For two intents the SVM has one machine, whose margin m (one column) speaks for the second intent
    against the first: the softmax of (-m, m)."""
    margins = np.asarray(margins).reshape(len(margins), -1)
    if margins.shape[1] == 1:
        margins = np.hstack([-margins, margins])
    scores = (margins - margins.max(axis=1, keepdims=True)) * temperature
    p = np.exp(scores)
    return p / p.sum(axis=1, keepdims=True)


# The two TF-IDF views of the text; their settings are part of the model, saved with it.
VECTORIZERS = {
    "words": {"analyzer": "word", "ngram_range": (1, 2)},
    "chars": {"analyzer": "char_wb", "ngram_range": (2, 5)},
}


def _vectorizer(settings: Dict[str, Any], vocabulary: Optional[Dict[str, int]] = None,
                idf: Optional[np.ndarray] = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(lowercase=True, sublinear_tf=True, analyzer=settings["analyzer"],
                                 ngram_range=tuple(settings["ngram_range"]), vocabulary=vocabulary,
                                 dtype=np.float32)
    if vocabulary is not None:
        vectorizer._validate_vocabulary()
        vectorizer.idf_ = idf
    return vectorizer


class TfidfRows:
    """A fitted TfidfVectorizer's transform (sublinear tf, idf, l2 norm, as _vectorizer configures it) for the few
    messages of a turn, without scikit-learn's per-call checks and its product with an n x n diagonal idf matrix:
    about a millisecond a turn for the two views. The same rows (float32; tested against scikit-learn's)."""

    def __init__(self, vectorizer) -> None:
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float32)

    def transform(self, texts: List[Text]) -> csr_matrix:
        indptr, indices, data = [0], [], []
        for text in texts:
            counts: Dict[int, int] = {}
            for gram in self.analyze(text):
                column = self.vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
            values = np.log(np.fromiter((counts[c] for c in columns), dtype=np.float32, count=len(counts))) + 1
            values *= self.idf[columns]
            norm = np.sqrt(np.dot(values, values))
            if norm > 0:
                values /= norm
            indices.append(columns)
            data.append(values)
            indptr.append(indptr[-1] + len(columns))
        return csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                           np.concatenate(indices) if indices else np.zeros(0, np.int32), indptr),
                          shape=(len(texts), len(self.idf)), dtype=np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(IntentClassifier, GraphComponent):
    """A linear SVM over TF-IDF n-grams, the sentence encoders' vectors and the pipeline's sparse features."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # 5-fold CV, 5,930 examples, 3 fold seeds (mean intent macro-F1), with the entity-label features:
        # C: the SVM's inverse regularisation strength. 0.5: 0.9503, 1: 0.9513, 2: 0.9516; the hinge loss instead of
        # its square 0.9507, balanced class weights 0.9507. The logistic regression used before (C = 30): 0.9466
        # with the entity labels, 0.9462 without (where the SVM has 0.9484).
        # temperature: the scale of the margins before the softmax. Log loss of the held-out confidences: 3: 0.292,
        # 4: 0.203, 5: 0.181, 6: 0.181, 8: 0.204 (the logistic regression's: 0.223).
        # sentence_weight: the sentence vectors' scale beside the unit-length TF-IDF rows. shape_weight: the scale
        # of the shape features (scripts/quick_intent_cv.py on 5,655 examples: without them 0.926, 0.5: 0.929).
        return {"C": 1.0, "temperature": 5.0, "sentence_weight": 1.0, "shape_weight": 0.5, "max_iter": 5000,
                "ranking_length": 10}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        for key in ("C", "temperature", "sentence_weight", "shape_weight", "max_iter"):
            if not isinstance(config.get(key), (int, float)) or config[key] <= 0:
                raise InvalidConfigException(f"SentenceIntentClassifier: {key} must be a positive number")

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self._model_storage, self._resource = model_storage, resource
        self.vectorizers: Dict[str, Any] = {}
        self._rows: Dict[str, TfidfRows] = {}
        self.classes: Optional[np.ndarray] = None
        self.coef: Optional[np.ndarray] = None  # (classes, features), as scikit-learn keeps it
        # the same weights transposed and contiguous: (features, classes), what a message's sparse row is multiplied
        # by (through coef.T, SciPy would copy all of coef, some 5 MB, on every message)
        self._weights: Optional[np.ndarray] = None
        self.intercept: Optional[np.ndarray] = None
        self.sparse_width = 0  # how many sparse sentence features the pipeline's featurizers gave in training
        self.sentence_mean: Optional[np.ndarray] = None  # the training examples' mean sentence vector

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceIntentClassifier":
        return cls(config, model_storage, resource)

    # -- features -------------------------------------------------------------------------------------
    def _sentence_vectors(self, messages: List[Message]) -> np.ndarray:
        """The sentence encoders' vectors side by side, less their mean over the training examples (set by train):
        a sentence encoder's vectors share a large common part (two unrelated questions lie at a cosine of 0.7-0.8
        in multilingual-e5-small's space) that tells no intent apart and slows the solver down."""
        vectors = self._dense_rows(messages)
        if self.sentence_mean is not None:
            vectors = vectors - self.sentence_mean
        return vectors * self.config["sentence_weight"]

    @staticmethod
    def _dense_rows(messages: List[Message]) -> np.ndarray:
        """The dense sentence features the featurizers gave each message, as they are: (messages, width)."""
        return np.stack([np.asarray(m.get_dense_features(TEXT)[1].features, dtype=np.float32).reshape(-1)
                         for m in messages])

    @staticmethod
    def _scorable(message: Message) -> bool:
        """A message with a word in it and the encoder's sentence vector. Punctuation alone ("?", ":)") or blank
        text is not scored: TF-IDF drops it whole, and a confident guess on it would be noise."""
        return bool(WORD.search(message.get(TEXT) or "")) and message.get_dense_features(TEXT)[1] is not None

    @staticmethod
    def _sparse_row(message: Message) -> Optional[csr_matrix]:
        features = message.get_sparse_features(TEXT)[1]
        return None if features is None else csr_matrix(features.features, dtype=np.float32)

    def _sparse_features(self, messages: List[Message]) -> csr_matrix:
        """The other featurizers' sparse sentence features (RegexFeaturizer's pattern matches); a message they
        left without features (no tokens) gets zeros, so every row has the width seen in training."""
        rows = []
        for message in messages:
            row = self._sparse_row(message)
            if row is None or row.shape[1] != self.sparse_width:
                row = csr_matrix((1, self.sparse_width), dtype=np.float32)
            rows.append(row)
        return vstack(rows)

    def _features(self, messages: List[Message]) -> csr_matrix:
        texts = [m.get(TEXT) for m in messages]
        parts = [self._rows[name].transform(texts) for name in VECTORIZERS]
        if self.sparse_width:
            parts.append(self._sparse_features(messages))
        parts.append(csr_matrix(shape_features(texts) * self.config["shape_weight"]))
        return hstack(parts + [csr_matrix(self._sentence_vectors(messages))]).tocsr()

    # -- training -------------------------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.svm import LinearSVC

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.warning("SentenceIntentClassifier: fewer than two intents to learn; not trained")
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        widths = {row.shape[1] for row in map(self._sparse_row, examples) if row is not None}
        self.sparse_width = max(widths, default=0)
        self._set_vectorizers({name: _vectorizer(settings).fit(texts) for name, settings in VECTORIZERS.items()})
        self.sentence_mean = self._dense_rows(examples).mean(axis=0)
        # random_state: liblinear visits the examples in a random order; fixed, the same data gives the same model
        clf = LinearSVC(C=self.config["C"], max_iter=int(self.config["max_iter"]), random_state=0)
        clf.fit(self._features(examples), [e.get(INTENT) for e in examples])
        self.classes, self.intercept = clf.classes_, clf.intercept_
        self._set_coef(clf.coef_.astype(np.float32))
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            meta = {"classes": [str(c) for c in self.classes], "sparse_width": self.sparse_width,
                    "vectorizers": {name: {"settings": VECTORIZERS[name],
                                           "vocabulary": {k: int(v) for k, v in v_.vocabulary_.items()}}
                                    for name, v_ in self.vectorizers.items()}}
            (directory / "intent_classifier.json").write_text(json.dumps(meta, ensure_ascii=False))
            np.savez(directory / "intent_classifier.npz", coef=self.coef, intercept=self.intercept,
                     sentence_mean=self.sentence_mean,
                     **{f"idf_{name}": v.idf_ for name, v in self.vectorizers.items()})

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SentenceIntentClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "intent_classifier.json").read_text())
                with np.load(directory / "intent_classifier.npz", allow_pickle=False) as arrays:
                    component._set_coef(arrays["coef"])
                    component.intercept = arrays["intercept"]
                    component.sentence_mean = arrays["sentence_mean"] if "sentence_mean" in arrays.files else None
                    component._set_vectorizers({
                        name: _vectorizer(v["settings"], v["vocabulary"], arrays[f"idf_{name}"])
                        for name, v in meta["vectorizers"].items()})
                component.classes = np.array(meta["classes"])
                component.sparse_width = int(meta.get("sparse_width", 0))
        except (ValueError, FileNotFoundError):
            logger.warning("SentenceIntentClassifier: no trained model in the model storage; every message will get "
                           "no intent (the fallback)")
        return component

    def _set_vectorizers(self, vectorizers: Dict[str, Any]) -> None:
        self.vectorizers = vectorizers
        self._rows = {name: TfidfRows(v) for name, v in vectorizers.items()}

    def _set_coef(self, coef: np.ndarray) -> None:
        self._weights = np.ascontiguousarray(coef.T)
        self.coef = self._weights.T  # a view: one copy of the weights in memory

    # -- prediction -----------------------------------------------------------------------------------
    def _probabilities(self, features: csr_matrix) -> np.ndarray:
        # in float32, as the weights are (float64 features would make SciPy convert all the weights on every call)
        margins = features.astype(np.float32, copy=False) @ self._weights + self.intercept
        return confidences(margins, self.config["temperature"])

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets the intent and its ranking on every message, as Rasa's classifiers do: a message that cannot
        be scored (see _scorable, or no trained model) gets no intent at confidence 0, so the fallback answers."""
        todo = [m for m in messages if self.classes is not None and self._scorable(m)]
        scored = {id(m) for m in todo}
        for message in messages:
            if id(message) not in scored:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        if not todo:
            return messages
        for message, p in zip(todo, self._probabilities(self._features(todo))):
            order = np.argsort(-p)
            ranking = [{"name": str(self.classes[i]), "confidence": float(p[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: self.config["ranking_length"]], add_to_output=True)
        return messages
