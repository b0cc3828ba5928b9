"""What every action shares: the knowledge base, the conversation's context, and how answers are written."""
from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from knowledge import KnowledgeBase, open_kb
from knowledge.kb import fold
from knowledge.vocabulary import (card_code, nationality_group, normalise, parse_duration, parse_number,
                                  parse_year)

_kb: Optional[KnowledgeBase] = None
_lock = threading.Lock()

# Slots the actions keep, normalised: what the user told us so far.
CONTEXT_SLOTS = ("institution", "academic_year", "nationality", "residence", "scholarship", "contract", "programme",
                 "credits", "enrolment", "first_enrolled", "destination", "activity", "months", "duration_label", "grant")
NEGATION = re.compile(r"\b(no|not|without|don'?t|do not|dont|doesn'?t|never|geen|zonder|niet)\b[\w\s']{0,25}$", re.I)
FROM_COUNTRY = re.compile(r"\b(from|citizen of|nationality|passport|i'?m|i am|ik ben|uit)\b[\w\s]{0,12}$", re.I)
# "since 2024-25", "I started at KdG in 2024-25": the year of first enrolment, not the year asked about.
SINCE_YEAR = re.compile(r"\b(since|sinds|started|began|enrolled|ingeschreven|begonnen)\b"
                        r"(?![\w\s]*\b(before|voor|until|tot)\b)[\w\s]{0,25}$", re.I)
# A bare "study grant" / "studietoelage" is the scholarship status only when the talk is about fees.
BARE_GRANT_TERMS = {"study grant", "a study grant", "studietoelage"}
# "from Wakanda", "in Atlantis": a place named like a country that the knowledge base does not know.
NAMED_PLACE = re.compile(r"\b(?:from|in|to|naar|uit|van)\s+(?:the\s+)?([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)")
NOT_COUNTRIES = {"antwerp", "antwerpen", "ghent", "gent", "brussels", "brussel", "leuven", "bruges", "brugge",
                 "english", "dutch", "french", "german", "january", "february", "march", "april", "may", "june",
                 "july", "august", "september", "october", "november", "december", "flanders", "vlaanderen",
                 "wallonia", "europe", "asia", "africa", "latin", "mobility", "chamilo", "erasmus"}
PLACE_BEFORE = re.compile(r"\b(in|to|naar|at|near|around|te|about|rond|bij)\s+(the\s+)?$", re.I)
# "I study at KASK", "ik studeer in Gent": where the student studies now, not the stay they ask about.
STUDIES_NOW = re.compile(r"\b(i|i'?m|i am|im|we|we're|we are|ik|wij)\s+(currently\s+|now\s+|still\s+|nu\s+)?$", re.I)
LIVES_IN = re.compile(r"\b(live|lives|living|based|woon|woont|wonen)\s+in\s+$", re.I)
TO_COUNTRY = re.compile(r"\b(to|in|naar|at|towards)\b[\w\s]{0,6}$", re.I)


def kb() -> KnowledgeBase:
    """The knowledge base, opened on first use (never at import time)."""
    global _kb
    with _lock:
        if _kb is None:
            _kb = open_kb()
        return _kb


def set_kb(instance: Optional[KnowledgeBase]) -> None:
    """Use another knowledge base (tests)."""
    global _kb
    _kb = instance


def latest_entities(tracker: Tracker) -> List[Dict[str, Any]]:
    return list((tracker.latest_message or {}).get("entities") or [])


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def context(tracker: Tracker) -> Dict[str, Any]:
    return {name: tracker.get_slot(name) for name in CONTEXT_SLOTS}


def _before(text: str, ent: Dict[str, Any]) -> str:
    start = ent.get("start")
    return text[:start] if isinstance(start, int) else ""


def _raw(ent: Dict[str, Any], text: str) -> str:
    start, end = ent.get("start"), ent.get("end")
    if isinstance(start, int) and isinstance(end, int) and text[start:end]:
        return text[start:end]
    return str(ent.get("value") or "")


