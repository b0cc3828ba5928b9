"""The fee actions answer from the fee engine, personalised by what the user said, and ask only for what is missing."""
from __future__ import annotations

import re

import pytest

from actions.common import eur
from actions.dialogue import ActionContinue
from actions.fees import ActionAnswerInstalments, ActionAnswerResidence, ActionQuoteFee
from knowledge.fees import quote
from knowledge.years import current_academic_year


def engine_total(kb, **profile) -> str:
    return eur(quote(kb, {"institution": "kdg", "academic_year": current_academic_year(), **profile})["total"])


def test_a_fee_question_with_a_nationality_is_answered_with_the_engines_total_and_its_source(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "I'm Italian and don't get a study grant, what's the fee at KdG?", "ask_fee")
    assert engine_total(kb, nationality="IT", scholarship="none") in turn.text
    assert "kdg-tuition-fees-2026-27.txt" in turn.text
    assert current_academic_year() in turn.text


def test_the_quote_shows_its_breakdown_fixed_plus_credits_times_the_rate(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "What do I pay at KdG for 30 credits? I'm from Norway", "ask_fee")
    q = quote(kb, {"institution": "kdg", "nationality": "NO", "credits": 30})
    assert eur(q["fixed"]) in turn.text and eur(q["per_credit"]) in turn.text and "30" in turn.text
    assert eur(q["total"]) in turn.text


def test_without_a_nationality_the_assistant_asks_for_it_with_buttons_and_no_figure(conversation):
    turn = conversation.run(ActionQuoteFee(), "What will I pay at KdG?", "ask_fee")
    assert "nationality" in turn.text.lower()
    assert len(turn.buttons) >= 3
    assert not re.search(r"€\s?\d", turn.text)
    assert turn.slots["pending"] == "fee"


def test_the_answer_to_the_nationality_question_gets_the_quote(conversation, kb):
    conversation.run(ActionQuoteFee(), "What will I pay at KdG?", "ask_fee")
    turn = conversation.run(ActionContinue(), "I'm Turkish")
    assert turn.slots["nationality"] == "TR"
    assert engine_total(kb, nationality="TR") in turn.text


def test_a_button_payload_answers_the_nationality_question(conversation, kb):
    conversation.run(ActionQuoteFee(), "how much is tuition?", "ask_fee")
    turn = conversation.run(ActionContinue(), '/inform{"nationality": "non-EEA"}')
    assert engine_total(kb, nationality="US") in turn.text  # any non-EEA country pays the same


def test_a_follow_up_reuses_the_context_and_changes_only_the_credits(conversation, kb):
    conversation.run(ActionQuoteFee(), "I'm Belgian without a grant, what is the KdG fee for 60 credits?", "ask_fee")
    turn = conversation.run(ActionContinue(), "and for 20 credits?")
    assert turn.slots["credits"] == 20 and turn.slots["nationality"] == "BE"
    assert engine_total(kb, nationality="BE", credits=20) in turn.text


def test_a_correction_updates_the_context(conversation, kb):
    conversation.run(ActionQuoteFee(), "fee for a Belgian student with 30 credits", "ask_fee")
    turn = conversation.run(ActionContinue(), "sorry, I meant 40 credits")
    assert engine_total(kb, nationality="BE", credits=40) in turn.text
    assert engine_total(kb, nationality="BE", credits=30) not in turn.text


@pytest.mark.parametrize("word,status", [("beursstudent", "full"), ("bijna-beursstudent", "part"),
                                         ("niet-beursstudent", "none")])
def test_the_flemish_scholarship_terms_set_the_scholarship_status(conversation, kb, word, status):
    turn = conversation.run(ActionQuoteFee(), f"ik ben {word}, Belgian, what is my fee at KdG?", "ask_fee")
    assert turn.slots["scholarship"] == status
    assert engine_total(kb, nationality="BE", scholarship=status) in turn.text


