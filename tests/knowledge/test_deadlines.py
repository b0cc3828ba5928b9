"""The deadline calendar: the next occurrence of each recurring date from a fixed today; through the
API and `mobility deadlines [--today] [--json]`."""
from __future__ import annotations

import datetime
import json

import pytest

from knowledge import upcoming_deadlines
from knowledge.deadlines import for_grant, next_date

from kbhelpers import SOURCES_DIR, parse_cli_json

# From today, 23 November 2026: (deadline, its next date)
NEXT_FROM_23_NOVEMBER_2026 = [
    ("mobility-online-opens", "2027-02-01"),          # 1 February
    ("incoming-registration-opens", "2027-03-01"),    # 1 March
    ("pcp-application", "2027-03-12"),                # 12.03
    ("mobility-online-registration", "2027-03-25"),   # 25.03
    ("incoming-first-semester", "2027-05-01"),        # 01.05
    ("flemish-study-grant", "2027-06-01"),            # 1 June
    ("incoming-second-semester", "2027-10-30"),       # 30.10: this year's has passed
]


@pytest.mark.parametrize("deadline_id, expected", NEXT_FROM_23_NOVEMBER_2026, ids=[d for d, _ in NEXT_FROM_23_NOVEMBER_2026])
def test_each_deadline_falls_next_on_its_day_after_today(kb, today, deadline_id, expected):
    d = next(x for x in upcoming_deadlines(kb, today=today) if x["id"] == deadline_id)
    assert d["next_date"] == expected
    assert d["days_left"] == (datetime.date.fromisoformat(expected) - today).days
    assert (SOURCES_DIR / d["source"]["file"]).is_file()


def test_the_deadlines_come_soonest_first_and_undated_calls_last(kb, today):
    items = upcoming_deadlines(kb, today=today)
    assert [(d["id"], d["next_date"]) for d in items[:-1]] == NEXT_FROM_23_NOVEMBER_2026
    assert items[-1]["id"] == "asem-calls" and items[-1]["next_date"] is None and items[-1]["days_left"] is None


# (sentence, today, deadline, its next date)
OCCURRENCES = [
    ("1 May after 23 November is next year's", "2026-11-23", "incoming-first-semester", "2027-05-01"),
    ("a deadline falling today is today's, with 0 days left", "2027-05-01", "incoming-first-semester", "2027-05-01"),
    ("the day after a deadline it moves to next year", "2027-05-02", "incoming-first-semester", "2028-05-01"),
    ("30 October from early October is this year's", "2026-10-01", "incoming-second-semester", "2026-10-30"),
    ("25 March seen on 31 December is in the new year", "2026-12-31", "mobility-online-registration", "2027-03-25"),
    ("12 March seen in a leap year's February is this year's", "2028-02-29", "pcp-application", "2028-03-12"),
    ("1 June seen on 1 January is this year's", "2027-01-01", "flemish-study-grant", "2027-06-01"),
]


@pytest.mark.parametrize("today_text, deadline_id, expected", [o[1:] for o in OCCURRENCES], ids=[o[0] for o in OCCURRENCES])
def test_the_next_occurrence_is_computed_from_today(kb, today_text, deadline_id, expected):
    today = datetime.date.fromisoformat(today_text)
    d = kb.deadlines[deadline_id]
    assert next_date(d, today) == datetime.date.fromisoformat(expected)
    described = next(x for x in upcoming_deadlines(kb, today=today) if x["id"] == deadline_id)
    assert described["days_left"] == (datetime.date.fromisoformat(expected) - today).days >= 0


def test_a_call_without_a_fixed_date_has_no_next_date(kb, today):
    assert next_date(kb.deadlines["asem-calls"], today) is None


def test_the_deadlines_can_be_filtered_by_institution_and_audience(kb, today):
    assert [d["id"] for d in upcoming_deadlines(kb, today=today, institution="kdg")] == ["flemish-study-grant"]
    incoming = {d["id"] for d in upcoming_deadlines(kb, today=today, audience="incoming")}
    assert incoming == {"incoming-registration-opens", "incoming-first-semester", "incoming-second-semester", "flemish-study-grant"}


def test_a_grant_knows_its_deadline(kb, today):
    assert [d["id"] for d in for_grant(kb, "erasmus-plus", today)] == ["mobility-online-registration"]
    assert [d["id"] for d in for_grant(kb, "priority-country-programme", today)] == ["pcp-application"]


def test_a_recurring_date_reads_as_day_and_month(kb, today):
    d = next(x for x in upcoming_deadlines(kb, today=today) if x["id"] == "mobility-online-registration")
    assert d["recurring"] == "25 March"


# -- the command line --------------------------------------------------------------------------------
def test_mobility_deadlines_json_from_a_given_today(mobility):
    proc = mobility("deadlines", "--today", "2026-11-23", "--json")
    assert proc.returncode == 0, proc.stderr
    items = parse_cli_json(proc)
    assert [(d["id"], d["next_date"]) for d in items if d["next_date"]] == NEXT_FROM_23_NOVEMBER_2026
    first = items[0]
    assert first["days_left"] == 70 and first["source"]["file"] == "kask-going-abroad.txt"


def test_mobility_deadlines_lists_the_next_dates_as_text(mobility):
    proc = mobility("deadlines", "--today", "2026-11-23")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(NEXT_FROM_23_NOVEMBER_2026) + 1
    assert lines[0].startswith("2027-02-01 (70 days)") and "[kask-going-abroad.txt]" in lines[0]
    may = next(line for line in lines if "2027-05-01" in line)
    assert "(159 days)" in may and "deadline" in may
    assert lines[-1].startswith("no fixed date") and "call" in lines[-1]


def test_mobility_deadlines_from_the_day_itself_counts_zero_days(mobility):
    proc = mobility("deadlines", "--today", "2027-05-01", "--institution", "kask", "--json")
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)
    assert items[0]["id"] == "incoming-first-semester" and items[0]["days_left"] == 0
    assert all(d["institution"] == "kask" for d in items)


def test_mobility_deadlines_refuses_a_date_that_is_not_one(mobility):
    proc = mobility("deadlines", "--today", "2026-13-01")
    assert proc.returncode != 0
    assert "2027" not in proc.stdout, "no listing from a date that does not exist"