def _comes_from(before: str) -> bool:
    """The place named after this text is where the user comes from ("I'm from ..."), not where they go
    ("I'm going to ...", "from Lagos to ...")."""
    return bool(FROM_COUNTRY.search(before)) and not TO_COUNTRY.search(before[-8:])


def update_context(tracker: Tracker, topic: Optional[str]) -> Tuple[Dict[str, Any], List[Any]]:
    """The context after the latest message: slots updated from its entities, normalised."""
    base = kb()
    ctx = context(tracker)
    text = latest_text(tracker)
    new: Dict[str, Any] = {}
    city: Optional[Tuple[str, str]] = None
    studies_now = False
    for ent in latest_entities(tracker):
        name, raw = ent.get("entity"), _raw(ent, text)
        value = str(ent.get("value") or raw)
        if name == "nationality":
            code = nationality_group(raw) or nationality_group(value) or base.resolve_country(raw) or base.resolve_country(value)
            if code:
                new["nationality"] = code.lower() if code in ("eea", "non-eea") else code
        elif name == "country":
            code = base.resolve_country(raw) or base.resolve_country(value)
            if not code:
                continue
            if _comes_from(_before(text, ent)):
                new["nationality"] = code
            elif topic == "fee":
                new["nationality"] = code
            else:
                new["destination"] = code
        elif name == "city":
            # A city names where the user goes ("an internship in Tokyo"), never their nationality; only where it
            # is named as a place, or alone in a short message ("Sofia from the office" is a person).
            found = base.city(raw) or base.city(value)
            before = _before(text, ent)
            origin = _comes_from(before) or LIVES_IN.search(before)
            if found and not origin and (PLACE_BEFORE.search(before) or len(text.split()) <= 4):
                city = (found.name, found.country)
        elif name == "community":
            com = base.resolve_community(raw) or base.resolve_community(value)
            if com:
                new["destination"] = com
        elif name == "institution":
            inst = base.resolve_institution(raw) or base.resolve_institution(value)
            if inst:
                new["institution"] = inst
        elif name == "academic_year":
            year = parse_year(raw) or parse_year(value)
            if year and SINCE_YEAR.search(_before(text, ent)[-60:]):
                new["first_enrolled"] = year
            elif year:
                new["academic_year"] = year
        elif name == "credits":
            n = parse_number(raw) or parse_number(value)
            if n:
                new["credits"] = n
        elif name == "duration":
            months, label = parse_duration(raw)
            if months is None:
                months, label = parse_duration(value)
            if months:
                new["months"], new["duration_label"] = months, label
        elif name == "scholarship":
            if raw.lower().strip() in BARE_GRANT_TERMS and topic != "fee":
                continue
            status = value if value in ("none", "part", "full") else normalise("scholarship", raw)
            if status and status != "none" and NEGATION.search(_before(text, ent)):
                status = "none"
            if status:
                new["scholarship"] = status
        elif name in ("contract", "programme", "activity", "enrolment"):
            canon = normalise(name, value) or normalise(name, raw)
            if canon == "study" and name == "activity" and STUDIES_NOW.search(_before(text, ent)):
                studies_now = True  # yields to the stay the message asks about, if it names one
            elif canon:
                new[name] = canon
        elif name == "residence":
            card = card_code(raw) or card_code(value)
            status = normalise("residence_status", raw) or normalise("residence_status", value)
            if card:
                new["residence"] = f"card:{card}"
            elif status:
                new["residence"] = f"status:{status}"
        elif name == "grant":
            gid = value if value in base.grants or value == "mastermind" else (base.resolve_grant(raw) or base.resolve_grant(value))
            if gid:
                new["grant"] = gid
    if studies_now and "activity" not in new:
        new["activity"] = "study"
    if topic == "fee" and "credits" not in new:
        # A bare number in a short fee follow-up ("and for 30?") is a number of credits; "10 euros" is not.
        m = re.fullmatch(r"\D*?\b(\d{1,3})\b(?!\s*(€|eur|euro|%|month|maand|week|year|jaar))\D*", text, re.I)
        if m and 1 <= int(m.group(1)) <= 120 and len(text.split()) <= 6 and "€" not in text:
            new["credits"] = int(m.group(1))
    if topic == "grants" and "months" not in new:
        m = re.fullmatch(r"\D*?\b(\d{1,2})\b(?!\s*(€|eur|euro|%|week|year|jaar))\D*", text, re.I)
        if m and ctx.get("destination") and 1 <= int(m.group(1)) <= 24 and len(text.split()) <= 6:
            new["months"], new["duration_label"] = int(m.group(1)), f"{m.group(1)} months"
    if city and topic != "fee" and "destination" not in new:  # a country or Community named too wins
        new["destination"] = city[1]
        ctx["city"] = city[0]
    ctx.update(new)
    events = [SlotSet(k, v) for k, v in new.items()]
    if not ({"nationality", "destination"} & set(new)):
        ctx["unknown_place"] = unknown_place(base, text)
    return ctx, events


