"""Runs the assistant: trains when the data changed, starts the action server and the Rasa server on localhost."""
from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
STAMP = ROOT / "models" / "current.fingerprint"
VAR = Path(os.environ.get("MOBILITY_VAR") or ROOT / "var")  # run-time state: endpoints, tracker store, stamps
KB_DATA = ROOT / "knowledge" / "data"
logger = logging.getLogger(__name__)
# and the code of the project's own NLU components and the encoder weights' pin, which the model depends on
TRAINING_INPUTS = ["config.yml", "domain.yml", "data", "bot/featurizers.py", "bot/minilm.py", "bot/e5.py", "bot/classifiers.py",
                   "requirements-model.txt"]


def _rasa() -> List[str]:
    """`rasa`, with the project's fixes (bot/rasa_speedups.py: one schema check per action, SQLite in WAL mode)."""
    return [sys.executable, "-m", "bot.rasa_speedups"]


def fingerprint() -> str:
    """A hash of everything the model is trained from: config, domain, data, the sentence encoder's code and
    the spaCy pipeline."""
    h = hashlib.sha256()
    files = []
    for name in TRAINING_INPUTS:
        p = ROOT / name
        files += sorted(p.rglob("*.yml")) if p.is_dir() else [p]
    files.append(ROOT / "models" / "spacy" / "mobility_en" / "patterns.sha")
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes() if f.exists() else b"-")
    return h.hexdigest()[:20]


def _data_fingerprint() -> str:
    h = hashlib.sha256()
    for f in sorted(KB_DATA.rglob("*.yaml")):
        h.update(str(f.relative_to(KB_DATA)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


def prepare() -> None:
    """Knowledge base built if missing or older than knowledge/data; spaCy pipeline rebuilt if its patterns changed."""
    from bot.nlp import ensure_pipeline
    from knowledge import build, database_url, open_kb

    kb = open_kb()
    VAR.mkdir(parents=True, exist_ok=True)
    url_key = hashlib.sha256(database_url().encode()).hexdigest()[:12]
    stamp = VAR / f"knowledge-{url_key}.sha"
    fp = _data_fingerprint()
    if not stamp.exists() or stamp.read_text() != fp:
        counts = build(kb.engine)
        kb = open_kb()
        print(f"knowledge base built from knowledge/data ({sum(counts.values())} rows)", flush=True)
        stamp.write_text(fp)
    ensure_pipeline(kb)


def train(force: bool = False) -> int:
    prepare()
    fp = fingerprint()
    if not force and MODEL.exists() and STAMP.exists() and STAMP.read_text() == fp:
        print(f"model up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("training the assistant (a few minutes)...", flush=True)
    cmd = _rasa() + ["train", "--fixed-model-name", "current", "--out", "models", "--force"]
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc == 0:
        STAMP.write_text(fp)
    return rc


def write_endpoints(action_port: int = 5055) -> Path:
    """var/endpoints.yml: the action server on localhost and an SQL tracker store (DATABASE_URL or SQLite)."""
    VAR.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL")
    lines = ["action_endpoint:", f'  url: "http://127.0.0.1:{action_port}/webhook"', "tracker_store:", "  type: SQL"]
    if url and not url.startswith("sqlite"):
        u = urlparse(url.replace("postgres://", "postgresql://", 1))
        dialect = u.scheme.split("+")[0]
        lines += [f"  dialect: {dialect}", f"  url: {u.hostname or 'localhost'}", f"  port: {u.port or 5432}",
                  f"  db: {u.path.lstrip('/')}"]
        if u.username:
            lines.append(f"  username: {u.username}")
        if u.password:
            lines.append("  password: ${TRACKER_DB_PASSWORD}")
            os.environ["TRACKER_DB_PASSWORD"] = u.password
    else:
        lines += ["  dialect: sqlite", f"  db: {VAR / 'tracker.db'}"]
    path = VAR / "endpoints.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_action_server(port: int = 5055) -> int:
    """The rasa_sdk action server, on 127.0.0.1 unless ACTIONS_HOST says otherwise."""
    os.environ.setdefault("SANIC_HOST", os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    from rasa_sdk.endpoint import run

    from actions.common import kb

    try:  # the knowledge base opened and its reference tables read before the first question, not during it
        kb().warm()
    except Exception as e:  # noqa: BLE001 - the actions still start; each answer then reports what is wrong
        logger.warning("knowledge base not warmed at start: %s", e)

    run("actions", port=port, cors_origins=None)
    return 0


def _wait_http(url: str, timeout: float, procs: List[subprocess.Popen]) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    return False


def _port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_stack(port: int = 5005, action_port: int = 5055, log: Optional[Path] = None) -> List[subprocess.Popen]:
    """Start the action server and the Rasa server; return their processes once both answer.

    Their output goes to the terminal, or to `log` when given."""
    for p in (port, action_port):
        if _port_in_use(p):
            raise RuntimeError(f"port {p} on 127.0.0.1 is already in use: is the assistant already running?")
    endpoints = write_endpoints(action_port)
    out = open(log, "ab") if log else None
    env = dict(os.environ, SANIC_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    actions = subprocess.Popen([sys.executable, "-m", "bot.cli", "actions", "--port", str(action_port)], cwd=ROOT,
                               env=env, stdout=out, stderr=out, start_new_session=True)
    cmd = _rasa() + ["run", "-m", str(MODEL), "--endpoints", str(endpoints), "--credentials", "credentials.yml",
                     "-i", "127.0.0.1", "-p", str(port), "--cors", "*"]
    token = os.environ.get("RASA_TOKEN")
    if token:
        cmd += ["--enable-api", "--auth-token", token]
    rasa = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    procs = [actions, rasa]
    ok = _wait_http(f"http://127.0.0.1:{action_port}/health", 120, procs) and \
        _wait_http(f"http://127.0.0.1:{port}/", 180, procs)
    if not ok:
        stop(procs)
        raise RuntimeError("the assistant did not start: see the messages above")
    return procs


def stop(procs: List[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def serve(port: int = 5005, widget_port: Optional[int] = 8080, action_port: int = 5055) -> int:
    rc = train()
    if rc:
        return rc
    # SIGTERM (kill, systemd, CI) stops the servers too, like Ctrl-C: the finally below runs on SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        procs = start_stack(port, action_port)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    widget = None
    if widget_port:
        try:
            from bot import widget as widget_mod

            widget = widget_mod.start(widget_port, rasa_url=f"http://localhost:{port}")
        except OSError as e:
            print(f"warning: the widget page could not start on port {widget_port}: {e}", file=sys.stderr)
            widget = None
    print(f"\nThe assistant is running.\n  REST channel: POST {{\"sender\", \"message\"}} to "
          f"http://localhost:{port}/webhooks/rest/webhook")
    if widget:
        print(f"  Web widget demo page: http://localhost:{widget_port}/")
    print("Ctrl-C stops everything.", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a server stopped; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # a second Ctrl-C (or the one a wrapper such as `timeout` forwards) must not cut the clean-up short and
        # leave the servers running: interrupts are ignored from here, and the servers are stopped first
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop(procs)
        if widget:
            widget.shutdown()


def shell() -> int:
    rc = train()
    if rc:
        return rc
    endpoints = write_endpoints()
    actions = subprocess.Popen([sys.executable, "-m", "bot.cli", "actions"], cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http("http://127.0.0.1:5055/health", 120, [actions])
        return subprocess.call(_rasa() + ["shell", "-m", str(MODEL), "--endpoints", str(endpoints)], cwd=ROOT)
    finally:
        stop([actions])
