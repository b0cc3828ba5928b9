"""Academic years: "2026-27" style labels, today's academic year."""
from __future__ import annotations

import re
from datetime import date
from typing import Optional

# The Flemish academic year starts in September: on 1 September 2026 the year 2026-27 begins.
ACADEMIC_YEAR_START_MONTH = 9

_YEAR = re.compile(r"^\s*(\d{4})\s*[-/–]\s*(\d{2}|\d{4})\s*$")


def current_academic_year(today: Optional[date] = None) -> str:
    today = today or date.today()
    start = today.year if today.month >= ACADEMIC_YEAR_START_MONTH else today.year - 1
    return label(start)


def label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def parse_academic_year(text: str) -> Optional[str]:
    """'2026-27', '2026-2027', '2026/27' -> '2026-27'; None when it is not a valid academic year."""
    if not isinstance(text, str):
        return None
    mt = _YEAR.match(text)
    if not mt:
        return None
    start, end = int(mt.group(1)), mt.group(2)
    end_full = int(end) if len(end) == 4 else (start // 100) * 100 + int(end)
    if len(end) == 2 and end_full < start:
        end_full += 100
    if end_full != start + 1:
        return None
    return label(start)


def start_year(academic_year: str) -> int:
    return int(academic_year[:4])
