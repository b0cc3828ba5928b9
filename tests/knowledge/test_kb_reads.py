"""The knowledge base reads a year's fee tables once per build: later quotes of that year run no SQL, give the
same answer as a fresh instance, never mix years, and a rebuilt database is read again."""
from __future__ import annotations

import shutil
from decimal import Decimal
from typing import List

import pytest
import yaml
from sqlalchemy import event

from knowledge import KnowledgeBase, make_engine
from knowledge.fees import quote
from knowledge.loader import DATA_DIR, build

NON_EEA_60 = {"institution": "kdg", "nationality": "BR", "credits": 60}


@pytest.fixture()
def counted(kb_url):
    """A fresh KnowledgeBase and the list of SQL statements its engine runs."""
    engine = make_engine(kb_url)
    statements: List[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))
    yield KnowledgeBase(engine), statements
    engine.dispose()


def test_a_second_quote_of_the_same_year_runs_no_sql(counted, today):
    kb, statements = counted
    first = quote(kb, {**NON_EEA_60, "academic_year": "2026-27"}, today=today)
    assert statements, "the first quote reads the tables"
    statements.clear()
    again = quote(kb, {**NON_EEA_60, "academic_year": "2026-27"}, today=today)
    assert statements == []
    assert again == first


@pytest.mark.parametrize("years", [("2026-27", "2023-24"), ("2023-24", "2026-27")])
def test_years_read_one_after_the_other_are_not_mixed(counted, kb_url, today, years):
    kb, _ = counted
    for year in years:
        fresh = KnowledgeBase(make_engine(kb_url))
        assert quote(kb, {**NON_EEA_60, "academic_year": year}, today=today) == \
            quote(fresh, {**NON_EEA_60, "academic_year": year}, today=today)


def test_callers_cannot_change_which_parameters_rules_or_years_the_next_caller_reads(counted):
    kb, _ = counted
    params = kb.fee_parameters("kdg", "2026-27")
    rules = kb.residence_rules("kdg", "2026-27")
    years = kb.fee_years("kdg")
    params.clear(), rules.clear(), years.clear()
    assert kb.fee_parameters("kdg", "2026-27") and kb.residence_rules("kdg", "2026-27")
    assert kb.fee_years("kdg") == ["2023-24", "2026-27"]


def test_a_rebuilt_database_is_read_again_by_a_running_instance(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    build(engine, data)
    kb = KnowledgeBase(engine)
    monkeypatch.setattr(KnowledgeBase, "RECHECK_SECONDS", 0.0)
    fixed = kb.fee_parameters("kdg", "2026-27")["basic.none.fixed"].value
    assert kb.countries["NO"].eea

    fees = yaml.safe_load((data / "fees" / "kdg.yaml").read_text())
    fees["parameters"]["basic.none.fixed"]["values"]["2026-27"]["value"] = 999
    (data / "fees" / "kdg.yaml").write_text(yaml.safe_dump(fees, allow_unicode=True, sort_keys=False))
    countries = yaml.safe_load((data / "countries.yaml").read_text())
    next(c for c in countries["countries"] if c["code"] == "NO")["eea"] = False
    (data / "countries.yaml").write_text(yaml.safe_dump(countries, allow_unicode=True, sort_keys=False))
    build(engine, data)

    assert fixed != Decimal(999)
    assert kb.fee_parameters("kdg", "2026-27")["basic.none.fixed"].value == Decimal(999)
    assert not kb.countries["NO"].eea
    engine.dispose()


@pytest.mark.parametrize("year", ["2023-24", "2026-27"])
def test_after_warm_the_first_quote_of_any_year_runs_no_sql(counted, today, year):
    kb, statements = counted
    kb.warm()
    assert statements, "warm reads the tables"
    statements.clear()
    answer = quote(kb, {**NON_EEA_60, "academic_year": year}, today=today)
    assert kb.grants and kb.countries and kb.deadlines
    assert statements == []
    assert answer == quote(KnowledgeBase(kb.engine), {**NON_EEA_60, "academic_year": year}, today=today)
