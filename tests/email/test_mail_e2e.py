"""The whole run against a real IMAP server (dovecot) with the real assistant: drafts in Drafts, threaded and
flagged \\Draft, nothing sent, nothing drafted twice, auto-replies and bounces skipped, the triage report, and
what the drafts say. Then the same corpus as files."""
from __future__ import annotations

import io
import re
import smtplib
from types import SimpleNamespace
from typing import Dict

import pytest

from bot.mail import triage
from bot.mail.answer import DEFAULT_THRESHOLD
from bot.mail.reader import ImapSettings
from bot.mail.run import Options, run
from mailhelpers import CORPUS, draft_text, fetch_all, folders, sections

pytestmark = pytest.mark.slow

# What each corpus mail becomes (Message-ID -> status): the drafted ones have every question answered.
EXPECTED: Dict[str, str] = {
    "<CAF3t9Qm1fee+lotte@mail.student.example.be>": triage.DRAFTED,
    "<20261117140211.jonas.3321@student.example.be>": triage.DRAFTED,
    "<CAKx9vR2forward.ana@mail.example.com.br>": triage.DRAFTED,
    "<html-only-mei-0001@example.jp>": triage.DRAFTED,
    "<000201db3b2a$8c1e4f10$a45aed30$@example.com>": triage.NEEDS_PERSON,  # bicycle parking
    "<4f1c2d9e-7a31-4b8e-9c55-attach.tom@student.example.be>": triage.NEEDS_PERSON,  # the pizza question
    "<ooo-7d1e5b@partner.example.de>": triage.AUTO_REPLY,
    "<afwezig-an-claes-20261122@hogeschool.example.be>": triage.AUTO_REPLY,
    "<20261122090102.4XkZZ1a2b3c4@mx.example.be>": triage.BOUNCE,
    "<malformed-0001@client.example.org>": triage.MALFORMED,
    "<long-mail-sam-0042@student.example.be>": triage.NEEDS_PERSON,  # "Where can I park my car?"
}
WITH_DRAFT = {mid for mid, s in EXPECTED.items() if s in (triage.DRAFTED, triage.NEEDS_PERSON)}


class NoSmtp:
    """Stands in for smtplib.SMTP/SMTP_SSL during the runs: any use is recorded."""

    used = []

    def __init__(self, *args, **kwargs):
        NoSmtp.used.append((args, kwargs))
        raise AssertionError("something tried to send mail")


@pytest.fixture(scope="module")
def imap_run(dovecot, mail_assistant, corpus, tmp_path_factory):
    """Two runs of `mobility email` on a dovecot mailbox loaded with the corpus."""
    user = dovecot.new_user()
    dovecot.load(user, corpus)
    out = tmp_path_factory.mktemp("imap-run")
    settings = ImapSettings(host=dovecot.host, port=dovecot.port, user=user, password=dovecot.password, tls="none")
    opts = Options(imap=settings, out_dir=out, from_addr="International Office <international.office@example.be>")
    mp = pytest.MonkeyPatch()
    mp.setattr(smtplib, "SMTP", NoSmtp)
    mp.setattr(smtplib, "SMTP_SSL", NoSmtp)
    try:
        logs = [io.StringIO(), io.StringIO()]
        first = run(opts, assistant=mail_assistant, out=logs[0], err=logs[1])
        c = dovecot.client(user)
        drafts_after_first = fetch_all(c, "Drafts")
        second = run(opts, assistant=mail_assistant, out=io.StringIO(), err=io.StringIO())
    finally:
        mp.undo()
    drafts = fetch_all(c, "Drafts")
    inbox = fetch_all(c, "INBOX")
    ns = SimpleNamespace(first=first, second=second, drafts=drafts, drafts_after_first=drafts_after_first,
                         inbox=inbox, folders=folders(c), out=logs[0].getvalue(), err=logs[1].getvalue(),
                         by_reply_to={d["msg"]["In-Reply-To"]: d for d in drafts})
    c.logout()
    return ns


def draft_for(run_ns, message_id: str) -> str:
    assert message_id in run_ns.by_reply_to, f"no draft replies to {message_id}"
    return draft_text(run_ns.by_reply_to[message_id]["msg"])


