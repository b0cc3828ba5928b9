"""Reading one incoming mail: headers, the text a person wrote, its language and its questions.

Nothing here needs the assistant. `parse_mail(raw)` never raises for what is in a mail: a mail it cannot
read is returned with kind "malformed" and the reason, so a run can report it and go on.
"""
from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.errors import MessageDefect
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html import unescape
from html.parser import HTMLParser
from typing import List, Optional, Sequence, Tuple

MAX_TEXT_CHARS = 50_000  # of a mail's text: more is not read (a very long mail is still answered from its start)
MAX_SENTENCE_CHARS = 1_000
MAX_CONTEXT_SENTENCES = 30  # candidates; the assistant is told only those that state facts it knows
MAX_HTML_CHARS = 1_000_000

# -- language ------------------------------------------------------------------------------------------
# Frequent function words of each language that are not also frequent words of the other one.
EN_WORDS = frozenset("""the a an and or but is are was were be been am i you he she we they it my your our their this that
these those what which who whom whose when where why how much many will would can could should shall may might must do does
did have has had not no yes if then than of to for with about from at by on into as please thank thanks dear hello hi
regards there here also any some would like know tell me us get go going study studying student""".split())
NL_WORDS = frozenset("""de het een en of maar is zijn was waren ben bent ik jij je u hij zij wij we ze mijn jouw uw onze
hun dit dat deze die wat welke wie wanneer waar waarom hoe hoeveel veel zal zou kan kun kunt moet mag heb hebt heeft hebben
niet geen ja als dan van voor met over uit bij op naar aan door graag bedankt beste geachte hallo groeten groet vriendelijke
ook nog er hier daar weten vertellen studeren student studiepunten inschrijvingsgeld beurs vraag vragen mij me""".split())
_WORD = re.compile(r"[a-zà-ÿ']+", re.I)


def detect_language(text: str) -> str:
    """'nl' or 'en' by counting function words; English when it is a tie (the assistant's language)."""
    en = nl = 0
    for w in _WORD.findall(text.lower()[:20_000]):
        w = w.strip("'")
        en += w in EN_WORDS
        nl += w in NL_WORDS
    return "nl" if nl > en else "en"


# -- HTML to text ---------------------------------------------------------------------------------------
class _HtmlText(HTMLParser):
    """Text of an HTML mail: no script/style/head, block elements as line breaks, blockquotes as '> ' lines.

    The markup is only read, never rendered or passed on."""

    SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
    BLOCK = {"p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr",
             "section", "article", "header", "footer", "blockquote", "dt", "dd", "address", "center", "form"}
    PARAGRAPH = {"p", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "blockquote", "address"}
    VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: List[List] = [[0, ""]]
        self.quote = 0
        self.skip: List[str] = []  # open elements whose content is not text

    def _newline(self, blank: bool = False) -> None:
        if self.lines[-1][1].strip():
            self.lines.append([self.quote, ""])
        else:
            self.lines[-1][0] = self.quote
        if blank and len(self.lines) > 1 and self.lines[-2][1].strip():
            self.lines.append([self.quote, ""])  # a paragraph: an empty line before the next text

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if self.skip:
            if tag not in self.VOID:
                self.skip.append(tag)
            return
        style = (dict(attrs).get("style") or "").replace(" ", "").lower()
        if tag in self.SKIP or ("display:none" in style and tag not in self.VOID):
            self.skip.append(tag)
            return
        if tag == "blockquote":
            self._newline(blank=True)
            self.quote += 1
            self.lines[-1][0] = self.quote
        elif tag in self.BLOCK:
            self._newline(blank=tag in self.PARAGRAPH)
            if tag == "li":
                self.lines[-1][1] = "- "

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag.lower() not in self.VOID and self.skip and self.skip[-1] == tag.lower():
            self.skip.pop()

    def handle_endtag(self, tag):
        tag = tag.lower()
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag == "blockquote":
            self._newline(blank=True)
            self.quote = max(0, self.quote - 1)
            self.lines[-1][0] = self.quote
        elif tag in self.BLOCK:
            self._newline(blank=tag in self.PARAGRAPH)

    def handle_data(self, data):
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.lines[-1][1]:
            text = text.lstrip()
        self.lines[-1][1] += text

    def text(self) -> str:
        out = []
        for depth, line in self.lines:
            line = line.strip()
            out.append(("> " * depth + line) if line else "")
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html[:MAX_HTML_CHARS])
        # Not close(): it would pass an unfinished tag at the end ("<p unclosed") on as text.
        leftover = parser.rawdata[parser.rawdata.find("<"):] if "<" in parser.rawdata else parser.rawdata
        if leftover and not leftover.startswith("<"):
            parser.handle_data(unescape(leftover))
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; whatever it got so far is the text
        pass
    return parser.text()


