"""The knowledge base of mobility-assistant and its engines (fees, grants, deadlines). Imports no Rasa."""
from __future__ import annotations

from typing import Optional

from knowledge.db import database_url, make_engine
from knowledge.fees import ProfileError, quote
from knowledge.grants import SearchError, find as find_grants
from knowledge.deadlines import upcoming as upcoming_deadlines
from knowledge.kb import KnowledgeBase
from knowledge.loader import DataError, build

__all__ = ["KnowledgeBase", "open_kb", "build", "quote", "find_grants", "upcoming_deadlines",
           "ProfileError", "SearchError", "DataError", "make_engine", "database_url"]


def open_kb(url: Optional[str] = None, build_if_missing: bool = True) -> KnowledgeBase:
    """A KnowledgeBase on DATABASE_URL (or the SQLite default), built first if it is not yet."""
    kb = KnowledgeBase(make_engine(url))
    if build_if_missing and not kb.is_built():
        build(kb.engine)
    return kb
