"""A destination named by its city ("a semester in Oslo") is the city's country for the grant search; a city
is never read as the user's nationality, and a country named beside it wins."""
from __future__ import annotations

import pytest

from actions.fees import ActionQuoteFee
from actions.grants import ActionFindGrants
from knowledge.grants import find


def fitting_names(kb, **query):
    return {g["name"] for g in find(kb, query)["fits"]}


@pytest.mark.parametrize("question,code,city", [
    ("Thinking of a semester in Oslo next year, which grant is there?", "NO", "Oslo"),
    ("which grant for a 3 month internship in tokyo?", "JP", "tokyo"),
    ("I want to study at an art school in Montréal, any grants?", "CA", "Montréal"),
    ("uitwisseling in Keulen, welke beurs?", "DE", "Keulen"),
])
def test_a_city_sets_its_country_as_the_destination_and_the_answer_names_both(conversation, kb, question, code, city):
    turn = conversation.run(ActionFindGrants(), question, "ask_grants")
    assert turn.slots["destination"] == code
    assert f"{kb.city(city).name}, {kb.countries[code].name}" in turn.text
    asked = {k: turn.slots[k] for k in ("activity", "months") if turn.slots.get(k)}
    names = fitting_names(kb, destination=code, **asked)
    assert names and all(n in turn.text for n in names)
    assert "country called" not in turn.text


@pytest.mark.parametrize("question,code", [
    ("I'm going to Tokyo for an internship, which grant?", "JP"),
    ("I'm moving from Lagos to Seoul for a semester, which grant?", "KR"),
    ("what about Oslo?", "NO"),
])
def test_a_city_one_goes_to_is_the_destination_whatever_the_wording(conversation, question, code):
    turn = conversation.run(ActionFindGrants(), question, "ask_grants")
    assert turn.slots["destination"] == code


def test_a_country_named_beside_a_city_wins(conversation):
    turn = conversation.run(ActionFindGrants(), "I study in Lagos but want an internship in Japan, which grant?", "ask_grants")
    assert turn.slots["destination"] == "JP"


@pytest.mark.parametrize("question", [
    "I'm from Lagos, which grants are there?",
    "I live in Lagos, which grant is there for an internship?",
    "Sofia from the international office told me to ask you about grants",
    "for the grant, do I need a Cambridge English certificate, and is my letter cited in Chicago style?",
])
def test_a_city_that_is_not_where_the_user_goes_sets_no_destination(conversation, question):
    turn = conversation.run(ActionFindGrants(), question, "ask_grants")
    assert turn.slots.get("destination") is None
    assert "country called" not in turn.text


def test_a_city_one_moves_to_is_never_taken_for_a_nationality_in_a_fee_question(conversation):
    turn = conversation.run(ActionQuoteFee(), "I'm moving to Tokyo next year, what will I pay at KdG?", "ask_fee")
    assert turn.slots.get("nationality") is None and turn.slots.get("destination") is None
    assert "country called" not in turn.text


def test_no_phrase_is_two_kinds_of_entity(kb):
    from knowledge.vocabulary import entity_patterns

    labels = {}
    for p in entity_patterns(kb):
        if isinstance(p["pattern"], str):
            labels.setdefault(p["pattern"].lower(), set()).add(p["label"])
    assert {phrase: kinds for phrase, kinds in labels.items() if len(kinds) > 1} == {}


@pytest.mark.parametrize("sentence", [
    "have a nice day", "I'm a male student", "can I split the payment?", "is there a reading list?",
    "Victoria asked me to write", "I hope so", "my bar exam",
])
def test_everyday_words_named_like_a_city_are_not_cities(nlp, sentence):
    assert [e.text for e in nlp(sentence).ents if e.label_ == "city"] == []


def test_the_knowledge_base_resolves_local_and_dutch_names_and_knows_no_belgian_city(kb):
    assert kb.resolve_city("Oslo") == "NO" and kb.resolve_city("oslo") == "NO"
    assert kb.resolve_city("Zürich") == kb.resolve_city("Zurich") == "CH"
    assert kb.resolve_city("Tokio") == "JP" and kb.resolve_city("Parijs") == "FR"
    assert kb.resolve_city("Atlantis") is None and kb.resolve_city("") is None
    assert not [c.name for c in kb.cities.values() if c.country == "BE"]


@pytest.mark.parametrize("intent", ["nlu_fallback", "inform", "ask_partners"])
def test_a_city_alone_after_a_grant_answer_continues_the_search_there_whatever_its_intent(conversation, kb, intent):
    from actions.dialogue import ActionClarify, ActionContinue
    from actions.topics import ActionAnswerTopic

    conversation.run(ActionFindGrants(), "which grant for a 3 month internship in Japan?", "ask_grants")
    action = {"nlu_fallback": ActionClarify(), "inform": ActionContinue(), "ask_partners": ActionAnswerTopic()}[intent]
    turn = conversation.run(action, "what about Seoul?", intent, confidence=0.35 if intent == "nlu_fallback" else 0.9)
    assert turn.slots["destination"] == "KR" and "Did you mean" not in turn.text
    assert all(n in turn.text for n in fitting_names(kb, destination="KR", activity="internship", months=3))


def test_belgium_as_a_destination_asks_for_the_community_and_the_answer_continues_there(conversation, kb):
    turn = conversation.run(ActionFindGrants(), "which grants are there for going to Belgium?", "ask_grants")
    assert "found no grant" not in turn.text and turn.slots.get("destination") is None
    titles = {b["title"] for b in turn.buttons}
    assert titles == {c.name for c in kb.communities.values() if c.id != "flemish-community"}
    french = next(b["payload"] for b in turn.buttons if "French" in b["title"])
    turn = conversation.run(ActionFindGrants(), french, "inform")
    assert turn.slots["destination"] == "french-community"
    assert all(n in turn.text for n in fitting_names(kb, destination="french-community"))


def test_the_french_speaking_part_of_belgium_is_its_community(conversation):
    turn = conversation.run(ActionFindGrants(), "what grants exist for going to the French-speaking part of Belgium?",
                            "ask_grants")
    assert turn.slots["destination"] == "french-community" and "Belgica" in turn.text
