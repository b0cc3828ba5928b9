"""Bad fee profiles are refused with the field at fault, never answered with a guess or with another
year's figures: through the API (ProfileError) and `mobility fee` (exit 2, {"error", "field"})."""
from __future__ import annotations

import datetime
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from knowledge.fees import ProfileError, quote

from kbhelpers import MOBILITY, error_of, parse_cli_json

BE = {"institution": "kdg", "academic_year": "2026-27", "nationality": "BE"}
BR = {**BE, "nationality": "BR"}
BR23 = {**BR, "academic_year": "2023-24"}

# (sentence, profile, field at fault)
ERRORS = [
    ("an unknown institution is refused", {**BE, "institution": "ugent"}, "institution"),
    ("an institution with no fee data is refused", {**BE, "institution": "kask"}, "institution"),
    ("a profile without an institution is refused", {"academic_year": "2026-27", "nationality": "BE"}, "institution"),
    ("an empty institution is refused", {**BE, "institution": ""}, "institution"),
    ("an institution given as a number is refused", {**BE, "institution": 7}, "institution"),
    ("2024-25 has no data and is refused", {**BE, "academic_year": "2024-25"}, "academic_year"),
    ("2025-26 has no data and is refused", {**BE, "academic_year": "2025-26"}, "academic_year"),
    ("2027-28 has no data and is refused", {**BE, "academic_year": "2027-28"}, "academic_year"),
    ("1999-00 has no data and is refused", {**BE, "academic_year": "1999-00"}, "academic_year"),
    ("a calendar year is not an academic year", {**BE, "academic_year": "2026"}, "academic_year"),
    ("an academic year spanning two years is refused", {**BE, "academic_year": "2026-28"}, "academic_year"),
    ("an academic year given as a number is refused", {**BE, "academic_year": 2026}, "academic_year"),
    ("0 credits are refused", {**BE, "credits": 0}, "credits"),
    ("-1 credits are refused", {**BE, "credits": -1}, "credits"),
    ("credits written as abc are refused", {**BE, "credits": "abc"}, "credits"),
    ("credits written as text are refused", {**BE, "credits": "60"}, "credits"),
    ("1.5 credits are refused", {**BE, "credits": 1.5}, "credits"),
    ("121 credits are too many", {**BE, "credits": 121}, "credits"),
    ("a million credits are too many", {**BE, "credits": 1000000}, "credits"),
    ("credits given as true are refused", {**BE, "credits": True}, "credits"),
    ("an unknown country code is refused", {**BE, "nationality": "XX"}, "nationality"),
    ("a three-letter country code is refused", {**BE, "nationality": "BEL"}, "nationality"),
    ("a nationality given as a number is refused", {**BE, "nationality": 32}, "nationality"),
    ("a profile without a nationality is refused", {"institution": "kdg", "academic_year": "2026-27"}, "nationality"),
    ("an unknown nationality group is refused", {"institution": "kdg", "academic_year": "2026-27", "nationality_group": "eu"}, "nationality_group"),
    ("an unknown residence card is refused", {**BR, "residence_permit": "Z"}, "residence_permit"),
    ("an unknown residence card is refused in 2023-24 too", {**BE, "academic_year": "2023-24", "residence_permit": "Z"}, "residence_permit"),
    ("a residence card the 2023-24 page does not list is not guessed", {**BR, "academic_year": "2023-24", "residence_permit": "B"}, "residence_permit"),
    ("an unknown residence status is refused", {**BR, "residence_status": "tourist"}, "residence_status"),
    ("a residence status the 2023-24 page does not list is not guessed", {**BR, "academic_year": "2023-24", "residence_status": "refugee"}, "residence_status"),
    ("an unknown scholarship status is refused", {**BE, "scholarship": "maybe"}, "scholarship"),
    ("an unknown contract is refused", {**BE, "contract": "loan"}, "contract"),
    ("an unknown programme is refused", {**BE, "programme": "phd"}, "programme"),
    ("an unknown field is refused by name", {**BE, "colour": "red"}, "colour"),
    ("a first enrolment after the year asked is refused", {**BE, "first_enrolled": "2027-28"}, "first_enrolled"),
    ("a malformed first enrolment year is refused", {**BE, "first_enrolled": "last year"}, "first_enrolled"),
    ("13 credits exceed the 2026-27 secondary-school cap of 12", {**BE, "programme": "secondary-school", "credits": 13}, "credits"),
    ("the default 60 credits exceed the secondary-school cap", {**BE, "programme": "secondary-school"}, "credits"),
    ("11 credits exceed the 2023-24 secondary-school cap of 10", {**BE, "academic_year": "2023-24", "programme": "secondary-school", "credits": 11}, "credits"),
    ("a secondary-school pupil cannot take an exam contract", {**BE, "programme": "secondary-school", "contract": "exam", "credits": 5}, "contract"),
    ("a secondary-school pupil cannot take a diploma contract", {**BE, "programme": "secondary-school", "contract": "diploma", "credits": 5}, "contract"),
    ("an advanced bachelor in 2023-24 is not answered with the 2026-27 fee", {**BE, "academic_year": "2023-24", "programme": "advanced-bachelor"}, "programme"),
    ("a bridging programme in 2023-24 is not answered with the 2026-27 fee", {**BE, "academic_year": "2023-24", "programme": "bridging"}, "programme"),
    ("more credits without learning credit than credits are refused", {**BE, "credits": 30, "credits_without_learning_credit": 31}, "credits_without_learning_credit"),
    ("negative credits without learning credit are refused", {**BE, "credits_without_learning_credit": -1}, "credits_without_learning_credit"),
    ("the learning-credit surcharge does not apply to a graduate programme", {**BE, "programme": "graduate", "credits_without_learning_credit": 5}, "credits_without_learning_credit"),
    ("a postgraduate programme is refused: the pages give it no fee", {**BE, "programme": "postgraduate"}, "programme"),
    ("a postgraduate programme in 2023-24 is refused too", {**BE, "academic_year": "2023-24", "programme": "postgraduaat"}, "programme"),
    # -- exceptions to the higher fee (2023-24 only) --------------------------------------------------------
    ("an exception to the higher fee in 2026-27 is refused: its page lists none", {**BR, "higher_fee_exception": "dutch-taught-before-2020-21"}, "higher_fee_exception"),
    ("an unknown exception to the higher fee is refused", {**BR23, "higher_fee_exception": "sports-talent"}, "higher_fee_exception"),
    ("an exception to the higher fee given as a number is refused", {**BR23, "higher_fee_exception": 2018}, "higher_fee_exception"),
    ("an empty exception to the higher fee is refused", {**BR23, "higher_fee_exception": " "}, "higher_fee_exception"),
    ("the Dutch-taught exception is refused for a master's programme", {**BR23, "higher_fee_exception": "dutch-taught-before-2020-21", "programme": "master"}, "higher_fee_exception"),
    ("the IBM exception is refused for a graduate programme", {**BR23, "higher_fee_exception": "ibm-2018-19", "programme": "graduate"}, "higher_fee_exception"),
    ("the Dutch-taught exception is refused for studies started in 2020-21", {**BR23, "higher_fee_exception": "dutch-taught-before-2020-21", "first_enrolled": "2020-21"}, "higher_fee_exception"),
    ("the IBM exception is refused for studies started in 2017-18", {**BR23, "higher_fee_exception": "ibm-2018-19", "first_enrolled": "2017-18"}, "higher_fee_exception"),
    ("the IBM exception is refused for studies started in 2019-20", {**BR23, "higher_fee_exception": "ibm-2018-19", "first_enrolled": "2019-20"}, "higher_fee_exception"),
    ("an exception to the higher fee is refused with an exam contract", {**BR23, "higher_fee_exception": "ibm-2018-19", "contract": "exam"}, "higher_fee_exception"),
    ("an exception to the higher fee is refused for a secondary-school pupil", {**BR23, "higher_fee_exception": "dutch-taught-before-2020-21", "programme": "secondary-school", "credits": 5}, "higher_fee_exception"),
    ("an exception to the higher fee is refused for an advanced master", {**BR23, "higher_fee_exception": "dutch-taught-before-2020-21", "programme": "advanced-master"}, "higher_fee_exception"),
    # -- the Flemish diploma of secondary education ------------------------------------------------------
    ("a Flemish diploma given as yes is refused: it is true or false", {**BR23, "flemish_secondary_diploma": "yes"}, "flemish_secondary_diploma"),
    ("a Flemish diploma given as 1 is refused", {**BR23, "flemish_secondary_diploma": 1}, "flemish_secondary_diploma"),
    ("a Flemish diploma is not guessed to give the basic fee in 2026-27, whose page does not say so",
     {**BR, "flemish_secondary_diploma": True}, "flemish_secondary_diploma"),
    ("a Flemish diploma is not guessed to give the basic exam rate in 2026-27 either",
     {**BR, "flemish_secondary_diploma": True, "contract": "exam"}, "flemish_secondary_diploma"),
]


