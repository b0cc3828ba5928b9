"""The website chat widget (bot/widget.py, bot/static) in real headless Chromium against the running assistant:
questions and quick replies, a conversation that survives a reload, keyboard-only use, hostile text kept inert,
links, Dutch, a 360 px screen, contrast, and a clear error with Retry when the assistant is unreachable or slow.

Chromium is Debian's (/usr/bin/chromium: `bash scripts/system-deps.sh`). Every test saves a screenshot in
test-artifacts/widget/."""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List

import pytest

from bot import widget

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "widget"
CHROMIUM = "/usr/bin/chromium"
ANSWER_TIMEOUT = 30_000  # ms: an answer from the assistant
FEE_QUESTION = "How much does a Belgian student pay for 60 credits at KdG?"
SHADOW = "document.getElementById('mobility-widget').shadowRoot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- servers ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def widget_server(assistant):
    server = widget.start(free_port(), rasa_url=f"http://127.0.0.1:{assistant.port}")
    yield server
    server.shutdown()


class HostPages:
    """Someone else's website (another origin, no CSP) that embeds the widget with its one script tag."""

    def __init__(self):
        self.pages: Dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture(scope="module")
def host_pages():
    pages = HostPages()
    yield pages
    pages.httpd.shutdown()
    pages.httpd.server_close()


