"""The knowledge API: queries over the knowledge base (SQLAlchemy 2.0-style selects on 1.4)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
import functools
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge import models as m


def plural_of(demonym: str) -> Optional[str]:
    """The English plural of a one-word nationality noun ("German" -> "Germans", "Pakistani" -> "Pakistanis"),
    or None where English has none ("Chinese", "Swiss", "French", "British")."""
    if " " in demonym or not demonym[-1:].isalpha() or re.search(r"(ese|ss|ch|sh|s|x|z)$", demonym, re.I):
        return None
    return demonym + "s"


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation reduced to single spaces: for matching names."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9+]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Param:
    """One fee parameter's value for a year, with where it comes from."""

    name: str
    value: Any
    source: str
    description: str


@dataclass(frozen=True)
class SourceRef:
    id: str
    file: Optional[str]
    title: str
    institution: Optional[str]
    academic_year: Optional[str]

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "file": self.file, "title": self.title,
                "institution": self.institution, "academic_year": self.academic_year}


def _read_once(fn: Callable[["KnowledgeBase"], Any]) -> property:
    """A property read from the database once per build of it (see KnowledgeBase._once)."""
    @functools.wraps(fn)
    def get(self: "KnowledgeBase") -> Any:
        return self._once(fn.__name__, lambda: fn(self))
    return property(get)