@pytest.mark.parametrize("profile, field", [(p, f) for _, p, f in ERRORS], ids=[s for s, _, _ in ERRORS])
def test_the_engine_refuses_a_bad_profile_naming_the_field(kb, profile, field):
    with pytest.raises(ProfileError) as caught:
        quote(kb, profile)
    assert caught.value.field == field, caught.value.message
    assert caught.value.message.strip()
    assert caught.value.as_dict() == {"error": caught.value.message, "field": field}


@pytest.mark.parametrize("raw", [[], "kdg", None, 60, [BE]], ids=["a list", "a string", "null", "a number", "a list of profiles"])
def test_a_profile_that_is_not_an_object_is_refused(kb, raw):
    with pytest.raises(ProfileError) as caught:
        quote(kb, raw)
    assert caught.value.field == "profile"


@pytest.mark.parametrize("today", [datetime.date(2025, 5, 1), datetime.date(2026, 8, 31), datetime.date(2027, 9, 1)],
                         ids=str)
def test_a_default_year_without_data_is_refused_rather_than_answered_from_another_year(kb, today):
    with pytest.raises(ProfileError) as caught:
        quote(kb, {"institution": "kdg", "nationality": "BE"}, today=today)
    assert caught.value.field == "academic_year"
    assert "2023-24" in caught.value.message and "2026-27" in caught.value.message  # it says which years have data