def test_every_mail_from_a_person_has_one_draft_in_drafts_threaded_and_flagged(imap_run):
    assert imap_run.first.errors == 0, imap_run.err
    assert set(imap_run.by_reply_to) == WITH_DRAFT and len(imap_run.drafts) == len(WITH_DRAFT)
    originals = {m["msg"]["Message-ID"]: m["msg"] for m in imap_run.inbox}
    for d in imap_run.drafts:
        msg, orig = d["msg"], originals[d["msg"]["In-Reply-To"]]
        assert "\\Draft" in d["flags"]
        assert msg["References"].split()[-1] == orig["Message-ID"]
        assert msg["Subject"] in ("Re: " + orig["Subject"], orig["Subject"])
        assert msg["Subject"].lower().startswith("re:")
        assert msg["To"].addresses[0].addr_spec == orig["From"].addresses[0].addr_spec
        assert msg["From"].addresses[0].addr_spec == "international.office@example.be"


def test_nothing_was_sent_and_nothing_else_changed(imap_run, corpus):
    assert NoSmtp.used == []
    assert imap_run.folders == ["Drafts", "INBOX"]
    assert len(imap_run.inbox) == len(corpus)  # no message added to the inbox (a sent copy, a bounce, ...)
    assert "nothing sent" in imap_run.out


def test_processed_mails_are_marked_so_a_second_run_drafts_nothing_new(imap_run):
    flags = {m["msg"]["Message-ID"]: m["flags"] for m in imap_run.inbox}
    for mid, status in EXPECTED.items():
        if mid in WITH_DRAFT:
            assert {"$MobilityDrafted", "\\Seen"} <= flags[mid], mid
        else:
            assert "$MobilitySkipped" in flags[mid] and "\\Seen" not in flags[mid], mid
    assert imap_run.second.results == [] and imap_run.second.totals["drafts written"] == 0
    assert [d["uid"] for d in imap_run.drafts] == [d["uid"] for d in imap_run.drafts_after_first]


def test_auto_replies_and_bounces_are_skipped(imap_run):
    got = {r.message_id: r for r in imap_run.first.results}
    for mid, status in EXPECTED.items():
        if status in (triage.AUTO_REPLY, triage.BOUNCE):
            assert got[mid].status == status and got[mid].questions == 0 and got[mid].draft == ""
            assert mid not in imap_run.by_reply_to


def test_the_report_has_a_row_per_mail_and_the_right_totals(imap_run):
    rows, totals = triage.read_csv(imap_run.first.csv_path)
    assert {r["message_id"]: r["status"] for r in rows} == EXPECTED
    assert totals["mails"] == "11" and totals["drafted in full"] == "4" and totals["needs a person"] == "3"
    assert totals["auto-replies skipped"] == "2" and totals["bounces skipped"] == "1" and totals["malformed"] == "1"
    assert totals["errors"] == "0" and totals["drafts written"] == "7"
    assert totals["deflection rate"] == "57.14%"  # 4 of the 7 mails from people answered in full
    assert int(totals["questions"]) == sum(int(r["questions"]) for r in rows)
    lotte = next(r for r in rows if r["message_id"] == "<CAF3t9Qm1fee+lotte@mail.student.example.be>")
    assert lotte["language"] == "en" and lotte["topics"] == "fees"
    assert float(lotte["min_confidence"]) >= DEFAULT_THRESHOLD
    assert lotte["draft"].startswith("Drafts UID ")
    jonas = next(r for r in rows if r["message_id"] == "<20261117140211.jonas.3321@student.example.be>")
    assert jonas["language"] == "nl" and jonas["topics"] == "grants; deadlines"
    page = imap_run.first.html_path.read_text(encoding="utf-8")
    assert "<svg" in page and "57%" in page and "<script" not in page.lower()
    assert "Vraag over inschrijvingsgeld – KdG" in page
    _, second_totals = triage.read_csv(imap_run.second.csv_path)
    assert second_totals["mails"] == "0" and second_totals["drafts written"] == "0"


def test_the_fee_question_is_answered_with_the_amount_its_source_and_a_confidence(imap_run):
    reply = sections(draft_for(imap_run, "<CAF3t9Qm1fee+lotte@mail.student.example.be>"))["reply"]
    block = reply.split("> I'm Belgian and will take 60 credits at KdG, how much will I pay?\n", 1)[1].split("\n> ")[0]
    assert "€1,181.40" in block
    assert "Source: kdg-tuition-fees-2026-27.txt (Karel de Grote Hogeschool (KdG), 2026-27)" in block
    conf = float(re.search(r"^Confidence: (\d\.\d\d)$", block, re.M).group(1))
    assert DEFAULT_THRESHOLD <= conf <= 1.0
    assert "> Can I pay in instalments?\n" in reply and "5 instalments" in reply
    assert reply.lstrip().startswith("Dear Lotte,")


