"""Staff read a conversation from the SQLite tracker store (in WAL mode), even where they may not write."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError

from bot import conversations, rasa_speedups


@pytest.fixture()
def tracker_db(tmp_path):
    rasa_speedups.install()
    db = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    events = [UserUttered("Which grant for Japan?"), BotUttered("For an internship in Japan: ...")]
    asyncio.run(store.save(DialogueStateTracker.from_events("student-7", events)))
    store.engine.dispose()
    return db


def test_a_conversation_reads_back_through_the_read_only_url(tracker_db):
    url = conversations.read_only_url(f"sqlite:///{tracker_db}")
    assert "mode=ro" in url and "immutable=1" in url
    turns = conversations.transcript("student-7", url)
    assert [t["text"] for t in turns][:1] == ["Which grant for Japan?"]
    assert len(turns) == 2


def test_a_reader_that_cannot_open_the_file_normally_falls_back_to_read_only(tracker_db, monkeypatch):
    opened = []
    read = conversations._rows

    def rows(sender_id, url):
        opened.append(url)
        if "mode=ro" not in url:  # as for a staff user who may not create the -shm file beside it
            raise OperationalError("SELECT", {}, Exception("attempt to write a readonly database"))
        return read(sender_id, url)

    monkeypatch.setattr(conversations, "_rows", rows)
    turns = conversations.transcript("student-7", f"sqlite:///{tracker_db}")
    assert len(opened) == 2 and len(turns) == 2


@pytest.mark.parametrize("url", ["postgresql://staff@localhost/tracker", "sqlite://"])
def test_other_databases_have_no_read_only_fallback(url):
    assert conversations.read_only_url(url) is None
