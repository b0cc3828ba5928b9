"""Reading mails without the assistant: language, quoted history, forwards, signatures, questions, HTML, charsets,
and what each mail of the corpus is."""
from __future__ import annotations

import pytest

from bot.mail.parse import (detect_language, find_questions, first_name, html_to_text, is_question, parse_mail,
                            sentences, strip_history, strip_signature)
from mailhelpers import CORPUS


# -- language ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,lang", [
    ("Hello, I would like to know how much I will pay for 60 credits at KdG.", "en"),
    ("Beste, ik wil graag weten hoeveel inschrijvingsgeld ik moet betalen voor 60 studiepunten.", "nl"),
    ("Hoi! Welke Erasmus grant kan ik krijgen als ik naar Japan ga voor een internship?", "nl"),
    ("Can I get an Erasmus beurs for my stage in Spain? Thanks!", "en"),
    ("Wanneer is de deadline?", "nl"),
    ("", "en"),
])
def test_the_language_is_the_one_with_more_of_its_own_function_words(text, lang):
    assert detect_language(text) == lang


# -- quoted history and forwards ------------------------------------------------------------------------------
def test_lines_starting_with_a_quote_mark_are_history():
    parts = strip_history("How much will I pay?\n> What is your nationality?\n>> Older?\nThanks")
    assert parts == ["How much will I pay?\nThanks"]


@pytest.mark.parametrize("marker", [
    "On Mon, 16 Nov 2026 at 10:12, International Office <io@example.be> wrote:",
    "On Mon, 16 Nov 2026 at 10:12, International Office <io@example.be>\nwrote:",
    "Op ma 16 nov. 2026 om 10:12 schreef International Office <io@example.be>:",
    "Op 16-11-2026 10:12 heeft International Office <io@example.be> het volgende geschreven:",
    "-----Original Message-----",
    "-----Oorspronkelijk bericht-----",
    "From: International Office <io@example.be>\nSent: Monday, 16 November 2026 10:12\nTo: Student\nSubject: RE: fees",
    "Van: International Office <io@example.be>\nVerzonden: maandag 16 november 2026 10:12\nAan: Student\n"
    "Onderwerp: RE: kosten",
    "________________________________\nFrom: International Office\nSent: Monday\nTo: Student\nSubject: fees",
])
def test_reply_history_is_cut_from_its_marker(marker):
    text = f"When is the deadline?\n\n{marker}\nWhat is your nationality?\nDo you need anything else?"
    assert strip_history(text) == ["When is the deadline?\n"]


def test_a_line_that_mentions_on_and_wrote_in_a_sentence_is_not_history():
    text = "On my application I wrote: photography.\nHow much is the fee?"
    assert strip_history(text) == [text]


def test_a_forwarded_message_is_read_without_its_headers_and_without_its_own_history():
    text = ("Also, when is the deadline?\n\n---------- Forwarded message ---------\nFrom: Ana <ana@example.com>\n"
            "Date: Mon, 9 Nov 2026\nSubject: Fee\nTo: Coordinator <c@example.com>\n\nHow much is the fee?\n\n"
            "On Fri, 6 Nov 2026, Coordinator <c@example.com> wrote:\n> Is Antwerp your first choice?")
    parts = strip_history(text)
    assert parts[0].strip() == "Also, when is the deadline?"
    assert parts[1].strip() == "How much is the fee?"
    assert "From:" not in "".join(parts) and "Antwerp" not in "".join(parts)


@pytest.mark.parametrize("marker", ["Begin forwarded message:", "-------- Doorgestuurd bericht --------"])
def test_other_forward_markers(marker):
    text = f"FYI\n\n{marker}\nVan: Jan <jan@example.be>\nDatum: 9 nov 2026\nOnderwerp: Beurs\nAan: io@example.be\n\n" \
           f"Welke beurs kan ik krijgen?"
    assert [p.strip() for p in strip_history(text)] == ["FYI", "Welke beurs kan ik krijgen?"]


def test_an_outlook_forward_is_read_when_the_subject_says_forward():
    text = "See below.\n\nFrom: Jan <jan@example.be>\nSent: Monday\nTo: Me\nSubject: question\n\nHow much do I pay?"
    assert [p.strip() for p in strip_history(text, forward=True)] == ["See below.", "How much do I pay?"]
    assert [p.strip() for p in strip_history(text, forward=False)] == ["See below."]


