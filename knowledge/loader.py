"""Load the curated YAML files of knowledge/data into the database, validating every entry."""
from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import yaml
from pydantic import BaseModel, Extra, StrictBool, ValidationError, root_validator, validator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.kb import fold

DATA_DIR = Path(os.environ.get("MOBILITY_KB_DATA", Path(__file__).resolve().parent / "data"))
YEAR_PATTERN = r"^\d{4}-\d{2}$"


class DataError(ValueError):
    """A curated file is invalid: the message names the file and the entry."""


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class SourceIn(_Strict):
    id: str
    file: Optional[str]
    title: str
    institution: Optional[str]
    academic_year: Optional[str]


class InstitutionIn(_Strict):
    id: str
    name: str
    parent: Optional[str]
    city: Optional[str]
    aliases: List[str]


class ValueIn(_Strict):
    value: Union[StrictBool, Decimal, List[str], str]
    source: str


# What a parameter's unit says its values are: amounts, rules (true/false, lists), dates, academic years, words.
UNITS = ("EUR", "credits", "count", "bool", "list", "date", "academic_year", "text")


def _fits_unit(unit: str, value: Any) -> Optional[str]:
    """Why a value does not fit its unit, or None when it does."""
    if unit in ("EUR", "credits", "count"):
        return None if isinstance(value, Decimal) else "is not a number"
    if unit == "bool":
        return None if isinstance(value, bool) else "is not true or false"
    if unit == "list":
        return None if isinstance(value, list) and value else "is not a non-empty list"
    if unit == "date":
        try:
            date.fromisoformat(str(value))
            return None if isinstance(value, str) else "is not a date like 2023-06-30"
        except ValueError:
            return "is not a date like 2023-06-30"
    if unit == "academic_year":
        return None if isinstance(value, str) and re.match(YEAR_PATTERN, value) else "is not an academic year like 2020-21"
    return None if isinstance(value, str) and value.strip() else "is not a text"  # text


class ParameterIn(_Strict):
    description: str
    unit: str
    values: Dict[str, ValueIn]

    @validator("unit")
    def known_unit(cls, v):  # noqa: N805
        if v not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}")
        return v

    @validator("values")
    def years_are_academic_years(cls, v, values):  # noqa: N805
        for year, item in v.items():
            if not re.match(YEAR_PATTERN, str(year)):
                raise ValueError(f"{year!r} is not an academic year like 2026-27")
            why = _fits_unit(values["unit"], item.value) if "unit" in values else None
            if why:
                raise ValueError(f"the {year} value {item.value!r} {why} (unit {values['unit']})")
        return v


class StatedTotalIn(_Strict):
    academic_year: str
    profile: Dict[str, Any]
    total: Decimal
    source: str


class FeeFileIn(_Strict):
    institution: str
    currency: str
    parameters: Dict[str, ParameterIn]
    stated_totals: List[StatedTotalIn] = []


class CityIn(_Strict):
    name: str
    country: str
    names: List[str]


class CountryIn(_Strict):
    code: str
    name: str
    names: List[str]
    demonyms: List[str]
    eea: bool
    eu: bool

    @validator("code")
    def two_letters(cls, v):  # noqa: N805
        if len(v) != 2 or not v.isalpha() or not v.isupper():
            raise ValueError("an ISO 3166-1 alpha-2 code is two capital letters")
        return v


class CardIn(_Strict):
    code: str
    exempt: bool
    label: str


class StatusIn(_Strict):
    code: str
    label: str
    proof: str


class ResidenceIn(_Strict):
    institution: str
    academic_years: List[str]
    source: str
    cards: List[CardIn]
    statuses: List[StatusIn]
    note: str


class VariantIn(_Strict):
    source: str
    institution: str
    academic_year: Optional[str]
    activities: List[str]
    destinations: Dict[str, Any]
    min_months: Optional[Dict[str, int]]
    min_text: Optional[str]
    max_months: Optional[int]
    duration_text: Optional[str]
    amount: Optional[Dict[str, Any]]
    budget: Optional[Dict[str, Any]]
    places: Optional[int]
    deadline: Optional[str]
    deadline_text: Optional[str]
    conditions: List[str]

    @validator("activities", each_item=True)
    def known_activity(cls, v):  # noqa: N805
        if v not in ("study", "internship"):
            raise ValueError("activity must be study or internship")
        return v


