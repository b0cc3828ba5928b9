"""One run of `mobility email`: read the new mails, answer their questions, write the drafts and the report."""
from __future__ import annotations

import asyncio
import os
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Dict, List, Optional, TextIO, Union

from bot.mail import triage
from bot.mail.answer import DEFAULT_THRESHOLD, Assistant, AssistantError, MailAnswers
from bot.mail.draft import compose
from bot.mail.parse import ParsedMail, parse_mail
from bot.mail.reader import FileMailbox, ImapMailbox, ImapSettings, Incoming, MailboxError
from bot.mail.triage import MailResult

DEFAULT_SIGNATURE = "International Office"


@dataclass
class Options:
    paths: List[Path] = field(default_factory=list)
    imap: Optional[ImapSettings] = None
    out_dir: Path = Path("var/mail")
    state: Optional[Path] = None  # files only; default out_dir/processed.json
    report_dir: Optional[Path] = None  # default out_dir/reports
    threshold: float = DEFAULT_THRESHOLD
    max_questions: int = 10
    limit: int = 100
    from_addr: Optional[str] = None
    signature: str = DEFAULT_SIGNATURE
    action_url: Optional[str] = None
    dry_run: bool = False
    since: Optional[date] = None


@dataclass
class RunSummary:
    results: List[MailResult]
    totals: Dict[str, object]
    csv_path: Path
    html_path: Path
    warnings: List[str]

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.status == triage.ERROR)


Mailbox = Union[FileMailbox, ImapMailbox]


def open_mailbox(opts: Options) -> Mailbox:
    if opts.imap:
        return ImapMailbox(opts.imap, dry_run=opts.dry_run, since=opts.since)
    return FileMailbox(opts.paths, opts.out_dir, opts.state or opts.out_dir / "processed.json", dry_run=opts.dry_run)


def sender_address(opts: Options, mail: ParsedMail) -> str:
    if opts.from_addr:
        return opts.from_addr
    if os.environ.get("MAIL_FROM"):
        return os.environ["MAIL_FROM"]
    if opts.imap and "@" in opts.imap.user:
        return opts.imap.user
    return mail.to[0] if mail.to else "international-office@localhost"


def _skipped(mail: ParsedMail, status: str, reason: str) -> MailResult:
    return MailResult(message_id=mail.message_id or mail.key, sender=mail.from_addr, subject=mail.subject,
                      status=status, language=mail.language if mail.kind == "person" else "", reason=reason)


