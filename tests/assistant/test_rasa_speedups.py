"""The project's Rasa entry point validates custom-action responses exactly as Rasa does, with one validator."""
from __future__ import annotations

import datetime
import subprocess
import sys

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups, runner

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "fee", "timestamp": None}],
     "responses": [{"text": "The fee is ...", "buttons": [{"title": "More", "payload": "/ask_fee"}]}]},
    {"events": [{"event": "bot", "text": "hi"}, {"event": "followup", "name": "action_listen"}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot event without its name
    {"responses": "text"},
    {"events": [{"event": "slot", "name": 42, "value": 1}]},
    {"events": [{"event": "slot"}], "responses": [1]},  # two errors: the same one is reported
]


@pytest.fixture(scope="module")
def action():
    rasa_speedups.install()
    return RemoteAction("action_quote_fee", EndpointConfig(url="http://127.0.0.1:1/webhook"))


def rasa_own(result):
    """None for a valid result, else the error jsonschema.validate (Rasa's own check) raises."""
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return None
    except jsonschema.ValidationError as e:
        return e


@pytest.mark.parametrize("result", VALID)
def test_a_valid_action_response_passes_as_it_does_in_rasa(action, result):
    assert rasa_own(result) is None
    assert action._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_action_response_is_rejected_with_rasas_message(action, result):
    expected = rasa_own(result)
    assert expected is not None
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response") as raised:
        action._validate_action_result(result)
    assert raised.value.message.startswith(expected.message + ". ")
    assert list(raised.value.absolute_path) == list(expected.absolute_path)


def _every_event_type():
    """One event of each type Rasa's response schema knows, as the action server sends them (Event.as_dict)."""
    from rasa.shared.core import events as e

    samples = [e.UserUttered("hi", {"name": "greet", "confidence": 1.0}), e.BotUttered("hello", {"buttons": []}),
               e.SlotSet("topic", "fee"), e.ActionExecuted("action_answer_fee", policy="RulePolicy", confidence=1.0),
               e.SessionStarted(), e.Restarted(), e.AllSlotsReset(), e.ReminderCancelled(name="r"),
               e.ReminderScheduled("greet", datetime.datetime(2026, 12, 6, 12)), e.ConversationPaused(),
               e.ConversationResumed(), e.FollowupAction("action_listen"), e.ActionReverted(),
               e.UserUtteranceReverted(), e.StoryExported(), e.ActiveLoop("fee_form"), e.LoopInterrupted(True),
               e.ActionExecutionRejected("action_x"), e.AgentUttered("text"),
               e.EntitiesAdded([{"entity": "country", "value": "JP"}]), e.DefinePrevUserUtteredFeaturization(False)]
    # and Rasa 2's forms, which Rasa 3 still accepts (LegacyForm.as_dict now says active_loop)
    return [x.as_dict() for x in samples] + [{"event": "form", "name": "fee_form", "timestamp": None},
                                             {"event": "form_validation", "validate": True, "timestamp": None}]


def _event_types_of_the_schema():
    items = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]
    return {b["properties"]["event"]["const"] for b in items["oneOf"]}


def _by_event_type():
    schema = RemoteAction.action_response_format_spec()
    return rasa_speedups.by_event_type(schema, jsonschema.validators.validator_for(schema))


def test_every_event_type_rasa_knows_passes_as_it_does_in_rasa(action):
    events = _every_event_type()
    assert {x["event"] for x in events} == _event_types_of_the_schema()  # all 23
    result = {"events": events, "responses": [{"text": "x"}]}
    assert rasa_own(result) is None
    assert _by_event_type()(result) is True  # the fast check, not only the full validator behind it
    assert action._validate_action_result(result) is True


@pytest.mark.parametrize("event", [
    {"event": "slot", "name": ["topic"], "value": 1},  # a field of its own type wrong
    {"event": "user", "text": 42},
    {"event": "bot", "timestamp": "yesterday"},  # a field common to every type wrong
    {"event": ["slot"], "name": "topic"},  # a type that is no string
    {"event": "holiday"},
    "slot",
])
def test_an_event_that_fits_no_type_of_rasas_schema_is_rejected_with_rasas_error(action, event):
    result = {"events": [{"event": "action", "name": "action_listen"}, event]}
    expected = rasa_own(result)
    assert expected is not None
    assert _by_event_type()(result) is False
    with pytest.raises(jsonschema.ValidationError) as raised:
        action._validate_action_result(result)
    assert raised.value.message.startswith(expected.message + ". ")


