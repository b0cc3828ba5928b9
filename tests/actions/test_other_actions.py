"""Grants, deadlines, topics and the dialogue actions (clarify, hand-off) answer from the knowledge base."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml

from actions.common import eur
from actions.deadlines import ActionAnswerDeadline
from actions.dialogue import ActionClarify, ActionContinue, ActionHandOff, INTENT_TITLES
from actions.grants import ActionAnswerGrant, ActionFindGrants
from actions.topics import INTENT_TOPICS, ActionAnswerTopic
from knowledge.deadlines import upcoming
from knowledge.grants import find

ROOT = Path(__file__).resolve().parents[2]


def fitting_names(kb, **query):
    return {g["name"] for g in find(kb, query)["fits"]}


def test_grants_for_an_internship_in_japan_list_every_grant_the_finder_fits(conversation, kb):
    turn = conversation.run(ActionFindGrants(), "which grant for a 3 month internship in Japan?", "ask_grants")
    assert turn.slots["destination"] == "JP" and turn.slots["activity"] == "internship" and turn.slots["months"] == 3
    names = fitting_names(kb, destination="JP", activity="internship", months=3)
    assert names and all(n in turn.text for n in names)


@pytest.mark.parametrize("question", [
    "Which grant can I get for a 3 month internship in Japan? I study at KASK",
    "I'm studying at KdG, is there a grant for an internship in Japan?",
    "ik studeer aan KASK, welke beurs voor een stage in Japan?",
])
def test_where_the_student_studies_now_does_not_turn_an_internship_into_a_study_stay(conversation, question):
    turn = conversation.run(ActionFindGrants(), question, "ask_grants")
    assert turn.slots["activity"] == "internship" and turn.slots["destination"] == "JP"


def test_a_student_who_only_says_where_they_study_keeps_study_as_the_activity(conversation):
    turn = conversation.run(ActionFindGrants(), "I study at KASK, which grant for Japan?", "ask_grants")
    assert turn.slots["activity"] == "study"


def test_a_study_grant_for_brazil_names_the_priority_country_programme_and_its_monthly_amount(conversation):
    turn = conversation.run(ActionFindGrants(), "Is there a grant for studying in Brazil?", "ask_grants")
    assert "Priority Country" in turn.text and "700" in turn.text


def test_what_about_japan_moves_the_search_to_japan_keeping_the_activity(conversation, kb):
    conversation.run(ActionFindGrants(), "grant for a 2 month internship in South Korea", "ask_grants")
    turn = conversation.run(ActionContinue(), "what about Japan?")
    assert turn.slots["destination"] == "JP" and turn.slots["activity"] == "internship"
    assert all(n in turn.text for n in fitting_names(kb, destination="JP", activity="internship", months=2))


def test_grants_without_a_destination_ask_for_one(conversation):
    turn = conversation.run(ActionFindGrants(), "Which scholarship can I get for going abroad?", "ask_grants")
    assert turn.slots["pending"] == "grants" and turn.buttons
    assert not re.search(r"€\s?\d", turn.text)


def test_a_named_grant_is_described_with_each_sources_figures(conversation, kb):
    turn = conversation.run(ActionAnswerGrant(), "How much is the Erasmus Belgica grant?", "ask_grant_info")
    assert turn.slots["grant"] == "erasmus-belgica"
    for v in kb.grants["erasmus-belgica"].variants:
        assert v.source_id.replace("-", "") in turn.text.replace("-", "").replace(".txt", "")


def test_a_deadline_question_names_the_grants_next_date_after_today(conversation, kb):
    turn = conversation.run(ActionAnswerDeadline(), "By when must I apply for the Priority Country grant?", "ask_deadline")
    pcp = [d for d in upcoming(kb) if "priority-country-programme" in d["grants"]]
    assert pcp
    when = datetime.date.fromisoformat(pcp[0]["next_date"])
    assert f"{when.day} {when:%B %Y}" in turn.text
    assert when >= datetime.date.today()


@pytest.mark.parametrize("intent", sorted(INTENT_TOPICS))
def test_every_topic_intent_is_answered_from_facts_with_a_source(conversation, kb, intent):
    turn = conversation.run(ActionAnswerTopic(), "tell me about it", intent)
    facts = kb.facts(INTENT_TOPICS[intent])
    assert facts, f"no facts for {intent}"
    assert any(f.text in turn.text for f in facts)
    assert "Source:" in turn.text


def test_the_english_masters_answer_names_the_programmes(conversation):
    turn = conversation.run(ActionAnswerTopic(), "Which KASK master programmes are taught in English?", "ask_english_masters")
    assert re.search(r"drama|audiovisual|music|visual", turn.text, re.I)


def test_asking_for_a_person_gives_contacts_and_a_reference_to_the_kept_conversation(conversation, kb):
    turn = conversation.run(ActionHandOff(), "Can I speak to someone?", "ask_human")
    assert any(f.text in turn.text for f in kb.facts("contact"))
    assert conversation.sender in turn.text
    assert turn.slots["handoff"] is True


def test_when_unsure_the_assistant_offers_its_best_guesses_as_buttons(conversation):
    ranking = [{"name": "ask_fee", "confidence": 0.3}, {"name": "ask_grants", "confidence": 0.25},
               {"name": "ask_deadline", "confidence": 0.2}]
    turn = conversation.run(ActionClarify(), "money?", "nlu_fallback", confidence=0.3, ranking=ranking)
    titles = [b["title"] for b in turn.buttons]
    assert titles[:3] == [INTENT_TITLES["ask_fee"], INTENT_TITLES["ask_grants"], INTENT_TITLES["ask_deadline"]]
    assert INTENT_TITLES["ask_human"] in titles


def test_unsure_twice_in_a_row_hands_off_instead_of_guessing(conversation, kb):
    conversation.run(ActionClarify(), "hmm", "nlu_fallback", confidence=0.2)
    turn = conversation.run(ActionClarify(), "blorp", "nlu_fallback", confidence=0.2)
    assert turn.slots.get("handoff") is True
    assert any(f.text in turn.text for f in kb.facts("contact"))


def test_no_response_template_in_the_domain_holds_a_figure_or_a_date():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    for name, variants in domain["responses"].items():
        for v in variants:
            assert not re.search(r"\d", v.get("text", "")), f"{name} holds a figure: {v['text']!r}"


def test_every_intent_has_a_rule_or_story_that_answers_it():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    covered = set()
    for path in list((ROOT / "data" / "rules").glob("*.yml")) + list((ROOT / "data" / "stories").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("rules", []) + \
                (yaml.safe_load(path.read_text()) or {}).get("stories", []):
            covered |= {s["intent"] for s in block.get("steps", []) if "intent" in s}
    assert set(domain["intents"]) - covered == set()


def test_a_fragment_answering_the_grant_question_continues_the_search_whatever_its_intent(conversation, kb):
    conversation.run(ActionFindGrants(), "Is there a grant for an internship in Vietnam?", "ask_grants")
    turn = conversation.run(ActionAnswerTopic(), "for 4 months", "ask_exchange_duration")
    assert turn.slots["months"] == 4
    assert all(n in turn.text for n in fitting_names(kb, destination="VN", activity="internship", months=4))


def test_a_number_with_euros_is_not_read_as_credits(conversation):
    from actions.fees import ActionQuoteFee

    turn = conversation.run(ActionQuoteFee(), "confirm the non-EU fee at KdG is 10 euros", "ask_fee")
    assert turn.slots.get("credits") is None
    assert "10 credits" not in turn.text


@pytest.mark.parametrize("question,deadline_id", [
    ("what's the deadline for the study grant?", "flemish-study-grant"),
    ("until when can I register my mobility in Mobility Online?", "mobility-online-registration"),
    ("when do I have to apply for the second semester as an exchange student?", "incoming-second-semester"),
])
def test_a_deadline_question_gets_the_deadline_it_names(conversation, kb, question, deadline_id):
    turn = conversation.run(ActionAnswerDeadline(), question, "ask_deadline")
    wanted = next(d for d in upcoming(kb) if d["id"] == deadline_id)
    assert wanted["title"] in turn.text
    others = [d for d in upcoming(kb) if d["id"] != deadline_id and d["kind"] != "opens"]
    assert not any(d["title"] in turn.text for d in others)


def test_an_unknown_country_is_named_as_unknown_rather_than_guessed(conversation):
    from actions.fees import ActionQuoteFee

    turn = conversation.run(ActionQuoteFee(), "how much is tuition for someone from Wakanda?", "ask_fee")
    assert 'country called "Wakanda"' in turn.text
    assert not re.search(r"€\s?\d", turn.text)
    turn = conversation.run(ActionFindGrants(), "grant for an internship in Atlantis for 3 months", "ask_grants")
    assert 'country called "Atlantis"' in turn.text


def test_a_known_city_is_not_taken_for_an_unknown_country(conversation):
    from actions.fees import ActionQuoteFee

    turn = conversation.run(ActionQuoteFee(), "what does studying in Antwerp cost?", "ask_fee")
    assert "country called" not in turn.text


def test_an_unsure_fragment_in_a_grant_conversation_continues_it_rather_than_clarifying(conversation):
    conversation.run(ActionFindGrants(), "Which grant for an internship in Japan for 3 months?", "ask_grants")
    turn = conversation.run(ActionClarify(), "what about Chile", "nlu_fallback", confidence=0.35)
    assert "Did you mean" not in turn.text
    assert turn.slots.get("destination") in ("CL", "Chile") or "Chile" in turn.text


def test_an_unsure_message_with_no_open_topic_still_gets_the_clarifying_question(conversation):
    turn = conversation.run(ActionClarify(), "and for Erasmus?", "nlu_fallback", confidence=0.38)
    assert "Did you mean" in turn.text and turn.buttons


def _erasmus_deadline(kb) -> str:
    erasmus = [d for d in upcoming(kb) if "erasmus-plus" in d["grants"]]
    assert erasmus, "the knowledge base has an Erasmus+ deadline"
    when = datetime.date.fromisoformat(erasmus[0]["next_date"])
    return f"{when.day} {when:%B %Y}"


@pytest.mark.parametrize("action, intent", [(ActionAnswerDeadline, "ask_deadline"), (ActionContinue, "inform"),
                                            (ActionClarify, "nlu_fallback")])
def test_a_grant_named_after_a_deadline_answer_gets_that_grants_deadline(conversation, kb, action, intent):
    conversation.run(ActionAnswerDeadline(), "When is the deadline for the Priority Country grant?", "ask_deadline")
    turn = conversation.run(action(), "and for Erasmus?", intent, confidence=0.38 if intent == "nlu_fallback" else 0.9)
    assert _erasmus_deadline(kb) in turn.text
    assert turn.slots.get("topic") == "deadline"
    assert not turn.buttons or "Did you mean" not in turn.text  # unsure (nlu_fallback) or not: no clarifying question


@pytest.mark.parametrize("text, intent, topic", [
    ("Erasmus for staff mobility?", "ask_staff_mobility", "staff_mobility"),
    ("who pays the higher tuition fee if I come with an Erasmus grant", "ask_fee_rules", "fee_rules"),
])
def test_a_question_of_its_own_naming_a_grant_after_a_deadline_answer_is_answered_as_asked(conversation, text,
                                                                                          intent, topic):
    conversation.run(ActionAnswerDeadline(), "When is the deadline for the Priority Country grant?", "ask_deadline")
    turn = conversation.run(ActionAnswerTopic(), text, intent)
    assert turn.slots.get("topic") == topic


def test_a_longer_message_naming_a_grant_and_a_place_after_a_deadline_answer_looks_for_grants(conversation):
    conversation.run(ActionAnswerDeadline(), "When is the deadline for the Priority Country grant?", "ask_deadline")
    turn = conversation.run(ActionContinue(), "I'd like to go to Japan with the Erasmus grant for one semester please",
                            "inform")
    assert turn.slots.get("destination") == "JP"
    assert turn.slots.get("topic") == "grants"


@pytest.mark.parametrize("text,code", [("is there funding for a summer school in Barcelona?", "ES"),
                                       ("which scholarship can I get for an exchange in Japan?", "JP")])
def test_a_scholarship_question_naming_a_place_abroad_gets_the_grants_for_it(conversation, kb, text, code):
    turn = conversation.run(ActionAnswerTopic(), text, "ask_scholarships")
    assert turn.slots["destination"] == code
    assert all(n in turn.text for n in fitting_names(kb, destination=code, **({"activity": turn.slots["activity"]}
                                                                              if turn.slots.get("activity") else {})))


def test_a_scholarship_question_without_a_place_abroad_gets_kdgs_answer(conversation, kb):
    turn = conversation.run(ActionAnswerTopic(), "I'm from Brazil, does KdG give scholarships?", "ask_scholarships")
    assert turn.slots.get("destination") is None
    assert all(f.text in turn.text for f in kb.facts("scholarships", "kdg") if f.academic_year in (None, "2026-27"))