# -- signatures -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("closing", ["Kind regards,", "Best regards", "Met vriendelijke groeten,",
                                     "Vriendelijke groet", "Thanks in advance!", "Cheers,\n"])
def test_the_signature_block_goes_from_its_closing(closing):
    text = f"How much will I pay?\n\n{closing}\nLotte Peeters\nKdG, Applied Informatics\n+32 470 00 00 00"
    assert strip_signature(text) == "How much will I pay?"


def test_the_signature_goes_from_a_dash_dash_line_and_mobile_footers_go():
    text = "How much will I pay?\nSent from my iPhone\n-- \nLotte | +32 470 00 00 00\nWhen is the deadline?"
    assert strip_signature(text) == "How much will I pay?"


def test_a_thanks_that_starts_a_real_paragraph_is_not_a_closing():
    text = "Thanks for your answer! Also, how much is the fee for 30 credits?\nAnd when is the deadline?"
    assert strip_signature(text) == text


@pytest.mark.parametrize("text", ["Greetings,\n\nHow much is the fee?\nAnna",
                                  "Thank you!\n\nAlso: which grants can I get?\nTom"])
def test_a_closing_word_before_a_question_is_not_a_signature(text):
    assert strip_signature(text) == text


def test_a_closing_far_from_the_end_is_not_a_signature():
    text = "Regards\n" + "\n".join(f"Question {i}: is this about fees?" for i in range(20))
    assert strip_signature(text) == text


# -- sentences and questions ------------------------------------------------------------------------------------
def test_sentences_join_wrapped_lines_and_split_on_ends():
    assert sentences("I'm Belgian and will take 60 credits at KdG, how much will I\npay? Can I pay in instalments? "
                     "I study e.g. Photography. Thanks!") == [
        "I'm Belgian and will take 60 credits at KdG, how much will I pay?", "Can I pay in instalments?",
        "I study e.g. Photography.", "Thanks!"]


def test_list_items_are_sentences_of_their_own():
    assert sentences("My questions:\n- how much is the fee\n- when is the deadline\n1) which grants") == [
        "My questions:", "how much is the fee", "when is the deadline", "which grants"]


@pytest.mark.parametrize("sentence,expected", [
    ("How much will I pay?", True),
    ("How much will I pay ?!", True),
    ('Is it "free?"', True),
    ("Please tell me when the deadline is.", True),
    ("Could you let me know which documents I need.", True),
    ("I would like to know the fee for 30 credits.", True),
    ("I was wondering whether I can get a grant.", True),
    ("Graag zou ik weten hoeveel ik moet betalen.", True),
    ("Kunt u mij laten weten wanneer de deadline is.", True),
    ("Ik vroeg me af of ik een beurs kan krijgen.", True),
    ("Laat me weten welke documenten ik nodig heb.", True),
    ("Please find attached my transcript.", False),
    ("Please let me know if you need anything else.", False),
    ("Laat me weten als je nog iets nodig hebt.", False),
    ("How are you?", False),
    ("I am Belgian and study at KdG.", False),
])
def test_questions_are_sentences_ending_in_a_question_mark_or_requests(sentence, expected):
    assert is_question(sentence) is expected


def test_several_questions_per_mail_in_order_with_context_apart():
    text = ("Dear International Office,\n\nI'm Belgian and I study at KdG. How much will I pay for 60 credits? "
            "And can I pay in instalments?\nPlease tell me the deadline.\nPlease let me know if you need more.")
    questions, context, dropped = find_questions(text)
    assert questions == ["How much will I pay for 60 credits?", "And can I pay in instalments?",
                         "Please tell me the deadline."]
    assert "I'm Belgian and I study at KdG." in context
    assert not any(c.startswith("Dear") for c in context)
    assert dropped == 0


def test_questions_are_capped_and_repeated_ones_counted_once():
    text = " ".join(f"Question number {i}, is it about fees?" for i in range(14)) + " Question number 0, is it about fees?"
    questions, _, dropped = find_questions(text, max_questions=10)
    assert len(questions) == 10 and dropped == 4
    assert questions[0] == "Question number 0, is it about fees?"


