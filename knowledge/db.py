"""Database engines: SQLite by default, whatever DATABASE_URL names otherwise."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_ROOT / "var" / "knowledge.db"


def database_url(url: str | None = None) -> str:
    """The database URL to use: the argument, else DATABASE_URL, else the project's SQLite file."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgres://"):  # Heroku-style URLs; SQLAlchemy 1.4 wants postgresql://
        url = "postgresql://" + url[len("postgres://"):]
    return url


def make_engine(url: str | None = None) -> Engine:
    """Create an engine (SQLAlchemy 2.0 style on 1.4). Nothing connects until it is used."""
    return create_engine(database_url(url), future=True)