class GrantIn(_Strict):
    id: str
    name: str
    aliases: List[str]
    variants: List[VariantIn]


class RegionIn(_Strict):
    description: str
    source: str
    countries: Optional[List[str]]
    communities: Optional[List[str]]


class CommunityIn(_Strict):
    id: str
    name: str
    aliases: List[str]


class DeadlineIn(_Strict):
    id: str
    month: Optional[int]
    day: Optional[int]
    kind: str
    institution: str
    audience: str
    title: str
    description: str
    grants: List[str]
    source: str

    @validator("kind")
    def known_kind(cls, v):  # noqa: N805
        if v not in ("deadline", "opens", "call"):
            raise ValueError("kind must be deadline, opens or call")
        return v

    @root_validator(skip_on_failure=True)
    def a_date_of_every_year(cls, values):  # noqa: N805
        month, day = values.get("month"), values.get("day")
        if (month is None) != (day is None):
            raise ValueError("give both month and day, or neither (a call without a fixed date)")
        if month is not None:
            try:
                date(2001, month, day)  # 2001 is not a leap year: the date must exist every year
            except ValueError:
                raise ValueError(f"day {day} of month {month} is not a date that exists every year") from None
        return values


class FactIn(_Strict):
    text: str
    source: str
    institution: Optional[str]
    academic_year: Optional[str]


class CourseIn(_Strict):
    name: str
    ects: Optional[int]
    semester: Optional[str]


class ProgrammeIn(_Strict):
    programme: str
    courses: List[CourseIn]