# -- quoted history, forwards, signatures ---------------------------------------------------------------
ON_WROTE = re.compile(r"^\s*(On\b.{0,300}\bwrote|Op\b.{0,300}\b(schreef\b.{0,200}|heeft\b.{0,200}\bgeschreven)"
                      r"|Am\b.{0,300}\bschrieb\b.{0,200}|Le\b.{0,300}\ba écrit)\s*:\s*$", re.I)
ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Oorspronkelijk bericht|Origineel bericht|Ursprüngliche Nachricht|"
                      r"Message d'origine)\s*-{2,}\s*$", re.I)
FORWARD = re.compile(r"^\s*(-{2,}\s*(Forwarded message|Forwarded e-?mail|Doorgestuurd bericht|Doorgestuurde e-?mail|"
                     r"Weitergeleitete Nachricht|Message transféré)\s*-{2,}|(Begin|Start of) forwarded message\s*:?|"
                     r"Doorgestuurd bericht\s*:|Forwarded message\s*:)\s*$", re.I)
RULE = re.compile(r"^\s*_{10,}\s*$")
HEADER_FIELD = re.compile(r"^\s*\*?(From|Van|Sent|Verzonden|Date|Datum|To|Aan|Cc|Bcc|Subject|Onderwerp|Reply-To|"
                          r"Antwoord aan|Von|Gesendet|An|Betreff|De|Envoyé|À|Objet)\s*:\*?\s*(.*)$", re.I)
FROM_FIELD = re.compile(r"^\s*\*?(From|Van|Von|De)\s*:", re.I)
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|doorst|tr|wg)\s*:", re.I)
SIG_DASH = re.compile(r"^--\s?$")
CLOSING = re.compile(
    r"^\s*(kind(est)? regards|best regards|warm(est)? regards|regards|best wishes|all the best|best|many thanks|"
    r"thanks( a lot| again)?( in advance)?|thank you( very much| so much)?( in advance)?|cheers|sincerely|"
    r"yours (sincerely|faithfully|truly)|with (kind|best) regards|greetings|"
    r"met vriendelijke groet(en)?|vriendelijke groet(en)?|hartelijke groet(en)?|met hartelijke groet(en)?|"
    r"mvg|groeten|groetjes|alvast bedankt|bedankt alvast|alvast dank|dank ?je wel|dank u wel|met dank)\b"
    r"(?P<rest>.*)$", re.I)
MOBILE = re.compile(r"^\s*(Sent from my|Sent from Outlook|Get Outlook for|Verzonden (vanaf|met|van) mijn|"
                    r"Verstuurd (vanaf|met|van) mijn|Von meinem .* gesendet)\b", re.I)
GREETING = re.compile(r"^\s*(dear|hi|hello|hey|good (morning|afternoon|evening)|to whom it may concern|beste|geachte|"
                      r"hallo|hoi|dag|goedemorgen|goedemiddag|goedenavond)\b[^.?!]{0,60}[,!:]?\s*$", re.I)