# -- HTML -----------------------------------------------------------------------------------------------------
def test_html_becomes_text_without_scripts_styles_hidden_parts_or_tags():
    html = ("<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head><body>"
            "<p>Dear team,</p><p>Fees &amp; grants: how much?<br>Line two</p><div style='display: none'>hidden?</div>"
            "<ul><li>first</li><li>second</li></ul><img src=x onerror=alert(1)>"
            "<blockquote>old question?<blockquote>older</blockquote></blockquote><p>after</p></body></html>")
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text and "hidden" not in text and "<" not in text
    assert "Fees & grants: how much?\nLine two" in text
    assert "- first\n- second" in text
    assert "> old question?" in text and "> > older" in text
    assert text.endswith("after")


def test_broken_html_still_gives_its_text():
    assert html_to_text("<p>How much <b>is it?<div><p unclosed") == "How much is it?"


# -- names ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,first", [("Lotte Peeters", "Lotte"), ("Peeters, Lotte", "Lotte"), ('"Mei Tanaka"', "Mei"),
                                        ("info", ""), ("", ""), ("12345", ""), ("João Fernández", "João")])
def test_the_greeting_uses_a_first_name_only_when_there_is_one(name, first):
    assert first_name(name) == first


# -- the corpus -----------------------------------------------------------------------------------------------
CORPUS_EXPECTED = {
    # file: (kind, language, questions, dropped)
    "01-fee-instalments-en.eml": ("person", "en", 2, 0),
    "02-grants-japan-nl.eml": ("person", "nl", 2, 0),
    "03-forwarded-thread-en.eml": ("person", "en", 2, 0),
    "04-html-only-en.eml": ("person", "en", 3, 0),
    "05-windows-1252-nl.eml": ("person", "nl", 3, 0),
    "06-attachment-en.eml": ("person", "en", 3, 0),
    "07-out-of-office.eml": ("auto-reply", None, 0, 0),
    "08-afwezig-nl.eml": ("auto-reply", None, 0, 0),
    "09-bounce.eml": ("bounce", None, 0, 0),
    "10-malformed.eml": ("malformed", None, 0, 0),
    "11-long-many-questions-en.eml": ("person", "en", 10, 4),
}


def parse_corpus(name: str):
    return parse_mail((CORPUS / name).read_bytes())


def test_the_corpus_table_covers_every_corpus_file(corpus):
    assert sorted(p.name for p in corpus) == sorted(CORPUS_EXPECTED)


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_each_corpus_mail_is_read_as_expected(name):
    kind, lang, n_questions, dropped = CORPUS_EXPECTED[name]
    mail = parse_corpus(name)
    assert mail.kind == kind, mail.reason
    assert mail.message_id and mail.message_id.startswith("<")
    if lang:
        assert mail.language == lang
    assert len(mail.questions) == n_questions, mail.questions
    assert mail.dropped_questions == dropped


def test_multipart_alternative_reads_the_plain_part_without_signature():
    mail = parse_corpus("01-fee-instalments-en.eml")
    assert mail.questions == ["I'm Belgian and will take 60 credits at KdG, how much will I pay?",
                              "Can I pay in instalments?"]
    assert "Lotte Peeters" not in mail.text and "+32" not in mail.text and mail.attachments == []


def test_a_dutch_reply_keeps_its_own_questions_and_not_the_quoted_ones():
    mail = parse_corpus("02-grants-japan-nl.eml")
    assert mail.questions == ["Welke beurzen kan ik krijgen?", "Tot wanneer kan ik me registreren in Mobility Online?"]
    assert "stageplaats" not in mail.text
    assert mail.references == ["<jonas-first-770@student.example.be>", "<io-reply-771@example.be>"]


def test_the_forwarded_thread_gives_the_forwarded_question_but_not_its_history():
    mail = parse_corpus("03-forwarded-thread-en.eml")
    assert mail.questions == ["Also, what is the deadline to apply for an Erasmus grant?", "How much is the tuition fee?"]
    assert "I am from Brazil and I want to study 60 credits at KdG in 2026-27." in mail.context
    assert "Antwerp" not in mail.text and "coordinator@" not in mail.text


