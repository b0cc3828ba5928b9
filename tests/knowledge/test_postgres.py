"""The knowledge base on a real PostgreSQL server: built by the loader and by `mobility kb build`,
it answers exactly as the SQLite one does (same rows, same quotes to the cent, same grants)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from sqlalchemy import inspect

from knowledge import KnowledgeBase, build, find_grants, make_engine, quote, upcoming_deadlines
from knowledge import models as m
from knowledge.fees import ProfileError

from kbhelpers import MOBILITY, ROOT, as_profile, load_fee_cases, parse_cli_json

CASES = load_fee_cases()


@pytest.fixture(scope="module")
def pg_counts(postgres_url):
    engine = make_engine(postgres_url)
    try:
        yield build(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_kb(postgres_url, pg_counts):
    engine = make_engine(postgres_url)
    yield KnowledgeBase(engine)
    engine.dispose()


def test_the_loader_builds_every_table_on_postgresql(postgres_url, pg_counts, kb_url):
    engine = make_engine(postgres_url)
    try:
        assert engine.dialect.name == "postgresql"
        assert set(inspect(engine).get_table_names()) == set(m.Base.metadata.tables)
    finally:
        engine.dispose()
    sqlite = make_engine(kb_url)
    try:
        with sqlite.connect() as conn:
            expected = {t.name: len(conn.execute(t.select()).fetchall()) for t in m.Base.metadata.sorted_tables}
    finally:
        sqlite.dispose()
    assert pg_counts == expected
    assert pg_counts["fee_parameter"] > 0 and pg_counts["grant_variant"] > 0 and pg_counts["deadline"] > 0


def test_every_fee_case_quotes_the_same_on_postgresql_as_by_hand(pg_kb):
    wrong = []
    for case in CASES:
        try:
            q = quote(pg_kb, as_profile(case["profile"]))
        except ProfileError as e:
            wrong.append(f"{case['name']}: refused ({e.field}: {e.message})")
            continue
        if str(q["total"]) != case["total"] or q["fee_type"] != case["fee_type"]:
            wrong.append(f"{case['name']}: {q['total']} {q['fee_type']}, expected {case['total']} {case['fee_type']}")
    assert not wrong, "\n".join(wrong)


def test_postgresql_refuses_a_year_without_data_too(pg_kb):
    with pytest.raises(ProfileError) as caught:
        quote(pg_kb, {"institution": "kdg", "academic_year": "2024-25", "nationality": "BE"})
    assert caught.value.field == "academic_year"


def test_grants_and_deadlines_are_the_same_on_postgresql(pg_kb, kb, today):
    query = {"institution": "kask", "destination": "JP", "activity": "internship", "months": 2}
    assert find_grants(pg_kb, query, today=today) == find_grants(kb, query, today=today)
    assert upcoming_deadlines(pg_kb, today=today) == upcoming_deadlines(kb, today=today)


def test_facts_are_the_same_on_postgresql(pg_kb, kb):
    assert pg_kb.topics() == kb.topics()
    assert [f.text for f in pg_kb.facts("fee_rules", "kdg")] == [f.text for f in kb.facts("fee_rules", "kdg")]


def test_mobility_kb_build_and_fee_work_on_postgresql(postgres_url, pg_counts):
    env = {**os.environ, "DATABASE_URL": postgres_url}

    def run(*args, stdin=None):
        return subprocess.run([str(MOBILITY), *args], input=stdin, capture_output=True, text=True, env=env,
                              cwd=str(ROOT), timeout=120)

    built = run("kb", "build")
    assert built.returncode == 0, built.stderr
    assert "knowledge base built in" in built.stdout and "postgres@" not in built.stdout  # the user is not shown
    fee = run("fee", stdin=json.dumps({"institution": "kdg", "academic_year": "2026-27", "nationality": "BR"}))
    assert fee.returncode == 0, fee.stderr
    assert str(parse_cli_json(fee)["total"]) == "9020.00"
    # the rebuild replaced the tables: the same rows as before, none twice
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert {t.name: len(conn.execute(t.select()).fetchall()) for t in m.Base.metadata.sorted_tables} == pg_counts
    finally:
        engine.dispose()