MAX_SIGNATURE_LINES = 12


def _header_block_end(lines: Sequence[str], i: int) -> Optional[int]:
    """If lines[i] starts a header block of a quoted or forwarded mail (From:/Sent:/To:/Subject:, or the Dutch
    Van:/Verzonden:/Aan:/Onderwerp:), the index just after the block; else None."""
    if not FROM_FIELD.match(lines[i]):
        return None
    keys = set()
    j = i
    while j < len(lines) and j < i + 12:
        m = HEADER_FIELD.match(lines[j])
        if m:
            keys.add(m.group(1).lower())
        elif lines[j].strip() and j > i and not lines[j].startswith((" ", "\t")):
            break
        elif not lines[j].strip():
            break
        j += 1
    return j if len(keys) >= 3 else None


def _wrapped(lines: Sequence[str], i: int) -> bool:
    """'On Mon, 16 Nov 2026 at 10:12, Jan Janssens <jan@...>' + 'wrote:' on the next line (or the one after)."""
    if ON_WROTE.match(lines[i]):
        return True
    if re.match(r"^\s*(On|Op|Am|Le)\b", lines[i], re.I):
        for k in (1, 2):
            if i + k < len(lines) and ON_WROTE.match(" ".join(x.strip() for x in lines[i:i + k + 1])):
                return True
    return False


def strip_history(text: str, forward: bool = False) -> List[str]:
    """The parts of a body written by people, in order: the sender's own text and the text of each message
    forwarded in it. Quoted lines ('>'), reply history ("On ... wrote:", "Op ... schreef ...:",
    "-----Original Message-----", an Outlook header block) and forwarded headers are removed.

    `forward`: the mail is a forward (its subject says so), so a first Outlook header block starts the
    forwarded message rather than reply history."""
    lines = text.split("\n")
    parts: List[str] = []
    own: List[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">"):
            i += 1
            continue
        if FORWARD.match(line):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            end = _header_block_end(lines, j) if j < len(lines) else None
            parts.append("\n".join(own))
            rest = lines[end if end is not None else j:]
            return [p for p in parts + strip_history("\n".join(rest)) if p.strip()]
        if ORIGINAL.match(line) or _wrapped(lines, i):
            break
        start = i + 1 if RULE.match(line) and i + 1 < len(lines) else i
        end = _header_block_end(lines, start)
        if end is not None:
            if forward:
                parts.append("\n".join(own))
                return [p for p in parts + strip_history("\n".join(lines[end:])) if p.strip()]
            break
        own.append(line)
        i += 1
    parts.append("\n".join(own))
    return [p for p in parts if p.strip()]


def strip_signature(text: str) -> str:
    """The text without its signature: from a '-- ' line, or from a closing ("Kind regards", "Met vriendelijke
    groeten", ...) near the end; "Sent from my iPhone" lines go too."""
    lines = [ln for ln in text.split("\n") if not MOBILE.match(ln)]
    for i, line in enumerate(lines):
        if SIG_DASH.match(line):
            lines = lines[:i]
            break
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    for i, line in enumerate(lines):
        m = CLOSING.match(line)
        if not m or i == first:  # "Greetings," at the top is a greeting, not a closing
            continue
        rest = m.group("rest")
        short = len(line.strip()) <= 60 and "?" not in rest and len(rest.split()) <= 4
        after = [ln for ln in lines[i + 1:] if ln.strip()]
        if short and len(after) <= MAX_SIGNATURE_LINES and not any("?" in ln for ln in after):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


# -- sentences, questions, context ----------------------------------------------------------------------
BULLET = re.compile(r"^\s*([-*•·▪]|\d{1,2}[.)])\s+")
ABBREVIATIONS = re.compile(r"(\b(e\.g|i\.e|etc|bv|bijv|o\.a|m\.a\.w|mr|mrs|ms|dr|prof|nr|no|approx|vs|ca|incl|excl|"
                           r"resp|jan|feb|aug|sept?|oct|okt|nov|dec|st|dhr|mevr|p\.s)\.|\b[A-Z]\.)$", re.I)