def test_the_html_only_mail_is_converted_safely():
    mail = parse_corpus("04-html-only-en.eml")
    assert "HTML only: converted to text" in mail.notes
    assert "Tōkyō" in mail.text and "&amp;" not in mail.text and "alert" not in mail.body
    assert "how much does it cost" not in mail.body  # display:none
    assert "Please tell me what my portfolio should contain." in mail.questions
    assert "still interested" not in mail.text  # the quoted reply


def test_windows_1252_headers_and_body_are_decoded():
    mail = parse_corpus("05-windows-1252-nl.eml")
    assert mail.subject == "Vraag over inschrijvingsgeld – KdG"
    assert mail.from_name == "João Fernández"
    assert "één jaar" in mail.text and "in € is" in mail.text and "“kot”" in mail.text
    assert "charset windows-1252" in mail.notes


def test_iso_8859_1_with_windows_1252_characters_is_read_as_windows_1252():
    raw = (b"From: a@example.be\r\nMessage-ID: <x1@example.be>\r\nSubject: fee\r\n"
           b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           b"Is the fee \x80 1.181,40 for Ren\xe9? \x93Yes\x94?\r\n")
    mail = parse_mail(raw)
    assert mail.questions == ["Is the fee € 1.181,40 for René?", "“Yes”?"]


def test_an_undeclared_charset_falls_back_without_failing():
    raw = (b"From: a@example.be\r\nSubject: caf\xe9 \xe2\x82\xac\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
           b"Wat kost het in \xe2\x82\xac?\r\n")
    mail = parse_mail(raw)
    assert mail.kind == "person"
    assert mail.questions == ["Wat kost het in €?"]
    assert mail.subject == "café €"
    assert mail.key.startswith("sha256:")  # no Message-ID: the mail itself identifies it


def test_a_plain_ascii_mail_has_no_charset_note():
    raw = b"From: a@example.be\r\nSubject: x\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHow much?\r\n"
    assert parse_mail(raw).notes == []


def test_the_attachment_is_noted_and_not_read():
    mail = parse_corpus("06-attachment-en.eml")
    assert [(a.filename, a.content_type) for a in mail.attachments] == [("Transcript_of_records_Tom.pdf", "application/pdf")]
    assert "%PDF" not in mail.text


@pytest.mark.parametrize("headers,kind", [
    ("Auto-Submitted: auto-replied\r\nSubject: Re: fees", "auto-reply"),
    ("Auto-Submitted: no\r\nSubject: How much?", "person"),
    ("X-Autoreply: yes\r\nSubject: fees", "auto-reply"),
    ("Precedence: bulk\r\nSubject: newsletter", "auto-reply"),
    ("Subject: Out of Office: fees", "auto-reply"),
    ("Subject: Automatisch antwoord: Afwezig", "auto-reply"),
    ("Subject: Afwezig tot 30 november", "auto-reply"),
    ("Subject: Vraag over afwezigheid tijdens mijn uitwisseling", "person"),
    ("Subject: Delivery Status Notification (Failure)\r\nReturn-Path: <>", "bounce"),
    ("Subject: Undelivered Mail Returned to Sender\r\nReturn-Path: <student@example.be>", "person"),
])
def test_auto_replies_and_bounces_are_recognised_from_headers_and_subjects(headers, kind):
    raw = f"From: Someone <someone@example.be>\r\nMessage-ID: <k@example.be>\r\n{headers}\r\n\r\nHow much?\r\n".encode()
    assert parse_mail(raw).kind == kind


def test_a_bounce_from_the_mailer_daemon_is_a_bounce_even_if_it_says_auto_submitted():
    mail = parse_corpus("09-bounce.eml")
    assert mail.kind == "bounce" and mail.questions == []


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\x01\x02 not a mail at all",
    b"Subject: no sender\r\n\r\nHow much?",
    b"From: a@example.be\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here",
])
def test_a_mail_that_cannot_be_read_is_malformed_and_says_why(raw):
    mail = parse_mail(raw)
    assert mail.kind == "malformed" and mail.reason


def test_a_very_long_body_is_read_from_its_start_only():
    raw = b"From: a@example.be\r\nSubject: long\r\n\r\nHow much is the fee?\r\n" + b"blah " * 40_000
    mail = parse_mail(raw)
    assert mail.questions == ["How much is the fee?"]
    assert any("very long mail" in n for n in mail.notes)