def host_page(widget_url: str, attributes: str = "", before: str = "", lang: str = "en") -> str:
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>A faculty website</title></head>
<body><h1>Faculty of Arts</h1><p>Opening hours: Monday to Friday.</p>{before}
<script src="{widget_url}widget.js" {attributes} defer></script></body></html>"""


# -- the browser -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/system-deps.sh` (make system-deps)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


CSP_WATCH = """document.addEventListener('securitypolicyviolation',
  e => (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.fixture
def new_page(browser, request):
    """new_page(url, **context options): a page in a fresh browser profile.

    Uncaught JavaScript errors and CSP violations fail the test."""
    contexts, errors = [], []

    def make(url: str, **options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
        context.set_default_timeout(ANSWER_TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(CSP_WATCH)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.goto(url)
        page.wait_for_function(f"() => {SHADOW} && !{SHADOW}.querySelector('.frame').hidden")
        return page

    yield make
    for context in contexts:
        for page in context.pages:
            violations = page.evaluate("window.__cspViolations || []")
            errors.extend(f"CSP violation: {v}" for v in violations)
        context.close()
    assert not errors, errors


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effect on whatever the last click left the pointer over
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def expect(target):
    from playwright.sync_api import expect as _expect

    return _expect(target)


# -- what the tests do with the widget --------------------------------------------------------------------
def launcher(page):
    return page.locator(".launcher")


def panel(page):
    return page.locator(".panel")


def bot_messages(page):
    return page.locator(".msg.bot")


def user_messages(page):
    return page.locator(".msg.user")


def open_chat(page, greeting: bool = True) -> None:
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    if greeting:
        expect(bot_messages(page).first).to_contain_text("What would you like to know?")


def ask(page, text: str) -> None:
    count = bot_messages(page).count()
    page.locator(".input").fill(text)
    page.locator(".input").press("Enter")
    expect(bot_messages(page)).not_to_have_count(count)  # an answer arrived
    expect(page.locator(".typing")).to_be_hidden()


def last_answer(page) -> str:
    return bot_messages(page).last.text_content()


def active(page) -> Dict[str, str]:
    """The element that has the focus inside the widget: its class, text and accessible label."""
    return page.evaluate(f"""() => {{ const a = {SHADOW}.activeElement;
        return a ? {{cls: a.className, text: a.textContent.trim(), label: a.getAttribute('aria-label') || ''}}
                 : null; }}""")


def widget_webhook_bodies(page) -> List[dict]:
    bodies: List[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data))
            if r.url.endswith("/webhooks/rest/webhook") and r.method == "POST" else None)
    return bodies


CONTRAST = """([selector, pseudo]) => {
  const el = %s.querySelector(selector);
  if (!el) return null;
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number);
                       return {rgb: m.slice(0, 3), a: m.length > 3 ? m[3] : 1}; };
  const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
  const lum = ([r, g, b]) => 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  let bg = null;
  for (let n = el; n; n = n.parentElement || (n.getRootNode() && n.getRootNode().host)) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.a > 0.99) { bg = c.rgb; break; }
  }
  bg = bg || [255, 255, 255];
  const fg = parse(getComputedStyle(el, pseudo || null).color).rgb;
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}""" % SHADOW


def contrast(page, selector: str, pseudo: str = "") -> float:
    ratio = page.evaluate(CONTRAST, [selector, pseudo])
    assert ratio is not None, f"{selector} is not in the widget"
    return ratio


# -- the server -------------------------------------------------------------------------------------------
def _get(port: int, path: str, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)  # sent as is: no client-side normalisation of ".."
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), body


def test_the_widget_server_serves_the_page_and_its_files_with_a_strict_policy_and_nothing_else():
    with widget.start(0, rasa_url="http://localhost:5005") as server:
        status, headers, body = _get(server.port, "/")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "connect-src http://localhost:5005/webhooks/rest/webhook" in csp
        assert "unsafe" not in csp and "*" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert b'<html lang="en">' in body and b'data-server-url="http://localhost:5005"' in body
        assert b"<script>" not in body and b"style=" not in body  # nothing inline: the policy allows none
        status, _, body = _get(server.port, "/?lang=nl")
        assert status == 200 and b'<html lang="nl">' in body

        for path, content_type in [("/widget.js", "text/javascript; charset=utf-8"),
                                   ("/widget.css", "text/css; charset=utf-8"), ("/favicon.svg", "image/svg+xml")]:
            status, headers, body = _get(server.port, path)
            assert (status, headers["Content-Type"]) == (200, content_type), path
            assert headers["X-Content-Type-Options"] == "nosniff" and body
        status, headers, body = _get(server.port, "/widget.js", "HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000

        for path in ["/../pyproject.toml", "/../../etc/passwd", "/..%2f..%2fpyproject.toml", "/%2e%2e/widget.py",
                     "/static/widget.js", "//etc/passwd", "/widget.py", "/../widget.py", "/bot/widget.py",
                     "/widget.js/..", "/WIDGET.JS", "/widget.js%00.py", "/.%2e/runner.py", "/index.nl.html",
                     "/static/", "/%5c..%5cwidget.py"]:
            status, _, body = _get(server.port, path)
            assert status == 404, path
            assert b"import" not in body and b"root:" not in body
        assert _get(server.port, "/", "POST")[0] == 405

    for bad in ["javascript:alert(1)", "http://x\" onload=\"alert(1)", "http://a; script-src *", "localhost:5005"]:
        with pytest.raises(ValueError):
            widget.start(0, rasa_url=bad)


def test_the_widget_script_never_assigns_markup():
    source = (ROOT / "bot" / "static" / "widget.js").read_text()
    for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                "createContextualFragment", "DOMParser"):
        assert api not in source, api


# -- conversations -----------------------------------------------------------------------------------------
def test_a_fee_question_gets_its_answer_with_line_breaks(new_page, widget_server):
    page = new_page(widget_server.url)
    expect(launcher(page)).to_have_text("Ask a question")
    expect(panel(page)).to_be_hidden()
    open_chat(page)  # the greeting comes from the assistant, with what it can do
    expect(page.locator(".replies .reply", has_text="Tuition fees")).to_be_visible()
    expect(page.get_by_role("log", name="Conversation")).to_have_attribute("aria-live", "polite")  # announced
    assert page.evaluate(f"document.activeElement.id === 'mobility-widget' && {SHADOW}.activeElement.id === 'mw-input'")

    ask(page, FEE_QUESTION)
    expect(user_messages(page).last).to_have_text("You: " + FEE_QUESTION)
    answer = bot_messages(page).last
    expect(answer).to_contain_text("1,181.40")
    expect(answer).to_contain_text("kdg-tuition-fees-2026-27.txt")
    text = answer.locator(".text")
    assert text.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    assert text.evaluate("e => e.getClientRects().length && e.textContent.split('\\n').length") >= 3
    assert len(text.inner_text().splitlines()) >= 3  # shown on separate lines
    assert page.locator(".replies").count() == 0  # the greeting's quick replies went with the question
    shot(page, "fee-answer")


def test_a_quick_reply_sends_its_payload_and_shows_its_title(new_page, widget_server):
    page = new_page(widget_server.url)
    bodies = widget_webhook_bodies(page)
    open_chat(page)
    ask(page, "What will I pay at KdG?")
    belgian = page.get_by_role("button", name="Belgian", exact=True)
    expect(belgian).to_be_visible()
    shot(page, "quick-replies")
    before = bot_messages(page).count()
    belgian.click()
    expect(user_messages(page).last).to_have_text("You: Belgian")
    expect(bot_messages(page)).to_have_count(before + 1)
    assert re.search(r"€\s?\d[\d,]*\.\d\d", last_answer(page)), last_answer(page)
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    assert bodies[-1]["message"] == '/inform{"nationality": "BE"}'
    assert bodies[0]["message"] == "/greet" and len({b["sender"] for b in bodies}) == 1
    expect(page.get_by_role("button", name="Belgian", exact=True)).to_have_count(0)  # the old choices are gone
    expect(page.get_by_role("button", name="30 credits")).to_be_visible()  # the new answer's choices
    shot(page, "quick-reply-answer")


def test_talk_to_a_person_is_always_one_click_away(new_page, widget_server):
    page = new_page(widget_server.url)
    bodies = widget_webhook_bodies(page)
    open_chat(page)
    before = bot_messages(page).count()
    page.locator(".footer").get_by_role("button", name="Talk to a person").click()
    expect(user_messages(page).last).to_have_text("You: Talk to a person")
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).last).to_contain_text("in touch with a person")
    assert bodies[-1]["message"] == "/ask_human"
    mail = bot_messages(page).last.locator("a[href^='mailto:']").first
    expect(mail).to_have_attribute("href", re.compile(r"^mailto:[\w.]+@[\w.]+\.be$"))
    expect(mail).to_have_attribute("target", "_blank")
    expect(mail).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    shot(page, "talk-to-a-person")


