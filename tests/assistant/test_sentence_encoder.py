"""The sentence encoder (bot/minilm.py) and its Rasa component (bot/featurizers.py)."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.classifiers import VECTORIZERS, TfidfRows, _vectorizer
from bot.featurizers import SentenceEncoderFeaturizer, encoder
from bot.minilm import MAX_TOKENS


@pytest.fixture(scope="module")
def model():
    return encoder()


def test_the_encoder_gives_the_similarities_published_for_all_minilm_l6_v2(model):
    # sbert.net, "Usage" (sentence_transformer/usage/usage.html): model.similarity of these three sentences
    # with all-MiniLM-L6-v2 is [[1, 0.6660, 0.1046], [0.6660, 1, 0.1411], [0.1046, 0.1411, 1]].
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    vectors = np.stack([e.sentence for e in model.encode(sentences)])
    published = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(vectors @ vectors.T, published, atol=6e-5)


def test_sentence_vectors_have_unit_length(model):
    for encoded in model.encode(["fees non eu?", "Welke documenten heb ik nodig voor mijn uitwisseling?"]):
        assert encoded.sentence.shape == (model.dimension,)
        assert abs(float(np.linalg.norm(encoded.sentence)) - 1.0) < 1e-5


def test_a_text_encodes_the_same_alone_and_padded_in_a_batch(model):
    short, long = "hi", "Which grant can I get for a three-month internship in Japan after my bachelor at KASK?"
    alone = model.encode([short])[0]
    batched = model.encode([long, short, long], batch_size=3)[1]
    np.testing.assert_allclose(alone.sentence, batched.sentence, atol=1e-5)
    assert (alone.pieces, batched.pieces) == (3, 3)  # [CLS] hi [SEP]


@pytest.fixture(scope="module")
def reference():
    return encoder(runtime="numpy")


def test_onnx_runtime_computes_the_numpy_forward_pass(model, reference):
    assert (model.runtime, reference.runtime) == ("onnxruntime", "numpy")
    texts = ["hi", "fees non eu?", "Welke beurs krijg ik voor een stage van 3 maanden in Japan?", "visa " * 300]
    encodings = [model.tokenizer.encode(t) for t in texts]
    length = max(len(e.ids) for e in encodings)
    ids, mask = np.zeros((len(texts), length), np.int64), np.zeros((len(texts), length), bool)
    for row, e in enumerate(encodings):  # a padded batch: the mask must hide the padding in both
        ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, True
    onnx_hidden, numpy_hidden = model.forward(ids, mask), reference.forward(ids, mask)
    assert onnx_hidden.shape == numpy_hidden.shape == (len(texts), length, 384)
    np.testing.assert_allclose(onnx_hidden[mask], numpy_hidden[mask], atol=2e-4)
    for a, b in zip(model.encode(texts), reference.encode(texts)):
        np.testing.assert_allclose(a.sentence, b.sentence, atol=1e-5)


def test_an_unknown_runtime_is_refused():
    from bot.minilm import MiniLM

    with pytest.raises(ValueError, match="unknown runtime 'torch'"):
        MiniLM(runtime="torch")


def test_a_question_lies_closer_to_its_paraphrase_than_to_another_topic(model):
    fee, paraphrase, other = (e.sentence for e in model.encode(
        ["How much is the tuition fee?", "what will I have to pay to study here", "Which documents do I need to bring?"]))
    assert fee @ paraphrase > fee @ other + 0.2


def test_a_very_long_message_is_truncated_not_refused(model):
    encoded = model.encode(["visa " * 2000])[0]
    assert encoded.pieces == MAX_TOKENS
    assert np.isfinite(encoded.sentence).all()


def _featurizer():
    config = {**SentenceEncoderFeaturizer.get_default_config()}
    return SentenceEncoderFeaturizer(config, "sentence_encoder")


def _tokenized(*texts):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={TEXT: t}) for t in texts]
    tokenizer.process(messages)
    return messages


def test_the_component_adds_the_sentence_vector_as_sentence_features(model):
    message, = _tokenized("Which grant for an internship in Japan?")
    _featurizer().process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None  # no per-token vectors: nothing in the pipeline reads them
    assert sentence.type == FEATURE_TYPE_SENTENCE and sentence.features.shape == (1, 384)
    np.testing.assert_allclose(sentence.features[0], model.encode(["Which grant for an internship in Japan?"])[0].sentence,
                               atol=1e-6)


def test_the_component_featurizes_training_data_as_it_does_a_message():
    one, = _tokenized("Can I pay in instalments?")
    two, = _tokenized("Can I pay in instalments?")
    featurizer = _featurizer()
    featurizer.process([one])
    featurizer.process_training_data(TrainingData(training_examples=[two]))
    np.testing.assert_allclose(one.get_dense_features(TEXT)[1].features, two.get_dense_features(TEXT)[1].features,
                               atol=1e-5)


def test_the_component_leaves_a_message_without_text_alone():
    message = Message(data={"intent": "greet"})
    _featurizer().process([message])
    assert message.features == []


def test_a_wrong_batch_size_is_refused():
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match="batch_size"):
        SentenceEncoderFeaturizer({**SentenceEncoderFeaturizer.get_default_config(), "batch_size": 0}, "x")




# -- the intent classifier ------------------------------------------------------------------------------
TRAINING = {
    "ask_fee": ["how much is the tuition fee", "what will I pay for 60 credits", "fees for non-EU students?",
                "what does a year at KdG cost", "hoeveel is het inschrijvingsgeld", "tuition for a master"],
    "ask_grants": ["which grant can I get for an internship abroad", "is there funding for an exchange",
                   "erasmus grant for a semester in Spain", "money for studying in Japan?",
                   "welke beurs kan ik krijgen", "scholarship to go abroad"],
    "greet": ["hello", "hi there", "good morning", "hey", "hallo", "goeiedag"],
}


def _classifier(tmp_path, **config):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.classifiers import SentenceIntentClassifier

    storage, resource = LocalModelStorage(tmp_path), Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), node_name="intent_classifier")
    config = {**SentenceIntentClassifier.get_default_config(), **config}
    return SentenceIntentClassifier, config, storage, resource, context


def _featurized(*texts):
    messages = _tokenized(*texts)
    _featurizer().process(messages)
    return messages


def _trained(tmp_path, regex=None):
    """The classifier trained on TRAINING (with the pattern features of `regex`, a trained RegexFeaturizer, if
    given) and the same classifier loaded from its model storage."""
    cls, config, storage, resource, context = _classifier(tmp_path)
    examples = []
    for intent, texts in TRAINING.items():
        for message in _featurized(*texts):
            message.set("intent", intent)
            examples.append(message)
    if regex is not None:
        regex.process(examples)
    component = cls.create(config, storage, resource, context)
    component.train(TrainingData(training_examples=examples))
    return component, cls.load(config, storage, resource, context)


def test_the_classifier_recognises_unseen_wordings_after_being_saved_and_loaded(tmp_path):
    _, loaded = _trained(tmp_path)
    messages = _featurized("What are the tuition costs for 30 credits?", "any grants for a traineeship in Chile?",
                           "hiya")
    loaded.process(messages)
    assert [m.get("intent")["name"] for m in messages] == ["ask_fee", "ask_grants", "greet"]
    for m in messages:
        ranking = m.get("intent_ranking")
        confidences = [r["confidence"] for r in ranking]
        assert confidences == sorted(confidences, reverse=True) and abs(sum(confidences) - 1) < 1e-5
        assert m.get("intent") == ranking[0]


def test_the_classifier_reads_the_sentence_vectors_less_the_training_examples_mean(tmp_path):
    trained, loaded = _trained(tmp_path)
    training = [m for texts in TRAINING.values() for m in _featurized(*texts)]
    mean = np.mean([m.get_dense_features(TEXT)[1].features[0] for m in training], axis=0)
    np.testing.assert_allclose(trained.sentence_mean, mean, atol=1e-6)
    np.testing.assert_allclose(loaded.sentence_mean, mean, atol=1e-6)
    message, = _featurized("hoeveel kost een jaar?")
    np.testing.assert_allclose(loaded._sentence_vectors([message])[0],
                               (message.get_dense_features(TEXT)[1].features[0] - mean) * loaded.config["sentence_weight"],
                               atol=1e-6)


def test_the_loaded_classifier_gives_the_trained_ones_confidences(tmp_path):
    trained, loaded = _trained(tmp_path)
    one, two = _featurized("hoeveel kost een jaar?"), _featurized("hoeveel kost een jaar?")
    trained.process(one)
    loaded.process(two)
    before, after = one[0].get("intent_ranking"), two[0].get("intent_ranking")
    assert [r["name"] for r in before] == [r["name"] for r in after]
    assert [r["confidence"] for r in before] == pytest.approx([r["confidence"] for r in after], abs=1e-6)


def test_the_confidences_are_the_softmax_of_the_svms_margins_times_the_temperature(tmp_path):
    from sklearn.svm import LinearSVC

    trained, loaded = _trained(tmp_path)
    training = [m for texts in TRAINING.values() for m in _featurized(*texts)]
    labels = [intent for intent, texts in TRAINING.items() for _ in texts]
    svm = LinearSVC(C=loaded.config["C"], max_iter=int(loaded.config["max_iter"]), random_state=0).fit(
        trained._features(training).toarray(), labels)
    message, = _featurized("hoeveel kost een jaar?")
    margins = svm.decision_function(loaded._features([message]).toarray())[0] * loaded.config["temperature"]
    expected = np.exp(margins - margins.max()) / np.exp(margins - margins.max()).sum()
    loaded.process([message])
    got = {r["name"]: r["confidence"] for r in message.get("intent_ranking")}
    assert [got[c] for c in svm.classes_] == pytest.approx(expected.tolist(), abs=1e-4)


def test_with_two_intents_the_one_margin_decides_between_them(tmp_path):
    cls, config, storage, resource, context = _classifier(tmp_path)
    examples = []
    for intent in ("ask_fee", "greet"):
        for message in _featurized(*TRAINING[intent]):
            message.set("intent", intent)
            examples.append(message)
    component = cls.create(config, storage, resource, context)
    component.train(TrainingData(training_examples=examples))
    messages = _featurized("what is the tuition for 30 credits?", "hiya")
    loaded = cls.load(config, storage, resource, context)
    loaded.process(messages)
    assert [m.get("intent")["name"] for m in messages] == ["ask_fee", "greet"]
    # one machine: its margin m speaks for the second intent (greet) against the first, so p(greet) = softmax of
    # (-m, m) x T = sigmoid(2 T m)
    margins = np.asarray(loaded._features(messages).toarray() @ component.coef.T + component.intercept).ravel()
    for m, margin in zip(messages, margins):
        greet = next(r["confidence"] for r in m.get("intent_ranking") if r["name"] == "greet")
        assert greet == pytest.approx(1 / (1 + np.exp(-2 * config["temperature"] * margin)), abs=1e-5)


# greetings the examples above never contain: only the lookup table can tell the classifier what they are
GREETINGS = {"name": "social_greeting", "elements": ["hello", "hallo", "merhaba", "konnichiwa", "dzień dobry"]}


def _regex_featurizer(tmp_path, lookups):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer

    config = {**RegexFeaturizer.get_default_config(), "case_sensitive": False}
    featurizer = RegexFeaturizer.create(config, LocalModelStorage(tmp_path), Resource("regex"),
                                        ExecutionContext(GraphSchema({}), node_name="regex"))
    featurizer.train(TrainingData(lookup_tables=lookups))
    return featurizer


def _trained_with_lookups(tmp_path):
    regex = _regex_featurizer(tmp_path, [GREETINGS])
    return (regex, *_trained(tmp_path, regex))


def test_the_classifier_reads_the_lookup_tables_features_and_keeps_their_width_when_loaded(tmp_path):
    regex, trained, loaded = _trained_with_lookups(tmp_path)
    assert trained.sparse_width == loaded.sparse_width == 1
    one, two = regex.process(_featurized("merhaba!")), regex.process(_featurized("merhaba!"))
    trained.process(one)
    loaded.process(two)
    assert one[0].get("intent")["name"] == two[0].get("intent")["name"] == "greet"
    assert one[0].get("intent")["confidence"] == pytest.approx(two[0].get("intent")["confidence"], abs=1e-6)


def test_a_word_of_a_lookup_table_moves_the_intent_its_table_stands_for(tmp_path):
    regex, _, loaded = _trained_with_lookups(tmp_path)
    with_table = regex.process(_featurized("konnichiwa"))
    without = _featurized("konnichiwa")  # the same message, no pattern features: zeros in their place
    loaded.process(with_table + without)
    greet = [next(r["confidence"] for r in m.get("intent_ranking") if r["name"] == "greet")
             for m in with_table + without]
    assert with_table[0].get("intent")["name"] == "greet"
    odds = [p / (1 - p) for p in greet]
    assert odds[0] > 3 * odds[1]  # the table's feature at least triples the odds of greet


def test_a_classifier_trained_without_pattern_features_ignores_them(tmp_path):
    _, loaded = _trained(tmp_path)
    assert loaded.sparse_width == 0
    regex = _regex_featurizer(tmp_path, [GREETINGS])
    plain, featurized = _featurized("hoeveel kost een jaar?"), regex.process(_featurized("hoeveel kost een jaar?"))
    loaded.process(plain + featurized)
    assert plain[0].get("intent_ranking") == featurized[0].get("intent_ranking")


@pytest.mark.parametrize("text", ["   ", "?", ":)", "..."])
def test_blank_or_punctuation_only_text_gets_no_intent_so_the_fallback_answers(tmp_path, text):
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    _, loaded = _trained(tmp_path)
    message, = _featurized(text)
    loaded.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    FallbackClassifier(FallbackClassifier.get_default_config()).process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_a_message_without_the_encoders_vector_gets_no_intent(tmp_path):
    trained, _ = _trained(tmp_path)
    message, = _tokenized("how much is it?")
    trained.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}


def test_an_untrained_classifier_gives_no_intent_and_the_fallback_answers(tmp_path):
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    cls, config, storage, resource, context = _classifier(tmp_path)
    loaded = cls.load(config, storage, resource, context)
    message, = _featurized("how much is it?")
    loaded.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    FallbackClassifier(FallbackClassifier.get_default_config()).process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_the_shape_features_count_the_words_and_see_the_question_mark():
    from bot.classifiers import shape_features

    rows = shape_features(["danke", "fees non-EU?", "hoeveel kost het?", "what will I pay for 60 credits ?", ""])
    assert rows.tolist() == [[1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 1, 1],
                             [0, 0, 0, 0, 0, 0]]


@pytest.mark.parametrize("key, value", [("C", 0), ("sentence_weight", -1), ("shape_weight", "big"),
                                        ("max_iter", "many")])
def test_a_wrong_classifier_setting_is_refused(tmp_path, key, value):
    from rasa.shared.exceptions import InvalidConfigException

    cls, config, storage, resource, context = _classifier(tmp_path, **{key: value})
    with pytest.raises(InvalidConfigException, match=key):
        cls.create(config, storage, resource, context)


def test_an_onnx_encoder_says_it_has_no_numpy_weights(model):
    with pytest.raises(RuntimeError, match="runtime='numpy'"):
        model.onnx_model()
    with pytest.raises(RuntimeError, match="keeps no NumPy weights"):
        model.forward_numpy(np.zeros((1, 3), np.int64), np.ones((1, 3), bool))


@pytest.mark.parametrize("view", sorted(VECTORIZERS))
def test_the_classifiers_tfidf_rows_are_scikit_learns(view):
    """TfidfRows (the turn's fast path) against the fitted vectorizer's own transform, on seen and unseen text."""
    texts = [t for examples in TRAINING.values() for t in examples]
    vectorizer = _vectorizer(VECTORIZERS[view]).fit(texts)
    asked = texts[:5] + ["Kan ik in schijven betalen? fees fees FEES", "", "zzz qqq", "?!", "fees" * 40, "Überweisung"]
    ours, theirs = TfidfRows(vectorizer).transform(asked), vectorizer.transform(asked)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.sorted_indices().indices)
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=1e-5, atol=1e-7)