_SPLIT = re.compile(r"(?<=\?)[\"'”’)\]]*\s+|(?<=[.!…])[\"'”’)\]]*\s+(?=[\"'“‘(]?[A-ZÀ-ÖØ-Þ0-9])")
QUESTION_END = re.compile(r"\?[\s\"'”’)\].!?]*$")
REQUEST = re.compile(
    r"^(also,?\s+|and\s+|finally,?\s+|additionally,?\s+|secondly,?\s+|lastly,?\s+|ook,?\s+|en\s+|verder,?\s+|"
    r"tot slot,?\s+|daarnaast,?\s+)?("
    r"please\s+(tell|let|send|explain|confirm|advise|inform|clarify|provide|give|share|describe|list|check|specify)\b|"
    r"kindly\s+(tell|let|send|explain|confirm|advise|inform|clarify|provide|give|share|describe|list|check)\b|"
    r"(could|can|would|will)\s+you(\s+please|\s+kindly)?\s+(tell|let|send|explain|confirm|advise|inform|clarify|"
    r"provide|give|share|describe|list|check)\b|"
    r"i\s+would\s+(like|love)\s+to\s+(know|ask|find out|learn)\b|i'?d\s+(like|love)\s+to\s+(know|ask|find out|learn)\b|"
    r"i\s+(want|need|wish)\s+to\s+(know|find out)\b|i\s+(wonder|wondered|was wondering|am wondering|'m wondering)\b|"
    r"i\s+would\s+(appreciate|be grateful)|i'?d\s+(appreciate|be grateful)|let\s+me\s+know\b|"
    r"i\s+would\s+like\s+(some\s+|more\s+)?information|i\s+am\s+looking\s+for\s+information|"
    r"i'?m\s+looking\s+for\s+information|"
    r"graag\s+(zou|wil)\s+ik\s+(weten|vernemen|informatie)|ik\s+(zou|wil)\s+graag\s+(willen\s+)?(weten|vernemen)\b|"
    r"ik\s+(vroeg|vraag)\s+me\s+af\b|ik\s+had\s+graag\s+(geweten|gevraagd|vernomen)\b|"
    r"(kunt|kan|kun)\s+(u|je|jij)\s+(mij\s+|me\s+)?(laten\s+weten|vertellen|zeggen|uitleggen|bevestigen|sturen|"
    r"informeren|meedelen)\b|laat\s+(mij|me)\s+(aub\s+|a\.u\.b\.\s+|alstublieft\s+|alsjeblieft\s+)?(even\s+)?weten\b|"
    r"gelieve\s+(mij|me)\b|mag\s+ik\s+vragen\b|graag\s+(info|informatie|meer\s+informatie)\b)", re.I)
NOT_A_REQUEST = re.compile(r"\b(if|als|indien|when|wanneer|should)\b.{0,40}\b(need|require|have|nodig|heeft|hebt|"
                           r"vragen|questions?|anything|iets)\b|\bhesitate\b|\baarzel", re.I)
PLEASANTRY = re.compile(r"^(how are you( doing)?|how have you been|hope (you('re| are)|all is) (well|fine|doing well)|"
                        r"hoe gaat (het|'t)( met (je|u|jou))?|alles goed( met (je|u))?|is that ok(ay)?|"
                        r"are you well)\W*$", re.I)


