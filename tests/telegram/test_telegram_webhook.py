"""Webhook mode: the bot registers its URL and secret token with Telegram, and its endpoint takes only requests
that carry that secret in X-Telegram-Bot-Api-Secret-Token."""
from __future__ import annotations

import json
import time

import httpx

from tg_helpers import CHAT, free_port, run, running, until

SECRET = "s3cret_token-for-tests"


def update(update_id: int, text: str) -> dict:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": int(time.time()), "text": text,
                        "chat": {"id": CHAT, "type": "private", "first_name": "Student"},
                        "from": {"id": CHAT, "is_bot": False, "first_name": "Student", "language_code": "en"}}}


def test_the_webhook_refuses_a_wrong_or_missing_secret_and_takes_the_right_one(api, fake_assistant, make_bot):
    assistant = fake_assistant(lambda sender, message: [{"text": f"echo: {message}"}])
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    bot = make_bot(assistant.url, webhook_url=url, webhook_secret=SECRET, listen="127.0.0.1", port=port)

    async def scenario():
        async with running(bot):
            (hook,) = api.calls_of("setWebhook")
            assert hook.params["url"] == url and hook.params["secret_token"] == SECRET
            assert api.calls_of("getUpdates") == []  # no polling in webhook mode
            async with httpx.AsyncClient(timeout=5) as client:
                body = json.dumps(update(501, "no secret"))
                plain = {"Content-Type": "application/json"}
                r = await client.post(url, content=body, headers=plain)
                assert r.status_code == 403
                r = await client.post(url, content=json.dumps(update(502, "wrong secret")),
                                      headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET + "x"})
                assert r.status_code == 403
                r = await client.post(url, content=json.dumps(update(503, "right secret")),
                                      headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert r.status_code == 200
                await until(lambda: api.sent(CHAT), what="the answer to the accepted update")
                r = await client.post(url, content=json.dumps(update(503, "right secret")),  # delivered again
                                      headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert r.status_code == 200
                r = await client.post(url, content="not json",
                                      headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert r.status_code == 400
                r = await client.post(url, content=json.dumps(update(504, "next")),
                                      headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert r.status_code == 200
                await until(lambda: len(api.sent(CHAT)) == 2)
        assert assistant.messages() == ["right secret", "next"]
        assert api.texts(CHAT) == ["echo: right secret", "echo: next"]

    run(scenario())
