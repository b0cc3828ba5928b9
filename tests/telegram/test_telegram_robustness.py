"""When things go wrong: Telegram's flood limit (429 retry_after), network errors, the assistant down or slow,
replies longer than a Telegram message."""
from __future__ import annotations

from bot.telegram import MAX_MESSAGE, split_text, utf16_len
from tg_helpers import CHAT, closed_port_url, run, running, until


def echo(sender, message):
    return [{"text": f"echo: {message}"}]


def test_a_429_is_waited_out_as_telegram_says_and_the_message_still_arrives(api, fake_assistant, make_bot):
    assistant = fake_assistant(echo)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
            api.send_text(CHAT, "hello")
            await until(lambda: api.sent(CHAT), what="the retried message")
        first, second = api.attempts_of("sendMessage")
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 1.0  # it waited retry_after seconds
        assert api.texts(CHAT) == ["echo: hello"]  # once

    run(scenario())


def test_bot_api_network_errors_are_retried(api, fake_assistant, make_bot):
    assistant = fake_assistant(echo)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.fail("sendMessage", 502, "Bad Gateway", times=2)
            api.send_text(CHAT, "hello")
            await until(lambda: api.sent(CHAT), what="the retried message")
        assert [c.status for c in api.attempts_of("sendMessage")] == [502, 502, 200]

    run(scenario())


def test_the_assistant_down_means_try_again_in_a_moment_not_silence(api, make_bot):
    async def scenario():
        async with running(make_bot(closed_port_url())):
            api.send_text(CHAT, "How much does KdG cost?")
            await until(lambda: api.sent(CHAT), what="an answer")
            api.send_text(CHAT, "/language nl")
            api.send_text(CHAT, "Hoeveel kost KdG?")
            await until(lambda: len(api.sent(CHAT)) == 3)
            api.send_text(CHAT, "/start")
            await until(lambda: len(api.sent(CHAT)) == 5)
        texts = api.texts(CHAT)
        assert texts[0] == "The assistant isn't answering right now. Please try again in a moment."
        assert texts[2] == "De assistent antwoordt nu niet. Probeer het zo meteen opnieuw."
        assert "Probeer het zo meteen opnieuw" in texts[4] and "KdG" in texts[4]  # /start still says what it does

    run(scenario())


def test_a_slow_assistant_means_try_again_in_a_moment(api, fake_assistant, make_bot):
    def slow(sender, message):
        return 3.0 if message == "slow" else echo(sender, message)

    assistant = fake_assistant(slow)

    async def scenario():
        async with running(make_bot(assistant.url, assistant_timeout=0.5)):
            api.send_text(CHAT, "slow")
            await until(lambda: api.sent(CHAT), timeout=3, what="an answer")
            api.send_text(CHAT, "fast")
            await until(lambda: len(api.sent(CHAT)) == 2)
        assert api.texts(CHAT) == ["The assistant isn't answering right now. Please try again in a moment.",
                                   "echo: fast"]

    run(scenario())


def test_an_assistant_error_means_try_again_in_a_moment(api, fake_assistant, make_bot):
    assistant = fake_assistant(lambda sender, message: 500)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "hello")
            await until(lambda: api.sent(CHAT))
        assert "try again in a moment" in api.texts(CHAT)[0]

    run(scenario())


def test_a_long_reply_is_split_at_line_boundaries_with_the_keyboard_on_the_last_part(api, fake_assistant, make_bot):
    lines = [f"Line {i:03d}: " + " ".join(["fee details"] * 7) for i in range(120)]  # about 11,000 characters
    long_text = "\n".join(lines)

    def reply(sender, message):
        return [{"text": long_text, "buttons": [{"title": "More", "payload": "/more"}]}]

    assistant = fake_assistant(reply)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "tell me everything")
            await until(lambda: len(api.sent(CHAT)) == 3, what="three messages")
        parts = api.sent(CHAT)
        assert all(len(p["text"]) <= MAX_MESSAGE for p in parts)
        assert "\n".join(p["text"] for p in parts) == long_text  # nothing lost, cut between lines
        assert all(p["text"].startswith("Line ") and p["text"].endswith("fee details") for p in parts)
        assert [bool(p.get("reply_markup")) for p in parts] == [False, False, True]

    run(scenario())


def test_split_text_units():
    assert split_text("short") == ["short"]
    assert split_text("a" * 10 + "\n" + "b" * 10, limit=15) == ["a" * 10, "b" * 10]
    assert split_text(" ".join(["word"] * 10), limit=12) == ["word word", "word word", "word word", "word word", "word word"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]  # no break at all
    emoji = "😀" * 3000  # two UTF-16 units each, as Telegram counts
    parts = split_text(emoji)
    assert [utf16_len(p) for p in parts] == [4096, 1904] and "".join(parts) == emoji
    assert split_text("a" * 4096) == ["a" * 4096]
    assert split_text("a\n\n\n" + "b" * 10, limit=5) == ["a", "b" * 5, "b" * 5]  # blank parts are dropped
