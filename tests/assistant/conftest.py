"""The running assistant for end-to-end tests: the trained model served by the real action server and Rasa
server on free loopback ports, with the session's knowledge base and a throwaway tracker store."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from bot import runner


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
def assistant(kb_url, tmp_path_factory):
    """The whole stack, trained model required (`mobility train`; `make test` trains first)."""
    if not runner.MODEL.exists():
        pytest.fail(f"no trained model at {runner.MODEL}: run `.venv/bin/mobility train` (make test does)",
                    pytrace=False)
    mp = pytest.MonkeyPatch()
    var = tmp_path_factory.mktemp("var")
    mp.setattr(runner, "VAR", var)
    mp.setenv("DATABASE_URL", kb_url)
    mp.setenv("RASA_TELEMETRY_ENABLED", "false")
    mp.delenv("RASA_TOKEN", raising=False)
    a = Assistant(var)
    try:
        a.start()
    except RuntimeError:
        log = (var / "stack.log").read_text(errors="replace")[-3000:] if (var / "stack.log").exists() else ""
        mp.undo()
        pytest.fail(f"the assistant did not start:\n{log}", pytrace=False)
    yield a
    a.stop()
    mp.undo()