def unknown_place(base: KnowledgeBase, text: str) -> Optional[str]:
    """A capitalised place after from/in/to that is no country, Community or institution the KB knows."""
    for m in NAMED_PLACE.finditer(text):
        name = m.group(1)
        first = fold(name.split()[0])
        if first in NOT_COUNTRIES or any(resolve(n) for resolve in (base.resolve_country, base.resolve_city)
                                         for n in (name, name.split()[0])):
            continue
        if base.resolve_institution(name) or base.resolve_community(name) or base.resolve_grant(name):
            continue
        return name
    return None


FEE_WORDS = re.compile(r"\b(tuition|tution|fees?|cost|costs|pay|price|charge|studiegeld|inschrijvingsgeld|collegegeld)\b", re.I)
FOLLOW_UP = re.compile(r"^\s*(and|but|what if|what about|how about|if|en|maar|en als|als|with|as|say)\b", re.I)
PROFILE_ENTITIES = {"nationality", "scholarship", "credits", "contract", "programme", "residence", "enrolment"}


def is_fee_question(tracker: Tracker) -> bool:
    """A message another intent won but that is about the user's fee: it states a fee profile and either asks
    about the fee in words ("tuition", "cost", ...) or follows up a fee answer ("and if I get a studietoelage?")."""
    said = {e.get("entity") for e in latest_entities(tracker)}
    if not said & PROFILE_ENTITIES:
        return False
    text = latest_text(tracker)
    return bool(FEE_WORDS.search(text)) or (tracker.get_slot("topic") == "fee" and bool(FOLLOW_UP.search(text)))


def eur(amount: Any, cents: bool = True) -> str:
    """€1,181.40 (or €700 when cents=False and the amount is whole)."""
    d = Decimal(str(amount))
    if not cents and d == d.to_integral_value():
        return f"€{int(d):,}"
    return f"€{d.quantize(Decimal('0.01')):,}"


def cite(source: Dict[str, Any] | str, year: Optional[str] = None) -> str:
    """'kdg-tuition-fees-2026-27.txt (Karel de Grote Hogeschool (KdG), 2026-27)'."""
    base = kb()
    src = base.source(source).as_dict() if isinstance(source, str) else source
    inst = base.institutions.get(src.get("institution") or "")
    parts = [p for p in (inst.name if inst else None, year or src.get("academic_year")) if p]
    name = src.get("file") or src.get("title")
    return f"{name} ({', '.join(parts)})" if parts else name


def sources_line(ids: Iterable[str]) -> str:
    seen: List[str] = []
    for i in ids:
        if i not in seen:
            seen.append(i)
    return "Source: " + "; ".join(cite(i) for i in seen)


def button(title: str, intent: str, **entities: Any) -> Dict[str, str]:
    import json

    payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
    return {"title": title, "payload": payload}


def year_label(y: Optional[str]) -> str:
    return y or ""


ORDINALS = {"first": "1st", "second": "2nd", "eerste": "1st", "tweede": "2nd"}


def words(text: str) -> List[str]:
    """Crude stems for overlap scoring: lower-case words cut to 5 letters."""
    text = fold(text)
    for word, ordinal in ORDINALS.items():
        text = re.sub(rf"\b{word}\b", ordinal, text)
    return [w[:5] for w in text.split() if len(w) > 2]
