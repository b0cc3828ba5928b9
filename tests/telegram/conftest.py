"""Fixtures for the Telegram bot: the Bot API stand-in, a fake assistant, a throwaway database, and a bot on them."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest

from bot.telegram import Config, TelegramBot
from fake_bot_api import TOKEN, FakeAssistant, FakeBotAPI
from tg_helpers import TEST_NOW


@pytest.fixture
def api():
    server = FakeBotAPI().start()
    yield server
    server.close()


@pytest.fixture
def fake_assistant():
    """fake_assistant(reply) starts an assistant answering reply(sender, message)."""
    started: List[FakeAssistant] = []

    def start(reply: Callable[[str, str], Any]) -> FakeAssistant:
        a = FakeAssistant(reply).start()
        started.append(a)
        return a

    yield start
    for a in started:
        a.close()


@pytest.fixture
def db_url(tmp_path) -> str:
    """The bot's own database: a fresh SQLite file per test (the knowledge base is the session's kb_url)."""
    return "sqlite:///" + str(tmp_path / "bot.db")


@pytest.fixture
def make_bot(api, db_url, kb_url):
    """make_bot(assistant_url, **config) -> a TelegramBot on the fake Bot API, the test database and the
    session's knowledge base, with the clock at TEST_NOW unless `clock` is given."""

    def make(assistant_url: str, **overrides: Any) -> TelegramBot:
        settings: Dict[str, Any] = dict(token=TOKEN, assistant_url=assistant_url, assistant_timeout=5.0,
                                        database_url=db_url, kb_url=kb_url, api_url=api.base_url,
                                        file_url=api.file_url, poll_timeout=1, first_check=3600.0,
                                        clock=lambda: TEST_NOW, retry_delay=0.05)
        settings.update(overrides)
        return TelegramBot(Config(**settings))

    return make
