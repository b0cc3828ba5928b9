"""Judging the assistant's answers, composing the draft, and the triage report, without the assistant."""
from __future__ import annotations

import csv
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from bot.mail import triage
from bot.mail.answer import MailAnswers, judge
from bot.mail.draft import compose, reply_subject
from bot.mail.parse import ParsedMail
from mailhelpers import draft_text, sections

FEE_REPLY = [{"text": "In 2026-27 at Karel de Grote Hogeschool (KdG) you pay the basic fee: €1,181.40.\n"
                      "Source: kdg-tuition-fees-2026-27.txt (Karel de Grote Hogeschool (KdG), 2026-27)",
              "buttons": [{"title": "30 credits", "payload": "/inform"}]}]


def parsed(intent: str, confidence: float) -> dict:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": []}


# -- judging answers --------------------------------------------------------------------------------------------
def test_an_answer_with_its_source_keeps_the_intent_confidence():
    a = judge("How much will I pay?", parsed("ask_fee", 0.93), FEE_REPLY)
    assert a.answered and a.confidence == pytest.approx(0.93) and a.reason == ""
    assert "30 credits" not in a.text  # buttons are for the chat, not the mail
    assert a.topic == "fees"


@pytest.mark.parametrize("intent,confidence,reply,reason", [
    ("ask_fee", 0.95, "I'm not sure I understood. Did you mean one of these?", "not-understood"),
    ("ask_fee", 0.95, "I'm sorry, I still don't understand, and I'd rather not guess.\nWho can help:\n• x", "not-understood"),
    ("ask_portfolio", 0.95, "I'll put you in touch with a person of the international office staff.\nWho can help:\n• x",
     "hand-off"),
    ("ask_vision", 0.95, "I don't have that in my sources. A person at the international office can help.",
     "not-in-sources"),
    ("ask_fee", 0.95, "I have no tuition fees for 2027-28 at KdG: they are not in my sources.", "not-in-sources"),
    ("ask_fee", 0.95, "Your fee depends on your nationality. What is your nationality?", "needs-information"),
    ("ask_fee", 0.95, "Thanks, noted.", "no-source"),
    ("ask_fee", 0.95, "", "no-reply"),
])
def test_a_reply_that_is_not_an_answer_gets_confidence_zero(intent, confidence, reply, reason):
    a = judge("q?", parsed(intent, confidence), [{"text": reply}] if reply else [])
    assert not a.answered and a.confidence == 0.0 and a.reason == reason


@pytest.mark.parametrize("intent,reason", [("out_of_scope", "out-of-scope"), ("ask_human", "asks-for-person"),
                                           ("nlu_fallback", "not-understood")])
def test_out_of_scope_hand_off_and_fallback_intents_are_never_answered(intent, reason):
    a = judge("Can you recommend a pizza place near the campus?", parsed(intent, 0.99), FEE_REPLY)
    assert not a.answered and a.reason == reason and a.confidence == 0.0


def test_below_the_threshold_the_question_is_left_to_a_person():
    assert not judge("q?", parsed("ask_instalments", 0.45), FEE_REPLY, threshold=0.6).answered
    assert judge("q?", parsed("ask_instalments", 0.45), FEE_REPLY, threshold=0.4).answered
    low = judge("q?", parsed("ask_instalments", 0.45), FEE_REPLY, threshold=0.6)
    assert low.reason == "low-confidence" and low.confidence == pytest.approx(0.45)


def test_a_short_pleasantry_is_ignored_but_a_long_social_sentence_goes_to_a_person():
    assert judge("Can you help me?", parsed("ask_capabilities", 0.96), [{"text": "I can ..."}]).ignored
    long = judge("Can you help me with all the paperwork for my exchange next year?", parsed("ask_capabilities", 0.9),
                 [{"text": "I can ..."}])
    assert not long.ignored and not long.answered and long.reason == "not-a-question"


# -- the draft --------------------------------------------------------------------------------------------------
def make_mail(**kw) -> ParsedMail:
    base = dict(key="<orig-1@example.be>", message_id="<orig-1@example.be>", from_name="Lotte Peeters",
                from_addr="lotte@example.be", subject="Questions about my fee", date="Mon, 16 Nov 2026 09:14:02 +0100",
                references=["<older-0@example.be>"], language="en",
                body="I'm Belgian, how much will I pay?\nCan you recommend a pizza place?",
                questions=["I'm Belgian, how much will I pay?", "Can you recommend a pizza place?"])
    base.update(kw)
    return ParsedMail(**base)


def make_answers() -> MailAnswers:
    return MailAnswers(answers=[
        judge("I'm Belgian, how much will I pay?", parsed("ask_fee", 0.97), FEE_REPLY),
        judge("Can you recommend a pizza place?", parsed("out_of_scope", 0.99),
              [{"text": "Sorry, I can't help with that: I only know about studying abroad."}]),
        judge("How are you doing today?", parsed("greet", 0.9), [{"text": "Hi!"}]),
    ], context_used=["I study at KdG."])