def test_the_conversation_survives_a_reload_and_a_new_conversation_starts_afresh(new_page, widget_server):
    page = new_page(widget_server.url)
    open_chat(page)
    ask(page, FEE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    sender = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':sender'))[1]")
    assert sender.startswith("web-")

    page.reload()
    page.wait_for_function(f"() => {SHADOW} && !{SHADOW}.querySelector('.frame').hidden")
    expect(panel(page)).to_be_visible()  # it was open: it stays open
    expect(user_messages(page)).to_have_count(1)
    expect(user_messages(page).first).to_contain_text(FEE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    assert page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':sender'))[1]") == sender
    ask(page, "and for 20 credits?")  # the same conversation on the assistant's side too
    expect(bot_messages(page).last).to_contain_text("597.40")
    shot(page, "after-reload")

    page.get_by_role("button", name="New conversation").click()
    expect(user_messages(page)).to_have_count(0)
    expect(bot_messages(page)).to_have_count(1)  # the new greeting
    expect(bot_messages(page).first).to_contain_text("What would you like to know?")
    expect(page.locator(".msg", has_text="1,181.40")).to_have_count(0)
    new_sender = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':sender'))[1]")
    assert new_sender != sender and new_sender.startswith("web-")
    page.reload()
    page.wait_for_function(f"() => {SHADOW} && !{SHADOW}.querySelector('.frame').hidden")
    expect(page.locator(".msg", has_text="1,181.40")).to_have_count(0)
    expect(bot_messages(page)).to_have_count(1)
    shot(page, "new-conversation")


def test_everything_works_with_the_keyboard_alone(new_page, widget_server):
    page = new_page(widget_server.url)
    for _ in range(20):  # Tab through the page to the launcher
        page.keyboard.press("Tab")
        if (active(page) or {}).get("cls") == "launcher":
            break
    assert (active(page) or {}).get("cls") == "launcher", "Tab never reaches the chat button"
    outline = launcher(page).evaluate(
        "e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]")
    assert outline[0] != "none" and outline[1] >= 2, f"no visible focus: {outline}"
    shot(page, "keyboard-launcher-focus")

    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    assert active(page)["cls"] == "input"
    expect(page.locator(".replies .reply").last).to_have_text("Talk to a person")

    page.keyboard.press("Shift+Tab")  # back from the input: the last quick reply
    assert active(page)["text"] == "Talk to a person"
    focus_ring = page.evaluate(f"getComputedStyle({SHADOW}.activeElement).outlineStyle")
    assert focus_ring != "none"
    shot(page, "keyboard-quick-reply-focus")
    before = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).last).to_contain_text("in touch with a person")
    assert active(page)["cls"] == "input"  # the quick replies went: the focus did not get lost

    page.keyboard.type(FEE_QUESTION)
    page.keyboard.press("Enter")
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    assert active(page)["cls"] == "input"

    order = []
    for _ in range(2):
        page.keyboard.press("Tab")
        order.append(active(page)["label"] or active(page)["text"])
    assert order == ["Send", "Talk to a person"], order

    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert active(page)["cls"] == "launcher"  # the focus goes back where it came from
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    for _ in range(30):  # back through the conversation to the header's buttons
        page.keyboard.press("Shift+Tab")
        if active(page)["label"] == "Close the chat":
            break
    assert active(page)["label"] == "Close the chat"
    page.keyboard.press("Shift+Tab")
    assert active(page)["label"] == "New conversation"
    page.keyboard.press("Enter")  # starts afresh: the history goes, the greeting comes, the focus is in the input
    expect(user_messages(page)).to_have_count(0)
    expect(bot_messages(page)).to_have_count(1)
    expect(bot_messages(page).first).to_contain_text("What would you like to know?")
    assert active(page)["cls"] == "input"
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if active(page)["label"] == "Close the chat":
            break
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_hidden()
    assert active(page)["cls"] == "launcher"


