"""Where mail comes from and where drafts go: an IMAP mailbox, or files (.eml, a Maildir, an mbox).

IMAP: the mails not yet processed are read without marking them read (BODY.PEEK); each draft is APPENDed
to the Drafts folder (created if missing) with the \\Draft flag; a processed mail gets the keyword
$MobilityDrafted and \\Seen (drafted) or $MobilitySkipped (auto-reply, bounce, malformed, no question).
A draft already in Drafts for a mail (In-Reply-To) also counts as processed.
Files: drafts are written as .eml files; a state file keeps the processed Message-IDs.
Nothing is ever sent: there is no SMTP here.
"""
from __future__ import annotations

import hashlib
import imaplib
import ipaddress
import json
import mailbox
import os
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

from bot.mail.parse import MSG_ID, ParsedMail

KEYWORD_DRAFTED = "$MobilityDrafted"
KEYWORD_SKIPPED = "$MobilitySkipped"
DRAFT_NAMES = ("drafts", "draft", "concepten", "concept", "brouillons", "entwürfe")
MAX_DRAFTS_CHECKED = 5_000  # the newest drafts whose In-Reply-To is read at the start of a run
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MailboxError(RuntimeError):
    """The mailbox cannot be used (connection, login, folder): the run stops with this message."""


@dataclass
class Incoming:
    ref: str  # where the mail is: an IMAP UID, a file path, "mbox#3"
    raw: bytes
    error: str = ""  # it could not be read at all


# -- IMAP -------------------------------------------------------------------------------------------------
@dataclass
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    tls: str = "ssl"  # ssl | starttls | none (loopback only)
    drafts: Optional[str] = None
    cafile: Optional[str] = None  # CA certificates to trust instead of the system's (an institution's own CA)

    @classmethod
    def from_options(cls, host: Optional[str], port: Optional[int], user: Optional[str], folder: Optional[str],
                     tls: Optional[str], drafts: Optional[str] = None,
                     cafile: Optional[str] = None) -> "ImapSettings":
        env = os.environ
        cafile = cafile or env.get("MAIL_IMAP_CAFILE") or None
        if cafile and not os.path.isfile(cafile):
            raise ValueError(f"no such CA file: {cafile}")
        host = host or env.get("MAIL_IMAP_HOST")
        user = user or env.get("MAIL_IMAP_USER")
        tls = (tls or env.get("MAIL_IMAP_TLS") or "ssl").lower()
        if tls not in ("ssl", "starttls", "none"):
            raise ValueError(f"IMAP TLS must be ssl, starttls or none, not {tls!r}")
        port_text = port if port is not None else env.get("MAIL_IMAP_PORT")
        try:
            port_num = int(port_text) if port_text not in (None, "") else (993 if tls == "ssl" else 143)
        except ValueError:
            raise ValueError(f"IMAP port is not a number: {port_text!r}") from None
        if not 0 < port_num < 65536:
            raise ValueError(f"IMAP port out of range: {port_num}")
        if not host:
            raise ValueError("no IMAP host: give --imap-host or set MAIL_IMAP_HOST")
        if not user:
            raise ValueError("no IMAP user: give --imap-user or set MAIL_IMAP_USER")
        password = env.get("MAIL_IMAP_PASSWORD")
        if not password:
            raise ValueError("no IMAP password: set MAIL_IMAP_PASSWORD (it is never read from the command line)")
        if tls == "none" and not is_loopback(host):
            raise ValueError(f"refusing to send the password unencrypted to {host}: use --imap-tls ssl or starttls "
                             f"(plain IMAP is for a server on this machine only)")
        return cls(host=host, port=port_num, user=user, password=password,
                   folder=folder or env.get("MAIL_IMAP_FOLDER") or "INBOX", tls=tls, drafts=drafts, cafile=cafile)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def imap_quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LIST = re.compile(rb'^\((?P<flags>[^)]*)\)\s+(?P<delim>"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.*)$')