def sentences(text: str) -> List[str]:
    """The sentences of a text: paragraphs joined across wrapped lines, list items and sentences apart."""
    out: List[str] = []
    for para in re.split(r"\n\s*\n", text):
        chunks: List[str] = []
        for line in para.split("\n"):
            if not line.strip():
                continue
            if BULLET.match(line) or not chunks or GREETING.match(line) or GREETING.match(chunks[-1]):
                chunks.append(BULLET.sub("", line).strip())
            else:
                chunks[-1] += " " + line.strip()
        for chunk in chunks:
            pieces = [p.strip() for p in _SPLIT.split(chunk) if p and p.strip()]
            merged: List[str] = []
            for p in pieces:
                if merged and ABBREVIATIONS.search(merged[-1]):
                    merged[-1] += " " + p
                else:
                    merged.append(p)
            out += [re.sub(r"\s+", " ", s)[:MAX_SENTENCE_CHARS] for s in merged]
    return out


def is_question(sentence: str) -> bool:
    s = sentence.strip()
    if PLEASANTRY.match(s):
        return False
    if QUESTION_END.search(s):
        return True
    return bool(REQUEST.match(s)) and not NOT_A_REQUEST.search(s)


def find_questions(text: str, max_questions: int = 10) -> Tuple[List[str], List[str], int]:
    """(questions, context, dropped): the questions in order (at most max_questions; `dropped` more were not
    taken), and the other sentences that may state facts (context for the assistant)."""
    questions: List[str] = []
    context: List[str] = []
    seen = set()
    dropped = 0
    for s in sentences(text):
        if GREETING.match(s) or PLEASANTRY.match(s.strip()):
            continue
        if is_question(s):
            key = re.sub(r"\W+", " ", s.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            if len(questions) < max_questions:
                questions.append(s)
            else:
                dropped += 1
        elif len(s.split()) >= 3 and len(context) < MAX_CONTEXT_SENTENCES and s not in context:
            context.append(s)
    return questions, context, dropped


# -- the mail ---------------------------------------------------------------------------------------------
@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int

    def describe(self) -> str:
        kb = max(1, round(self.size / 1024))
        return f"{self.filename} ({self.content_type}, {kb} KB)"


@dataclass
class ParsedMail:
    key: str  # the Message-ID, or a hash of the mail when it has none: what "processed" remembers
    message_id: Optional[str] = None
    from_name: str = ""
    from_addr: str = ""
    reply_to: str = ""
    to: List[str] = field(default_factory=list)
    subject: str = ""
    date: str = ""
    references: List[str] = field(default_factory=list)
    kind: str = "person"  # person | auto-reply | bounce | malformed
    reason: str = ""
    language: str = "en"
    body: str = ""  # the decoded body as sent (HTML converted to text)
    text: str = ""  # what the people wrote: without quoted history and signatures
    questions: List[str] = field(default_factory=list)
    context: List[str] = field(default_factory=list)
    dropped_questions: int = 0
    attachments: List[Attachment] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def _cp1252_fallback(err: UnicodeDecodeError):
    """Decoding error handler: bytes that are not UTF-8 are read as windows-1252 (mixed-up mail)."""
    return err.object[err.start:err.end].decode("windows-1252", "replace"), err.end


codecs.register_error("mobility-cp1252", _cp1252_fallback)


def _unsurrogate(value: str) -> str:
    """Text with undeclared 8-bit bytes (kept by the parser as surrogates) decoded as UTF-8, else windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "mobility-cp1252")


def clean_header(value: object) -> str:
    """One line of printable text: folding, control characters and line breaks removed."""
    text = _unsurrogate(str(value or ""))
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)).strip()


def _header(msg: Message, name: str) -> str:
    raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None) if hasattr(msg, "raw_items") else None
    if isinstance(raw, str) and any("\udc80" <= ch <= "\udcff" for ch in raw):
        # Undeclared 8-bit bytes: the policy would turn them into U+FFFD; read them as UTF-8 or windows-1252.
        text = _unsurrogate(raw)
        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - keep the text as it is
            pass
        return clean_header(text)
    try:
        return clean_header(msg.get(name, ""))
    except Exception:  # noqa: BLE001 - a header policy.default cannot parse: read it raw
        return clean_header(raw or "")


MSG_ID = re.compile(r"<[^<>\s]{1,250}>")

# windows-1252 is a superset of ISO-8859-1's printable characters; mailers label it ISO-8859-1 or ASCII.
CHARSET_ALIASES = {"iso-8859-1": "windows-1252", "latin-1": "windows-1252", "latin1": "windows-1252",
                   "us-ascii": "windows-1252", "ascii": "windows-1252", "iso8859-1": "windows-1252",
                   "iso_8859-1": "windows-1252", "cp1252": "windows-1252", "x-user-defined": "windows-1252"}


def part_text(part: Message) -> Tuple[str, str]:
    """(text, charset used) of a text part, whatever its declared charset and transfer encoding."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if payload.isascii():
        return payload.decode("ascii"), "us-ascii"
    declared = (part.get_content_charset() or "").lower().strip()
    charset = CHARSET_ALIASES.get(declared, declared) or "utf-8"
    for cs in dict.fromkeys([charset, "utf-8"]):
        try:
            return payload.decode(cs), cs
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "mobility-cp1252"), "utf-8 and windows-1252 mixed"


