"""Properties of every quote, over generated profiles (hypothesis): the lines add up to the total,
every amount is exact cents, more credits never cost less, and a quote cites only its own year."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from knowledge.fees import MAX_CREDITS, ProfileError, quote

from kbhelpers import is_exact_cents

FAST = settings(max_examples=50, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

YEARS = ["2023-24", "2026-27"]
NATIONALITIES = ["BE", "NL", "DE", "NO", "IS", "CH", "GB", "BR", "CN", "IN", "US", "SY", "UA"]
PER_CREDIT_PROGRAMMES = ["bachelor", "master", "graduate", "bridging", "preparatory", "advanced-bachelor", "advanced-master"]
OPTIONAL = {
    "scholarship": st.sampled_from(["none", "part", "full", "niet-beursstudent", "bijna-beursstudent", "beursstudent"]),
    "contract": st.sampled_from(["diploma", "credit", "exam"]),
    "programme": st.sampled_from(PER_CREDIT_PROGRAMMES + ["secondary-school", "banaba", "manama"]),
    "credits": st.integers(1, MAX_CREDITS),
    "first_enrolled": st.sampled_from(["2018-19", "2019-20", "2022-23", "2023-24", "2025-26", "2026-27"]),
    "residence_permit": st.sampled_from(["B", "C", "D", "F", "F+", "K", "L", "A", "orange"]),
    "residence_status": st.sampled_from(["refugee", "subsidiary-protection", "family-reunification",
                                         "ukraine-temporary-protection"]),
    "credits_without_learning_credit": st.integers(0, 30),
    "higher_fee_exception": st.sampled_from(["dutch-taught-before-2020-21", "ibm-2018-19"]),
    "flemish_secondary_diploma": st.booleans(),
}


@st.composite
def profiles(draw, optional=OPTIONAL):
    profile = {"institution": "kdg", "academic_year": draw(st.sampled_from(YEARS)),
               "nationality": draw(st.sampled_from(NATIONALITIES))}
    for name, strategy in optional.items():
        if draw(st.booleans()):
            profile[name] = draw(strategy)
    return profile


def quote_or_reject(kb, profile):
    """A quote, or hypothesis moves on when the profile is (rightly) refused."""
    try:
        return quote(kb, profile)
    except ProfileError as e:
        assert e.field and e.message, "a refusal must name a field and say why"
        assume(False)


@FAST
@given(profile=profiles())
def test_any_profile_gets_a_quote_or_a_profile_error_never_a_crash(kb, profile):
    try:
        q = quote(kb, profile)
    except ProfileError as e:
        assert e.as_dict() == {"error": e.message, "field": e.field} and e.field and e.message
        return
    assert q["total"] > 0


@FAST
@given(profile=profiles())
def test_the_lines_of_a_quote_sum_to_its_total(kb, profile):
    q = quote_or_reject(kb, profile)
    assert q["lines"], "a quote without lines"
    assert sum(line["amount"] for line in q["lines"]) == q["total"]


@FAST
@given(profile=profiles())
def test_every_amount_is_an_exact_decimal_with_two_places(kb, profile):
    q = quote_or_reject(kb, profile)
    amounts = [q["total"], q["fixed"], q["per_credit"], *(line["amount"] for line in q["lines"])]
    if "advance" in q["instalments"]:
        amounts.append(q["instalments"]["advance"])
    for amount in amounts:
        assert isinstance(amount, Decimal), f"{amount!r} is a {type(amount).__name__}, not a Decimal"
        assert is_exact_cents(amount), f"{amount!r} does not have exactly two decimal places"


@FAST
@given(profile=profiles(), data=st.data())
def test_more_credits_never_cost_less_under_a_per_credit_rule(kb, profile, data):
    profile.pop("credits_without_learning_credit", None)
    assume(profile.get("programme", "bachelor") in PER_CREDIT_PROGRAMMES)
    fewer = data.draw(st.integers(1, MAX_CREDITS - 1), label="fewer")
    more = data.draw(st.integers(fewer + 1, MAX_CREDITS), label="more")
    small = quote_or_reject(kb, {**profile, "credits": fewer})
    large = quote_or_reject(kb, {**profile, "credits": more})
    assert large["fee_type"] == small["fee_type"]
    assert large["total"] >= small["total"]
    # exactly the per-credit rate for each extra credit, and strictly more when there is a rate
    assert large["total"] - small["total"] == (more - fewer) * small["per_credit"]
    if small["per_credit"] > 0:
        assert large["total"] > small["total"]


@FAST
@given(profile=profiles())
def test_the_total_is_the_fixed_part_plus_the_credits_at_the_rate(kb, profile):
    q = quote_or_reject(kb, profile)
    surcharge = sum(line["amount"] for line in q["lines"][2:])  # credits without learning credit
    expected = q["fixed"] + (q["credits"] * q["per_credit"] if q["fee_type"] != "secondary-school" else 0) + surcharge
    assert q["total"] == expected


@FAST
@given(profile=profiles())
def test_a_quote_cites_only_pages_of_the_year_and_institution_asked(kb, profile):
    q = quote_or_reject(kb, profile)
    assert q["sources"], "a quote without a source"
    for s in q["sources"]:
        assert (s["institution"], s["academic_year"]) == ("kdg", profile["academic_year"]), s


@FAST
@given(profile=profiles())
def test_a_higher_fee_quote_of_a_year_with_exceptions_always_says_what_the_profile_left_open(kb, profile):
    """2023-24 has exceptions to the higher fee and a standard fee for a Flemish secondary diploma: a higher-fee
    quote that was not told about them says so in its notes (only the fields left out can be noted)."""
    q = quote_or_reject(kb, profile)
    if q["fee_type"] in ("higher", "higher-exception", "exam-higher") and profile["academic_year"] == "2023-24":
        if "flemish_secondary_diploma" not in profile:
            assert any("Flemish diploma of secondary education" in n for n in q["notes"]), q["notes"]
        else:
            assert not any(n.startswith("With a Flemish diploma") for n in q["notes"]), q["notes"]
    if profile["academic_year"] == "2026-27":
        assert q["notes"] == [], "the 2026-27 page has no exceptions to note"
    if "higher_fee_exception" in profile or q["fee_type"] != "higher":
        assert not any(n.startswith("Exception to the higher fee") for n in q["notes"]), q["notes"]


@FAST
@given(profile=profiles())
def test_every_figure_a_note_gives_is_the_engine_s_own_quote_of_that_alternative(kb, profile):
    q = quote_or_reject(kb, profile)
    for note in q["notes"]:
        if note.startswith("Exception to the higher fee"):
            code = "ibm-2018-19" if "International Business Management" in note else "dutch-taught-before-2020-21"
            alt = quote(kb, {**profile, "higher_fee_exception": code})
        elif note.startswith("With a Flemish diploma"):
            alt = quote(kb, {**profile, "flemish_secondary_diploma": True})
        else:
            continue
        assert f"€{alt['total']:,} for {q['credits']} credits" in note, (note, alt["total"])
        assert f"€{q['total']:,}" in note or alt["total"] == q["total"]