def parse_list(data: List) -> List[Dict[str, object]]:
    """LIST response lines -> [{"flags": {...}, "delim": ".", "name": "Drafts"}]."""
    out = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # the name came as a literal
            head, name_bytes = item[0], item[1]
            m = _LIST.match(head.strip() + b' ""')
            name = name_bytes.decode("utf-8", "replace")
        else:
            m = _LIST.match(item.strip())
            name = None
        if not m:
            continue
        if name is None:
            raw = m.group("name").strip()
            if raw.startswith(b'"') and raw.endswith(b'"'):
                raw = re.sub(rb'\\(.)', rb'\1', raw[1:-1])
            name = raw.decode("utf-8", "replace")
        delim = m.group("delim")
        out.append({"flags": {f.lower() for f in m.group("flags").decode(errors="replace").split()},
                    "delim": None if delim == b"NIL" else delim.strip(b'"').decode(errors="replace"), "name": name})
    return out


def imap_date(d: date) -> str:
    return f"{d.day:02d}-{MONTHS[d.month - 1]}-{d.year}"


class ImapMailbox:
    def __init__(self, settings: ImapSettings, dry_run: bool = False, since: Optional[date] = None,
                 timeout: float = 60):
        self.s = settings
        self.dry_run = dry_run
        self.since = since
        self.already_processed = 0
        self.warnings: List[str] = []
        self.description = f"imap://{settings.user}@{settings.host}:{settings.port}/{settings.folder}"
        try:
            ctx = ssl.create_default_context(cafile=settings.cafile)  # certificate and host name verified
            if settings.tls == "ssl":
                self.c = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=ctx, timeout=timeout)
            else:
                self.c = imaplib.IMAP4(settings.host, settings.port, timeout=timeout)
                if settings.tls == "starttls":
                    self.c.starttls(ssl_context=ctx)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as e:
            raise MailboxError(f"cannot connect to {settings.host}:{settings.port}: {e}") from None
        try:
            self.c.login(settings.user, settings.password)
        except imaplib.IMAP4.error as e:
            self._logout()
            raise MailboxError(f"IMAP login failed for {settings.user}: {e}") from None
        try:
            self.folders = parse_list(self.c.list()[1] or [])
            self.drafts = settings.drafts or self._find_drafts()
            self.drafted: Set[str] = self._drafted_ids()
            self.keywords = self._select(settings.folder, readonly=dry_run)
        except (imaplib.IMAP4.error, OSError) as e:
            self._logout()
            raise MailboxError(f"IMAP error on {settings.host}: {e}") from None
        except MailboxError:
            self._logout()
            raise

    # folders
    def _find_drafts(self) -> Optional[str]:
        for f in self.folders:
            if "\\drafts" in f["flags"]:
                return f["name"]
        for f in self.folders:
            last = re.split(re.escape(f["delim"]), f["name"])[-1] if f["delim"] else f["name"]
            if last.lower() in DRAFT_NAMES:
                return f["name"]
        return None

    def _exists(self, name: str) -> bool:
        return any(f["name"] == name for f in self.folders)

    def _ensure_drafts(self) -> str:
        if self.drafts and self._exists(self.drafts):
            return self.drafts
        candidates = [self.drafts] if self.drafts else ["Drafts"]
        delim = next((f["delim"] for f in self.folders if f["delim"]), ".")
        if not self.drafts:
            candidates.append(f"INBOX{delim}Drafts")
        last = None
        for name in candidates:
            typ, data = self.c.create(imap_quote(name))
            if typ == "OK":
                self.c.subscribe(imap_quote(name))
                self.folders = parse_list(self.c.list()[1] or [])
                self.drafts = name
                return name
            last = data
        raise MailboxError(f"cannot create the drafts folder {candidates[0]!r}: {last}")

    def _select(self, name: str, readonly: bool = False) -> bool:
        """Select a folder; True when it keeps keywords of our own ($MobilityDrafted)."""
        typ, data = self.c.select(imap_quote(name), readonly=readonly)
        if typ != "OK":
            raise MailboxError(f"cannot open the folder {name!r}: {data}")
        _, perm = self.c.response("PERMANENTFLAGS")
        flags = b" ".join(p for p in perm if p) if perm and perm != [None] else b""
        return b"\\*" in flags or KEYWORD_DRAFTED.encode() in flags

    def _drafted_ids(self) -> Set[str]:
        """Message-IDs that a draft in the drafts folder replies to (In-Reply-To): ours, or one a person started or
        edited (mail programs may drop our own headers when they save a draft)."""
        if not self.drafts or not self._exists(self.drafts):
            return set()
        self._select(self.drafts, readonly=True)
        typ, data = self.c.uid("SEARCH", None, "ALL")
        uids = (data[0] or b"").split()[-MAX_DRAFTS_CHECKED:] if typ == "OK" and data else []
        found: Set[str] = set()
        for i in range(0, len(uids), 200):
            chunk = b",".join(uids[i:i + 200]).decode()
            typ, data = self.c.uid("FETCH", chunk, "(BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO)])")
            for part in data or []:
                if isinstance(part, tuple):
                    found.update(MSG_ID.findall(part[1].decode("utf-8", "replace")))
        return found

    # reading
    def fetch(self, limit: int) -> Iterator[Incoming]:
        criteria = ["UNDELETED"]
        if self.keywords:
            criteria += ["UNKEYWORD", KEYWORD_DRAFTED, "UNKEYWORD", KEYWORD_SKIPPED]
        else:
            criteria += ["UNSEEN"]
            self.warnings.append(f"the folder {self.s.folder!r} keeps no keywords: processed mails are marked \\Seen only")
        if self.since:
            criteria += ["SINCE", imap_date(self.since)]
        typ, data = self.c.uid("SEARCH", None, *criteria)
        if typ != "OK":
            raise MailboxError(f"IMAP SEARCH failed: {data}")
        uids = (data[0] or b"").split()
        for uid in uids[:limit]:
            typ, data = self.c.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in data or [] if isinstance(p, tuple) and len(p) > 1), None)
            ref = f"{self.s.folder} UID {uid.decode()}"
            if typ != "OK" or raw is None:
                yield Incoming(ref=ref, raw=b"", error=f"cannot fetch: {data}")
            else:
                yield Incoming(ref=ref, raw=raw)

    def is_processed(self, mail: ParsedMail) -> bool:
        return bool(mail.message_id and mail.message_id in self.drafted)

    # writing
    def save_draft(self, draft: EmailMessage, mail: ParsedMail) -> str:
        if self.dry_run:
            return ""
        name = self._ensure_drafts()
        typ, data = self.c.append(imap_quote(name), "(\\Draft \\Seen)", time.time(), draft.as_bytes(policy=policy.SMTP))
        if typ != "OK":
            raise MailboxError(f"cannot APPEND the draft to {name!r}: {data}")
        if mail.message_id:
            self.drafted.add(mail.message_id)
        m = re.search(rb"APPENDUID \d+ (\d+)", b" ".join(d for d in data if isinstance(d, bytes)))
        return f"{name} UID {m.group(1).decode()}" if m else name

    def mark(self, incoming: Incoming, drafted: bool) -> None:
        if self.dry_run:
            return
        uid = incoming.ref.rsplit(" ", 1)[-1]
        if self.keywords:
            flags = f"({KEYWORD_DRAFTED} \\Seen)" if drafted else f"({KEYWORD_SKIPPED})"
        elif drafted:
            flags = "(\\Seen)"
        else:
            return
        typ, data = self.c.uid("STORE", uid, "+FLAGS", flags)
        if typ != "OK":
            raise MailboxError(f"cannot flag {incoming.ref}: {data}")

    def record(self, mail: ParsedMail, status: str, draft: str) -> None:
        pass  # the flags (mark) and the drafts themselves remember

    def _logout(self) -> None:
        try:
            self.c.logout()
        except Exception:  # noqa: BLE001 - already gone
            pass

    def close(self) -> None:
        try:
            if self.c.state == "SELECTED":
                self.c.close()
        except Exception:  # noqa: BLE001
            pass
        self._logout()


