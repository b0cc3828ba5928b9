"""Fixtures of the email tests: the corpus of test mails, a real IMAP server (Debian's dovecot, started on free
loopback ports with a throwaway mail root), and the assistant in-process."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from mailhelpers import Dovecot, make_certificate, dovecot_config, corpus_files, dovecot_binary, free_port


@pytest.fixture(scope="session")
def corpus() -> List[Path]:
    files = corpus_files()
    assert len(files) >= 11, f"the test corpus in {CORPUS} is incomplete"
    return files


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real IMAP server: dovecot in the foreground (-F) with its own config on free loopback ports: IMAP (with
    STARTTLS) and IMAPS, with a throwaway self-signed certificate."""
    binary = dovecot_binary()
    if not binary:
        pytest.fail("dovecot is not installed: run `make system-deps` (apt-get install dovecot-imapd)", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="mobility-dovecot-"))  # in /tmp: dovecot's users must reach it
    os.chmod(base, 0o755)
    (base / "mail").mkdir()
    if os.geteuid() == 0:
        shutil.chown(base / "mail", "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name)
    port, tls_port = free_port(), free_port()
    make_certificate(base)
    conf = base / "dovecot.conf"
    conf.write_text(dovecot_config(base, port, tls_port))
    out = open(base / "stdout.log", "wb")
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = Dovecot(base, port, tls_port, proc)
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dovecot exited ({proc.returncode}):\n{(base / 'stdout.log').read_text(errors='replace')}"
                            f"\n{server.log()}", pytrace=False)
            try:
                with socket.create_connection((server.host, port), timeout=2) as s:
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"dovecot did not answer on port {port}:\n{server.log()}", pytrace=False)
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        out.close()
        shutil.rmtree(base, ignore_errors=True)


# -- the assistant ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mail_assistant(model_env, tmp_path_factory):
    """The trained assistant in this process with its action server, on the session's knowledge base."""
    from bot.mail.answer import Assistant, AssistantError

    log = tmp_path_factory.mktemp("mail-assistant") / "actions.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOG_LEVEL", "WARNING")
        try:
            assistant = Assistant(log=log).start()
        except AssistantError as e:
            pytest.fail(f"the assistant did not start: {e}\n{log.read_text(errors='replace')[-3000:] if log.exists() else ''}", pytrace=False)
        yield assistant
        assistant.stop()