def test_an_unknown_exception_is_answered_with_the_exceptions_the_year_lists(kb):
    with pytest.raises(ProfileError) as caught:
        quote(kb, {**BR23, "higher_fee_exception": "sports-talent"})
    for words in ("dutch-taught-before-2020-21", "ibm-2018-19", "before 2020-2021", "in 2018-2019"):
        assert words in caught.value.message


def test_a_postgraduate_programme_is_refused_with_the_instalment_rule_the_page_gives_instead(kb):
    with pytest.raises(ProfileError) as caught:
        quote(kb, {**BE, "programme": "postgraduate"})
    assert "no fee for postgraduate programmes" in caught.value.message
    assert "cannot be paid in instalments" in caught.value.message


def test_the_default_year_is_the_academic_year_that_started_on_1_september(kb, today):
    assert quote(kb, {"institution": "kdg", "nationality": "BE"}, today=today)["academic_year"] == "2026-27"
    assert quote(kb, {"institution": "kdg", "nationality": "BE"}, today=datetime.date(2026, 9, 1))["academic_year"] == "2026-27"


# -- the command line --------------------------------------------------------------------------------
CLI_ERRORS = [e for e in ERRORS if e[0] in {
    "an unknown institution is refused", "2024-25 has no data and is refused", "0 credits are refused",
    "credits written as abc are refused", "1.5 credits are refused", "an unknown country code is refused",
    "an unknown residence status is refused", "13 credits exceed the 2026-27 secondary-school cap of 12",
    "an exception to the higher fee in 2026-27 is refused: its page lists none",
    "a Flemish diploma given as yes is refused: it is true or false",
}]
assert len(CLI_ERRORS) == 10, "a sentence above was renamed: keep the command-line selection in step"
MAX_INPUT = 64 * 1024


def _padded(size: int) -> str:
    """A valid profile padded with trailing spaces to exactly size bytes."""
    text = json.dumps(BE)
    return text + " " * (size - len(text.encode()))


# (sentence, stdin, field)
RAW_INPUTS = [
    ("malformed JSON is refused", '{"institution": "kdg", "nationality": ', "input"),
    ("empty input is refused", "", "input"),
    ("input larger than 64 KiB is refused", _padded(MAX_INPUT + 1), "input"),
    ("a JSON list is not a profile", json.dumps([BE]), "profile"),
]


@pytest.fixture(scope="module")
def cli_runs(mobility):
    jobs = {s: json.dumps(p) for s, p, _ in CLI_ERRORS}
    jobs.update({s: raw for s, raw, _ in RAW_INPUTS})
    jobs["input of exactly 64 KiB is still read"] = _padded(MAX_INPUT)
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = list(pool.map(lambda raw: mobility("fee", input=raw), jobs.values()))
    return dict(zip(jobs, procs))


@pytest.mark.parametrize("sentence, field", [(s, f) for s, _, f in CLI_ERRORS + RAW_INPUTS],
                         ids=[s for s, _, _ in CLI_ERRORS + RAW_INPUTS])
def test_the_command_line_exits_2_with_the_error_and_the_field(cli_runs, sentence, field):
    proc = cli_runs[sentence]
    code, error = error_of(proc)
    assert code == 2, proc.stdout + proc.stderr
    assert error["field"] == field, error
    assert "Traceback" not in proc.stderr


def test_input_of_exactly_64_kib_is_still_read(cli_runs):
    proc = cli_runs["input of exactly 64 KiB is still read"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert str(parse_cli_json(proc)["total"]) == "1181.40"


def test_input_that_is_not_utf8_is_refused(mobility):
    proc = subprocess.run([str(MOBILITY), "fee"], input=b'{"institution": "kd\xff"}', capture_output=True,
                          env=mobility.env, timeout=60)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)
    assert error["field"] == "input" and error["error"]


def test_a_default_year_without_data_is_refused_by_the_command_line_too(mobility):
    proc = mobility("fee", "--today", "2025-10-01", input=json.dumps({"institution": "kdg", "nationality": "BE"}))
    code, error = error_of(proc)
    assert (code, error["field"]) == (2, "academic_year")


def test_deeply_nested_json_is_refused_with_an_error_object(mobility):
    proc = mobility("fee", input="[" * 30000 + "]" * 30000)
    code, error = error_of(proc)
    assert (code, error["field"]) == (2, "input")


def test_a_today_that_is_not_a_date_is_a_usage_error_not_a_traceback(mobility):
    proc = mobility("fee", "--today", "2026-13-01", input=json.dumps(BE))
    assert proc.returncode == 2 and "not a date" in proc.stderr and "Traceback" not in proc.stderr
