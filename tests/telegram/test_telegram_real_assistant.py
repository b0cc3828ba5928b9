"""The whole way: Telegram (the Bot API stand-in) -> the bot -> the real assistant (Rasa, the action server, the
knowledge base) -> back to Telegram."""
from __future__ import annotations

import pytest

from tg_helpers import CHAT, run, running, until

pytestmark = pytest.mark.slow


def test_a_fee_question_through_telegram_gets_the_real_answer(api, make_bot, assistant):
    bot = make_bot(assistant.webhook, assistant_timeout=120.0)

    async def scenario():
        async with running(bot):
            api.send_text(CHAT, "How much does a Belgian student pay for 60 credits at KdG?")
            await until(lambda: any("1,181.40" in t for t in api.texts(CHAT)), timeout=150,
                        what=lambda: f"the fee in a Telegram message; sent: {api.texts(CHAT)}")
        text = "\n".join(api.texts(CHAT))
        assert "The assistant isn't answering" not in text
        assert all(len(t) <= 4096 for t in api.texts(CHAT))

    run(scenario(), timeout=200)
