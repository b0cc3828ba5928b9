"""Where facts come from: every row of the knowledge base cites a source page that exists in
../shared/sources, of the row's institution and academic year; and the loader refuses a broken
curated file with an error naming the file and the entry."""
from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import loader, models as m
from knowledge.loader import DATA_DIR, DataError, build, load_all
from knowledge.db import make_engine

from kbhelpers import MOBILITY, ROOT, SOURCES_DIR, source_text

# -- the sources themselves ------------------------------------------------------------------------------
# id -> (institution, academic year, words on the page that show the year)
EXPECTED_SOURCES = {
    "kask-going-abroad": ("kask", None, None),
    "kask-internationalisation-vision": ("kask", None, None),
    "eacea-flanders-cross-border-mobility": ("flemish-community", "2023-24", "Last update: 31 March 2024"),
    "kdg-tuition-fees-2026-27": ("kdg", "2026-27", "Tuition fees for academic year 2026-2027"),
    "kdg-tuition-fees-2023-24": ("kdg", "2023-24", "for the 2023-24 academic year"),
}
FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FastDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Not a page: the ISO country list (cited by countries and regions) and the city list (cited by cities) only.
REFERENCE_DATA = {"reference-iso-3166", "reference-cities"}


def test_every_page_in_the_sources_folder_is_listed_as_a_source(kb):
    pages = {p.name for p in SOURCES_DIR.glob("*.txt")}
    assert pages, f"no pages in {SOURCES_DIR}"
    assert pages <= {s.file for s in kb.sources.values()}


@pytest.mark.parametrize("source_id", sorted(EXPECTED_SOURCES))
def test_each_source_page_exists_with_its_institution_and_academic_year(kb, source_id):
    institution, year, evidence = EXPECTED_SOURCES[source_id]
    s = kb.sources[source_id]
    assert s.file and (SOURCES_DIR / s.file).is_file(), f"{s.file} is not in {SOURCES_DIR}"
    assert (s.institution, s.academic_year) == (institution, year)
    assert s.institution in kb.institutions
    if evidence:
        assert evidence in source_text(s.file), f"{s.file} does not show its year ({evidence!r})"


def test_only_reference_data_has_no_page(kb):
    assert {s.id for s in kb.sources.values() if not s.file} == REFERENCE_DATA


# -- every row cites an existing page of its institution and year ----------------------------------------
def _rows(kb, table: str) -> List[Tuple[str, str, Optional[str], Optional[str]]]:
    """(label, source id, institution, academic year) of every row of a table."""
    with Session(kb.engine) as s:
        if table == "fee parameters":
            return [(f"{r.institution} {r.name} {r.academic_year}", r.source_id, r.institution, r.academic_year)
                    for r in s.execute(select(m.FeeParameter)).scalars()]
        if table == "stated totals":
            return [(f"{r.institution} {r.academic_year} {r.profile}", r.source_id, r.institution, r.academic_year)
                    for r in s.execute(select(m.StatedTotal)).scalars()]
        if table == "residence rules":
            return [(f"{r.institution} {r.academic_year} {r.code}", r.source_id, r.institution, r.academic_year)
                    for r in s.execute(select(m.ResidenceRule)).scalars()]
        if table == "grant variants":
            return [(f"{r.grant_id} #{r.id}", r.source_id, r.institution, r.academic_year)
                    for r in s.execute(select(m.GrantVariant)).scalars()]
        if table == "deadlines":
            return [(r.id, r.source_id, r.institution, None) for r in s.execute(select(m.Deadline)).scalars()]
        if table == "facts":
            return [(f"{r.topic}[{r.position}]", r.source_id, r.institution, r.academic_year)
                    for r in s.execute(select(m.Fact)).scalars()]
        if table == "courses":
            return [(f"{r.programme}: {r.name}", r.source_id, r.institution, None) for r in s.execute(select(m.Course)).scalars()]
        if table == "regions":
            return [(r.id, r.source_id, None, None) for r in s.execute(select(m.Region)).scalars()]
        if table == "countries":
            return [(r.code, r.source_id, None, None) for r in s.execute(select(m.Country)).scalars()]
        if table == "cities":
            return [(r.name, r.source_id, None, None) for r in s.execute(select(m.City)).scalars()]
    raise AssertionError(table)


PAGE_TABLES = ["fee parameters", "stated totals", "residence rules", "grant variants", "deadlines", "facts", "courses"]


