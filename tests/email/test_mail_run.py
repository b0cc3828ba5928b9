"""Runs of `mobility email` around a stand-in assistant: files (.eml, Maildir, mbox) with their state file, IMAP
against a real dovecot, and the command line. Fast: no Rasa."""
from __future__ import annotations

import io
import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.mail import triage
from bot.mail.reader import ImapSettings, MailboxError
from bot.mail.run import Options, run
from mailhelpers import CORPUS, FakeAssistant, fetch_all, folders

ROOT = Path(__file__).resolve().parents[2]
PERSON_MAILS = ["01-fee-instalments-en.eml", "02-grants-japan-nl.eml", "03-forwarded-thread-en.eml",
                "04-html-only-en.eml", "05-windows-1252-nl.eml", "06-attachment-en.eml",
                "11-long-many-questions-en.eml"]
SKIPPED = {"07-out-of-office.eml": triage.AUTO_REPLY, "08-afwezig-nl.eml": triage.AUTO_REPLY,
           "09-bounce.eml": triage.BOUNCE, "10-malformed.eml": triage.MALFORMED}


def quiet_run(opts: Options, assistant=None):
    out, err = io.StringIO(), io.StringIO()
    summary = run(opts, assistant=assistant or FakeAssistant(), out=out, err=err)
    return summary, out.getvalue(), err.getvalue()


def statuses(summary):
    return {r.message_id: r.status for r in summary.results}


# -- files ------------------------------------------------------------------------------------------------------
def test_a_directory_of_eml_files_gives_a_draft_per_person_mail_and_a_state_file(tmp_path, corpus):
    fake = FakeAssistant()
    summary, out, _ = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path), fake)
    drafts = sorted((tmp_path / "drafts").glob("*.eml"))
    assert len(drafts) == len(PERSON_MAILS)
    assert summary.totals["mails"] == len(corpus) and summary.totals["drafts written"] == len(PERSON_MAILS)
    assert summary.totals["auto-replies skipped"] == 2 and summary.totals["bounces skipped"] == 1
    assert summary.totals["malformed"] == 1
    state = json.loads((tmp_path / "processed.json").read_text())["processed"]
    assert len(state) == len(corpus)
    assert state["<malformed-0001@client.example.org>"]["status"] == triage.MALFORMED
    assert not any("explode" in q for q in fake.asked)
    # the auto-replies, bounce and malformed mail never reached the assistant
    assert not any("urgent" in q.lower() or "arrival date" in q for q in fake.asked)
    assert "nothing sent" in out


def test_a_second_run_on_the_same_files_drafts_nothing(tmp_path):
    first, _, _ = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path))
    before = sorted((tmp_path / "drafts").iterdir())
    fake = FakeAssistant()
    second, _, _ = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path), fake)
    assert sorted((tmp_path / "drafts").iterdir()) == before
    assert second.results == [] and fake.asked == []
    assert second.totals["already processed (not read again)"] == first.totals["mails"]
    rows, totals = triage.read_csv(second.csv_path)
    assert rows == [] and totals["mails"] == "0"


def test_a_draft_file_is_a_threaded_unsent_message(tmp_path):
    quiet_run(Options(paths=[CORPUS / "01-fee-instalments-en.eml"], out_dir=tmp_path))
    from email import policy
    from email.parser import BytesParser

    (draft,) = (tmp_path / "drafts").glob("*.eml")
    msg = BytesParser(policy=policy.default).parsebytes(draft.read_bytes())
    assert msg["X-Unsent"] == "1" and msg["In-Reply-To"] == "<CAF3t9Qm1fee+lotte@mail.student.example.be>"
    assert msg["Subject"] == "Re: Questions about my tuition fee"


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_a_maildir_or_an_mbox_is_read_like_files(tmp_path, kind):
    files = [CORPUS / n for n in ("01-fee-instalments-en.eml", "06-attachment-en.eml", "09-bounce.eml")]
    if kind == "maildir":
        path = tmp_path / "Maildir"
        box = mailbox.Maildir(str(path), create=True)
    else:
        path = tmp_path / "inbox.mbox"
        box = mailbox.mbox(str(path), create=True)
    for f in files:
        box.add(f.read_bytes())
    box.close()
    summary, _, _ = quiet_run(Options(paths=[path], out_dir=tmp_path / "out"))
    assert sorted(statuses(summary).values()) == sorted([triage.DRAFTED, triage.NEEDS_PERSON, triage.BOUNCE])
    assert len(list((tmp_path / "out" / "drafts").glob("*.eml"))) == 2
    again, _, _ = quiet_run(Options(paths=[path], out_dir=tmp_path / "out"))
    assert again.results == [] and again.totals["already processed (not read again)"] == 3