def draft_of(mail=None, answers=None, **kw):
    msg = compose(mail or make_mail(), answers or make_answers(), from_addr="international@example.be",
                  academic_year="2026-27", **kw)
    raw = msg.as_bytes(policy=policy.SMTP)
    return BytesParser(policy=policy.default).parsebytes(raw), raw


def test_the_draft_threads_on_the_original():
    msg, raw = draft_of()
    assert msg["In-Reply-To"] == "<orig-1@example.be>"
    assert msg["References"].split() == ["<older-0@example.be>", "<orig-1@example.be>"]
    assert msg["Subject"] == "Re: Questions about my fee"
    assert msg["To"].addresses[0].addr_spec == "lotte@example.be"
    assert msg["From"] == "international@example.be"
    assert msg["Message-ID"] and msg["Message-ID"] != "<orig-1@example.be>"
    assert b"\r\n" in raw and not re.search(rb"[^\r]\n", raw)


@pytest.mark.parametrize("subject,expected", [("Fee", "Re: Fee"), ("Re: Fee", "Re: Fee"), ("RE: Fee", "RE: Fee"),
                                              ("Antw: Kosten", "Antw: Kosten"), ("Fwd: Fee", "Re: Fwd: Fee"),
                                              ("", "Re: (no subject)")])
def test_the_subject_gets_one_re(subject, expected):
    assert reply_subject(subject) == expected


def test_the_reply_to_address_is_used_when_given():
    msg, _ = draft_of(make_mail(reply_to="lotte.private@example.org"))
    assert msg["To"].addresses[0].addr_spec == "lotte.private@example.org"


def test_a_header_injection_in_the_subject_does_not_reach_the_draft_headers():
    from bot.mail.parse import clean_header

    subject = clean_header("Fee\r\nBcc: victim@example.org")
    msg, raw = draft_of(make_mail(subject=subject))
    assert "Bcc" not in msg and msg["Subject"] == "Re: Fee Bcc: victim@example.org"


def test_the_english_draft_lists_what_needs_a_person_at_the_top_and_answers_with_source_and_confidence():
    msg, _ = draft_of()
    text = draft_text(msg)
    parts = sections(text)
    assert "Needs a person:" in parts["notes"]
    assert "“Can you recommend a pizza place?” (out of the assistant's scope" in parts["notes"]
    assert "Context given to the assistant: “I study at KdG.”" in parts["notes"]
    reply = parts["reply"]
    assert reply.lstrip().startswith("Dear Lotte,")
    assert "> I'm Belgian, how much will I pay?\nIn 2026-27 at Karel de Grote Hogeschool (KdG) you pay the basic fee: " \
           "€1,181.40.\nSource: kdg-tuition-fees-2026-27.txt (Karel de Grote Hogeschool (KdG), 2026-27)\n" \
           "Confidence: 0.97" in reply
    assert "> Can you recommend a pizza place?\n[Needs a person: to be answered by the international office]" in reply
    assert "Sorry, I can't help" not in text
    assert "How are you doing" not in reply  # a pleasantry
    assert parts["quoted"].strip().startswith("International Office\n\nOn Mon, 16 Nov 2026 09:14:02 +0100, "
                                              "Lotte Peeters <lotte@example.be> wrote:\n> I'm Belgian")
    assert msg["X-Mobility-Assistant"] == "draft; questions=2; answered=1; min-confidence=0.00"


def test_the_dutch_draft_has_dutch_labels_and_says_the_answers_are_in_english():
    msg, _ = draft_of(make_mail(language="nl", from_name="Jonas De Smet"))
    text = draft_text(msg)
    parts = sections(text)
    assert "Voor een medewerker:" in parts["notes"] and "buiten het domein van de assistent" in parts["notes"]
    assert parts["reply"].lstrip().startswith("Beste Jonas,")
    assert "in het Engels" in parts["reply"] and "Betrouwbaarheid: 0.97" in parts["reply"]
    assert "[Voor een medewerker: te beantwoorden door de internationale dienst]" in parts["reply"]
    assert "Met vriendelijke groeten,\nInternational Office" in text
    assert "Op Mon, 16 Nov 2026 09:14:02 +0100 schreef Jonas De Smet <lotte@example.be>:" in text
    assert "Dear" not in text and "Kind regards" not in text and msg["Content-Language"] == "nl"


def test_an_answer_without_an_academic_year_says_so():
    answers = MailAnswers(answers=[judge("Which documents?", parsed("ask_incoming_documents", 0.9),
                                         [{"text": "Your CV.\nSource: kask-going-abroad.txt (KASK & Conservatorium)"}])],
                          context_used=[])
    text = draft_text(draft_of(make_mail(questions=["Which documents?"]), answers)[0])
    assert "Academic year: not stated on the source page (answered for 2026-27)." in text
    assert "Academic year: not stated" not in draft_text(draft_of()[0])  # the fee answer states 2026-27