def test_a_year_without_data_gets_no_figures_and_the_years_that_exist(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "What were the KdG fees in 2024-25 for a Belgian student?", "ask_fee")
    assert not re.search(r"€\s?\d", turn.text)
    assert "2024-25" in turn.text
    assert {b["title"] for b in turn.buttons} >= {f"Fees {y}" for y in kb.fee_years("kdg")}


def test_a_past_year_with_data_is_quoted_with_that_years_figures(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "What did a scholarship student pay at KdG in 2023-24?", "ask_fee")
    q = quote(kb, {"institution": "kdg", "academic_year": "2023-24", "nationality": "BE", "scholarship": "full"})
    assert eur(q["total"]) in turn.text and "2023-24" in turn.text


def test_a_residence_card_gives_the_basic_fee_to_a_non_eea_national(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "I have an F card, which tuition fee applies to me at KdG?", "ask_fee")
    assert turn.slots["residence"] == "card:F"
    assert engine_total(kb, nationality="US", residence_permit="F") in turn.text


def test_a_card_that_does_not_exempt_gets_the_higher_fee_quote_when_the_amount_is_asked(conversation, kb):
    turn = conversation.run(ActionAnswerResidence(), "I'm Moroccan and only have an orange card. Do I pay the basic fee "
                                                     "for 60 credits at KdG?", "ask_residence_exceptions")
    assert turn.text.startswith("No:")
    assert engine_total(kb, nationality="MA", residence_permit="orange", credits=60) in turn.text


def test_a_card_that_does_not_exempt_asked_about_alone_gets_no_figure(conversation):
    turn = conversation.run(ActionAnswerResidence(), "does an orange card count at KdG?", "ask_residence_exceptions")
    assert turn.text.startswith("No:")
    assert not re.search(r"\d[\d.,]*\s*(EUR|€)|€\s*\d", turn.text)


def test_a_card_that_exempts_gets_the_basic_fee_quote(conversation, kb):
    turn = conversation.run(ActionAnswerResidence(), "I'm American with an F card, 60 credits at KdG: which fee?",
                            "ask_residence_exceptions")
    assert turn.text.startswith("Yes:")
    assert engine_total(kb, nationality="US", residence_permit="F", credits=60) in turn.text


def test_a_higher_fee_quote_tells_the_basic_fee_alternative_with_a_residence_permit(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "What do non-EU students pay per year at Karel de Grote?", "ask_fee")
    assert engine_total(kb, nationality="US") in turn.text
    assert engine_total(kb, nationality="US", residence_permit="B") in turn.text


def test_instalments_for_a_february_enrolment_come_from_the_rules(conversation, kb):
    turn = conversation.run(ActionAnswerInstalments(), "I enrol in February at KdG. In how many instalments can I pay?",
                            "ask_instalments")
    q = quote(kb, {"institution": "kdg", "nationality": "BE"})
    assert str(q["instalments"]["count_if_enrolled_in_january_or_february"]) in turn.text
    assert "Source" in turn.text


def test_the_year_a_student_started_is_the_first_enrolment_not_the_year_asked_about(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "I'm from Morocco and started at KdG in 2025-26, what's my fee?", "ask_fee")
    assert turn.slots["first_enrolled"] == "2025-26" and turn.slots.get("academic_year") is None
    assert engine_total(kb, nationality="MA", first_enrolled="2025-26") in turn.text


def test_enrolled_before_a_year_is_not_read_as_the_first_enrolment(conversation):
    turn = conversation.run(ActionQuoteFee(), "I enrolled before 2026-27, non-EU student, my fee?", "ask_fee")
    assert turn.slots.get("first_enrolled") is None


def test_a_secondary_school_pupil_is_quoted_without_having_to_name_the_credits(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "what does a secondary school pupil pay at KdG? Belgian", "ask_fee")
    cap = int(kb.fee_parameters("kdg", "2026-27")["secondary_school.max_credits"].value)
    assert engine_total(kb, nationality="BE", programme="secondary-school", contract="credit", credits=cap) in turn.text


