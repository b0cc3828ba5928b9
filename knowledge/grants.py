"""The grant finder: a destination, an activity and a duration in; every grant that fits, and why others don't, out."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from knowledge.deadlines import describe
from knowledge.kb import KnowledgeBase
from knowledge.models import GrantVariant

ACTIVITIES = {"study": "study", "studying": "study", "exchange": "study", "studies": "study",
              "internship": "internship", "traineeship": "internship", "work placement": "internship",
              "placement": "internship", "stage": "internship", "intern": "internship"}


class SearchError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message

    def as_dict(self) -> Dict[str, str]:
        return {"error": self.message, "field": self.field}


def resolve_destination(kb: KnowledgeBase, text: str) -> Tuple[str, str]:
    """('country', code) or ('community', id); raise SearchError for an unknown place."""
    if not isinstance(text, str) or not text.strip():
        raise SearchError("destination", "destination must be a country code or name, or a Belgian Community")
    community = kb.resolve_community(text)
    if community:
        return "community", community
    code = kb.resolve_country(text)
    if code:
        return "country", code
    raise SearchError("destination", f"unknown destination {text!r}: give an ISO country code (e.g. JP) or a Belgian Community")


def _place_name(kb: KnowledgeBase, kind: str, value: str) -> str:
    return kb.communities[value].name if kind == "community" else kb.countries[value].name


def destination_fits(kb: KnowledgeBase, v: GrantVariant, kind: str, value: str) -> bool:
    dest = v.destinations
    if kind == "community":
        return value in dest.get("communities", [])
    if value == "BE":
        return False  # going to another Belgian Community is Erasmus Belgica, asked as a community
    if "countries" in dest:
        return value in dest["countries"]
    if "region" in dest:
        return value in kb.regions[dest["region"]].members
    if "outside_region" in dest:
        return value not in kb.regions[dest["outside_region"]].members
    return False


def amount_summary(amount: Optional[Dict[str, Any]], months: Optional[int]) -> Dict[str, Any]:
    """Per-month amount or range, and an estimate for the stay where the amount allows one."""
    if not amount:
        return {"text": None, "per_month": None, "estimate": None}
    out: Dict[str, Any] = {"text": amount.get("text"), "kind": amount["kind"], "per_month": None, "estimate": None}
    kind = amount["kind"]
    if kind in ("per_month", "per_month_approx"):
        out["per_month"] = Decimal(str(amount["value"]))
        if months:
            out["estimate"] = out["per_month"] * months
            out["estimate_is_approximate"] = kind == "per_month_approx"
    elif kind == "flat_plus_monthly":
        out["per_month"] = Decimal(str(amount["value"]))
        out["flat"] = Decimal(str(amount["flat"]))
        if months:
            out["estimate"] = out["flat"] + out["per_month"] * months
    elif kind == "range":
        out["min"], out["max"] = Decimal(str(amount["min"])), Decimal(str(amount["max"]))
    elif kind == "per_student":
        out["per_student"] = Decimal(str(amount["value"]))
        out["options"] = [{"label": o["label"], "value": Decimal(str(o["value"]))} for o in amount.get("options", [])]
    if "condition" in amount:
        out["condition"] = amount["condition"]
    return out


def minimum_text(v: GrantVariant, months: int) -> str:
    """How long a stay must at least be, in the page's words where it has some ("min. 1 semester" -> "1 semester")."""
    text = (v.extra or {}).get("min_text")
    if not text:
        return f"{months} months" if months != 1 else "1 month"
    return re.sub(r"^\s*(min(imum)?\.?|at least)\s+", "", text, flags=re.IGNORECASE)


def check_variant(kb: KnowledgeBase, v: GrantVariant, kind: str, value: str, activity: Optional[str],
                  months: Optional[int]) -> List[str]:
    """The reasons this variant does not fit; empty when it does."""
    reasons = []
    if not destination_fits(kb, v, kind, value):
        where = v.destinations.get("text") or "other destinations"
        reasons.append(f"wrong destination: it is for {where}")
    if activity and activity not in v.activities:
        reasons.append(f"it is for {' or '.join(v.activities)}, not {activity}")
    if months is not None:
        mins = v.min_months or {}
        need = mins.get(activity) if activity else (min(mins.values()) if mins else None)
        if need and months < need:
            reasons.append(f"too short: at least {minimum_text(v, need)}" + (f" for {activity}" if activity else ""))
        if v.max_months and months > v.max_months:
            reasons.append(f"too long: at most {v.max_months} months")
    return reasons


def find(kb: KnowledgeBase, query: Dict[str, Any], today: Optional[date] = None) -> Dict[str, Any]:
    """Every grant that fits the query and every one that does not, with the reason."""
    if not isinstance(query, dict):
        raise SearchError("query", "the query must be a JSON object")
    unknown = sorted(set(query) - {"institution", "destination", "activity", "months"})
    if unknown:
        raise SearchError(unknown[0], f"unknown field {unknown[0]!r}; known: institution, destination, activity, months")
    today = today or date.today()
    institution = None
    if query.get("institution") is not None:
        institution = kb.resolve_institution(str(query["institution"]))
        if not institution:
            raise SearchError("institution", f"unknown institution {query['institution']!r}")
    kind, value = resolve_destination(kb, query.get("destination"))
    activity = None
    if query.get("activity") is not None:
        activity = ACTIVITIES.get(str(query["activity"]).lower().strip())
        if not activity:
            raise SearchError("activity", "activity must be study or internship")
    months = query.get("months")
    if months is not None:
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 24:
            raise SearchError("months", f"months must be a whole number from 1 to 24, got {months!r}")
    fits, no_fit = [], []
    for g in kb.grants.values():
        for v in g.variants:
            if institution and v.institution not in (institution, "flemish-community"):
                continue
            reasons = check_variant(kb, v, kind, value, activity, months)
            entry = {
                "grant": g.id,
                "name": g.name,
                "activities": list(v.activities),
                "destinations": v.destinations.get("text"),
                "duration": v.duration_text,
                "amount": amount_summary(v.amount, months),
                "deadline": describe(kb, kb.deadlines[v.deadline_id], today) if v.deadline_id else None,
                "deadline_text": v.deadline_text,
                "conditions": list(v.conditions),
                "extra": v.extra or {},
                "source": kb.source(v.source_id).as_dict(),
            }
            if reasons:
                entry["reasons"] = reasons
                no_fit.append(entry)
            else:
                fits.append(entry)
    return {
        "destination": {"kind": kind, "value": value, "name": _place_name(kb, kind, value)},
        "activity": activity,
        "months": months,
        "institution": institution,
        "fits": fits,
        "does_not_fit": no_fit,
    }