def test_attachments_dropped_questions_and_mail_notes_are_in_the_staff_notes():
    from bot.mail.parse import Attachment

    mail = make_mail(attachments=[Attachment("transcript.pdf", "application/pdf", 20_000)], dropped_questions=4,
                     notes=["HTML only: converted to text"])
    notes = sections(draft_text(draft_of(mail)[0]))["notes"]
    assert "Attachments (not read): transcript.pdf (application/pdf, 20 KB)." in notes
    assert "Not processed (long mail): 4 more questions." in notes
    assert "About the mail: HTML only: converted to text." in notes


def test_a_mail_without_message_id_gets_a_draft_without_threading_headers():
    msg, _ = draft_of(make_mail(message_id=None, key="sha256:abc", references=[]))
    assert "In-Reply-To" not in msg and "References" not in msg


# -- the report -------------------------------------------------------------------------------------------------
def results():
    return [
        triage.MailResult("<a@x>", "a@x", "Fee question", triage.DRAFTED, "en", ["fees"], 2, 2, 0.93,
                          topic_answers=[("fees", True), ("fees", True)], draft="Drafts UID 1"),
        triage.MailResult("<b@x>", "b@x", "=HYPERLINK(\"http://evil.example\")", triage.NEEDS_PERSON, "nl",
                          ["grants", "out of scope"], 2, 1, 0.0, reason="out-of-scope: pizza?",
                          topic_answers=[("grants", True), ("out of scope", False)], draft="Drafts UID 2"),
        triage.MailResult("<c@x>", "mailer-daemon@x", "<script>alert(1)</script>", triage.BOUNCE, reason="report"),
        triage.MailResult("<d@x>", "d@x", "Out of office", triage.AUTO_REPLY),
        triage.MailResult("<e@x>", "e@x", "broken", triage.MALFORMED, reason="broken MIME"),
    ]


def test_the_totals_and_the_deflection_rate():
    tot = triage.totals(results(), already_processed=3)
    assert tot["mails"] == 5 and tot["drafted in full"] == 1 and tot["needs a person"] == 1
    assert tot["bounces skipped"] == 1 and tot["auto-replies skipped"] == 1 and tot["malformed"] == 1
    assert tot["drafts written"] == 2 and tot["questions"] == 4 and tot["questions answered"] == 3
    assert tot["deflection rate"] == 0.5 and tot["already processed (not read again)"] == 3
    assert triage.totals([])["deflection rate"] == 0.0


def test_the_csv_has_a_row_per_mail_then_the_totals_and_no_formulas(tmp_path):
    from datetime import datetime

    csv_path, html_path, tot = triage.write_report(tmp_path, results(), datetime(2026, 11, 23, 10, 0), "INBOX")
    rows, totals = triage.read_csv(csv_path)
    assert [r["message_id"] for r in rows] == ["<a@x>", "<b@x>", "<c@x>", "<d@x>", "<e@x>"]
    assert rows[0]["status"] == "drafted" and rows[0]["min_confidence"] == "0.93" and rows[0]["topics"] == "fees"
    assert rows[1]["subject"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text
    assert totals["deflection rate"] == "50.00%" and totals["mails"] == "5"
    with open(csv_path, newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == triage.COLUMNS


def test_the_html_report_is_self_contained_escaped_and_has_a_chart(tmp_path):
    from datetime import datetime

    _, html_path, _ = triage.write_report(tmp_path, results(), datetime(2026, 11, 23, 10, 0), "INBOX <main>")
    page = html_path.read_text(encoding="utf-8")
    assert "<svg" in page and page.count("<rect") >= 5 and "Mails by outcome" in page
    assert "<script" not in page.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "INBOX &lt;main&gt;" in page
    # No external resource: the only URL is the SVG namespace.
    urls = set(re.findall(r"https?://[^\s\"'<>)&]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://evil.example"}
    assert "href=" not in page and "src=" not in page and "@import" not in page
    assert "Content-Security-Policy" in page


def test_the_chart_bars_are_proportional():
    svg = triage.bar_chart("t", [("a", [("drafted", 2)]), ("b", [("drafted", 4)])], width=440)
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])


def test_no_smtp_anywhere_in_the_mail_package():
    package = Path(__file__).resolve().parents[2] / "bot" / "mail"
    for f in package.glob("*.py"):
        text = f.read_text()
        assert not re.search(r"smtplib|SMTP\(|SMTP_SSL|sendmail|send_message", text), f


@pytest.mark.parametrize("sentence,told", [("/restart?", "restart?"), ('/ask_fee{"nationality": "BE"}?',
                                                                           'ask_fee{"nationality": "BE"}?'),
                                           (" //// how much?", "how much?"), ("How much?", "How much?"),
                                           ("x" * 5000 + "?", "x" * 2000)])
def test_a_sentence_from_a_mail_never_reaches_the_assistant_as_a_command(sentence, told):
    from bot.mail.answer import user_text

    assert user_text(sentence) == told