BOUNCE_FROM = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
BOUNCE_SUBJECT = re.compile(r"(undeliver(ed|able)|delivery (status notification|has failed|failure)|"
                            r"mail delivery (failed|failure|subsystem)|returned mail|failure notice|"
                            r"niet bezorgd|onbestelbaar|kan niet worden bezorgd|unzustellbar)", re.I)
AUTO_SUBJECT = re.compile(r"^\s*((automatic reply|automatisch antwoord|auto(matic)?[- ]?reply|autoreply|auto|"
                          r"automatische antwort)\s*:|(out of (the )?office|afwezig(heid)?|niet aanwezig|"
                          r"abwesend|abwesenheitsnotiz|absence du bureau|on (vacation|holiday|leave))\b)", re.I)
FATAL_DEFECTS = ("StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect", "NoBoundaryInMultipartDefect")


def _defects(msg: Message) -> List[MessageDefect]:
    found: List[MessageDefect] = []
    for part in msg.walk():
        found += list(getattr(part, "defects", []) or [])
    return found


def classify(msg: Message, from_addr: str, subject: str) -> Tuple[str, str]:
    """('bounce' | 'auto-reply' | 'person', reason)."""
    ctype = msg.get_content_type()
    if ctype == "multipart/report":
        return "bounce", f"{ctype}; report-type={msg.get_param('report-type') or '?'}"
    if BOUNCE_FROM.match(from_addr):
        return "bounce", f"from {from_addr}"
    return_path = _header(msg, "Return-Path")
    if return_path in ("<>", "") and BOUNCE_SUBJECT.search(subject) and "Return-Path" in msg:
        return "bounce", f"empty Return-Path and subject {subject!r}"
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return "auto-reply", f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Auto-Reply"):
        if name in msg:
            return "auto-reply", f"{name}: {_header(msg, name)}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        return "auto-reply", f"Precedence: {precedence}"
    if AUTO_SUBJECT.match(subject):
        return "auto-reply", f"subject {subject!r}"
    return "person", ""


def _body(msg: EmailMessage, mail: ParsedMail) -> Tuple[str, Optional[Message]]:
    plain = html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001 - odd structures: walk instead
        pass
    if plain is None and html is None:
        for part in msg.walk():
            if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
                if part.get_content_subtype() == "html":
                    html = html or part
                else:
                    plain = plain or part
    text = ""
    chosen = None
    if plain is not None:
        text, cs = part_text(plain)
        chosen = plain
        if cs not in ("utf-8", "us-ascii"):
            mail.notes.append(f"charset {cs}")
    if not text.strip() and html is not None:
        raw, cs = part_text(html)
        text = html_to_text(raw)
        chosen = html
        mail.notes.append("HTML only: converted to text" if plain is None else "empty text part: HTML converted")
        if cs not in ("utf-8", "us-ascii"):
            mail.notes.append(f"charset {cs}")
    return text, chosen