def test_a_failing_mail_is_reported_the_run_goes_on_and_it_is_retried_next_time(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(b"From: a@example.be\r\nMessage-ID: <boom@example.be>\r\nSubject: x\r\n\r\n"
                                  b"Can you explode?\r\n")
    (inbox / "b.eml").write_bytes((CORPUS / "01-fee-instalments-en.eml").read_bytes())
    summary, _, err = quiet_run(Options(paths=[inbox], out_dir=tmp_path / "out"))
    assert statuses(summary) == {"<boom@example.be>": triage.ERROR,
                                 "<CAF3t9Qm1fee+lotte@mail.student.example.be>": triage.DRAFTED}
    assert "the assistant broke down" in err and summary.errors == 1
    state = json.loads((tmp_path / "out" / "processed.json").read_text())["processed"]
    assert "<boom@example.be>" not in state
    fake = FakeAssistant()
    again, _, _ = quiet_run(Options(paths=[inbox], out_dir=tmp_path / "out"), fake)
    assert fake.asked == ["Can you explode?"]  # read and tried again; the drafted one is not
    assert [r.status for r in again.results] == [triage.ERROR]


def test_a_mail_without_a_question_needs_a_person_and_gets_no_draft(tmp_path):
    f = tmp_path / "thanks.eml"
    f.write_bytes(b"From: a@example.be\r\nMessage-ID: <thanks@example.be>\r\nSubject: thanks\r\n\r\n"
                  b"Thank you so much for the help last week, everything is clear now.\r\n")
    summary, _, _ = quiet_run(Options(paths=[f], out_dir=tmp_path / "out"))
    (r,) = summary.results
    assert r.status == triage.NEEDS_PERSON and r.reason == "no question found" and r.draft == ""
    assert not (tmp_path / "out" / "drafts").exists()


def test_a_dry_run_writes_no_draft_and_remembers_nothing(tmp_path):
    summary, _, _ = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path, dry_run=True))
    assert summary.totals["mails"] == 11 and summary.totals["drafts written"] == 0
    assert not (tmp_path / "drafts").exists() and not (tmp_path / "processed.json").exists()
    assert summary.csv_path.exists()


def test_the_limit_caps_the_mails_of_one_run(tmp_path):
    summary, _, err = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path, limit=3))
    assert len(summary.results) == 3 and "stopped after 3 mails" in err
    rest, _, _ = quiet_run(Options(paths=[CORPUS], out_dir=tmp_path, limit=100))
    assert len(rest.results) == 8


def test_the_context_and_questions_reach_the_assistant(tmp_path):
    fake = FakeAssistant()
    quiet_run(Options(paths=[CORPUS / "03-forwarded-thread-en.eml"], out_dir=tmp_path), fake)
    assert fake.asked == ["Also, what is the deadline to apply for an Erasmus grant?", "How much is the tuition fee?"]
    assert "I am from Brazil and I want to study 60 credits at KdG in 2026-27." in fake.contexts[0]


def test_an_unreadable_state_file_stops_the_run_with_a_clear_message(tmp_path):
    (tmp_path / "processed.json").write_text("{not json")
    with pytest.raises(MailboxError, match="state file"):
        quiet_run(Options(paths=[CORPUS], out_dir=tmp_path))


# -- IMAP against dovecot ---------------------------------------------------------------------------------------
def imap_options(dovecot, user, tmp_path, **kw) -> Options:
    settings = ImapSettings(host=dovecot.host, port=dovecot.port, user=user, password=dovecot.password, tls="none",
                            drafts=kw.pop("drafts", None))
    return Options(imap=settings, out_dir=tmp_path, **kw)


def test_imap_drafts_are_appended_threaded_and_flagged_and_a_second_run_adds_none(dovecot, tmp_path, corpus):
    user = dovecot.new_user()
    dovecot.load(user, corpus)
    c = dovecot.client(user)
    assert folders(c) == ["INBOX"]
    first, _, _ = quiet_run(imap_options(dovecot, user, tmp_path))
    assert folders(c) == ["Drafts", "INBOX"]  # created, nothing else
    drafts = fetch_all(c, "Drafts")
    assert len(drafts) == len(PERSON_MAILS)
    assert all("\\Draft" in d["flags"] for d in drafts)
    originals = {m["msg"]["Message-ID"]: m for m in fetch_all(c, "INBOX")}
    assert len(originals) == len(corpus)
    for d in drafts:
        orig = originals[d["msg"]["In-Reply-To"]]
        assert d["msg"]["References"].split()[-1] == orig["msg"]["Message-ID"]
        assert {"$MobilityDrafted", "\\Seen"} <= orig["flags"]
    skipped = [m for m in originals.values() if "$MobilitySkipped" in m["flags"]]
    assert len(skipped) == len(SKIPPED) and not any("\\Seen" in m["flags"] for m in skipped)
    second, _, _ = quiet_run(imap_options(dovecot, user, tmp_path))
    assert second.results == [] and len(fetch_all(c, "Drafts")) == len(PERSON_MAILS)
    c.logout()


