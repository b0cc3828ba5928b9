"""Shared fixtures: the knowledge base built into a throwaway SQLite file, a fixed today, the
`mobility` command line, and a real throwaway PostgreSQL server for the tests marked postgres."""
from __future__ import annotations

import datetime
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from knowledge import KnowledgeBase, make_engine
from knowledge.loader import build
from bot import runner

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = (ROOT / ".." / "shared" / "sources").resolve()


def _mobility_executable() -> Path:
    beside_python = Path(sys.executable).with_name("mobility")
    return beside_python if beside_python.exists() else ROOT / ".venv" / "bin" / "mobility"


MOBILITY = _mobility_executable()


# -- the knowledge base ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def kb_url(tmp_path_factory) -> str:
    """A SQLite URL holding the knowledge base, built once per session from knowledge/data."""
    path = tmp_path_factory.mktemp("kb") / "knowledge.db"
    engine = make_engine("sqlite:///" + str(path))
    build(engine)
    engine.dispose()
    return "sqlite:///" + str(path)


@pytest.fixture(scope="session")
def kb(kb_url) -> KnowledgeBase:
    return KnowledgeBase(make_engine(kb_url))


@pytest.fixture(scope="session")
def today() -> datetime.date:
    return datetime.date(2026, 11, 23)


# -- the command line --------------------------------------------------------------------------------
class Mobility:
    """Runs `.venv/bin/mobility` on the session's knowledge base (DATABASE_URL), never on var/."""

    def __init__(self, database_url: str):
        self.env = {**os.environ, "DATABASE_URL": database_url}

    def __call__(self, *args: str, input: Optional[str] = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(MOBILITY), *args], input=input, capture_output=True, text=True,
                              env=self.env, cwd=str(ROOT), timeout=timeout)

    def json(self, *args: str, payload: Any) -> subprocess.CompletedProcess:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return self(*args, input=text)


@pytest.fixture(scope="session")
def mobility(kb_url) -> Mobility:
    assert MOBILITY.exists(), f"{MOBILITY} is missing: run `make install`"
    return Mobility(kb_url)


# -- PostgreSQL --------------------------------------------------------------------------------------
def _postgres_bindir() -> Optional[Path]:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else x for x in Path(p).parts[-3].split(".")])
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start a real throwaway PostgreSQL server on a free loopback port; yield a URL to a fresh database."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
                    "run `make system-deps` (scripts/system-deps.sh) to install it", pytrace=False)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    # A directory in /tmp (not pytest's 0700 tree under root) so the postgres user can reach it.
    base = Path(tempfile.mkdtemp(prefix="mobility-pg-"))
    data, log = base / "data", base / "server.log"
    prefix: List[str] = []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*cmd: str) -> None:
        proc = subprocess.run(prefix + list(cmd), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tail(log, 2000)}",
                        pytrace=False)

    port = free_port()
    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
    run(str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(log),
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off")
    try:
        createdb = bindir / "createdb"
        run(str(createdb if createdb.exists() else "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "mobility_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/mobility_test"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(data)],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


# -- the running assistant (end-to-end tests) ---------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Assistant:
    """The stack, restartable (the tracker store outlives a restart), and a REST client for it."""

    def __init__(self, var: Path):
        self.var = var
        self.port, self.action_port = free_port(), free_port()
        self.procs: List = []

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def start(self) -> None:
        self.procs = runner.start_stack(self.port, self.action_port, log=self.var / "stack.log")

    def stop(self) -> None:
        runner.stop(self.procs)
        self.procs = []

    def post(self, path: str, body: bytes, headers: Optional[Dict[str, str]] = None, timeout: float = 60):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def say(self, sender: str, message: Any) -> List[Dict[str, Any]]:
        status, body = self.post("/webhooks/rest/webhook", json.dumps({"sender": sender, "message": message}).encode())
        assert status == 200, body
        return json.loads(body or "[]")


@pytest.fixture(scope="session")
def model_env(kb_url):
    """What every test of the trained assistant needs: the model (`mobility train`; `make test` trains first)
    and an environment on the session's knowledge base, without telemetry or an API token."""
    if not runner.MODEL.exists():
        pytest.fail(f"no trained model at {runner.MODEL}: run `.venv/bin/mobility train` (make test does)",
                    pytrace=False)
    mp = pytest.MonkeyPatch()
    for name, value in {"DATABASE_URL": kb_url, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}.items():
        mp.setenv(name, value)
    mp.delenv("RASA_TOKEN", raising=False)
    yield mp
    mp.undo()


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@pytest.fixture(scope="session")
def assistant(model_env, tmp_path_factory):
    """The whole stack as `make run` starts it."""
    var = tmp_path_factory.mktemp("var")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "VAR", var)
        a = Assistant(var)
        try:
            a.start()
        except RuntimeError:
            pytest.fail(f"the assistant did not start:\n{tail(var / 'stack.log')}", pytrace=False)
        yield a
        a.stop()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The tests check the assistant against the source pages and the acceptance cases in ../shared, beside the
    repository: without them, say so once instead of failing hundreds of tests."""
    missing = [d for d in (SOURCES_DIR, SOURCES_DIR.parent / "acceptance") if not d.is_dir()]
    if missing:
        pytest.exit(f"{', '.join(map(str, missing))} not found: the tests need ../shared (sources and acceptance) "
                    f"beside the repository ({ROOT})", returncode=4)


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Tests that take the postgres_url fixture are marked postgres, so `-m "not postgres"` leaves them out."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