# -- files ------------------------------------------------------------------------------------------------
def _is_maildir(p: Path) -> bool:
    return p.is_dir() and (p / "cur").is_dir() and (p / "new").is_dir()


def _is_mbox(p: Path) -> bool:
    if not p.is_file() or p.suffix.lower() == ".eml":
        return False
    with open(p, "rb") as f:
        return f.read(5) == b"From "


class FileMailbox:
    """.eml files, directories of them, Maildirs and mboxes (read only); drafts as .eml files in out/drafts."""

    def __init__(self, paths: List[Path], out_dir: Path, state_path: Path, dry_run: bool = False):
        self.paths = paths
        self.out_dir = out_dir
        self.state_path = state_path
        self.dry_run = dry_run
        self.already_processed = 0
        self.warnings: List[str] = []
        self.description = ", ".join(str(p) for p in paths)
        self.state = self._load_state()
        for p in paths:
            if not p.exists():
                raise MailboxError(f"no such file or directory: {p}")

    def _load_state(self) -> Dict[str, Dict[str, str]]:
        if not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return dict(data.get("processed") or {})
        except (OSError, ValueError, AttributeError) as e:
            raise MailboxError(f"the state file {self.state_path} is unreadable ({e}): fix or remove it") from None

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps({"version": 1, "processed": self.state}, indent=1, ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, self.state_path)

    def _iter(self) -> Iterator[Incoming]:
        for p in self.paths:
            if _is_maildir(p):
                box = mailbox.Maildir(str(p), factory=None, create=False)
                for key in sorted(box.iterkeys()):
                    try:
                        yield Incoming(ref=f"{p}#{key}", raw=box.get_bytes(key))
                    except (OSError, KeyError) as e:
                        yield Incoming(ref=f"{p}#{key}", raw=b"", error=str(e))
            elif p.is_dir():
                for f in sorted(x for x in p.iterdir() if x.suffix.lower() == ".eml" and x.is_file()):
                    yield self._file(f)
            elif _is_mbox(p):
                box = mailbox.mbox(str(p), create=False)
                try:
                    for i, key in enumerate(box.iterkeys()):
                        yield Incoming(ref=f"{p}#{i + 1}", raw=box.get_bytes(key))
                finally:
                    box.close()
            else:
                yield self._file(p)

    @staticmethod
    def _file(f: Path) -> Incoming:
        try:
            return Incoming(ref=str(f), raw=f.read_bytes())
        except OSError as e:
            return Incoming(ref=str(f), raw=b"", error=str(e))

    def fetch(self, limit: int) -> Iterator[Incoming]:
        # Already processed mails are recognised after parsing (by Message-ID): the limit counts new ones.
        yield from self._iter()

    def is_processed(self, mail: ParsedMail) -> bool:
        return mail.key in self.state

    def save_draft(self, draft: EmailMessage, mail: ParsedMail) -> str:
        if self.dry_run:
            return ""
        folder = self.out_dir / "drafts"
        folder.mkdir(parents=True, exist_ok=True)
        draft["X-Unsent"] = "1"  # mail programs open the file as a message still to send
        name = datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + hashlib.sha256(mail.key.encode()).hexdigest()[:10]
        path = folder / f"{name}.eml"
        path.write_bytes(draft.as_bytes(policy=policy.SMTP))
        return str(path)

    def record(self, mail: ParsedMail, status: str, draft: str) -> None:
        if self.dry_run:
            return
        self.state[mail.key] = {"status": status, "draft": draft,
                                "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._save_state()

    def mark(self, incoming: Incoming, drafted: bool) -> None:
        pass  # files are never changed: the state file (record) remembers

    def close(self) -> None:
        pass