def _attachments(msg: Message, body: Optional[Message]) -> List[Attachment]:
    found = []
    for part in msg.walk():
        if part is body or part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
            continue  # the body or its alternative
        if ctype in ("message/delivery-status",):
            continue
        try:
            size = len(part.get_payload(decode=True) or b"")
        except Exception:  # noqa: BLE001
            size = 0
        found.append(Attachment(clean_header(filename) or "(unnamed)", ctype, size))
    return found


def mail_key(message_id: Optional[str], raw: bytes) -> str:
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def parse_mail(raw: bytes, max_questions: int = 10) -> ParsedMail:
    """Everything the run needs to know about one mail."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as e:  # noqa: BLE001 - the stdlib parser is lenient; this is a last resort
        return ParsedMail(key=mail_key(None, raw), kind="malformed", reason=f"cannot be parsed: {e}")
    mid = MSG_ID.search(_header(msg, "Message-ID"))
    message_id = mid.group(0) if mid else None
    name, addr = parseaddr(_header(msg, "From"))
    mail = ParsedMail(key=mail_key(message_id, raw), message_id=message_id, from_name=clean_header(name),
                      from_addr=clean_header(addr).lower() if "@" in addr else "", subject=_header(msg, "Subject"),
                      date=_header(msg, "Date"))
    reply_to = parseaddr(_header(msg, "Reply-To"))[1]
    mail.reply_to = clean_header(reply_to) if "@" in reply_to else ""
    mail.to = [clean_header(a) for _, a in getaddresses([_header(msg, "To"), _header(msg, "Delivered-To")]) if "@" in a]
    refs = MSG_ID.findall(_header(msg, "References"))
    irt = MSG_ID.findall(_header(msg, "In-Reply-To"))
    mail.references = refs or irt
    kind, reason = classify(msg, mail.from_addr, mail.subject)
    if kind != "person":
        mail.kind, mail.reason = kind, reason
        return mail
    fatal = [type(d).__name__ for d in _defects(msg) if type(d).__name__ in FATAL_DEFECTS]
    if fatal:
        mail.kind, mail.reason = "malformed", "broken MIME structure (" + ", ".join(dict.fromkeys(fatal)) + ")"
        return mail
    if not mail.from_addr:
        mail.kind, mail.reason = "malformed", "no sender address (From)"
        return mail
    body, body_part = _body(msg, mail)
    mail.attachments = _attachments(msg, body_part)
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    body = re.sub(r"[\u200b\u200c\u200d\ufeff]", "", body)
    if len(body) > MAX_TEXT_CHARS:
        mail.notes.append(f"very long mail: only its first {MAX_TEXT_CHARS:,} characters were read")
        body = body[:MAX_TEXT_CHARS]
    mail.body = body
    parts = [strip_signature(p) for p in strip_history(body, forward=bool(FORWARD_SUBJECT.match(mail.subject)))]
    if len(parts) > 1:
        mail.notes.append(f"forwarded message{'s' if len(parts) > 2 else ''} read too")
    mail.text = "\n\n".join(p for p in parts if p)
    mail.language = detect_language(mail.subject + "\n" + mail.text)
    mail.questions, mail.context, mail.dropped_questions = find_questions(mail.text, max_questions)
    return mail


def first_name(display_name: str) -> str:
    """'Lotte Peeters' -> 'Lotte'; 'Peeters, Lotte' -> 'Lotte'; '' or 'info' -> ''."""
    name = display_name.strip().strip('"')
    if "," in name:
        name = name.split(",", 1)[1].strip()
    first = name.split()[0] if name.split() else ""
    if not re.fullmatch(r"[^\W\d_][\w'’-]{1,30}", first) or first.lower() in {"info", "admin", "student", "noreply"}:
        return ""
    return first