def test_a_grant_status_follow_up_in_a_fee_conversation_requotes_the_fee(conversation, kb):
    from actions.topics import ActionAnswerTopic

    conversation.run(ActionQuoteFee(), "Dutch student, fee for 60 credits at KdG?", "ask_fee")
    turn = conversation.run(ActionAnswerTopic(), "and if I get a studietoelage?", "ask_study_grant")
    assert turn.slots["scholarship"] == "full"
    assert engine_total(kb, nationality="NL", scholarship="full") in turn.text


def test_a_bare_study_grant_outside_a_fee_conversation_does_not_set_the_grant_status(conversation):
    from actions.topics import ActionAnswerTopic

    turn = conversation.run(ActionAnswerTopic(), "how do I apply for a study grant?", "ask_study_grant")
    assert turn.slots.get("scholarship") is None


def test_a_fee_question_mistaken_for_a_deadline_question_still_gets_the_fee(conversation, kb):
    from actions.deadlines import ActionAnswerDeadline

    turn = conversation.run(ActionAnswerDeadline(), "Norwegian, no study grant: full-year tuition at KdG?", "ask_deadline")
    assert engine_total(kb, nationality="NO", scholarship="none") in turn.text


def test_a_2023_24_higher_fee_quote_tells_the_exceptions_the_engine_notes(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "What did a non-EU student pay at KdG in 2023-24?", "ask_fee")
    q = quote(kb, {"institution": "kdg", "academic_year": "2023-24", "nationality": "US"})
    assert q["notes"], "the engine should note the 2023-24 exceptions to the higher fee"
    assert eur(q["total"]) in turn.text
    assert all(note in turn.text for note in q["notes"])


@pytest.mark.parametrize("text", ["How do I pay my tuition at KdG?", "can I pay the tuition by bank transfer?",
                                  "where do I pay my studiegeld", "hoe betaal ik mijn inschrijvingsgeld"])
