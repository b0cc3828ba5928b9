"""Helpers of the email tests (a module of its own: every test folder has a conftest): the corpus, dovecot's
configuration, reading a mailbox and a draft, and a stand-in assistant."""
from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from bot.mail.answer import DEFAULT_THRESHOLD
from bot.mail.answer import MailAnswers, judge
from bot.mail.reader import imap_quote, parse_list

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
DOVECOT_PASSWORD = "s3cret-Test!"


def corpus_files() -> List[Path]:
    return sorted(CORPUS.glob("*.eml"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- dovecot ----------------------------------------------------------------------------------------------
class Dovecot:
    """A running dovecot; any user name logs in with DOVECOT_PASSWORD and gets its own empty Maildir."""

    host = "127.0.0.1"
    password = DOVECOT_PASSWORD

    def __init__(self, base: Path, port: int, tls_port: int, proc: subprocess.Popen):
        self.base, self.port, self.tls_port, self.proc = base, port, tls_port, proc
        self.cafile = str(base / "cert.pem")  # the server's self-signed certificate: trust it to verify the server

    def new_user(self) -> str:
        return "staff-" + uuid.uuid4().hex[:10]

    def client(self, user: str) -> imaplib.IMAP4:
        c = imaplib.IMAP4(self.host, self.port, timeout=30)
        c.login(user, self.password)
        return c

    def load(self, user: str, files: List[Path], folder: str = "INBOX") -> None:
        """The mails APPENDed over IMAP, as a mail server would deliver them."""
        c = self.client(user)
        try:
            for f in files:
                typ, data = c.append(folder, None, None, f.read_bytes())
                assert typ == "OK", (f, data)
        finally:
            c.logout()

    def env(self, user: str) -> Dict[str, str]:
        return {"MAIL_IMAP_HOST": self.host, "MAIL_IMAP_PORT": str(self.port), "MAIL_IMAP_USER": user,
                "MAIL_IMAP_PASSWORD": self.password, "MAIL_IMAP_TLS": "none", "MAIL_IMAP_FOLDER": "INBOX"}

    def log(self) -> str:
        p = self.base / "dovecot.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""


def make_certificate(base: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl comes with dovecot-core)."""
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                           "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                           "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem")],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate: {proc.stderr}", pytrace=False)


def dovecot_config(base: Path, port: int, tls_port: int) -> str:
    if os.geteuid() == 0:
        # As root, dovecot drops to its own users (dovecot, dovenull); the mail belongs to nobody.
        mail_user, mail_group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        service_users = ""
    else:
        # Unprivileged: every dovecot process runs as the current user.
        mail_user, mail_group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
        service_users = (f"default_login_user = {mail_user}\ndefault_internal_user = {mail_user}\n"
                         f"default_internal_group = {mail_group}\n")
    return f"""# throwaway dovecot of the mobility-assistant email tests
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%n
first_valid_uid = 1
{service_users}
passdb {{
  driver = static
  args = password={DOVECOT_PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={base}/mail/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def dovecot_binary() -> Optional[str]:
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None


# -- reading what is in a mailbox ---------------------------------------------------------------------------
def fetch_all(c: imaplib.IMAP4, folder: str) -> List[Dict]:
    """[{uid, flags, msg}] of every message in a folder (read only: nothing is marked)."""
    typ, _ = c.select(imap_quote(folder), readonly=True)
    assert typ == "OK", folder
    typ, data = c.uid("SEARCH", None, "ALL")
    out = []
    for uid in (data[0] or b"").split():
        typ, data = c.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
        head = next(p[0] for p in data if isinstance(p, tuple))
        raw = next(p[1] for p in data if isinstance(p, tuple))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
        out.append({"uid": uid.decode(), "flags": flags, "msg": BytesParser(policy=policy.default).parsebytes(raw)})
    return out


def folders(c: imaplib.IMAP4) -> List[str]:
    typ, data = c.list()
    return sorted(f["name"] for f in parse_list(data))


def sections(text: str) -> Dict[str, str]:
    """A draft's body cut in three: the staff notes, the reply itself (greeting to signature), the quoted mail."""
    text = text.replace("\r\n", "\n")
    notes_end = re.search(r"^--- (End of the notes|Einde van de notities).*$", text, re.M)
    assert notes_end, text[:500]
    rest = text[notes_end.end():]
    closing = re.search(r"^(Kind regards,|Met vriendelijke groeten,)$", rest, re.M)
    assert closing, rest[-500:]
    return {"notes": text[:notes_end.end()], "reply": rest[:closing.start()], "quoted": rest[closing.end():]}


def draft_text(msg: EmailMessage) -> str:
    return msg.get_content().replace("\r\n", "\n")


# -- a stand-in assistant ---------------------------------------------------------------------------------
class FakeAssistant:
    """Answers like the assistant would, without Rasa: for tests of everything around it.

    A question about pizza or the weather is out of scope; one with 'visa' is not understood; 'explode' raises;
    every other question gets a fee-like answer with its source."""

    def __init__(self):
        self.asked: List[str] = []
        self.contexts: List[List[str]] = []

    async def answer(self, mail, threshold: float = DEFAULT_THRESHOLD) -> MailAnswers:
        answers = []
        self.contexts.append(list(mail.context))
        for q in mail.questions:
            self.asked.append(q)
            low = q.lower()
            if "explode" in low:
                raise RuntimeError("the assistant broke down")
            if "pizza" in low or "weather" in low:
                parsed = {"intent": {"name": "out_of_scope", "confidence": 0.97}}
                replies = [{"text": "Sorry, I can't help with that: I only know about studying abroad."}]
            elif "visa" in low:
                parsed = {"intent": {"name": "nlu_fallback", "confidence": 0.4}}
                replies = [{"text": "I'm not sure I understood. Did you mean one of these?"}]
            else:
                parsed = {"intent": {"name": "ask_fee", "confidence": 0.93}}
                replies = [{"text": "In 2026-27 at KdG you pay €1,181.40.\n"
                                    "Source: kdg-tuition-fees-2026-27.txt (Karel de Grote Hogeschool (KdG), 2026-27)"}]
            answers.append(judge(q, parsed, replies, threshold))
        return MailAnswers(answers=answers, context_used=[])

    def stop(self) -> None:
        pass