# -- hostile text and links --------------------------------------------------------------------------------
XSS = ["<img src=x onerror=window.__xss=1>", "<script>window.__xss=1</script>",
       "[click me](javascript:window.__xss=1) javascript:window.__xss=1"]


def test_hostile_text_typed_by_the_user_stays_inert_text(new_page, widget_server):
    page = new_page(widget_server.url)
    open_chat(page)
    for payload in XSS:
        ask(page, payload)
        expect(user_messages(page).last).to_have_text("You: " + payload)  # shown as typed
    page.reload()  # and again from the stored history
    page.wait_for_function(f"() => {SHADOW} && !{SHADOW}.querySelector('.frame').hidden")
    expect(user_messages(page)).to_have_count(len(XSS))
    for i, payload in enumerate(XSS):
        expect(user_messages(page).nth(i)).to_have_text("You: " + payload)
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate(f"{SHADOW}.querySelectorAll('.log img, .log script, .log a[href^=javascript]').length") == 0
    assert page.evaluate("document.querySelectorAll('body img, body > script:not([src])').length") == 0
    shot(page, "hostile-user-text")


HOSTILE_ANSWER = [
    {"text": "<img src=x onerror=window.__xss=1> <script>window.__xss=1</script> <b>not bold</b>\n"
             "• Fees: https://www.kdg.be/en/tuition-fees. "
             "Questions: financieelwelzijn@kdg.be or mailto:io@hogent.be.\n"
             "• [the page](https://example.org/a_(b)) [evil](javascript:window.__xss=1) javascript:window.__xss=1\n"
             "• data:text/html,<script>window.__xss=1</script> ftp://files.example.org/x vbscript:msgbox(1) "
             "[data](data:text/html,hi) www.kask.be (see http://example.org/path?q=1&r=2)"},
    {"text": "Choose:", "buttons": [{"title": "<img src=x onerror=window.__xss=1>", "payload": "/greet"},
                                    {"title": "Source page", "payload": "https://www.kdg.be/en"}]},
    {"image": "javascript:window.__xss=1"},
]


def test_only_http_https_and_mailto_links_become_anchors_and_bot_markup_stays_text(new_page, widget_server):
    page = new_page(widget_server.url)

    def hostile(route):
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers={"Access-Control-Allow-Origin": "*",
                                               "Access-Control-Allow-Headers": "Content-Type",
                                               "Access-Control-Allow-Methods": "POST"})
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(HOSTILE_ANSWER),
                          headers={"Access-Control-Allow-Origin": "*"})

    page.route("**/webhooks/rest/webhook", hostile)
    open_chat(page, greeting=False)
    expect(bot_messages(page)).to_have_count(2)
    first = bot_messages(page).first
    expect(first).to_contain_text("<img src=x onerror=window.__xss=1> <script>window.__xss=1</script> <b>not bold</b>")
    expect(first).to_contain_text("[evil](javascript:window.__xss=1) javascript:window.__xss=1")
    expect(first).to_contain_text("data:text/html,<script>window.__xss=1</script> ftp://files.example.org/x")

    links = page.evaluate(f"""[...{SHADOW}.querySelectorAll('.log a')].map(a => ({{
        href: a.getAttribute('href'), text: a.firstChild.textContent, target: a.target, rel: a.rel}}))""")
    assert [(l["href"], l["text"]) for l in links] == [
        ("https://www.kdg.be/en/tuition-fees", "https://www.kdg.be/en/tuition-fees"),  # the full stop is the sentence's
        ("mailto:financieelwelzijn@kdg.be", "financieelwelzijn@kdg.be"),
        ("mailto:io@hogent.be", "mailto:io@hogent.be"),
        ("https://example.org/a_(b)", "the page"),
        ("https://www.kask.be/", "www.kask.be"),
        ("http://example.org/path?q=1&r=2", "http://example.org/path?q=1&r=2"),  # the ")" is the sentence's
        ("https://www.kdg.be/en", "Source page"),  # a button whose payload is a web address is a link
    ]
    assert all(l["target"] == "_blank" and "noopener" in l["rel"].split() for l in links)
    assert page.evaluate(f"{SHADOW}.querySelectorAll('img, script, b, iframe, object').length") == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0

    # the hostile button title is a title, shown as text when chosen
    page.get_by_role("button", name="<img src=x onerror=window.__xss=1>").click()
    expect(user_messages(page).last).to_have_text("You: <img src=x onerror=window.__xss=1>")
    expect(bot_messages(page)).to_have_count(4)
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate(f"{SHADOW}.querySelectorAll('img, script').length") == 0
    bot_messages(page).first.scroll_into_view_if_needed()
    shot(page, "links-and-hostile-bot-text")