class Runner:
    def __init__(self, opts: Options, assistant=None, out: TextIO = sys.stdout, err: TextIO = sys.stderr):
        self.opts = opts
        self.assistant = assistant
        self.own_assistant = False
        self.out, self.err = out, err

    def _assistant(self):
        if self.assistant is None:
            self.opts.out_dir.mkdir(parents=True, exist_ok=True)
            print("starting the assistant (about 20 s)...", file=self.out, flush=True)
            self.assistant = Assistant(self.opts.action_url, log=self.opts.out_dir / "actions.log",
                                       threshold=self.opts.threshold).start()
            self.own_assistant = True
        return self.assistant

    def _say(self, r: MailResult) -> None:
        detail = f"{r.answered}/{r.questions} answered" if r.questions else r.reason
        print(f"{r.status:20s} {r.subject[:60]!r} from {r.sender or '?'}: {detail}", file=self.out, flush=True)

    async def _handle(self, box: Mailbox, inc: Incoming) -> Optional[MailResult]:
        if inc.error:
            return MailResult(message_id="", sender="", subject="", status=triage.ERROR,
                              reason=f"{inc.ref}: {inc.error}")
        try:
            mail = parse_mail(inc.raw, self.opts.max_questions)
        except Exception as e:  # noqa: BLE001 - a mail we cannot read is reported, the run goes on
            mail = ParsedMail(key=f"unreadable:{inc.ref}", kind="malformed", reason=f"cannot be read: {e!r}")
        self._current = mail
        if box.is_processed(mail):
            box.already_processed += 1
            box.mark(inc, drafted=True)  # its draft exists: the flags were lost, set them again
            return None
        if mail.kind != "person":
            status = {"auto-reply": triage.AUTO_REPLY, "bounce": triage.BOUNCE}.get(mail.kind, triage.MALFORMED)
            result = _skipped(mail, status, mail.reason)
            box.mark(inc, drafted=False)
            box.record(mail, status, "")
            return result
        if not mail.questions:
            result = _skipped(mail, triage.NEEDS_PERSON, "no question found")
            box.mark(inc, drafted=False)
            box.record(mail, result.status, "")
            return result
        answers: MailAnswers = await self._assistant().answer(mail, self.opts.threshold)
        qs = answers.questions
        result = MailResult(message_id=mail.message_id or mail.key, sender=mail.from_addr, subject=mail.subject,
                            status=triage.DRAFTED if not answers.open else triage.NEEDS_PERSON,
                            language=mail.language, topics=list(dict.fromkeys(a.topic for a in qs)),
                            questions=len(qs), answered=sum(a.answered for a in qs),
                            min_confidence=answers.min_confidence,
                            topic_answers=[(a.topic, a.answered) for a in qs])
        if answers.open:
            result.reason = "; ".join(f"{a.reason}: {a.question[:80]}" for a in answers.open)
        if not qs:
            result.status, result.reason = triage.NEEDS_PERSON, "no question found"
            box.mark(inc, drafted=False)
            box.record(mail, result.status, "")
            return result
        from knowledge.years import current_academic_year

        draft = compose(mail, answers, from_addr=sender_address(self.opts, mail),
                        academic_year=current_academic_year(), signature=self.opts.signature)
        result.draft = box.save_draft(draft, mail)
        box.mark(inc, drafted=True)
        box.record(mail, result.status, result.draft)
        return result

    async def _run(self, box: Mailbox, results: List[MailResult]) -> None:
        for inc in box.fetch(self.opts.limit):
            if len(results) >= self.opts.limit:
                box.warnings.append(f"stopped after {self.opts.limit} mails (--limit): the rest waits for the next run")
                break
            self._current: Optional[ParsedMail] = None
            try:
                result = await self._handle(box, inc)
            except (AssistantError, MailboxError):
                raise
            except Exception as e:  # noqa: BLE001 - one mail's failure is reported; the run goes on
                traceback.print_exc(file=self.err)
                m = self._current
                result = MailResult(message_id=(m.message_id or m.key) if m else "", sender=m.from_addr if m else "",
                                    subject=m.subject if m else "", status=triage.ERROR,
                                    language=m.language if m else "", reason=f"{inc.ref}: {type(e).__name__}: {e}")
            if result is not None:
                results.append(result)
                self._say(result)

    def run(self) -> RunSummary:
        started = datetime.now()
        box = open_mailbox(self.opts)
        results: List[MailResult] = []
        fatal: Optional[BaseException] = None
        try:
            asyncio.run(self._run(box, results))
        except (AssistantError, MailboxError) as e:
            fatal = e  # the report of what was done is still written, then the run fails
        finally:
            box.close()
            if self.own_assistant and self.assistant is not None:
                self.assistant.stop()
                self.assistant = None
        report_dir = self.opts.report_dir or self.opts.out_dir / "reports"
        csv_path, html_path, tot = triage.write_report(report_dir, results, started, box.description,
                                                       box.already_processed)
        for w in dict.fromkeys(box.warnings):
            print(f"warning: {w}", file=self.err)
        print(f"{tot['mails']} new mails: {tot['drafted in full']} answered in full, {tot['needs a person']} need a "
              f"person, {tot['auto-replies skipped'] + tot['bounces skipped']} skipped, {tot['malformed']} malformed, "
              f"{tot['errors']} errors; {tot['already processed (not read again)']} processed before; "
              f"deflection rate {float(tot['deflection rate']):.0%}.", file=self.out)
        print(f"drafts only, nothing sent. Report: {html_path} and {csv_path}", file=self.out, flush=True)
        if fatal is not None:
            raise fatal
        return RunSummary(results, tot, csv_path, html_path, list(dict.fromkeys(box.warnings)))


def run(opts: Options, assistant=None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> RunSummary:
    """Process the new mails once. `assistant`: a started Assistant to use (else one is started when needed)."""
    return Runner(opts, assistant, out, err).run()
