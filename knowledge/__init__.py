"""The knowledge base of mobility-assistant and its engines (fees, grants, deadlines). Imports no Rasa."""
from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from knowledge.db import database_url, make_engine
from knowledge.fees import ProfileError, quote
from knowledge.grants import SearchError, find as find_grants
from knowledge.deadlines import upcoming as upcoming_deadlines
from knowledge.kb import KnowledgeBase
from knowledge.loader import DataError, build, data_fingerprint

__all__ = ["KnowledgeBase", "open_kb", "build", "quote", "find_grants", "upcoming_deadlines",
           "ProfileError", "SearchError", "DataError", "make_engine", "database_url"]


def open_kb(url: Optional[str] = None, build_if_missing: bool = True) -> KnowledgeBase:
    """A KnowledgeBase on DATABASE_URL (or the SQLite default), built first if it is not yet, and rebuilt
    when knowledge/data changed since it was built (so an edited figure is never answered from the old one).
    A rebuild that fails on invalid data leaves a built database as it was, and says so on stderr."""
    kb = KnowledgeBase(make_engine(url))
    if not build_if_missing:
        return kb
    wanted = data_fingerprint()
    if kb.is_built() and kb.built_from() == wanted:
        return kb
    path = _sqlite_file(kb.engine)
    with _build_lock(path):
        built = kb.is_built()
        if built and kb.built_from() == wanted:  # another process rebuilt it meanwhile
            return kb
        try:
            _rebuild(kb.engine, path)
        except DataError as e:
            if not built:
                raise
            print(f"knowledge base not rebuilt, answering from the last build: {e}", file=sys.stderr)
    return KnowledgeBase(kb.engine)


def _sqlite_file(engine) -> Optional[str]:
    path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    return path if path and path != ":memory:" else None


def _rebuild(engine, path: Optional[str]) -> None:
    """Build the knowledge base. A SQLite file is built beside it and swapped in whole, so that a process
    reading it meanwhile (the assistant) sees the old tables or the new ones, never none."""
    if path is None:
        build(engine)
        return
    tmp = f"{path}.building"
    if os.path.exists(tmp):
        os.remove(tmp)
    staging = make_engine(f"sqlite:///{tmp}")
    try:
        build(staging)
    finally:
        staging.dispose()
    os.replace(tmp, path)
    engine.dispose()


@contextmanager
def _build_lock(path: Optional[str]) -> Iterator[None]:
    """One build at a time for a SQLite file (a lock file beside it); other databases build unlocked."""
    if path is None:
        yield
        return
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
