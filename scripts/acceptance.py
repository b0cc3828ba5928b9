#!/usr/bin/env python3
"""The public acceptance checks, run from outside as a user would (`make acceptance`).

Starts the assistant on free loopback ports (trained first if needed), runs ../shared/acceptance's
check_conversations.py against its REST channel and check_fees.py against `mobility fee`, then stops it.
usage: scripts/acceptance.py [CASES_YAML]   (another conversations file, e.g. tests/e2e/heldout_conversations.yaml)
"""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import runner  # noqa: E402

ACCEPTANCE = (ROOT / ".." / "shared" / "acceptance").resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv) -> int:
    if runner.train():
        return 1
    fees = subprocess.run([sys.executable, str(ACCEPTANCE / "check_fees.py"), f"{ROOT / '.venv' / 'bin' / 'mobility'} fee"],
                          cwd=ROOT)
    runner.VAR = Path(tempfile.mkdtemp(prefix="acceptance-var-"))
    port, action_port = free_port(), free_port()
    procs = runner.start_stack(port, action_port, log=runner.VAR / "stack.log")
    try:
        cmd = [sys.executable, str(ACCEPTANCE / "check_conversations.py"), f"http://127.0.0.1:{port}/webhooks/rest/webhook"]
        conv = subprocess.run(cmd + argv[1:2], cwd=ROOT)
    finally:
        runner.stop(procs)
    return fees.returncode or conv.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
