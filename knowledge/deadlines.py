"""The deadline calendar: recurring dates and their next occurrence from today's date."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Optional

from knowledge.kb import KnowledgeBase
from knowledge.models import Deadline


def next_date(d: Deadline, today: date) -> Optional[date]:
    """The next occurrence (today included) of a recurring day and month; None for undated calls."""
    if not d.month or not d.day:
        return None
    this_year = date(today.year, d.month, d.day)
    return this_year if this_year >= today else date(today.year + 1, d.month, d.day)


def describe(kb: KnowledgeBase, d: Deadline, today: date) -> Dict[str, Any]:
    nxt = next_date(d, today)
    return {
        "id": d.id,
        "kind": d.kind,
        "title": d.title,
        "description": d.description,
        "recurring": f"{d.day} {date(2000, d.month, 1):%B}" if nxt else None,
        "next_date": nxt.isoformat() if nxt else None,
        "days_left": (nxt - today).days if nxt else None,
        "institution": d.institution,
        "audience": d.audience,
        "grants": list(d.grants),
        "source": kb.source(d.source_id).as_dict(),
    }


def upcoming(kb: KnowledgeBase, today: Optional[date] = None, institution: Optional[str] = None,
             audience: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every deadline with its next date, soonest first; undated calls last."""
    today = today or date.today()
    items = [describe(kb, d, today) for d in kb.deadlines.values()
             if (not institution or d.institution == institution) and (not audience or d.audience in (audience, "all"))]
    return sorted(items, key=lambda x: (x["next_date"] is None, x["next_date"] or "", x["id"]))


def for_grant(kb: KnowledgeBase, grant_id: str, today: Optional[date] = None) -> List[Dict[str, Any]]:
    today = today or date.today()
    return [describe(kb, d, today) for d in kb.deadlines.values() if grant_id in (d.grants or [])]