def test_a_mail_whose_flags_were_lost_is_not_drafted_twice(dovecot, tmp_path):
    user = dovecot.new_user()
    dovecot.load(user, [CORPUS / "01-fee-instalments-en.eml"])
    quiet_run(imap_options(dovecot, user, tmp_path))
    c = dovecot.client(user)
    c.select("INBOX")
    c.uid("STORE", "1", "-FLAGS", "($MobilityDrafted \\Seen)")
    again, _, _ = quiet_run(imap_options(dovecot, user, tmp_path))
    assert again.results == [] and again.totals["already processed (not read again)"] == 1
    assert len(fetch_all(c, "Drafts")) == 1
    assert "$MobilityDrafted" in fetch_all(c, "INBOX")[0]["flags"]  # set again
    c.logout()


def test_an_existing_drafts_folder_is_used_and_a_named_one_is_created(dovecot, tmp_path):
    user = dovecot.new_user()
    dovecot.load(user, [CORPUS / "01-fee-instalments-en.eml"])
    c = dovecot.client(user)
    c.create("Concepten")
    quiet_run(imap_options(dovecot, user, tmp_path))
    assert folders(c) == ["Concepten", "INBOX"] and len(fetch_all(c, "Concepten")) == 1
    other = dovecot.new_user()
    dovecot.load(other, [CORPUS / "01-fee-instalments-en.eml"])
    quiet_run(imap_options(dovecot, other, tmp_path, drafts='Mobility "drafts"'))
    c2 = dovecot.client(other)
    assert folders(c2) == ["INBOX", 'Mobility "drafts"'] and len(fetch_all(c2, 'Mobility "drafts"')) == 1
    c.logout()
    c2.logout()


def test_an_imap_dry_run_changes_nothing(dovecot, tmp_path, corpus):
    user = dovecot.new_user()
    dovecot.load(user, corpus[:3])
    summary, _, _ = quiet_run(imap_options(dovecot, user, tmp_path, dry_run=True))
    assert len(summary.results) == 3
    c = dovecot.client(user)
    assert folders(c) == ["INBOX"]
    assert all(m["flags"] <= {"\\Recent"} for m in fetch_all(c, "INBOX"))
    c.logout()


def test_a_wrong_password_stops_the_run_with_a_clear_error(dovecot, tmp_path):
    settings = ImapSettings(host=dovecot.host, port=dovecot.port, user="someone", password="wrong", tls="none")
    with pytest.raises(MailboxError, match="login failed"):
        quiet_run(Options(imap=settings, out_dir=tmp_path))


