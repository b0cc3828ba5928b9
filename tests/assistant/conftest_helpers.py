"""Helpers the end-to-end tests import."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
ACCEPTANCE = (ROOT / ".." / "shared" / "acceptance").resolve()


def reply_text(messages: List[Dict[str, Any]]) -> str:
    """The bot's texts and button titles, joined."""
    return "\n".join([m.get("text") or "" for m in messages] +
                     [b.get("title", "") for m in messages for b in (m.get("buttons") or [])])