@pytest.mark.parametrize("table", PAGE_TABLES)
def test_every_row_cites_a_page_that_exists_of_its_institution_and_year(kb, table):
    rows = _rows(kb, table)
    assert rows, f"no {table} in the knowledge base"
    problems = []
    for label, source_id, institution, year in rows:
        src = kb.sources.get(source_id)
        if src is None:
            problems.append(f"{label}: unknown source {source_id!r}")
        elif not src.file or not (SOURCES_DIR / src.file).is_file():
            problems.append(f"{label}: its source {source_id} has no page in {SOURCES_DIR}")
        else:
            if institution and src.institution != institution:
                problems.append(f"{label}: a {institution} row cites a {src.institution} page ({src.file})")
            if year and src.academic_year != year:
                problems.append(f"{label}: a {year} row cites the {src.academic_year} page ({src.file})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("table", ["regions", "countries", "cities"])
def test_reference_rows_cite_a_known_source(kb, table):
    rows = _rows(kb, table)
    assert rows
    assert all(source_id in kb.sources for _, source_id, _, _ in rows)


def test_every_fee_year_is_the_year_of_a_page(kb):
    for institution in kb.institutions:
        for year in kb.fee_years(institution):
            assert any(s.institution == institution and s.academic_year == year and s.file for s in kb.sources.values()), \
                f"{institution} has fees for {year} but no page of that year"


def test_a_quote_a_grant_and_a_deadline_carry_their_source(kb, today):
    from knowledge import find_grants, quote, upcoming_deadlines

    q = quote(kb, {"institution": "kdg", "academic_year": "2026-27", "nationality": "BE"})
    g = find_grants(kb, {"destination": "JP"}, today=today)
    d = upcoming_deadlines(kb, today=today)
    cited = [*q["sources"], *(x["source"] for x in g["fits"] + g["does_not_fit"]), *(x["source"] for x in d)]
    assert cited
    for s in cited:
        assert s["file"] and (SOURCES_DIR / s["file"]).is_file() and s["title"], s


# -- the loader names the file and the entry of a broken curated file --------------------------------------
def _yaml_edit(file: str, change: Callable[[Any], None]) -> Callable[[Path], None]:
    def edit(data_dir: Path) -> None:
        path = data_dir / file
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=FastLoader)
        change(data)
        path.write_text(yaml.dump(data, Dumper=FastDumper, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return edit


def _text_edit(file: str, text: Optional[str]) -> Callable[[Path], None]:
    def edit(data_dir: Path) -> None:
        if text is None:
            (data_dir / file).unlink()
        else:
            (data_dir / file).write_text(text, encoding="utf-8")
    return edit


def _grant(data, grant_id):
    return next(g for g in data["grants"] if g["id"] == grant_id)


def _deadline(data, deadline_id):
    return next(d for d in data["deadlines"] if d["id"] == deadline_id)


def _param(data, name):
    return data["parameters"][name]


# (sentence, edit, words the error must hold: the file, the entry, what is wrong)
BROKEN = [
    ("a fee amount citing an unknown source",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed")["values"]["2026-27"].update(source="nowhere")),
     ["fees/kdg.yaml", "basic.none.fixed", "2026-27", "nowhere"]),
    ("a fee parameter keyed by a calendar year",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed")["values"].update({"2026": {"value": 1, "source": "kdg-tuition-fees-2026-27"}})),
     ["fees/kdg.yaml", "basic.none.fixed", "2026"]),
    ("a fee parameter with a field the schema does not know",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.part.fixed").update(colour="red")),
     ["fees/kdg.yaml", "basic.part.fixed", "colour"]),
    ("a fee amount without a source",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "higher.new.fixed")["values"]["2023-24"].pop("source")),
     ["fees/kdg.yaml", "higher.new.fixed", "source"]),
    ("a stated total citing an unknown source",
     _yaml_edit("fees/kdg.yaml", lambda d: d["stated_totals"][2].update(source="nowhere")),
     ["fees/kdg.yaml", "stated_totals[2]", "nowhere"]),
    ("a higher-fee exception without its per-credit part",
     _yaml_edit("fees/kdg.yaml", lambda d: d["parameters"].pop("higher_exception.ibm-2018-19.per_credit")),
     ["fees/kdg.yaml", "higher_exception.ibm-2018-19", "2023-24", "per_credit"]),
    ("a higher-fee exception that says neither when the studies started before nor in",
     _yaml_edit("fees/kdg.yaml", lambda d: d["parameters"].pop("higher_exception.dutch-taught-before-2020-21.started_before")),
     ["fees/kdg.yaml", "higher_exception.dutch-taught-before-2020-21", "started_before"]),
    ("a higher-fee exception with a part the engine does not know",
     _yaml_edit("fees/kdg.yaml", lambda d: d["parameters"].update({"higher_exception.ibm-2018-19.nationality": {
         "description": "x", "unit": "text", "values": {"2023-24": {"value": "BR", "source": "kdg-tuition-fees-2023-24"}}}})),
     ["fees/kdg.yaml", "higher_exception.ibm-2018-19.nationality"]),
    ("a higher-fee exception starting in a calendar year",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "higher_exception.ibm-2018-19.started_in")["values"]["2023-24"].update(value="2018")),
     ["fees/kdg.yaml", "higher_exception.ibm-2018-19.started_in", "academic year"]),
    ("the Flemish diploma rule given as a number instead of true or false",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.flemish_secondary_diploma")["values"]["2023-24"].update(value=1)),
     ["fees/kdg.yaml", "basic.flemish_secondary_diploma", "true or false"]),
    ("a fee amount written as words",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed")["values"]["2026-27"].update(value="three hundred")),
     ["fees/kdg.yaml", "basic.none.fixed", "not a number"]),
    ("a fee parameter of an unknown unit",
     _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed").update(unit="USD")),
     ["fees/kdg.yaml", "basic.none.fixed", "unit"]),
    ("a fee file for an unknown institution",
     _yaml_edit("fees/kdg.yaml", lambda d: d.update(institution="kgd")),
     ["fees/kdg.yaml", "kgd"]),
    ("a grant going to an unknown country",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "asem-wpp")["variants"][0]["destinations"]["countries"].append("XX")),
     ["grants.yaml", "grant asem-wpp variant 0", "XX"]),
    ("a grant for an unknown activity",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "priority-country-programme")["variants"][1].update(activities=["holiday"])),
     ["grants.yaml", "grant priority-country-programme", "activit"]),
    ("a grant citing an unknown deadline",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "erasmus-plus")["variants"][0].update(deadline="no-such-deadline")),
     ["grants.yaml", "grant erasmus-plus variant 0", "no-such-deadline"]),
    ("a grant citing an unknown source",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "generic-grant")["variants"][0].update(source="nowhere")),
     ["grants.yaml", "grant generic-grant variant 0", "nowhere"]),
    ("a grant of an unknown institution",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "asem-duo")["variants"][1].update(institution="vlaanderen")),
     ["grants.yaml", "grant asem-duo variant 1", "vlaanderen"]),
    ("a grant going to an unknown community",
     _yaml_edit("grants.yaml", lambda d: _grant(d, "erasmus-belgica")["variants"][0]["destinations"]["communities"].append("dutch-community")),
     ["grants.yaml", "grant erasmus-belgica variant 0", "dutch-community"]),
    ("a region naming an unknown country",
     _yaml_edit("grants.yaml", lambda d: d["regions"]["erasmus-programme-countries"]["countries"].append("XX")),
     ["grants.yaml", "region erasmus-programme-countries", "XX"]),
    ("a region citing an unknown source",
     _yaml_edit("grants.yaml", lambda d: d["regions"]["belgian-other-communities"].update(source="nowhere")),
     ["grants.yaml", "region belgian-other-communities", "nowhere"]),
    ("a deadline of an unknown kind",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(kind="soon")),
     ["deadlines.yaml", "deadline pcp-application", "kind"]),
    ("a deadline citing an unknown source",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(source="nowhere")),
     ["deadlines.yaml", "deadline pcp-application", "nowhere"]),
    ("a deadline on 30 February",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(month=2, day=30)),
     ["deadlines.yaml", "deadline pcp-application"]),
    ("a deadline on 29 February, which most years do not have",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(month=2, day=29)),
     ["deadlines.yaml", "deadline pcp-application"]),
    ("a deadline in month 13",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "incoming-first-semester").update(month=13)),
     ["deadlines.yaml", "deadline incoming-first-semester"]),
    ("a deadline with a month but no day",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "flemish-study-grant").update(day=None)),
     ["deadlines.yaml", "deadline flemish-study-grant"]),
    ("a deadline for an unknown grant",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(grants=["priority-countries"])),
     ["deadlines.yaml", "deadline pcp-application", "priority-countries"]),
    ("a deadline of an unknown institution",
     _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "flemish-study-grant").update(institution="kdh")),
     ["deadlines.yaml", "deadline flemish-study-grant", "kdh"]),
    ("a fact citing an unknown source",
     _yaml_edit("facts.yaml", lambda d: d["facts"]["fee_rules"][1].update(source="nowhere")),
     ["facts.yaml", "fee_rules[1]", "nowhere"]),
    ("a fact without its text",
     _yaml_edit("facts.yaml", lambda d: d["facts"]["invoice"][0].pop("text")),
     ["facts.yaml", "invoice[0]", "text"]),
    ("a fact of an unknown institution",
     _yaml_edit("facts.yaml", lambda d: d["facts"]["contact"][3].update(institution="karel")),
     ["facts.yaml", "contact[3]", "karel"]),
    ("a country code in lower case",
     _yaml_edit("countries.yaml", lambda d: next(c for c in d["countries"] if c["code"] == "BE").update(code="be")),
     ["countries.yaml", "be", "code"]),
    ("a country listed twice",
     _yaml_edit("countries.yaml", lambda d: d["countries"].append(dict(next(c for c in d["countries"] if c["code"] == "BE")))),
     ["countries.yaml", "BE", "duplicate"]),
    ("a city in a country that does not exist",
     _yaml_edit("cities.yaml", lambda d: d["cities"][0].update(name="Atlantis City", country="XA")),
     ["cities.yaml", "Atlantis City", "XA"]),
    ("a city named like a country",
     _yaml_edit("cities.yaml", lambda d: d["cities"][0].update(name="Japan")),
     ["cities.yaml", "Japan", "country JP"]),
    ("a city named like another city, spelled otherwise",
     _yaml_edit("cities.yaml", lambda d: d["cities"].append({"name": "Krakau City", "country": "PL", "names": ["TOKIO"]})),
     ["cities.yaml", "Krakau City", "TOKIO", "Tokyo"]),
    ("a city listed twice",
     _yaml_edit("cities.yaml", lambda d: d["cities"].append({"name": "Oslo", "country": "SE", "names": []})),
     ["cities.yaml", "Oslo", "already"]),
    ("a Belgian city among the destinations abroad",
     _yaml_edit("cities.yaml", lambda d: d["cities"].append({"name": "Mechelen", "country": "BE", "names": []})),
     ["cities.yaml", "Mechelen", "Belgian"]),
    ("a city citing a source that does not exist",
     _yaml_edit("cities.yaml", lambda d: d.update(source="atlas")),
     ["cities.yaml", "atlas"]),
    ("a source without a title",
     _yaml_edit("sources.yaml", lambda d: d["sources"][3].pop("title")),
     ["sources.yaml", "sources[3]", "title"]),
    ("a residence exception citing an unknown source",
     _yaml_edit("residence.yaml", lambda d: d["exceptions"][0].update(source="nowhere")),
     ["residence.yaml", "exceptions[0]", "nowhere"]),
    ("a residence card without a label",
     _yaml_edit("residence.yaml", lambda d: d["exceptions"][0]["cards"][2].pop("label")),
     ["residence.yaml", "exceptions[0]", "label"]),
    ("a residence exception of an unknown institution",
     _yaml_edit("residence.yaml", lambda d: d["exceptions"][1].update(institution="kgd")),
     ["residence.yaml", "exceptions[1]", "kgd"]),
    ("a course with ECTS written as words",
     _yaml_edit("courses.yaml", lambda d: d["programmes"][2]["courses"][0].update(ects="nine")),
     ["courses.yaml", "programmes[2]", "ects"]),
    ("a file that is not valid YAML", _text_edit("grants.yaml", "grants: [unclosed\n"), ["grants.yaml", "YAML"]),
    ("an empty file", _text_edit("deadlines.yaml", ""), ["deadlines.yaml"]),
    ("a file without its list", _text_edit("facts.yaml", "fact:\n  fee_rules: []\n"), ["facts.yaml", "facts"]),
    ("a missing file", _text_edit("residence.yaml", None), ["residence.yaml"]),
]