# -- the command line (python -m bot.mail = mobility email) -------------------------------------------------------
def cli(*args, env=None, timeout=120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAIL_")}
    return subprocess.run([sys.executable, "-m", "bot.mail", *args], capture_output=True, text=True, cwd=str(ROOT),
                          env={**clean, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("args,env,message", [
    ([], {}, "nothing to read"),
    (["--imap"], {"MAIL_IMAP_HOST": "127.0.0.1", "MAIL_IMAP_USER": "u"}, "MAIL_IMAP_PASSWORD"),
    (["--imap", "--imap-host", "mail.example.org", "--imap-user", "u", "--imap-tls", "none"],
     {"MAIL_IMAP_PASSWORD": "x"}, "refusing to send the password unencrypted"),
    (["--imap", "x.eml"], {}, "not both"),
    (["--imap"], {"MAIL_IMAP_HOST": "localhost", "MAIL_IMAP_USER": "u", "MAIL_IMAP_PASSWORD": "x",
                  "MAIL_IMAP_PORT": "imap"}, "IMAP port is not a number"),
    (["--imap", "--imap-cafile", "/nonexistent/ca.pem"], {"MAIL_IMAP_HOST": "localhost", "MAIL_IMAP_USER": "u",
                                                          "MAIL_IMAP_PASSWORD": "x"}, "no such CA file"),
    (["--imap-password", "secret", "x.eml"], {}, "unrecognized arguments"),
    (["--threshold", "1.5", "x.eml"], {}, "between 0 and 1"),
])
def test_bad_usage_exits_2_with_a_message_and_no_traceback(args, env, message):
    proc = cli(*args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_the_environment_configures_imap_and_a_wrong_password_exits_1(dovecot, tmp_path):
    env = {**dovecot.env("someone"), "MAIL_IMAP_PASSWORD": "wrong"}
    proc = cli("--out", str(tmp_path), env=env)
    assert proc.returncode == 1 and "IMAP login failed for someone" in proc.stderr
    assert "wrong" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


def test_a_cli_run_that_needs_no_answer_does_not_start_the_assistant(tmp_path):
    files = [str(CORPUS / n) for n in SKIPPED]
    proc = cli(*files, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "starting the assistant" not in proc.stdout
    (csv_path,) = (tmp_path / "reports").glob("*.csv")
    rows, totals = triage.read_csv(csv_path)
    assert sorted(r["status"] for r in rows) == sorted(SKIPPED.values())
    assert totals["malformed"] == "1" and totals["deflection rate"] == "0.00%"
    assert "malformed" in proc.stdout and "broken MIME structure" in proc.stdout


def test_a_draft_a_person_already_started_counts_as_processed(dovecot, tmp_path):
    user = dovecot.new_user()
    dovecot.load(user, [CORPUS / "01-fee-instalments-en.eml", CORPUS / "06-attachment-en.eml"])
    c = dovecot.client(user)
    c.create("Drafts")
    human = (b"From: io@example.be\r\nTo: lotte.peeters@student.example.be\r\nSubject: Re: fee\r\n"
             b"In-Reply-To: <CAF3t9Qm1fee+lotte@mail.student.example.be>\r\n\r\nDear Lotte, I am on it.\r\n")
    assert c.append("Drafts", "(\\Draft)", None, human)[0] == "OK"
    summary, _, _ = quiet_run(imap_options(dovecot, user, tmp_path))
    assert [r.message_id for r in summary.results] == ["<4f1c2d9e-7a31-4b8e-9c55-attach.tom@student.example.be>"]
    assert summary.totals["already processed (not read again)"] == 1
    assert len(fetch_all(c, "Drafts")) == 2
    c.logout()


def test_when_the_assistant_cannot_start_the_report_of_what_was_done_is_still_written(tmp_path):
    from bot.mail.answer import DEFAULT_THRESHOLD, AssistantError

    class Broken(FakeAssistant):
        async def answer(self, mail, threshold=DEFAULT_THRESHOLD):
            raise AssistantError("no trained model")

    with pytest.raises(AssistantError):
        quiet_run(Options(paths=[CORPUS / "07-out-of-office.eml", CORPUS / "01-fee-instalments-en.eml"],
                          out_dir=tmp_path), Broken())
    (csv_path,) = (tmp_path / "reports").glob("*.csv")
    rows, _ = triage.read_csv(csv_path)
    assert [r["status"] for r in rows] == [triage.AUTO_REPLY]
    state = json.loads((tmp_path / "processed.json").read_text())["processed"]
    assert list(state) == ["<ooo-7d1e5b@partner.example.de>"]  # the fee mail waits for the next run


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_imap_over_tls_verifies_the_server_certificate(dovecot, tmp_path, tls):
    user = dovecot.new_user()
    dovecot.load(user, [CORPUS / "01-fee-instalments-en.eml"])
    port = dovecot.tls_port if tls == "ssl" else dovecot.port
    trusted = ImapSettings(host=dovecot.host, port=port, user=user, password=dovecot.password, tls=tls,
                           cafile=dovecot.cafile)
    summary, _, _ = quiet_run(Options(imap=trusted, out_dir=tmp_path))
    assert [r.status for r in summary.results] == [triage.DRAFTED]
    untrusted = ImapSettings(host=dovecot.host, port=port, user=user, password=dovecot.password, tls=tls)
    with pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        quiet_run(Options(imap=untrusted, out_dir=tmp_path))


def test_since_only_reads_mails_received_from_that_day(dovecot, tmp_path):
    import datetime

    user = dovecot.new_user()
    dovecot.load(user, [CORPUS / "01-fee-instalments-en.eml"])  # received (APPENDed) today
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    later, _, _ = quiet_run(imap_options(dovecot, user, tmp_path, since=tomorrow))
    assert later.results == []
    today, _, _ = quiet_run(imap_options(dovecot, user, tmp_path, since=datetime.date.today()))
    assert [r.status for r in today.results] == [triage.DRAFTED]
