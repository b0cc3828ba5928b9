"""Rasa 3.6, as the project runs it: `python -m bot.rasa_speedups run ...` is `rasa run ...` with three fixes.

1. Rasa validates every custom action's response with `jsonschema.validate(result, schema)`, which first checks
the (constant, large) schema itself against the JSON-schema metaschema: about 40 ms of CPU per custom action
on these machines, most of a knowledge-base answer's turn. Here the validator is built once per schema and
reused; each response is still validated in full against the same schema, and an invalid one still raises
the same ValidationError. And each event is checked against its own type's part of the schema only (see
by_event_type), where jsonschema tries all ~23 event types on each: 2.6 -> 0.3 ms a turn.

2. The SQLite tracker store (the default, var/tracker.db) commits every turn in SQLite's default rollback
journal with synchronous=FULL: two or more fsyncs a commit, 1-7 ms each on these disks, several commits a
turn. The tracker store's SQLite connections are opened in WAL mode with synchronous=NORMAL instead,
SQLite's recommended setting for WAL: a commit is an append to the log, no fsync; a crash of the server
loses nothing committed, and a power cut can at most roll back the last commits, never corrupt the file.
Staff reading conversations (`mobility conversation`) no longer wait for the writer either. And the store
keeps its SQLite connections in a pool (SQLAlchemy 2.0's default for a database file) where SQLAlchemy 1.4
opens a new connection for every session, several a turn. PostgreSQL (DATABASE_URL) is untouched.

3. The SQL tracker store (SQLite or PostgreSQL) saves a turn's new events as ORM objects, one INSERT each with
SQLAlchemy's unit-of-work bookkeeping around it (a dozen events a turn for a new conversation). Here they go in
one executemany INSERT: the same rows, columns and order (ids ascending as before), the same event-broker
stream, and the same count of stored events first, as a statement built once instead of an ORM query built on
every save; 2.5 -> 0.45 ms a save of a dozen events on these machines. A conversation is read back by a
statement built once too, its data column only, instead of an ORM object per event: 1.4 -> 0.7 ms (an unknown
conversation, the first turn of each: 0.7 -> 0.16 ms).

Measured by `make bench` (turn latency over REST); see README, Measurements.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
from typing import Any, Callable, Dict, Optional, Text

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)
_installed = False
rasa_save = rasa_retrieve = None  # Rasa's own SQLTrackerStore.save and _retrieve, once install() has replaced them


def sqlite_wal(dbapi_connection, connection_record=None) -> None:
    """On a new connection of the tracker store's SQLite pool: WAL journal, synchronous=NORMAL (see 2. above).
    A database that cannot be switched (a read-only file) is left as it is: logged, and still used."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file: later connections find it in WAL mode
        cursor.execute("PRAGMA synchronous=NORMAL")  # per connection
    except sqlite3.OperationalError as e:
        logger.warning("tracker store: SQLite left in its journal mode (%s)", e)
    finally:
        cursor.close()


class TrackerStoreSQLitePool(QueuePool):
    """The pool of the tracker store's SQLite engine, with sqlite_wal on its connections: only that engine's
    connections are switched (not the knowledge base's, nor Rasa's training cache)."""


event.listen(TrackerStoreSQLitePool, "connect", sqlite_wal)


def sqlite_file(url) -> Optional[str]:
    """The database file of an SQLite URL; None for another database or an in-memory one."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def sqlite_pool(url) -> Dict[Text, Any]:
    """create_engine arguments for a pool of connections to an SQLite database file ({} for anything else)."""
    if sqlite_file(url) is None:
        return {}
    # a pooled connection may serve the next session from another thread; one session uses it at a time
    return {"poolclass": TrackerStoreSQLitePool, "connect_args": {"check_same_thread": False}}


def install() -> None:
    """Make RemoteAction reuse one validator for its response schema, and open SQLite in WAL mode (idempotent)."""
    global _installed
    if _installed:
        return
    from rasa.core import tracker_store

    rasa_engine_kwargs = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url):  # Rasa's (PostgreSQL's pool settings), else the SQLite file's pool
        return rasa_engine_kwargs(url) or sqlite_pool(url)

    tracker_store.create_engine_kwargs = create_engine_kwargs
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    cache: Dict[type, Any] = {}

    def _validate_action_result(self, result: Dict[Text, Any]) -> bool:
        checks = cache.get(type(self))
        if checks is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)  # once, as jsonschema.validate does on every call
            checks = cache[type(self)] = (cls(schema), by_event_type(schema, cls))
        validator, valid = checks
        if valid is not None and valid(result):
            return True
        error = best_match(validator.iter_errors(result))  # the error jsonschema.validate would raise
        if error is None:
            return True
        error.message += (  # and the message Rasa adds to it
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    global rasa_save, rasa_retrieve
    rasa_save, rasa_retrieve = tracker_store.SQLTrackerStore.save, tracker_store.SQLTrackerStore._retrieve
    tracker_store.SQLTrackerStore.save = _save_new_events
    tracker_store.SQLTrackerStore._retrieve = _retrieve_events
    _installed = True


def _latest_session(table, query):
    """query narrowed to the conversation's events since its latest session start (all, if none): the filter of
    Rasa's `_event_query`, on a bound parameter sender_id."""
    import sqlalchemy as sa
    from rasa.shared.core.events import SessionStarted

    sender = sa.bindparam("sender_id")
    start = sa.select(sa.func.max(table.c.timestamp)).where(
        table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name).scalar_subquery()
    return query.where(table.c.sender_id == sender, sa.or_(table.c.timestamp >= start, start.is_(None)))


