"""The 2023-24 rules a profile reaches through higher_fee_exception and flemish_secondary_diploma, and what a
quote says when the profile leaves them open (its notes); quotes keep every field they had."""
from __future__ import annotations

from decimal import Decimal

import pytest

from knowledge.fees import exception_code, higher_fee_exceptions, quote

BR23 = {"institution": "kdg", "academic_year": "2023-24", "nationality": "BR"}
# every field a quote held before the notes and the exceptions were added
FIELDS_BEFORE = {"total", "currency", "institution", "academic_year", "fee_type", "fixed", "per_credit", "credits",
                 "contract", "programme", "lines", "explanation", "instalments", "sources"}


@pytest.mark.parametrize("profile", [
    {**BR23}, {**BR23, "nationality": "BE"}, {**BR23, "higher_fee_exception": "ibm-2018-19"},
    {"institution": "kdg", "academic_year": "2026-27", "nationality": "BR"},
    {"institution": "kdg", "academic_year": "2026-27", "nationality": "BE", "programme": "secondary-school", "credits": 3},
], ids=["a 2023-24 higher fee", "a 2023-24 basic fee", "a 2023-24 exception", "a 2026-27 higher fee", "a 2026-27 pupil"])
def test_a_quote_keeps_every_field_it_had_and_adds_notes_and_the_exception_applied(kb, profile):
    q = quote(kb, profile)
    assert FIELDS_BEFORE <= set(q)
    assert isinstance(q["notes"], list)
    assert q["higher_fee_exception"] in (None, "ibm-2018-19", "dutch-taught-before-2020-21")


def test_the_2023_24_page_has_exactly_its_two_exceptions_and_2026_27_none(kb):
    assert list(higher_fee_exceptions(kb.fee_parameters("kdg", "2023-24"))) == ["dutch-taught-before-2020-21", "ibm-2018-19"]
    assert higher_fee_exceptions(kb.fee_parameters("kdg", "2026-27")) == {}


@pytest.mark.parametrize("written, code", [
    ("dutch-taught-before-2020-21", "dutch-taught-before-2020-21"), ("Dutch-taught before 2020-2021", "dutch-taught-before-2020-21"),
    ("DUTCH_TAUGHT_BEFORE_2020_21", "dutch-taught-before-2020-21"), ("ibm-2018-19", "ibm-2018-19"),
    ("IBM 2018-2019", "ibm-2018-19"), ("International Business Management 2018-19", "ibm-2018-19"),
])
def test_an_exception_may_be_written_in_words_or_with_the_long_year(written, code):
    assert exception_code(written) == code


def test_an_exception_quote_says_which_exception_and_when_the_studies_started(kb):
    q = quote(kb, {**BR23, "higher_fee_exception": "dutch-taught-before-2020-21"})
    assert "exception to the higher fee for Dutch-taught graduates and bachelors" in q["explanation"]
    assert "before 2020-2021" in q["explanation"] and "€1,092.10" in q["explanation"]
    assert [s["file"] for s in q["sources"]] == ["kdg-tuition-fees-2023-24.txt"]


def test_whether_an_exception_can_be_paid_in_instalments_is_left_open_as_the_page_leaves_it(kb):
    """2023-24: 'If you pay the standard fee, you can spread your payment': the page does not say whether
    an exception to the higher fee counts, so the quote neither allows nor refuses instalments."""
    q = quote(kb, {**BR23, "higher_fee_exception": "ibm-2018-19"})
    assert q["instalments"]["allowed"] is None
    assert "does not say" in q["instalments"]["note"] and "count" not in q["instalments"]


def test_an_exception_quote_is_not_told_a_first_enrolment_must_be_paid_by_30_june(kb):
    q = quote(kb, {**BR23, "higher_fee_exception": "ibm-2018-19"})
    assert "2023-06-30" not in q["instalments"]["note"]


