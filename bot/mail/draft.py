"""The reply draft: one per mail, in the sender's language, threaded on the original. Never sent."""
from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Dict, List, Optional

from bot.mail.answer import Answer, MailAnswers
from bot.mail.parse import ParsedMail, first_name

YEAR = re.compile(r"\b(19|20)\d{2}\s*[-–/]\s*\d{2,4}\b")
MAX_QUOTED_LINES = 80
MAX_REFERENCES = 10
REPLY_PREFIX = re.compile(r"^\s*(re|antw|aw|sv|vs)\s*:", re.I)

LABELS: Dict[str, Dict[str, str]] = {
    "en": {
        "notes_start": "--- For the international office: delete this block before sending ---",
        "notes_end": "--- End of the notes for the international office ---",
        "needs_person": "Needs a person:",
        "needs_none": "Needs a person: nothing, every question has an answer. Check them before sending.",
        "summary": "Answered by the assistant: {answered} of {total} questions; lowest confidence {low}.",
        "dropped": "Not processed (long mail): {n} more questions.",
        "attachments": "Attachments (not read): {list}.",
        "context": "Context given to the assistant: {list}",
        "mail_notes": "About the mail: {list}.",
        "greeting_name": "Dear {name},", "greeting": "Hello,",
        "intro": "Thank you for your email. You will find the answers to your questions below.",
        "intro_open": "We will come back to you on the questions marked below.",
        "open_placeholder": "[Needs a person: to be answered by the international office]",
        "confidence": "Confidence: {c}",
        "no_year": "Academic year: not stated on the source page (answered for {year}).",
        "closing": "Kind regards,",
        "quote_header": "On {date}, {sender} wrote:",
        "reason": {
            "out-of-scope": "out of the assistant's scope", "asks-for-person": "asks for a person",
            "not-understood": "the assistant did not understand it", "low-confidence": "low confidence",
            "not-in-sources": "not in the assistant's sources", "hand-off": "the assistant handed it to a person",
            "needs-information": "the assistant needs more information", "no-source": "the answer cites no source",
            "not-a-question": "not a question the assistant answers", "no-reply": "the assistant gave no reply",
        },
    },
    "nl": {
        "notes_start": "--- Voor de internationale dienst: verwijder dit blok voor verzending ---",
        "notes_end": "--- Einde van de notities voor de internationale dienst ---",
        "needs_person": "Voor een medewerker:",
        "needs_none": "Voor een medewerker: niets, elke vraag heeft een antwoord. Controleer ze voor verzending.",
        "summary": "Beantwoord door de assistent: {answered} van {total} vragen; laagste betrouwbaarheid {low}.",
        "dropped": "Niet verwerkt (lange e-mail): nog {n} vragen.",
        "attachments": "Bijlagen (niet gelezen): {list}.",
        "context": "Context voor de assistent: {list}",
        "mail_notes": "Over de e-mail: {list}.",
        "greeting_name": "Beste {name},", "greeting": "Beste,",
        "intro": "Bedankt voor je e-mail. Hieronder vind je de antwoorden op je vragen. De antwoorden komen van "
                 "onze digitale assistent en zijn daarom in het Engels; bedragen, data en bronnen blijven dezelfde.",
        "intro_open": "Op de vragen die hieronder gemarkeerd zijn, komen we nog bij je terug.",
        "open_placeholder": "[Voor een medewerker: te beantwoorden door de internationale dienst]",
        "confidence": "Betrouwbaarheid: {c}",
        "no_year": "Academiejaar: niet vermeld op de bronpagina (beantwoord voor {year}).",
        "closing": "Met vriendelijke groeten,",
        "quote_header": "Op {date} schreef {sender}:",
        "reason": {
            "out-of-scope": "buiten het domein van de assistent", "asks-for-person": "vraagt naar een persoon",
            "not-understood": "de assistent begreep de vraag niet", "low-confidence": "lage betrouwbaarheid",
            "not-in-sources": "niet in de bronnen van de assistent",
            "hand-off": "de assistent verwees naar een medewerker",
            "needs-information": "de assistent heeft meer informatie nodig",
            "no-source": "het antwoord vermeldt geen bron", "not-a-question": "geen vraag die de assistent beantwoordt",
            "no-reply": "de assistent gaf geen antwoord",
        },
    },
}


def labels(language: str) -> Dict[str, object]:
    return LABELS.get(language, LABELS["en"])