# -- languages, other websites, small screens, contrast ------------------------------------------------------
def test_the_interface_is_dutch_on_a_dutch_page(new_page, widget_server):
    page = new_page(widget_server.url + "?lang=nl")
    expect(launcher(page)).to_have_text("Stel een vraag")
    launcher(page).click()
    expect(page.locator(".title")).to_have_text("Assistent studeren in het buitenland")
    expect(page.locator(".input")).to_have_attribute("placeholder", "Typ je vraag…")
    expect(page.get_by_role("button", name="Nieuw gesprek")).to_be_visible()
    expect(page.get_by_role("button", name="Met een medewerker praten")).to_be_visible()
    expect(page.get_by_role("button", name="De chat sluiten")).to_be_visible()
    expect(page.get_by_role("button", name="Versturen")).to_be_visible()
    expect(page.get_by_role("log", name="Gesprek")).to_be_attached()
    expect(bot_messages(page).first).to_contain_text("What would you like to know?")  # the assistant speaks English
    expect(bot_messages(page).first).to_have_attribute("lang", "en")
    expect(page.locator(".frame")).to_have_attribute("lang", "nl")
    page.get_by_role("button", name="Met een medewerker praten").click()
    expect(user_messages(page).last).to_have_text("Jij: Met een medewerker praten")
    expect(bot_messages(page).last).to_contain_text("in touch with a person")
    assert page.locator(".footer").bounding_box()["height"] <= 48  # one row
    shot(page, "dutch")


