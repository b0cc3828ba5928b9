"""The assistant end to end, from outside, as a user meets it: the public acceptance conversations, context that
survives a restart, hostile input, and what is reachable from outside localhost."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import pytest

from conftest_helpers import ACCEPTANCE, reply_text

pytestmark = pytest.mark.slow


def test_every_public_acceptance_conversation_passes(assistant):
    proc = subprocess.run([sys.executable, str(ACCEPTANCE / "check_conversations.py"), assistant.webhook],
                          capture_output=True, text=True, timeout=900)
    last = proc.stdout.strip().splitlines()[-1]
    m = re.match(r"answers: (\d+)/(\d+) passed", last)
    assert m, proc.stdout + proc.stderr
    assert m.group(1) == m.group(2), proc.stdout


def test_a_fee_question_is_answered_with_the_breakdown_year_and_source(assistant):
    text = reply_text(assistant.say("e2e-fee", "how much do I pay at KdG as a Belgian student for 60 credits?"))
    assert "1,181.40" in text and "305.40" in text and "14.60" in text
    assert "2026-27" in text and "kdg-tuition-fees-2026-27.txt" in text


def test_the_conversation_survives_a_restart_of_the_assistant(assistant):
    first = reply_text(assistant.say("e2e-restart", "I'm Belgian without a grant, what is the KdG fee for 60 credits?"))
    assert "1,181.40" in first
    assistant.stop()
    assistant.start()
    text = reply_text(assistant.say("e2e-restart", "and for 20 credits?"))
    assert "597.40" in text  # 305.40 + 20 × 14.60: the nationality came from before the restart


@pytest.mark.parametrize("message", ["<img src=x onerror=alert(1)> fees?", "<script>alert(1)</script>",
                                     "[click](javascript:alert(1))"])
def test_html_in_a_message_is_never_echoed_back(assistant, message):
    text = reply_text(assistant.say("e2e-html", message))
    assert text.strip()
    for needle in ("<img", "<script", "javascript:", "onerror"):
        assert needle not in text.lower()


def test_an_oversized_message_gets_an_answer_not_an_error(assistant):
    messages = assistant.say("e2e-long", "I would like to know more about studying abroad and the grants. " * 80)
    assert reply_text(messages).strip()


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400), (b"[]", 400), (b'{"sender": "x"}', 400), (b'{"message": "hi"}', 400),
    (b'{"sender": "x", "message": 42}', 400), (b'{"sender": {"a": 1}, "message": "hi"}', 400),
    (json.dumps({"sender": "x", "message": "a" * 20_000}).encode(), 413)])
def test_malformed_requests_get_a_clear_client_error_and_the_server_keeps_answering(assistant, body, status):
    got, text = assistant.post("/webhooks/rest/webhook", body)
    assert got == status, text
    assert reply_text(assistant.say("e2e-after-bad", "hello"))


def test_out_of_scope_questions_get_no_figures(assistant):
    text = reply_text(assistant.say("e2e-oos", "what's the weather like in Ghent tomorrow?"))
    assert not re.search(r"€\s?\d", text)


def test_the_rasa_http_api_is_off_without_a_token(assistant):
    status, _ = assistant.post("/model/parse", json.dumps({"text": "hello"}).encode())
    assert status in (403, 404, 405)
    status, _ = assistant.post("/conversations/x/tracker/events", b"[]")
    assert status in (403, 404, 405)


def _outside_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_the_action_server_and_rasa_listen_on_localhost_only(assistant):
    addr = _outside_address()
    if addr is None:
        pytest.skip("this machine has no address besides loopback")
    for port in (assistant.action_port, assistant.port):
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((addr, port)) != 0, f"port {port} answers on {addr}"


def test_a_handed_off_conversation_can_be_read_by_staff_with_its_reference(assistant):
    from bot.conversations import transcript

    assistant.say("e2e-staff", "What do non-EU students pay per year at KdG?")
    text = reply_text(assistant.say("e2e-staff", "I'd like to talk to a person please"))
    assert "e2e-staff" in text
    turns = transcript("e2e-staff", f"sqlite:///{assistant.var / 'tracker.db'}")
    said = [t["text"] for t in turns if t["who"] == "user"]
    assert said == ["What do non-EU students pay per year at KdG?", "I'd like to talk to a person please"]
    assert any("9,020.00" in t["text"] for t in turns if t["who"] == "assistant")