class KnowledgeBase:
    """Read-only access to the facts; one instance per engine, queries open short sessions.

    Reference tables (sources, countries, grants, fee parameters and residence rules of a year...) are read
    once and kept: a fee quote asks for the same year's parameters several times. What was read is forgotten
    when the database is rebuilt (its data fingerprint changes, checked at most every RECHECK_SECONDS), so a
    running assistant answers an edited figure from the new build, never the old one.
    """

    RECHECK_SECONDS = 2.0

    def __init__(self, engine: Engine):
        self.engine = engine
        self._memo: Dict[Any, Any] = {}
        self._build_seen: Optional[str] = None
        self._checked_at = float("-inf")

    def _once(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        if now - self._checked_at >= self.RECHECK_SECONDS:
            self._checked_at = now
            build = self.built_from()  # None before a build
            if build != self._build_seen:
                self._memo.clear()
                self._build_seen = build
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def warm(self) -> None:
        """Read the reference tables now (the action server calls this at start), so that the first questions
        after a start do not wait for them: one fee quote reads sources, countries and a year's fee parameters
        and residence rules, a grant question the grants, regions and communities."""
        for name in ("sources", "institutions", "countries", "_country_names", "_demonyms", "cities", "_city_names",
                     "grants", "regions", "communities", "deadlines"):
            getattr(self, name)
        for institution in self.institutions:
            for year in self.fee_years(institution):
                self.fee_parameters(institution, year)
                self.residence_rules(institution, year)

    # -- plumbing ---------------------------------------------------------------------------
    def _all(self, stmt) -> List[Any]:
        with Session(self.engine) as s:
            rows = s.execute(stmt).scalars().all()
            s.expunge_all()
            return rows

    def is_built(self) -> bool:
        return inspect(self.engine).has_table("fact")

    def built_from(self) -> Optional[str]:
        """The fingerprint of the curated data this database was built from (None: built before it was kept)."""
        if not inspect(self.engine).has_table("kb_meta"):
            return None
        with Session(self.engine) as s:
            return s.execute(select(m.KbMeta.value).where(m.KbMeta.key == "data_fingerprint")).scalar()

    # -- sources and institutions -----------------------------------------------------------
    @_read_once
    def sources(self) -> Dict[str, SourceRef]:
        return {s.id: SourceRef(s.id, s.file, s.title, s.institution, s.academic_year)
                for s in self._all(select(m.Source))}

    @_read_once
    def institutions(self) -> Dict[str, m.Institution]:
        return {i.id: i for i in self._all(select(m.Institution))}

    def resolve_institution(self, text: str) -> Optional[str]:
        key = fold(text)
        for inst in self.institutions.values():
            if key == fold(inst.id) or key in {fold(a) for a in inst.aliases}:
                return inst.id
        return None

    # -- fees ---------------------------------------------------------------------------------
    def fee_years(self, institution: str) -> List[str]:
        stmt = select(m.FeeParameter.academic_year).where(m.FeeParameter.institution == institution).distinct()
        return list(self._once(("fee_years", institution), lambda: sorted(self._all(stmt))))

    def fee_parameters(self, institution: str, academic_year: str) -> Dict[str, Param]:
        def load() -> Dict[str, Param]:
            stmt = select(m.FeeParameter).where(m.FeeParameter.institution == institution,
                                                m.FeeParameter.academic_year == academic_year)
            out = {}
            for p in self._all(stmt):
                value = Decimal(p.amount) if p.amount is not None else p.value
                out[p.name] = Param(p.name, value, p.source_id, p.description)
            return out
        return dict(self._once(("fee_parameters", institution, academic_year), load))

    def stated_totals(self, institution: Optional[str] = None) -> List[m.StatedTotal]:
        stmt = select(m.StatedTotal)
        if institution:
            stmt = stmt.where(m.StatedTotal.institution == institution)
        return self._all(stmt.order_by(m.StatedTotal.id))

    def residence_rules(self, institution: str, academic_year: str) -> List[m.ResidenceRule]:
        stmt = select(m.ResidenceRule).where(m.ResidenceRule.institution == institution,
                                             m.ResidenceRule.academic_year == academic_year)
        return list(self._once(("residence_rules", institution, academic_year),
                               lambda: self._all(stmt.order_by(m.ResidenceRule.id))))

    # -- countries ----------------------------------------------------------------------------
    @_read_once
    def countries(self) -> Dict[str, m.Country]:
        return {c.code: c for c in self._all(select(m.Country))}

    @_read_once
    def _country_names(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for c in self.countries.values():
            for n in [c.name, *c.names]:
                out.setdefault(fold(n), c.code)
        return out

    @_read_once
    def _demonyms(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for c in self.countries.values():
            for n in c.demonyms:
                out.setdefault(fold(n), c.code)
        return out

    def resolve_country(self, text: str) -> Optional[str]:
        """A country code from a code, an English or Dutch name, or a nationality, also in the plural ("Germans")."""
        if not text:
            return None
        raw = text.strip()
        if len(raw) == 2 and raw.upper() in self.countries:
            return raw.upper()
        key = fold(raw)
        key = re.sub(r"^the ", "", key)
        found = self._country_names.get(key) or self._demonyms.get(key)
        if not found and key.endswith("s") and plural_of(key[:-1]) == key:
            found = self._demonyms.get(key[:-1])
        return found

    @_read_once
    def cities(self) -> Dict[str, m.City]:
        return {c.name: c for c in self._all(select(m.City))}

    @_read_once
    def _city_names(self) -> Dict[str, m.City]:
        return {fold(n): c for c in self.cities.values() for n in [c.name, *c.names]}

    def city(self, text: str) -> Optional[m.City]:
        """A city from its English, local or Dutch name ("Keulen" -> Cologne, in DE)."""
        return self._city_names.get(fold(text)) if text else None

    def resolve_city(self, text: str) -> Optional[str]:
        """The code of the country a city is in ("Oslo" -> NO)."""
        found = self.city(text)
        return found.country if found else None

    def is_eea(self, code: str) -> bool:
        return bool(self.countries[code].eea)

    # -- grants, regions, deadlines ------------------------------------------------------------
    @_read_once
    def grants(self) -> Dict[str, m.Grant]:
        with Session(self.engine) as s:
            grants = s.execute(select(m.Grant)).scalars().all()
            for g in grants:
                for v in g.variants:
                    _ = v.source
            s.expunge_all()
        return {g.id: g for g in grants}

    def resolve_grant(self, text: str) -> Optional[str]:
        key = fold(text)
        best = None
        for g in self.grants.values():
            names = {fold(g.id), fold(g.name), *(fold(a) for a in g.aliases)}
            if key in names:
                return g.id
            if any(n and (n in key) for n in names if len(n) > 3):
                best = best or g.id
        return best

    @_read_once
    def regions(self) -> Dict[str, m.Region]:
        return {r.id: r for r in self._all(select(m.Region))}

    @_read_once
    def communities(self) -> Dict[str, m.Community]:
        return {c.id: c for c in self._all(select(m.Community))}

    def resolve_community(self, text: str) -> Optional[str]:
        key = fold(text)
        for c in self.communities.values():
            if key in {fold(c.id), fold(c.name), *(fold(a) for a in c.aliases)}:
                return c.id
        return None

    @_read_once
    def deadlines(self) -> Dict[str, m.Deadline]:
        return {d.id: d for d in self._all(select(m.Deadline).order_by(m.Deadline.id))}

    # -- facts and courses ---------------------------------------------------------------------
    def facts(self, topic: str, institution: Optional[str] = None) -> List[m.Fact]:
        stmt = select(m.Fact).where(m.Fact.topic == topic)
        if institution:
            stmt = stmt.where((m.Fact.institution == institution) | (m.Fact.institution.is_(None)))
        return self._all(stmt.order_by(m.Fact.position))

    def topics(self) -> List[str]:
        with Session(self.engine) as s:
            return sorted(s.execute(select(m.Fact.topic).distinct()).scalars().all())

    def courses(self, programme: Optional[str] = None) -> List[m.Course]:
        stmt = select(m.Course)
        if programme:
            stmt = stmt.where(m.Course.programme.ilike(f"%{programme}%"))  # bound parameter
        return self._all(stmt.order_by(m.Course.id))

    def source(self, source_id: str) -> SourceRef:
        return self.sources[source_id]

    def sources_for(self, ids: Iterable[str]) -> List[Dict[str, Any]]:
        seen, out = set(), []
        for i in ids:
            if i not in seen:
                seen.add(i)
                out.append(self.sources[i].as_dict())
        return out