def test_an_out_of_scope_question_is_listed_for_a_person_and_not_answered(imap_run):
    text = draft_for(imap_run, "<4f1c2d9e-7a31-4b8e-9c55-attach.tom@student.example.be>")
    parts = sections(text)
    assert "Needs a person:\n  • “Can you recommend a good pizza place near the campus?” (out of the assistant's scope" \
           in parts["notes"]
    assert "> Can you recommend a good pizza place near the campus?\n[Needs a person: to be answered by the " \
           "international office]" in parts["reply"]
    assert "Sorry, I can't help" not in text
    assert "Attachments (not read): Transcript_of_records_Tom.pdf (application/pdf" in parts["notes"]
    assert "> Can I do a work placement abroad?\nYes: many students carry out their work placement abroad" in parts["reply"]


def test_a_dutch_mail_gets_a_dutch_draft_with_english_answers_and_its_open_question_listed(imap_run):
    jonas = sections(draft_for(imap_run, "<20261117140211.jonas.3321@student.example.be>"))
    assert jonas["reply"].lstrip().startswith("Beste Jonas,") and "in het Engels" in jonas["reply"]
    assert "> Welke beurzen kan ik krijgen?\nGrants for an internship of 2 months in Japan:" in jonas["reply"]
    assert "Betrouwbaarheid: " in jonas["reply"] and "Voor een medewerker: niets" in jonas["notes"]
    assert "stageplaats" not in jonas["reply"]  # the quoted question of the earlier reply is not answered
    joao_text = draft_for(imap_run, "<000201db3b2a$8c1e4f10$a45aed30$@example.com>")
    joao = sections(joao_text)
    assert "Voor een medewerker:\n" in joao["notes"]
    assert "  • “En waar kan ik mijn fiets parkeren op de campus?” (buiten het domein van de assistent" in joao["notes"]
    assert "€9,020.00" in joao["reply"] and joao["reply"].lstrip().startswith("Beste João,")
    assert "Met vriendelijke groeten,\nInternational Office" in joao_text
    msg = imap_run.by_reply_to["<000201db3b2a$8c1e4f10$a45aed30$@example.com>"]["msg"]
    assert msg["Subject"] == "Re: Vraag over inschrijvingsgeld – KdG"
    assert msg["To"].addresses[0].display_name == "João Fernández"


def test_the_forwarded_question_is_answered_and_the_quoted_history_is_not(imap_run):
    reply = sections(draft_for(imap_run, "<CAKx9vR2forward.ana@mail.example.com.br>"))["reply"]
    assert "> How much is the tuition fee?\nIn 2026-27 at Karel de Grote Hogeschool (KdG) you pay the higher fee" in reply
    assert "> Also, what is the deadline to apply for an Erasmus grant?\n" in reply
    assert "Antwerp" not in reply and "Which programme" not in reply


def test_the_html_only_mail_is_answered_without_markup(imap_run):
    text = draft_for(imap_run, "<html-only-mei-0001@example.jp>")
    reply = sections(text)["reply"]
    assert reply.count("\n> ") == 3 and "> Please tell me what my portfolio should contain.\n" in reply
    assert "<" not in reply.replace("<international", "") and "alert" not in text and "still interested" not in reply


def test_the_long_mail_gets_ten_answers_at_most_and_says_how_many_were_left(imap_run):
    parts = sections(draft_for(imap_run, "<long-mail-sam-0042@student.example.be>"))
    assert parts["reply"].count("\n> ") == 10
    assert "Not processed (long mail): 4 more questions." in parts["notes"]
    assert "“Where can I park my car?”" in parts["notes"]


def test_the_malformed_mail_is_reported_and_the_run_went_on(imap_run):
    got = {r.message_id: r for r in imap_run.first.results}
    bad = got["<malformed-0001@client.example.org>"]
    assert bad.status == triage.MALFORMED and "broken MIME structure" in bad.reason
    assert got["<long-mail-sam-0042@student.example.be>"].draft  # a mail after it was still drafted


def test_the_corpus_as_files_gives_the_same_outcome_and_a_second_run_drafts_nothing(mail_assistant, tmp_path):
    opts = Options(paths=[CORPUS], out_dir=tmp_path)
    first = run(opts, assistant=mail_assistant, out=io.StringIO(), err=io.StringIO())
    assert {r.message_id: r.status for r in first.results} == EXPECTED
    drafts = sorted((tmp_path / "drafts").glob("*.eml"))
    assert len(drafts) == len(WITH_DRAFT)
    second = run(opts, assistant=mail_assistant, out=io.StringIO(), err=io.StringIO())
    assert second.results == [] and sorted((tmp_path / "drafts").glob("*.eml")) == drafts
