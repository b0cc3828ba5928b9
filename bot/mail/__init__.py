"""`mobility email`: reply drafts for the international office's incoming mail.

Reads the new mails (an IMAP mailbox, a Maildir, an mbox or .eml files), finds each mail's questions, answers
them through the assistant and writes one reply draft per mail in the sender's language (English or Dutch),
with each answer's source, academic year and confidence; questions the assistant cannot answer well are
listed for a person at the top of the draft. Drafts only: nothing is ever sent. Each run writes a triage
report (HTML with a chart, and CSV).

This module stays light (no Rasa import) so that `mobility --help` is fast: the work is in bot.mail.run.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import List, Optional

from bot.mail.answer import DEFAULT_THRESHOLD

__all__ = ["add_parser", "configure", "main"]

DESCRIPTION = textwrap.fill(__doc__.split("\n\n")[1].replace("\n", " "), 100)
EPILOG = """sources: PATH arguments (.eml files, directories of .eml files, Maildirs, mbox files) or --imap.
IMAP settings come from the options or the environment: MAIL_IMAP_HOST, MAIL_IMAP_PORT, MAIL_IMAP_USER,
MAIL_IMAP_FOLDER, MAIL_IMAP_TLS, MAIL_IMAP_CAFILE; the password only from MAIL_IMAP_PASSWORD. MAIL_FROM sets the drafts' From.
Exit status: 0 done, 1 a mail failed or the mailbox/assistant could not be used, 2 bad usage."""


def _probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return v


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return v


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the `email` options to a parser."""
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help=".eml files, directories of .eml files, Maildirs or mbox files to read")
    g = p.add_argument_group("IMAP")
    g.add_argument("--imap", action="store_true", help="read the IMAP mailbox (the default when MAIL_IMAP_HOST is set "
                                                      "and no PATH is given)")
    g.add_argument("--imap-host", help="server (MAIL_IMAP_HOST)")
    g.add_argument("--imap-port", type=int, help="port (MAIL_IMAP_PORT; default 993 with ssl, else 143)")
    g.add_argument("--imap-user", help="user name (MAIL_IMAP_USER); the password comes from MAIL_IMAP_PASSWORD only")
    g.add_argument("--imap-folder", help="folder to read (MAIL_IMAP_FOLDER; default INBOX)")
    g.add_argument("--imap-tls", choices=["ssl", "starttls", "none"],
                   help="ssl (default), starttls, or none (a server on this machine only) (MAIL_IMAP_TLS)")
    g.add_argument("--imap-cafile", help="CA certificates to trust for the server's certificate instead of the "
                                         "system's (MAIL_IMAP_CAFILE)")
    g.add_argument("--imap-drafts", help="drafts folder (default: the server's \\Drafts folder, else Drafts, created "
                                         "if missing)")
    g.add_argument("--since", type=_date, help="only mails received on or after this date (YYYY-MM-DD; IMAP)")
    p.add_argument("--out", type=Path, help="folder for drafts (file input), reports and the state file "
                                            "(default var/mail)")
    p.add_argument("--state", type=Path, help="state file of processed Message-IDs for file input "
                                              "(default OUT/processed.json)")
    p.add_argument("--report-dir", type=Path, help="folder for the triage reports (default OUT/reports)")
    p.add_argument("--threshold", type=_probability, default=DEFAULT_THRESHOLD,
                   help=f"lowest confidence for an answer to go in the draft (default {DEFAULT_THRESHOLD}); below: "
                        "needs a person")
    p.add_argument("--max-questions", type=_positive, default=10, help="questions answered per mail (default 10)")
    p.add_argument("--limit", type=_positive, default=100, help="mails processed per run (default 100)")
    p.add_argument("--from", dest="from_addr", metavar="ADDRESS",
                   help="From of the drafts (MAIL_FROM; default the IMAP user or the address the mail was sent to)")
    p.add_argument("--signature", default="International Office", help="name under the drafts")
    p.add_argument("--action-url", help="use this running action server (http://.../webhook) instead of starting one")
    p.add_argument("--dry-run", action="store_true", help="answer and report, but write no draft and mark nothing")
    p.set_defaults(func=main)
    return p


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The `email` subcommand on the `mobility` command line."""
    p = subparsers.add_parser("email", help="draft replies to the international office's mail (never sent)",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    return configure(p)


def options_from_args(args: argparse.Namespace):
    """Options from parsed arguments; ValueError with a message for bad usage."""
    import os

    from bot import runner
    from bot.mail.reader import ImapSettings
    from bot.mail.run import Options

    use_imap = args.imap or any([args.imap_host, args.imap_user]) or (not args.paths and os.environ.get("MAIL_IMAP_HOST"))
    if use_imap and args.paths:
        raise ValueError("give either PATHs or --imap, not both")
    if not use_imap and not args.paths:
        raise ValueError("nothing to read: give PATHs (.eml, Maildir, mbox) or --imap (or set MAIL_IMAP_HOST)")
    imap = ImapSettings.from_options(args.imap_host, args.imap_port, args.imap_user, args.imap_folder, args.imap_tls,
                                     args.imap_drafts, args.imap_cafile) if use_imap else None
    return Options(paths=list(args.paths), imap=imap, out_dir=args.out or runner.VAR / "mail", state=args.state,
                   report_dir=args.report_dir, threshold=args.threshold, max_questions=args.max_questions,
                   limit=args.limit, from_addr=args.from_addr, signature=args.signature, action_url=args.action_url,
                   dry_run=args.dry_run, since=args.since)


def main(args: argparse.Namespace) -> int:
    from bot.mail.answer import AssistantError
    from bot.mail.reader import MailboxError
    from bot.mail.run import run

    try:
        opts = options_from_args(args)
    except ValueError as e:
        print(f"mobility email: error: {e}", file=sys.stderr)
        return 2
    try:
        summary = run(opts)
    except (MailboxError, AssistantError) as e:
        print(f"mobility email: {e}", file=sys.stderr)
        return 1
    return 1 if summary.errors else 0


def cli(argv: Optional[List[str]] = None) -> int:
    """`python -m bot.mail ...`: the same as `mobility email ...`."""
    parser = configure(argparse.ArgumentParser(prog="mobility email", description=DESCRIPTION, epilog=EPILOG,
                                               formatter_class=argparse.RawDescriptionHelpFormatter))
    return main(parser.parse_args(argv))