@functools.lru_cache(maxsize=None)
def _stored_count(table):
    """How many of a conversation's events are stored since its latest session start: Rasa's
    `_additional_events` count, as one statement built once (Rasa builds the ORM query anew on every save)."""
    import sqlalchemy as sa

    return _latest_session(table, sa.select(sa.func.count()).select_from(table))


@functools.lru_cache(maxsize=None)
def _stored_events(table, all_sessions: bool):
    """The serialised events of a conversation in the order stored (of its latest session, unless all_sessions):
    Rasa's `_event_query`, as one statement built once, reading the data column only."""
    import sqlalchemy as sa

    query = sa.select(table.c.data)
    if all_sessions:
        query = query.where(table.c.sender_id == sa.bindparam("sender_id"))
    else:
        query = _latest_session(table, query)
    return query.order_by(table.c.id)


async def _retrieve_events(self, sender_id, fetch_events_from_all_sessions: bool):
    """SQLTrackerStore._retrieve with the statement above instead of loading an ORM object per event."""
    import json

    from rasa.shared.core.trackers import DialogueStateTracker

    with self.session_scope() as session:
        serialised = session.execute(_stored_events(self.SQLEvent.__table__, bool(fetch_events_from_all_sessions)),
                                     {"sender_id": sender_id}).scalars().all()
    events = [json.loads(data) for data in serialised]
    if self.domain and len(events) > 0:
        logger.debug(f"Recreating tracker from sender id '{sender_id}'")
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
    logger.debug(f"Can't retrieve tracker matching sender id '{sender_id}' from SQL storage. Returning `None` instead.")
    return None


def by_event_type(schema: Dict[Text, Any], cls) -> Optional[Callable[[Any], bool]]:
    """A check equivalent to `cls(schema).is_valid` for Rasa's action-response schema, where each event must fit
    exactly one of ~23 "oneOf" branches, each naming its event type as a constant: an event of type X fits
    exactly one iff it fits the common part and X's branch (every other branch's constant fails), so only that
    branch is checked, not all of them (2.6 -> 0.3 ms for a dozen events). True only for a valid response; a
    False sends it to the full validator, which finds the error. None for a schema not of that shape."""
    import copy

    try:
        items = schema["properties"]["events"]["items"]
        by_type = {b["properties"]["event"]["const"]: b for b in items["oneOf"]}
    except (KeyError, TypeError):
        return None
    if len(by_type) != len(items["oneOf"]) or not all(isinstance(t, str) for t in by_type):
        return None  # two branches for one type: "exactly one" could fail where each fits
    common = {k: v for k, v in items.items() if k != "oneOf"}
    events = {t: cls({"allOf": [common, branch]}) for t, branch in by_type.items()}
    outer = copy.deepcopy(schema)
    outer["properties"]["events"]["items"] = {}  # the events are checked one by one, below
    outer = cls(outer)

    def valid(result: Any) -> bool:
        if not outer.is_valid(result):
            return False
        for event in result.get("events") or []:  # outer checked it is a list, if present
            kind = event.get("event") if isinstance(event, dict) else None
            check = events.get(kind) if isinstance(kind, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    return valid


async def _save_new_events(self, tracker) -> None:
    """SQLTrackerStore.save with one executemany INSERT for the events not yet stored (see 3. above)."""
    import json

    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    await self.stream_events(tracker)
    with self.session_scope() as session:
        rows = []
        stored = session.execute(_stored_count(self.SQLEvent.__table__), {"sender_id": tracker.sender_id}).scalar()
        for event in itertools.islice(tracker.events, stored, None):  # the events after those already stored
            data = event.as_dict()
            rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                         "timestamp": data.get("timestamp"),
                         "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                         "action_name": data.get("name"), "data": json.dumps(data)})
        if rows:
            session.execute(self.SQLEvent.__table__.insert(), rows)
        session.commit()
    logger.debug(f"Tracker with sender_id '{tracker.sender_id}' stored to database")


def main() -> None:
    # As rasa.__main__ does, but before install() imports TensorFlow (through rasa.core.actions).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
