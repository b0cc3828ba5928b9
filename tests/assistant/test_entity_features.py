"""bot.featurizers.EntityLabelFeaturizer: one 0/1 sentence feature per kind of entity the spaCy pipeline finds."""
from __future__ import annotations

import pytest
import spacy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.featurizers import EntityLabelFeaturizer

PATTERNS = [
    {"label": "country", "pattern": "Japan"}, {"label": "country", "pattern": "Chile"},
    {"label": "activity", "pattern": "internship"},
    {"label": "duration", "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": ["months", "maanden"]}}]},
    {"label": "credits", "pattern": [{"LIKE_NUM": True}, {"LOWER": "credits"}]},
    {"label": "not_entity", "pattern": "study credits"},
]


@pytest.fixture(scope="module")
def nlp():
    pipeline = spacy.blank("en")
    pipeline.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"}).add_patterns(PATTERNS)
    return pipeline


def _parsed(nlp, *texts):
    """Messages as SpacyNLP leaves them: the spaCy doc of their text set."""
    messages = [Message(data={TEXT: t}) for t in texts]
    for message in messages:
        message.set(SPACY_DOCS[TEXT], nlp(message.get(TEXT)))
    return messages


def _featurizer(tmp_path, **config):
    config = {**EntityLabelFeaturizer.get_default_config(), **config}
    return config, LocalModelStorage(tmp_path), Resource("entity_labels"), ExecutionContext(GraphSchema({}), "entity_labels")


def _trained(tmp_path, nlp, **config):
    """The featurizer trained on a few examples, and the same featurizer loaded from its model storage."""
    config, storage, resource, context = _featurizer(tmp_path, **config)
    featurizer = EntityLabelFeaturizer.create(config, storage, resource, context)
    featurizer.train(TrainingData(training_examples=_parsed(
        nlp, "grant for an internship in Japan", "3 months in Chile", "fee for 60 credits", "price per study credits",
        "hello")))
    return featurizer, EntityLabelFeaturizer.load(config, storage, resource, context)


def _row(message):
    sequence, sentence = message.get_sparse_features(TEXT)
    assert sequence is None and sentence.type == FEATURE_TYPE_SENTENCE
    return sentence.features.toarray()[0].tolist()


def test_the_labels_are_those_found_in_training_sorted_and_kept_with_the_model(tmp_path, nlp):
    trained, loaded = _trained(tmp_path, nlp)
    assert trained.labels == loaded.labels == ["activity", "country", "credits", "duration", "not_entity"]


def test_ignored_labels_get_no_feature(tmp_path, nlp):
    trained, loaded = _trained(tmp_path, nlp, ignore_labels=["not_entity"])
    assert loaded.labels == ["activity", "country", "credits", "duration"]


def test_a_message_gets_a_one_for_each_kind_of_entity_it_names(tmp_path, nlp):
    _, loaded = _trained(tmp_path, nlp, ignore_labels=["not_entity"])
    internship, two_countries, nothing = _parsed(nlp, "an internship of 5 maanden in Japan", "Japan or Chile?",
                                                 "how do I apply")
    loaded.process([internship, two_countries, nothing])
    assert _row(internship) == [1.0, 1.0, 0.0, 1.0]  # activity, country, -, duration
    assert _row(two_countries) == [0.0, 1.0, 0.0, 0.0]  # a kind of entity counts once
    assert _row(nothing) == [0.0, 0.0, 0.0, 0.0]


def test_training_data_is_featurized_as_a_message_is(tmp_path, nlp):
    _, loaded = _trained(tmp_path, nlp)
    one, two = _parsed(nlp, "60 credits in Chile"), _parsed(nlp, "60 credits in Chile")
    loaded.process(one)
    loaded.process_training_data(TrainingData(training_examples=two))
    assert _row(one[0]) == _row(two[0]) == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_a_message_without_a_spacy_doc_is_left_alone(tmp_path, nlp):
    _, loaded = _trained(tmp_path, nlp)
    message = Message(data={TEXT: "Japan"})
    loaded.process([message])
    assert message.features == []


def test_an_untrained_featurizer_adds_nothing(tmp_path, nlp):
    config, storage, resource, context = _featurizer(tmp_path)
    loaded = EntityLabelFeaturizer.load(config, storage, resource, context)
    message, = _parsed(nlp, "internship in Japan")
    loaded.process([message])
    assert loaded.labels == [] and message.features == []


@pytest.mark.parametrize("value", ["not_entity", [1], None])
def test_wrong_ignore_labels_are_refused(tmp_path, value):
    config, storage, resource, context = _featurizer(tmp_path, ignore_labels=value)
    with pytest.raises(InvalidConfigException, match="ignore_labels"):
        EntityLabelFeaturizer.create(config, storage, resource, context)