def test_how_to_pay_gets_the_invoice_and_payment_answer_not_a_quote(conversation, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert turn.slots.get("topic") == "invoice"
    assert "×" not in turn.text


@pytest.mark.parametrize("text", ["How much do I pay for 60 credits at KdG as a Belgian?",
                                  "what do I pay at KdG for 60 credits, I'm Belgian",
                                  "how do I pay less tuition at KdG, I'm Belgian and a scholarship student"])
def test_how_much_to_pay_still_gets_a_quote(conversation, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert turn.slots.get("topic") == "fee"


def test_how_to_pay_classified_as_fee_rules_also_gets_the_payment_answer(conversation):
    from actions.topics import ActionAnswerTopic

    turn = conversation.run(ActionAnswerTopic(), "how can I pay the tuition as a non-EU student with the higher fee",
                            "ask_fee_rules")
    assert turn.slots.get("topic") == "invoice"


@pytest.mark.parametrize("text", ["how much does a visa cost?", "what is the price of a meal at the student restaurant",
                                  "average cost of living for a student in Belgium?", "hoeveel kost een kot in Gent",
                                  "what's the monthly rent for a room in Antwerp?", "how much is the visa fee?",
                                  "How much is a bus pass for students enrolled at KdG?", "Wat kost het openbaar vervoer?",
                                  "How much does a room cost with a scholarship?"])
def test_the_price_of_something_else_than_tuition_is_out_of_scope(conversation, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert [m.get("response") for m in turn.messages] == ["utter_out_of_scope"]
    assert turn.slots.get("topic") is None


def test_what_an_out_of_scope_price_question_told_is_kept_for_the_next_question(conversation, kb):
    conversation.run(ActionQuoteFee(), "I'm German, how much is a kot in Antwerp?", "ask_fee")
    turn = conversation.run(ActionQuoteFee(), "and what's the tuition at KdG?", "ask_fee")
    assert eur(quote(kb, {"institution": "kdg", "academic_year": "2026-27", "nationality": "DE"})["total"]) in turn.text


@pytest.mark.parametrize("text,nationality", [
    ("I'm on a student visa from Brazil, what's my fee at KdG?", "BR"),
    ("How much is the tuition at KdG for a Belgian student who rents a kot?", "BE"),
    ("how much is the tuition and the rent for a German student at KdG?", "DE"),
    ("What will I pay at KdG if I have a visa? I'm from India", "IN"),
    ("Price for a student visa holder from Brazil at KdG?", "BR"),
    ("Hoeveel betaal ik als Belg aan KdG als ik een kot heb?", "BE"),
])
def test_a_tuition_question_that_mentions_other_costs_still_gets_the_quote(conversation, kb, text, nationality):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert turn.slots.get("nationality") == nationality
    q = quote(kb, {"institution": "kdg", "academic_year": "2026-27", "nationality": nationality})
    assert eur(q["total"]) in turn.text


@pytest.mark.parametrize("text,code", [("what do Americans pay at KdG?", "US"), ("how much do germans pay at kdg", "DE"),
                                       ("fees for Pakistanis at KdG?", "PK")])
def test_a_nationality_in_the_plural_is_the_nationality(conversation, kb, text, code):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert turn.slots.get("nationality") == code
    assert eur(quote(kb, {"institution": "kdg", "academic_year": "2026-27", "nationality": code})["total"]) in turn.text


def _fee(kb, year=None, **profile):
    return quote(kb, {"institution": "kdg", "academic_year": year or current_academic_year(), **profile},
                 require_nationality=False)


def test_a_non_scholarship_status_without_a_nationality_gets_the_basic_and_the_higher_fee_and_the_question(
        conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "what do I pay at KdG as a niet-beursstudent for 30 credits?", "ask_fee")
    basic = _fee(kb, nationality_group="eea", scholarship="none", credits=30)
    higher = _fee(kb, nationality_group="non-eea", scholarship="none", credits=30)
    assert basic["total"] != higher["total"]
    assert eur(basic["total"]) in turn.text and eur(higher["total"]) in turn.text
    assert "nationality" in turn.text and turn.slots.get("pending") == "fee"
    assert any("nationality" in b["payload"] for b in turn.buttons)
    assert "kdg-tuition-fees-2026-27.txt" in turn.text


def test_a_scholarship_status_without_a_nationality_is_quoted_since_it_decides_the_fee(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "I'm a bijna-beursstudent, how much for 40 credits at KdG?", "ask_fee")
    q = _fee(kb, nationality_group="non-eea", scholarship="part", credits=40)
    assert q["fee_type"] == "basic" and eur(q["total"]) in turn.text
    assert not turn.buttons and turn.slots.get("pending") is None


def test_then_telling_the_nationality_gives_the_one_fee(conversation, kb):
    conversation.run(ActionQuoteFee(), "niet-beursstudent at KdG, 30 credits, what's the fee?", "ask_fee")
    turn = conversation.run(ActionContinue(), "/inform{\"nationality\": \"BR\"}", "inform")
    higher = _fee(kb, nationality="BR", scholarship="none", credits=30)
    assert turn.text.splitlines()[0] == higher["explanation"]  # the higher fee is the answer, not one of two


@pytest.mark.parametrize("text", ["For 2023-24 at KdG: what was the advance on a spread payment plan?",
                                  "How much did you pay at registration in 2023-24 if you paid KdG in instalments?"])
def test_a_payment_plan_question_gets_the_advance_of_that_year(conversation, kb, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    advance = kb.fee_parameters("kdg", "2023-24")["instalments.advance"]
    assert eur(advance.value) in turn.text and "2023-24" in turn.text
    assert "kdg-tuition-fees-2023-24.txt" in turn.text
    assert "×" not in turn.text  # not a quote


def test_a_year_whose_page_sets_no_advance_names_none(conversation, kb):
    assert "instalments.advance" not in kb.fee_parameters("kdg", current_academic_year())
    turn = conversation.run(ActionAnswerInstalments(), "can I spread the payment of my tuition at KdG?", "ask_instalments")
    assert "advance" not in turn.text.lower()
    assert str(int(kb.fee_parameters("kdg", current_academic_year())["instalments.max_count"].value)) in turn.text


@pytest.mark.parametrize("text", ["Until when could a new non-EEA student pay the KdG tuition in 2023-24?",
                                  "when did I have to pay my tuition in full at KdG in 2023-24 as a non-EU student?"])
def test_when_the_tuition_is_due_gets_the_payment_answer_of_that_year(conversation, kb, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    due = [f.text for f in kb.facts("invoice", "kdg") if f.academic_year == "2023-24"]
    assert due and all(t in turn.text for t in due)
    assert turn.slots.get("topic") == "invoice" and "×" not in turn.text


def test_a_scholarship_status_for_a_programme_the_year_gives_no_fee_for_is_told_so_not_a_crash(conversation):
    turn = conversation.run(ActionQuoteFee(), "What did a niet-beursstudent pay for a bridging programme in 2023-24 at KdG?",
                            "ask_fee")
    assert "can't work out that fee" in turn.text and "bridging" in turn.text
    assert any(b["payload"] == "/ask_human" for b in turn.buttons)


def test_the_two_fee_answer_names_a_continuing_students_higher_fee_as_such(conversation, kb):
    conversation.slots["enrolment"] = "continuing"
    turn = conversation.run(ActionQuoteFee(), "niet-beursstudent at KdG, 30 credits, what's the fee?", "ask_fee")
    year = current_academic_year()
    higher = _fee(kb, nationality_group="non-eea", scholarship="none", credits=30,
                  first_enrolled=f"{int(year[:4]) - 1}-{year[2:4]}")
    assert eur(higher["total"]) in turn.text and f"enrolled at KdG before {year}" in turn.text
    assert "new at KdG" not in turn.text


def test_a_fee_question_that_also_asks_about_instalments_gets_the_quote_and_the_instalments(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "How much is the fee for 60 credits as a non-EU student, and can I pay in "
                                              "instalments?", "ask_fee")
    assert eur(_fee(kb, nationality_group="non-eea", credits=60)["total"]) in turn.text
    instalments = int(kb.fee_parameters("kdg", current_academic_year())["instalments.max_count"].value)
    assert f"{instalments} instalments" in turn.text


def test_a_student_who_may_not_spread_is_not_told_the_advance(conversation, kb):
    turn = conversation.run(ActionQuoteFee(), "As a non-EEA student in 2023-24, how much did I pay up front on a payment "
                                              "plan at KdG?", "ask_fee")
    assert eur(kb.fee_parameters("kdg", "2023-24")["instalments.advance"].value) not in turn.text
    assert "standard fee" in turn.text


@pytest.mark.parametrize("text", ["When I take 30 credits, what do I pay in tuition at KdG as a Brazilian?",
                                  "What's the fee at KdG for a Brazilian and when is it due?"])
def test_a_when_that_is_a_condition_or_comes_with_how_much_still_gets_the_quote(conversation, kb, text):
    turn = conversation.run(ActionQuoteFee(), text, "ask_fee")
    assert turn.slots.get("topic") == "fee" and "×" in turn.text


@pytest.mark.parametrize("text", ["By when must I pay my tuition at KdG?", "Wanneer betaal ik mijn studiegeld aan KdG?"])
def test_when_the_tuition_is_due_classified_as_a_deadline_gets_the_payment_answer(conversation, kb, text):
    from actions.deadlines import ActionAnswerDeadline

    turn = conversation.run(ActionAnswerDeadline(), text, "ask_deadline")
    assert turn.slots.get("topic") == "invoice"
    assert all(f.text in turn.text for f in kb.facts("invoice", "kdg") if f.academic_year == current_academic_year())