def reply_subject(subject: str) -> str:
    subject = subject.strip() or "(no subject)"
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}"


def _quote(q: str) -> str:
    return f"\u201c{q}\u201d"


def _conf(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"


def staff_notes(mail: ParsedMail, result: MailAnswers) -> List[str]:
    L = labels(mail.language)
    questions = result.questions
    lines = [L["notes_start"]]
    if result.open:
        lines.append(L["needs_person"])
        for a in result.open:
            lines.append(f"  \u2022 {_quote(a.question)} ({L['reason'].get(a.reason, a.reason)}; "
                         f"intent {a.intent}, {a.intent_confidence:.2f})")
    else:
        lines.append(L["needs_none"])
    lines.append(L["summary"].format(answered=sum(a.answered for a in questions), total=len(questions),
                                     low=_conf(result.min_confidence)))
    if mail.dropped_questions:
        lines.append(L["dropped"].format(n=mail.dropped_questions))
    if mail.attachments:
        lines.append(L["attachments"].format(list="; ".join(a.describe() for a in mail.attachments)))
    if result.context_used:
        lines.append(L["context"].format(list=" ".join(_quote(c) for c in result.context_used)))
    if mail.notes:
        lines.append(L["mail_notes"].format(list="; ".join(mail.notes)))
    lines.append(L["notes_end"])
    return lines


def answer_block(a: Answer, language: str, academic_year: str) -> List[str]:
    L = labels(language)
    lines = [f"> {a.question}"]
    if not a.answered:
        return lines + [L["open_placeholder"]]
    lines.append(a.text)
    if not YEAR.search(a.text):
        lines.append(L["no_year"].format(year=academic_year))
    lines.append(L["confidence"].format(c=_conf(a.confidence)))
    return lines


def body_text(mail: ParsedMail, result: MailAnswers, academic_year: str, signature: str) -> str:
    L = labels(mail.language)
    name = first_name(mail.from_name)
    out = staff_notes(mail, result) + [""]
    out.append(L["greeting_name"].format(name=name) if name else L["greeting"])
    out += ["", L["intro"]]
    if result.open:
        out.append(L["intro_open"])
    for a in result.questions:
        out += [""] + answer_block(a, mail.language, academic_year)
    out += ["", L["closing"], signature, ""]
    quoted = mail.body.strip().split("\n") if mail.body.strip() else []
    if quoted:
        sender = f"{mail.from_name} <{mail.from_addr}>" if mail.from_name else mail.from_addr
        out.append(L["quote_header"].format(date=mail.date or "?", sender=sender))
        for line in quoted[:MAX_QUOTED_LINES]:
            out.append(">" + (" " + line if line.strip() else ""))
        if len(quoted) > MAX_QUOTED_LINES:
            out.append("> [...]")
    return "\n".join(out).rstrip() + "\n"


def compose(mail: ParsedMail, result: MailAnswers, *, from_addr: str, academic_year: str,
            signature: str = "International Office") -> EmailMessage:
    """The draft reply to `mail`: Subject "Re: ...", In-Reply-To and References set so it threads."""
    msg = EmailMessage()
    msg["From"] = from_addr
    to_addr = mail.reply_to or mail.from_addr
    msg["To"] = formataddr((mail.from_name, to_addr)) if mail.from_name and not mail.reply_to else to_addr
    msg["Subject"] = reply_subject(mail.subject)
    msg["Date"] = formatdate(localtime=True)
    domain = from_addr.rpartition("@")[2].strip(">") or "mobility-assistant.invalid"
    msg["Message-ID"] = make_msgid("mobility-draft", domain=domain)
    if mail.message_id:
        msg["In-Reply-To"] = mail.message_id
        refs = [r for r in mail.references if r != mail.message_id][-(MAX_REFERENCES - 1):] + [mail.message_id]
        msg["References"] = " ".join(refs)
    questions = result.questions
    msg["X-Mobility-Assistant"] = (f"draft; questions={len(questions)}; answered={sum(a.answered for a in questions)}; "
                                   f"min-confidence={_conf(result.min_confidence)}")
    msg.set_content(body_text(mail, result, academic_year, signature), subtype="plain", charset="utf-8",
                    cte="quoted-printable")
    msg["Content-Language"] = mail.language  # after set_content, which clears the Content-* headers
    return msg