def test_one_script_tag_embeds_it_in_another_website_with_its_settings(new_page, widget_server, host_pages, assistant):
    # no CSP here: the settings object is the host page's own inline script
    config = ('<script>window.MobilityWidget = {serverUrl: "http://127.0.0.1:%d", language: "nl", '
              'title: "Vragen aan KASK", colours: {primary: "#7a1f5c"}};</script>' % assistant.port)
    url = host_pages.add("/faculty.html", host_page(widget_server.url, before=config, lang="en"))
    page = new_page(url)
    expect(launcher(page)).to_have_text("Stel een vraag")  # the setting wins over <html lang="en">
    launcher(page).click()
    expect(page.locator(".title")).to_have_text("Vragen aan KASK")
    assert page.locator(".header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 92)"
    assert contrast(page, ".title") >= 4.5
    expect(bot_messages(page).first).to_contain_text("What would you like to know?")
    ask(page, FEE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    assert page.evaluate("typeof window.MobilityWidget.open") == "function"
    shot(page, "embedded-with-settings")

    # data- attributes alone, the language from the page
    url = host_pages.add("/nl.html", host_page(widget_server.url, lang="nl-BE",
                                               attributes=f'data-server-url="http://127.0.0.1:{assistant.port}"'))
    page = new_page(url)
    expect(launcher(page)).to_have_text("Stel een vraag")


def test_it_fits_a_360_pixel_wide_phone(new_page, widget_server):
    page = new_page(widget_server.url, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways_scroll)
    box = launcher(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    shot(page, "phone-closed")
    open_chat(page)
    ask(page, FEE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    ask(page, "I want to talk to a person")
    box = panel(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["width"] >= 350
    assert page.evaluate(no_sideways_scroll)
    assert page.locator(".scroller").evaluate("e => e.scrollWidth <= e.clientWidth")
    for selector in (".msg", ".reply", ".footer button", ".input", ".send"):
        for el in page.locator(selector).all():
            b = el.bounding_box()
            if b:
                assert b["x"] >= 0 and b["x"] + b["width"] <= 360, selector
    for selector in (".send", ".footer button", ".icon-button"):
        b = page.locator(selector).first.bounding_box()
        assert b["height"] >= 36 and b["width"] >= 36, f"{selector} is too small to tap"
    assert page.locator(".footer").bounding_box()["height"] <= 48  # one row
    shot(page, "phone-open")


def test_text_and_controls_meet_wcag_aa_contrast(new_page, widget_server):
    page = new_page(widget_server.url)
    assert contrast(page, ".launcher") >= 4.5
    open_chat(page)
    assert contrast(page, ".reply") >= 4.5  # the greeting's quick replies
    ask(page, FEE_QUESTION)
    page.locator(".footer").get_by_role("button", name="Talk to a person").click()  # an answer with a link
    expect(page.locator(".msg.bot a")).not_to_have_count(0)
    for selector, pseudo in [(".title", ""), (".subtitle", ""), (".msg.bot .text", ""), (".msg.user .text", ""),
                             (".msg.bot a", ""), (".text-button", ""), (".input", "::placeholder"), (".input", "")]:
        assert contrast(page, selector, pseudo) >= 4.5, selector
    shot(page, "contrast")


# -- failures: never a silent spinner ----------------------------------------------------------------------------
def test_an_unreachable_assistant_gives_a_clear_message_and_retry(new_page):
    closed = free_port()  # nothing listens there
    with widget.start(0, rasa_url=f"http://127.0.0.1:{closed}") as server:
        page = new_page(server.url)
        launcher(page).click()
        error = page.get_by_role("alert")
        expect(error).to_contain_text("The assistant can’t be reached right now")
        retry = error.get_by_role("button", name="Retry")
        expect(retry).to_be_visible()
        expect(page.locator(".typing")).to_be_hidden()
        assert contrast(page, ".msg.error .text") >= 4.5 and contrast(page, ".retry") >= 4.5
        shot(page, "unreachable")
        retry.click()
        expect(page.get_by_role("alert")).to_have_count(1)
        expect(page.get_by_role("alert")).to_contain_text("can’t be reached")
        expect(page.locator(".typing")).to_be_hidden()

        page.locator(".input").fill("Is anyone there?")
        page.locator(".input").press("Enter")
        expect(user_messages(page)).to_have_count(1)
        expect(page.get_by_role("alert").get_by_role("button", name="Retry")).to_be_visible()
        page.get_by_role("alert").get_by_role("button", name="Retry").click()
        expect(page.get_by_role("alert")).to_have_count(1)
        expect(user_messages(page)).to_have_count(1)  # Retry resends; it does not repeat the question


def test_retry_resends_the_question_once_the_assistant_is_back(new_page, widget_server):
    page = new_page(widget_server.url)
    bodies = widget_webhook_bodies(page)
    open_chat(page)
    page.route("**/webhooks/rest/webhook", lambda route: route.abort("connectionrefused"))
    page.locator(".input").fill(FEE_QUESTION)
    page.locator(".input").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("can’t be reached")
    page.unroute("**/webhooks/rest/webhook")
    page.get_by_role("button", name="Retry").click()
    expect(bot_messages(page).last).to_contain_text("1,181.40")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(user_messages(page)).to_have_count(1)
    assert [b["message"] for b in bodies].count(FEE_QUESTION) == 2
    shot(page, "retry-succeeded")


def test_a_slow_assistant_times_out_with_a_message_and_retry(new_page, widget_server, host_pages):
    with socket.socket() as black_hole:  # accepts connections, never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        port = black_hole.getsockname()[1]
        url = host_pages.add("/slow.html", host_page(
            widget_server.url, attributes=f'data-server-url="http://127.0.0.1:{port}" data-timeout="1500"'))
        page = new_page(url)
        launcher(page).click()
        expect(page.locator(".typing")).to_be_visible()  # waiting shows it is waiting
        error = page.get_by_role("alert")
        expect(error).to_contain_text("taking too long", timeout=10_000)
        expect(error.get_by_role("button", name="Retry")).to_be_visible()
        expect(page.locator(".typing")).to_be_hidden()
        shot(page, "timeout")