@pytest.mark.parametrize("result", VALID + INVALID + [[], "events", {"events": None}])
def test_the_fast_check_agrees_with_jsonschema(result):
    assert _by_event_type()(result) is (rasa_own(result) is None)


def test_install_is_idempotent_and_reuses_one_validator(action):
    patched = RemoteAction._validate_action_result
    rasa_speedups.install()
    assert RemoteAction._validate_action_result is patched
    assert patched.__module__ == "bot.rasa_speedups"


def test_the_runner_starts_rasa_through_the_patched_entry_point():
    cmd = runner._rasa()
    assert cmd[-2:] == ["-m", "bot.rasa_speedups"]
    proc = subprocess.run(cmd + ["--version"], cwd=runner.ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Rasa Version" in proc.stdout and "3.6.21" in proc.stdout


def test_the_sqlite_tracker_store_runs_in_wal_mode_and_keeps_conversations(tmp_path):
    import asyncio
    import sqlite3

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_speedups.install()
    db = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    tracker = DialogueStateTracker.from_events("student", [UserUttered("Which grant for Japan?")])
    asyncio.run(store.save(tracker))
    from sqlalchemy.pool import QueuePool

    assert isinstance(store.engine.pool, QueuePool)  # connections kept, not opened for every session
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (FULL is 2)
    store.engine.dispose()
    with sqlite3.connect(db) as plain:  # the mode is in the file, for every later reader and writer
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = asyncio.run(SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db)).retrieve("student"))
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["Which grant for Japan?"]


def _store(url):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=u.database)
    # a database of its own, which Rasa creates (logged in to the fixture's): the knowledge base's tests read theirs
    return SQLTrackerStore(Domain.empty(), dialect="postgresql", host=u.host, port=u.port, db="tracker_speedups",
                           username=u.username, login_db=u.database)


