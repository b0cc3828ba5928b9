"""The fee engine against the cases worked out by hand from the KdG pages (fee_cases.yaml): through
the Python API for every case, and through `mobility fee` for one case of each year and fee type."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Dict

import pytest

from knowledge.fees import quote
from knowledge.years import parse_academic_year

from kbhelpers import (SOURCES_DIR, as_profile, cents, is_exact_cents, load_acceptance_fees, load_fee_cases,
                       parse_cli_json, raw_numbers, TWO_PLACES)

CASES = load_fee_cases()


def _cli_selection():
    """A few cases: the main fee types of 2026-27, the basic, higher and exception fees of 2023-24 (the
    higher one with its notes), and a profile written the way a person would (full institution name,
    lower-case code, 2026-2027)."""
    seen, chosen = set(), []
    for c in CASES:
        year = parse_academic_year(str(c["profile"].get("academic_year")))
        key = (year, c["fee_type"])
        wanted = (year == "2026-27" and c["fee_type"] in ("basic", "higher", "exam-higher", "advanced-master", "secondary-school")
                  or year == "2023-24" and c["fee_type"] in ("basic", "higher-exception")
                  or year == "2023-24" and c["fee_type"] == "higher" and c.get("notes"))
        if (wanted and key not in seen) or "lower-case" in c["name"]:
            seen.add(key)
            chosen.append(c)
    return chosen


CLI_CASES = _cli_selection()


@pytest.fixture(scope="module")
def cli_quotes(mobility):
    """Run the selected cases through `mobility fee` side by side (each is a fresh process)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = list(pool.map(lambda c: mobility.json("fee", payload=as_profile(c["profile"])), CLI_CASES))
    return {c["name"]: p for c, p in zip(CLI_CASES, procs)}


def check_quote(q: Dict[str, Any], case: Dict[str, Any]) -> None:
    """Everything a case states, compared exactly (Decimals, not floats)."""
    assert q["total"] == cents(case["total"]), f"total {q['total']} != {case['total']}"
    assert is_exact_cents(q["total"]), f"total {q['total']!r} is not exact cents"
    assert q["fee_type"] == case["fee_type"]
    assert q["currency"] == "EUR"
    if "fixed" in case:
        assert q["fixed"] == cents(case["fixed"])
    if "per_credit" in case:
        assert q["per_credit"] == cents(case["per_credit"])
    if "lines" in case:
        assert [line["amount"] for line in q["lines"]] == [cents(x) for x in case["lines"]]
    assert sum(line["amount"] for line in q["lines"]) == q["total"]
    if "instalments" in case:
        for key, expected in case["instalments"].items():
            got = q["instalments"].get(key)
            if key == "advance":
                assert got == cents(expected), f"instalments.{key}: {got!r} != {expected!r}"
            else:
                assert got == expected, f"instalments.{key}: {got!r} != {expected!r}"
    files = [s["file"] for s in q["sources"]]
    assert case["source"] in files, f"the quote cites {files}, not {case['source']}"
    year = parse_academic_year(str(case["profile"].get("academic_year")))
    assert q["academic_year"] == year
    for s in q["sources"]:
        assert s["academic_year"] == year, f"a {year} quote cites the {s['academic_year']} page {s['file']}"
        assert s["institution"] == q["institution"]
        assert (SOURCES_DIR / s["file"]).is_file()
    assert f"€{q['total']:,}" in q["explanation"], q["explanation"]  # €1,181.40
    assert isinstance(q["notes"], list) and all(isinstance(n, str) and n.strip() for n in q["notes"])
    if "notes" in case:
        if case["notes"] == []:
            assert q["notes"] == [], f"unexpected notes: {q['notes']}"
        for words in case["notes"]:
            assert any(words in n for n in q["notes"]), f"no note says {words!r}: {q['notes']}"
    if "higher_fee_exception" in case:
        assert q["higher_fee_exception"] == case["higher_fee_exception"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_engine_quotes_each_hand_worked_case(kb, case):
    check_quote(quote(kb, as_profile(case["profile"])), case)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["name"] for c in CLI_CASES])
def test_the_command_line_quotes_the_same_as_the_engine(cli_quotes, case):
    proc = cli_quotes[case["name"]]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    q = parse_cli_json(proc)
    for line in q["lines"]:
        line["amount"] = Decimal(str(line["amount"]))
    for key in ("total", "fixed", "per_credit"):
        q[key] = Decimal(str(q[key]))
    if "advance" in q["instalments"]:
        q["instalments"]["advance"] = Decimal(str(q["instalments"]["advance"]))
    check_quote(q, case)
    numbers = raw_numbers(proc)
    assert numbers, "the quote holds no amounts"
    assert all(TWO_PLACES.match(n) for n in numbers), f"amounts not written with two decimals: {numbers}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_case_adds_up_by_its_own_figures(case):
    """The hand-worked case is itself consistent: fixed + credits × per credit (+ lines) = total."""
    total = cents(case["total"])
    if "lines" in case:
        assert sum(cents(x) for x in case["lines"]) == total
    if "fixed" in case and "per_credit" in case and not case["profile"].get("credits_without_learning_credit"):
        credits = case["profile"].get("credits", 60)
        per_credit = cents(case["per_credit"]) if case["fee_type"] != "secondary-school" else Decimal(0)
        assert cents(case["fixed"]) + credits * per_credit == total


ACCEPTANCE = load_acceptance_fees()


@pytest.mark.parametrize("case", ACCEPTANCE, ids=[c["id"] for c in ACCEPTANCE])
def test_the_public_acceptance_fee_cases_hold_through_the_api(kb, case):
    from knowledge.fees import ProfileError

    profile = as_profile(case["profile"])
    if case.get("error"):
        with pytest.raises(ProfileError):
            quote(kb, profile)
    else:
        assert quote(kb, profile)["total"] == Decimal(str(case["total"])).quantize(Decimal("0.01"))


def test_a_non_eea_student_who_started_before_2020_without_the_exception_field_gets_the_general_higher_fee_and_a_note(kb):
    """Whether a 2023-24 exception (Dutch-taught programmes started before 2020-21; IBM started in 2018-19)
    applies depends on the programme's language and name, which only higher_fee_exception says: without it the
    engine quotes the general higher fee of that year from that year's page, never a guessed exception or
    another year's figures, and its notes name the exceptions that could apply, with their fees."""
    q = quote(kb, {"institution": "kdg", "academic_year": "2023-24", "nationality": "BR", "first_enrolled": "2019-20"})
    assert q["fee_type"] == "higher" and q["higher_fee_exception"] is None
    assert q["total"] == Decimal("7102.60")  # 1420.60 + 60 × 94.70
    assert (q["fixed"], q["per_credit"]) == (Decimal("1420.60"), Decimal("94.70"))
    assert {s["file"] for s in q["sources"]} == {"kdg-tuition-fees-2023-24.txt"}
    exception_notes = [n for n in q["notes"] if n.startswith("Exception to the higher fee")]
    assert len(exception_notes) == 1, q["notes"]  # started in 2019-20: Dutch-taught only, not IBM (2018-19)
    assert "Dutch-taught graduates and bachelors" in exception_notes[0] and "€1,092.10" in exception_notes[0]