def _read(path: Path, *sections: str) -> Any:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DataError(f"{path.name}: not valid YAML: {e}") from e
    except OSError as e:
        raise DataError(f"{path.name}: cannot be read: {e}") from e
    missing = [k for k in sections if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise DataError(f"{path.name}: missing {', '.join(missing)}")
    return raw


def _parse(model, raw: Any, where: str):
    try:
        return model.parse_obj(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise DataError(f"{where}: {problems}") from None


def load_all(data_dir: Path = DATA_DIR) -> Dict[str, Any]:
    """Read and validate every curated file; raise DataError naming the file and entry."""
    src = _read(data_dir / "sources.yaml", "sources", "institutions")
    sources = [_parse(SourceIn, s, f"sources.yaml: sources[{i}]") for i, s in enumerate(src["sources"])]
    institutions = [_parse(InstitutionIn, s, f"sources.yaml: institutions[{i}]") for i, s in enumerate(src["institutions"])]
    fee_files, fee_names = [], []
    for path in sorted((data_dir / "fees").glob("*.yaml")):
        raw = _read(path) or {}
        for name, node in (raw.get("parameters") or {}).items():
            _parse(ParameterIn, node, f"fees/{path.name}: parameter {name}")
        fee_files.append(_parse(FeeFileIn, raw, f"fees/{path.name}"))
        fee_names.append(f"fees/{path.name}")
    countries_raw = _read(data_dir / "countries.yaml", "countries", "source")
    countries = [_parse(CountryIn, c, f"countries.yaml: {c.get('code', i) if isinstance(c, dict) else i}")
                 for i, c in enumerate(countries_raw["countries"])]
    cities_raw = _read(data_dir / "cities.yaml", "cities", "source")
    cities = [_parse(CityIn, c, f"cities.yaml: {c.get('name', i) if isinstance(c, dict) else i}")
              for i, c in enumerate(cities_raw["cities"])]
    residence = [_parse(ResidenceIn, r, f"residence.yaml: exceptions[{i}]") for i, r in enumerate(_read(data_dir / "residence.yaml", "exceptions")["exceptions"])]
    graw = _read(data_dir / "grants.yaml", "grants", "regions", "communities")
    grants = [_parse(GrantIn, g, f"grants.yaml: grant {g.get('id', i)}") for i, g in enumerate(graw["grants"])]
    regions = {k: _parse(RegionIn, v, f"grants.yaml: region {k}") for k, v in graw["regions"].items()}
    communities = [_parse(CommunityIn, c, f"grants.yaml: community {c.get('id', i)}") for i, c in enumerate(graw["communities"])]
    deadlines = [_parse(DeadlineIn, d, f"deadlines.yaml: deadline {d.get('id', i)}") for i, d in enumerate(_read(data_dir / "deadlines.yaml", "deadlines")["deadlines"])]
    facts = {}
    for topic, items in _read(data_dir / "facts.yaml", "facts")["facts"].items():
        facts[topic] = [_parse(FactIn, f, f"facts.yaml: {topic}[{i}]") for i, f in enumerate(items)]
    craw = _read(data_dir / "courses.yaml", "programmes", "source", "institution")
    courses = [_parse(ProgrammeIn, p, f"courses.yaml: programmes[{i}]") for i, p in enumerate(craw["programmes"])]
    data = dict(sources=sources, institutions=institutions, fee_files=fee_files, fee_names=fee_names, countries=countries,
                cities=cities, cities_source=cities_raw["source"], residence=residence, grants=grants, regions=regions, communities=communities,
                deadlines=deadlines, facts=facts, courses=courses, courses_source=craw["source"],
                courses_institution=craw["institution"], countries_source=countries_raw["source"])
    _check_references(data)
    return data


def _check_references(data: Dict[str, Any]) -> None:
    """Every source, deadline, country and institution a file names must exist."""
    source_ids = {s.id for s in data["sources"]}
    institution_ids = {i.id for i in data["institutions"]}
    grant_ids = {g.id for g in data["grants"]}
    deadline_ids = {d.id for d in data["deadlines"]}
    codes = {c.code for c in data["countries"]}
    community_ids = {c.id for c in data["communities"]}

    def need(ok: bool, where: str, what: str) -> None:
        if not ok:
            raise DataError(f"{where}: unknown {what}")

    for f, file in zip(data["fee_files"], data["fee_names"]):
        need(f.institution in institution_ids, file, f"institution {f.institution!r}")
        for name, p in f.parameters.items():
            for year, v in p.values.items():
                need(v.source in source_ids, f"{file}: parameter {name} {year}", f"source {v.source!r}")
        for i, t in enumerate(f.stated_totals):
            need(t.source in source_ids, f"{file}: stated_totals[{i}]", f"source {t.source!r}")
        _check_higher_fee_exceptions(f, file)
    for i, r in enumerate(data["residence"]):
        need(r.source in source_ids, f"residence.yaml: exceptions[{i}]", f"source {r.source!r}")
        need(r.institution in institution_ids, f"residence.yaml: exceptions[{i}]", f"institution {r.institution!r}")
    for g in data["grants"]:
        for i, v in enumerate(g.variants):
            where = f"grants.yaml: grant {g.id} variant {i}"
            need(v.source in source_ids, where, f"source {v.source!r}")
            need(v.institution in institution_ids, where, f"institution {v.institution!r}")
            need(v.deadline is None or v.deadline in deadline_ids, where, f"deadline {v.deadline!r}")
            for code in v.destinations.get("countries", []):
                need(code in codes, where, f"country {code!r}")
            for c in v.destinations.get("communities", []):
                need(c in community_ids, where, f"community {c!r}")
            for key in ("region", "outside_region"):
                if key in v.destinations:
                    need(v.destinations[key] in data["regions"], where, f"region {v.destinations[key]!r}")
    for rid, r in data["regions"].items():
        need(r.source in source_ids, f"grants.yaml: region {rid}", f"source {r.source!r}")
        for code in r.countries or []:
            need(code in codes, f"grants.yaml: region {rid}", f"country {code!r}")
    for d in data["deadlines"]:
        need(d.source in source_ids, f"deadlines.yaml: deadline {d.id}", f"source {d.source!r}")
        need(d.institution in institution_ids, f"deadlines.yaml: deadline {d.id}", f"institution {d.institution!r}")
        for g in d.grants:
            need(g in grant_ids, f"deadlines.yaml: deadline {d.id}", f"grant {g!r}")
    for topic, items in data["facts"].items():
        for i, f in enumerate(items):
            need(f.source in source_ids, f"facts.yaml: {topic}[{i}]", f"source {f.source!r}")
            need(f.institution is None or f.institution in institution_ids, f"facts.yaml: {topic}[{i}]", f"institution {f.institution!r}")
    need(data["countries_source"] in source_ids, "countries.yaml", f"source {data['countries_source']!r}")
    need(data["courses_source"] in source_ids, "courses.yaml", f"source {data['courses_source']!r}")
    need(data["courses_institution"] in institution_ids, "courses.yaml", f"institution {data['courses_institution']!r}")
    seen: Dict[str, str] = {}
    for c in data["countries"]:
        need(c.code not in seen, f"countries.yaml: {c.code}", "duplicate code")
        seen[c.code] = c.code
    _check_cities(data, need)


def _check_cities(data: Dict[str, Any], need: Callable[[bool, str, str], None]) -> None:
    """A city is in a known country, and its names are no other city's and no country's or nationality's."""
    need(data["cities_source"] in {s.id for s in data["sources"]}, "cities.yaml", f"source {data['cities_source']!r}")
    taken = {fold(n): f"country {c.code}" for c in data["countries"] for n in [c.name, *c.names, *c.demonyms]}
    codes = {c.code for c in data["countries"]}
    for city in data["cities"]:
        where = f"cities.yaml: {city.name}"
        need(city.country in codes, where, f"country {city.country!r}")
        if city.country == "BE":
            raise DataError(f"{where}: a Belgian city is no destination abroad")
        own = set()  # its own spellings may fold alike (Köln, Koln)
        for name in [city.name, *city.names]:
            key = fold(name)
            if key in taken and key not in own:
                raise DataError(f"{where}: the name {name!r} is already {taken[key]}'s")
            taken[key] = f"city {city.name}"
            own.add(key)


# An exception to the higher fee is a group of parameters higher_exception.<code>.<part> (see fees/kdg.yaml).
EXCEPTION_PREFIX = "higher_exception."
EXCEPTION_PARTS = {"label": "text", "programmes": "list", "contracts": "list", "fixed": "EUR", "per_credit": "EUR"}
EXCEPTION_STARTS = {"started_before": "academic_year", "started_in": "academic_year"}


def _check_higher_fee_exceptions(f: FeeFileIn, file: str) -> None:
    """Each exception to the higher fee has, in each year it has a value, every part the engine needs."""
    groups: Dict[tuple, Dict[str, ParameterIn]] = {}
    for name, p in f.parameters.items():
        if not name.startswith(EXCEPTION_PREFIX):
            continue
        code, _, part = name[len(EXCEPTION_PREFIX):].partition(".")
        where = f"{file}: parameter {name}"
        if not code or part not in {**EXCEPTION_PARTS, **EXCEPTION_STARTS}:
            raise DataError(f"{where}: an exception to the higher fee is named higher_exception.<code>.<part>, part one of "
                            f"{', '.join([*EXCEPTION_PARTS, *EXCEPTION_STARTS])}")
        unit = {**EXCEPTION_PARTS, **EXCEPTION_STARTS}[part]
        if p.unit != unit:
            raise DataError(f"{where}: unit must be {unit}")
        for year in p.values:
            groups.setdefault((code, year), {})[part] = p
    for (code, year), parts in sorted(groups.items()):
        where = f"{file}: parameter {EXCEPTION_PREFIX}{code} {year}"
        missing = [f"{EXCEPTION_PREFIX}{code}.{x}" for x in EXCEPTION_PARTS if x not in parts]
        if missing:
            raise DataError(f"{where}: missing {', '.join(missing)}")
        starts = [x for x in EXCEPTION_STARTS if x in parts]
        if len(starts) != 1:
            raise DataError(f"{where}: give exactly one of {EXCEPTION_PREFIX}{code}.started_before or .started_in")


def data_fingerprint(data_dir: Path = DATA_DIR) -> str:
    """A hash of every curated file (names and bytes): a database built from other data is out of date."""
    h = hashlib.sha256()
    for f in sorted(Path(data_dir).rglob("*.yaml")):
        h.update(str(f.relative_to(data_dir)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


def build(engine: Engine, data_dir: Path = DATA_DIR) -> Dict[str, int]:
    """(Re)create the knowledge tables and load every curated file. Returns row counts."""
    fingerprint = data_fingerprint(data_dir)
    data = load_all(data_dir)
    m.Base.metadata.drop_all(engine)
    m.Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add(m.KbMeta(key="data_fingerprint", value=fingerprint))
        s.add_all(m.Source(**x.dict()) for x in data["sources"])
        s.add_all(m.Institution(**x.dict()) for x in data["institutions"])
        s.flush()
        for f in data["fee_files"]:
            for name, p in f.parameters.items():
                for year, v in p.values.items():
                    numeric = isinstance(v.value, Decimal) and not isinstance(v.value, bool)
                    s.add(m.FeeParameter(institution=f.institution, name=name, academic_year=year,
                                         description=p.description, unit=p.unit,
                                         amount=format(v.value, 'f') if numeric else None,
                                         value=None if numeric else v.value, source_id=v.source))
            for t in f.stated_totals:
                s.add(m.StatedTotal(institution=f.institution, academic_year=t.academic_year,
                                    profile=t.profile, total=format(t.total, 'f'), source_id=t.source))
        s.add_all(m.Country(**c.dict(), source_id=data["countries_source"]) for c in data["countries"])
        s.flush()  # the countries first: a city's foreign key names one (no relationship orders the inserts)
        s.add_all(m.City(**c.dict(), source_id=data["cities_source"]) for c in data["cities"])
        s.add_all(m.Community(**c.dict()) for c in data["communities"])
        for rid, r in data["regions"].items():
            s.add(m.Region(id=rid, description=r.description, members=r.countries or r.communities or [], source_id=r.source))
        for r in data["residence"]:
            for year in r.academic_years:
                for c in r.cards:
                    s.add(m.ResidenceRule(institution=r.institution, academic_year=year, kind="card", code=c.code,
                                          label=c.label, exempt=c.exempt, proof=None, source_id=r.source))
                for st in r.statuses:
                    s.add(m.ResidenceRule(institution=r.institution, academic_year=year, kind="status", code=st.code,
                                          label=st.label, exempt=True, proof=st.proof, source_id=r.source))
        for g in data["grants"]:
            s.add(m.Grant(id=g.id, name=g.name, aliases=g.aliases))
            for v in g.variants:
                extra = {k: getattr(v, k) for k in ("budget", "places", "min_text") if getattr(v, k) is not None}
                s.add(m.GrantVariant(grant_id=g.id, institution=v.institution, academic_year=v.academic_year,
                                     activities=v.activities, destinations=v.destinations, min_months=v.min_months,
                                     max_months=v.max_months, duration_text=v.duration_text,
                                     amount=_jsonable(v.amount), extra=_jsonable(extra), deadline_id=v.deadline,
                                     deadline_text=v.deadline_text, conditions=v.conditions, source_id=v.source))
        s.add_all(m.Deadline(**d.dict(exclude={"source"}), source_id=d.source) for d in data["deadlines"])
        for topic, items in data["facts"].items():
            for i, f in enumerate(items):
                s.add(m.Fact(topic=topic, position=i, institution=f.institution, academic_year=f.academic_year,
                             text=f.text, source_id=f.source))
        for p in data["courses"]:
            for c in p.courses:
                s.add(m.Course(institution=data["courses_institution"], programme=p.programme, name=c.name,
                               ects=c.ects, semester=c.semester, source_id=data["courses_source"]))
    with Session(engine) as s:
        return {t.name: len(s.execute(t.select()).fetchall()) for t in m.Base.metadata.sorted_tables}


def _jsonable(x: Any) -> Any:
    if isinstance(x, Decimal):
        return str(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    return x