def _stored_and_read_back_as_rasa_does_it(url):
    """Three saves of a growing conversation (a second session included), by Rasa's save and by the patched one,
    in the same table under two names; then read back by Rasa's retrieval and by the patched one."""
    import asyncio

    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_speedups.install()
    turns = [
        [ActionExecuted("action_session_start"), SessionStarted(timestamp=1.0), ActionExecuted("action_listen", timestamp=2.0)],
        [UserUttered("fees for 30 credits?", {"name": "ask_fee", "confidence": 0.9}, timestamp=3.0,
                     parse_data={"intent": {"name": "ask_fee", "confidence": 0.9}, "entities": [], "text": "fees"}),
         ActionExecuted("action_answer_fee", timestamp=4.0), SlotSet("credits", 30, timestamp=5.0),
         BotUttered("Your fee ...", {"buttons": [{"title": "KdG", "payload": "/inform"}]}, timestamp=6.0),
         ActionExecuted("action_listen", timestamp=7.0)],
        [ActionExecuted("action_session_start", timestamp=8.0), SessionStarted(timestamp=9.0),
         ActionExecuted("action_listen", timestamp=10.0), UserUttered("hallo", {"name": "greet"}, timestamp=11.0)],
    ]
    store = _store(url)
    try:
        for save, sender in ((rasa_speedups.rasa_save, "rasa"), (SQLTrackerStore.save, "ours")):
            events = []
            for turn in turns:
                events += turn
                asyncio.run(save(store, DialogueStateTracker.from_events(sender, list(events))))
        with store.engine.connect() as connection:
            def rows(sender):
                return connection.execute(sa.text("SELECT type_name, timestamp, intent_name, action_name, data "
                                                  "FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}).all()
            assert SQLTrackerStore.save is not rasa_speedups.rasa_save
            assert len(rows("rasa")) == 12 and rows("ours") == rows("rasa")

        for all_sessions, count in ((False, 4), (True, 12)):
            mine = asyncio.run(store._retrieve("ours", all_sessions))
            rasas = asyncio.run(rasa_speedups.rasa_retrieve(store, "ours", all_sessions))
            assert len(mine.events) == count and mine.current_state() == rasas.current_state()
            assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in rasas.events]
        assert asyncio.run(store._retrieve("nobody", False)) is None
        assert asyncio.run(store.retrieve("ours")).latest_message.text == "hallo"
    finally:
        store.engine.dispose()


def test_a_conversation_is_stored_and_read_back_as_rasa_does_it(tmp_path):
    _stored_and_read_back_as_rasa_does_it(f"sqlite:///{tmp_path / 'tracker.db'}")


def test_a_conversation_is_stored_and_read_back_as_rasa_does_it_on_postgresql(postgres_url):
    _stored_and_read_back_as_rasa_does_it(postgres_url)


def test_connections_to_other_databases_are_left_alone():
    class Other:  # e.g. a psycopg2 connection: not an sqlite3.Connection
        def cursor(self):
            raise AssertionError("no PRAGMA sent to another database")

    rasa_speedups.sqlite_wal(Other())


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://bot@localhost/tracker"])
def test_only_an_sqlite_file_gets_the_pool(url):
    assert rasa_speedups.sqlite_pool(url) == {}


def test_postgresql_keeps_rasas_engine_arguments():
    from rasa.core import tracker_store

    rasa_speedups.install()
    kwargs = tracker_store.create_engine_kwargs("postgresql://bot@localhost/tracker")
    assert "poolclass" not in kwargs and {"pool_size", "max_overflow"} <= set(kwargs)


def test_the_action_server_warms_the_knowledge_base_before_it_serves(monkeypatch):
    import rasa_sdk.endpoint

    import actions.common

    calls = []

    class FakeKB:
        def warm(self):
            calls.append("warm")

    monkeypatch.setenv("SANIC_HOST", "127.0.0.1")  # restored after the test (the runner sets it when missing)
    monkeypatch.setattr(actions.common, "kb", lambda: FakeKB())
    monkeypatch.setattr(rasa_sdk.endpoint, "run", lambda *a, **k: calls.append("run"))
    assert runner.run_action_server(port=1) == 0
    assert calls == ["warm", "run"]


def test_the_action_server_starts_even_if_warming_fails(monkeypatch, caplog):
    import rasa_sdk.endpoint

    import actions.common

    def broken():
        raise RuntimeError("no knowledge base built")

    started = []
    monkeypatch.setenv("SANIC_HOST", "127.0.0.1")
    monkeypatch.setattr(actions.common, "kb", broken)
    monkeypatch.setattr(rasa_sdk.endpoint, "run", lambda *a, **k: started.append(True))
    assert runner.run_action_server(port=1) == 0
    assert started == [True]
    assert "no knowledge base built" in caplog.text


def test_other_sqlite_databases_keep_their_journal_mode(tmp_path):
    """The knowledge base, Rasa's training cache: only the tracker store's connections are switched to WAL."""
    import sqlite3

    from sqlalchemy import create_engine

    rasa_speedups.install()
    engine = create_engine(f"sqlite:///{tmp_path / 'knowledge.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    engine.dispose()
    with sqlite3.connect(tmp_path / "knowledge.db") as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_read_only_tracker_database_is_used_as_it_is(tmp_path, caplog):
    import sqlite3

    sqlite3.connect(tmp_path / "tracker.db").execute("CREATE TABLE events (id INTEGER)").connection.close()
    read_only = sqlite3.connect(f"file:{tmp_path / 'tracker.db'}?mode=ro", uri=True)
    rasa_speedups.sqlite_wal(read_only)  # no exception: the connection stays usable
    assert read_only.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert "left in its journal mode" in caplog.text


def test_a_second_ctrl_c_during_shutdown_still_stops_every_server(monkeypatch):
    """`mobility serve`: the first Ctrl-C ends the wait; one more (an impatient user, or the copy a wrapper like
    `timeout` forwards) arriving while the widget shuts down must not leave the servers running."""
    import os
    import signal

    from bot import widget as widget_mod

    servers = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]

    class Widget:
        def shutdown(self):
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C

    calls = []
    real_sleep = runner.time.sleep

    def interrupted(seconds):  # the first Ctrl-C, in serve's wait; stop() may sleep afterwards
        calls.append(seconds)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(runner, "train", lambda: 0)
    monkeypatch.setattr(runner, "start_stack", lambda *a, **k: servers)
    monkeypatch.setattr(widget_mod, "start", lambda *a, **k: Widget())
    monkeypatch.setattr(runner.time, "sleep", interrupted)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        assert runner.serve(port=1, widget_port=2, action_port=3) == 0
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert [s.wait(timeout=10) is not None for s in servers] == [True, True]
