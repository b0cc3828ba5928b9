"""Conversations kept in the SQL tracker store, for staff: what a user asked and what the assistant answered.

The hand-off message gives the user a reference (the conversation's sender id); `mobility conversation REF`
prints that conversation from the tracker store (var/tracker.db, or the DATABASE_URL database)."""
from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import create_engine, inspect, text


def tracker_url(var: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if url and not url.startswith("sqlite"):
        return url.replace("postgres://", "postgresql://", 1)
    return f"sqlite:///{var / 'tracker.db'}"


def _rows(sender_id: str, url: str):
    engine = create_engine(url, future=True)
    try:
        if not inspect(engine).has_table("events"):
            return []
        with engine.connect() as conn:
            return conn.execute(text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :sender "
                                     "AND type_name IN ('user', 'bot') ORDER BY id"), {"sender": sender_id}).all()
    finally:
        engine.dispose()


def read_only_url(url: str) -> Optional[str]:
    """The same SQLite file opened read-only and immutable, for a reader that may not write beside it (the
    tracker store is in WAL mode: an ordinary open needs to create its -shm file). None for other databases."""
    from bot.rasa_speedups import sqlite_file

    database = sqlite_file(url)
    return None if database is None else f"sqlite:///file:{Path(database).resolve()}?mode=ro&immutable=1&uri=true"


def transcript(sender_id: str, url: str) -> List[Dict[str, str]]:
    """The user and bot turns of one conversation, oldest first: [{time, who, text}]."""
    from sqlalchemy.exc import OperationalError

    try:
        rows = _rows(sender_id, url)
    except OperationalError:
        fallback = read_only_url(url)
        if fallback is None:
            raise
        rows = _rows(sender_id, fallback)
    turns = []
    for type_name, timestamp, data in rows:
        event = json.loads(data)
        words = event.get("text") or ""
        buttons = (event.get("data") or {}).get("buttons") or []
        if buttons:
            words += "\n  [" + "] [".join(str(b.get("title", "")) for b in buttons) + "]"
        when = datetime.datetime.fromtimestamp(float(timestamp)).strftime("%Y-%m-%d %H:%M:%S")
        turns.append({"time": when, "who": "user" if type_name == "user" else "assistant", "text": words})
    return turns


def format_transcript(turns: List[Dict[str, str]]) -> str:
    return "\n".join(f"{t['time']}  {t['who']:>9}: {t['text']}" for t in turns)


def main(sender_id: str, var: Path, as_json: bool = False, url: Optional[str] = None) -> int:
    turns = transcript(sender_id, url or tracker_url(var))
    if not turns:
        print(f"no conversation with reference {sender_id!r}", flush=True)
        return 1
    print(json.dumps(turns, ensure_ascii=False, indent=2) if as_json else format_transcript(turns))
    return 0