@pytest.fixture()
def data_copy(tmp_path, monkeypatch) -> Path:
    """A copy of knowledge/data to break. The loader parses it with libyaml when PyYAML has it (the
    same YAML, several times faster: these tests load the whole data set each)."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    if FastLoader is not yaml.SafeLoader:
        monkeypatch.setattr(loader.yaml, "safe_load", lambda text: yaml.load(text, Loader=FastLoader))
    return copy


def test_an_unbroken_copy_loads_so_the_breakages_below_are_what_fails(data_copy):
    _yaml_edit("grants.yaml", lambda d: None)(data_copy)  # a round trip through PyYAML changes nothing
    _yaml_edit("fees/kdg.yaml", lambda d: None)(data_copy)
    assert load_all(data_copy)["grants"]


@pytest.mark.parametrize("edit, words", [(e, w) for _, e, w in BROKEN], ids=[s for s, _, _ in BROKEN])
def test_the_loader_refuses_a_broken_entry_naming_the_file_and_the_entry(data_copy, edit, words):
    edit(data_copy)
    with pytest.raises(DataError) as caught:
        load_all(data_copy)
    message = str(caught.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"the error does not name {missing}: {message}"


def test_a_broken_file_does_not_replace_a_built_knowledge_base(data_copy, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    build(engine)
    _yaml_edit("fees/kdg.yaml", lambda d: d["stated_totals"][0].update(source="nowhere"))(data_copy)
    with pytest.raises(DataError):
        build(engine, data_copy)
    from knowledge import KnowledgeBase, quote

    q = quote(KnowledgeBase(engine), {"institution": "kdg", "academic_year": "2026-27", "nationality": "BE"})
    assert str(q["total"]) == "1181.40"


def _cli(*args: str, data_dir: Path, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOBILITY_KB_DATA": str(data_dir), "DATABASE_URL": database_url}
    return subprocess.run([str(MOBILITY), *args], capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60)


def test_kb_check_and_kb_build_report_the_file_and_entry_and_exit_1(data_copy, tmp_path):
    _yaml_edit("deadlines.yaml", lambda d: _deadline(d, "pcp-application").update(source="nowhere"))(data_copy)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda args: _cli(*args, data_dir=data_copy, database_url=url), [("kb", "check"), ("kb", "build")]))
    for proc in procs:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "deadlines.yaml" in proc.stderr and "pcp-application" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_kb_check_accepts_the_shipped_files(tmp_path):
    proc = _cli("kb", "check", data_dir=DATA_DIR, database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("valid:")


# -- a database built from other data is rebuilt before it answers ------------------------------------------
def _fee(data_dir: Path, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOBILITY_KB_DATA": str(data_dir), "DATABASE_URL": database_url}
    return subprocess.run([str(MOBILITY), "fee"], input='{"institution": "kdg", "academic_year": "2026-27", "nationality": "BE"}',
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60)


def test_a_build_records_the_data_it_was_built_from(kb):
    from knowledge.loader import data_fingerprint

    assert kb.built_from() == data_fingerprint()


def test_the_command_line_answers_from_edited_data_not_from_an_older_build(data_copy, tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    build(make_engine(url))  # built from knowledge/data: 305.40 + 60 × 14.60 = 1181.40
    assert '"total": 1181.40' in _fee(DATA_DIR, url).stdout
    _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed")["values"]["2026-27"].update(value=305.50))(data_copy)
    proc = _fee(data_copy, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"total": 1181.50' in proc.stdout  # 305.50 + 876.00: rebuilt from the edited file
    assert not (tmp_path / "kb.db.building").exists()


def test_a_rebuild_refused_by_the_loader_keeps_answering_from_the_last_build(data_copy, tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    build(make_engine(url))
    _yaml_edit("fees/kdg.yaml", lambda d: _param(d, "basic.none.fixed")["values"]["2026-27"].update(source="nowhere"))(data_copy)
    proc = _fee(data_copy, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"total": 1181.40' in proc.stdout
    assert "not rebuilt" in proc.stderr and "nowhere" in proc.stderr


def test_a_database_built_before_the_fingerprint_was_kept_is_rebuilt(tmp_path):
    from knowledge import open_kb

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    engine = make_engine(url)
    build(engine)
    with engine.begin() as conn:
        conn.execute(m.KbMeta.__table__.delete())
    assert open_kb(url).built_from() is not None