def test_the_ibm_exception_without_first_enrolled_needs_no_year_and_with_2018_19_gives_the_same_fee(kb):
    a = quote(kb, {**BR23, "higher_fee_exception": "ibm-2018-19"})
    b = quote(kb, {**BR23, "higher_fee_exception": "ibm-2018-19", "first_enrolled": "2018-2019"})
    assert a["total"] == b["total"] == Decimal("4367.70")  # 995.70 + 60 × 56.20


@pytest.mark.parametrize("first_enrolled, expected", [
    (None, {"Dutch-taught graduates and bachelors", "Bachelor International Business Management"}),
    ("2017-18", {"Dutch-taught graduates and bachelors"}),
    ("2018-19", {"Dutch-taught graduates and bachelors", "Bachelor International Business Management"}),
    ("2019-20", {"Dutch-taught graduates and bachelors"}),
    ("2020-21", set()),
    ("2023-24", set()),
], ids=["no first enrolment given: both", "started in 2017-18: Dutch-taught only", "started in 2018-19: both",
        "started in 2019-20: Dutch-taught only", "started in 2020-21: neither", "new in 2023-24: neither"])
def test_the_notes_name_only_the_exceptions_the_profile_does_not_rule_out(kb, first_enrolled, expected):
    profile = {**BR23, **({"first_enrolled": first_enrolled} if first_enrolled else {})}
    notes = [n for n in quote(kb, profile)["notes"] if n.startswith("Exception to the higher fee")]
    named = {label for label in ("Dutch-taught graduates and bachelors", "Bachelor International Business Management")
             if any(label in n for n in notes)}
    assert named == expected, notes


def test_a_graduate_programme_is_noted_only_the_dutch_taught_exception(kb):
    notes = quote(kb, {**BR23, "programme": "graduate"})["notes"]
    assert any("Dutch-taught" in n for n in notes) and not any("International Business Management" in n for n in notes)


def test_a_higher_fee_exam_contract_is_not_noted_the_exceptions_which_are_for_diploma_and_credit_contracts(kb):
    notes = quote(kb, {**BR23, "contract": "exam"})["notes"]
    assert not any(n.startswith("Exception to the higher fee") for n in notes)
    assert any("standard rate for an exam contract" in n for n in notes)


def test_a_credit_contract_is_noted_the_exceptions_like_a_diploma_contract(kb):
    notes = quote(kb, {**BR23, "contract": "credit", "credits": 20})["notes"]
    assert sum(n.startswith("Exception to the higher fee") for n in notes) == 2


def test_an_advanced_master_is_noted_nothing_as_its_one_fee_does_not_depend_on_nationality(kb):
    q = quote(kb, {**BR23, "programme": "advanced-master"})
    assert q["fee_type"] == "advanced-master" and q["notes"] == []
    assert "because" not in q["explanation"]


def test_a_flemish_diploma_gives_the_standard_fee_with_its_reason_and_source(kb):
    q = quote(kb, {**BR23, "flemish_secondary_diploma": True})
    assert q["fee_type"] == "basic" and q["total"] == Decimal("1092.10")
    assert "because you have a Flemish diploma of secondary education" in q["explanation"]
    assert q["instalments"]["allowed"] is True


def test_an_eea_student_who_names_an_exception_is_told_it_does_not_change_the_fee(kb):
    q = quote(kb, {**BR23, "nationality": "NL", "higher_fee_exception": "dutch-taught-before-2020-21"})
    assert q["fee_type"] == "basic" and q["higher_fee_exception"] is None
    assert q["notes"] == ["The exception to the higher fee for Dutch-taught graduates and bachelors does not change "
                          "your fee: you pay the basic (standard) fee because you have an EEA nationality."]


def test_a_flemish_diploma_said_false_in_2026_27_is_accepted_and_changes_nothing(kb):
    profile = {"institution": "kdg", "academic_year": "2026-27", "nationality": "BR"}
    assert quote(kb, {**profile, "flemish_secondary_diploma": False})["total"] == quote(kb, profile)["total"] == Decimal("9020.00")
