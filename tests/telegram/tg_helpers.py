"""Helpers the Telegram tests import: running the real python-telegram-bot Application, waiting, ports."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from typing import Any, AsyncIterator, Callable

from bot.telegram import TelegramBot

CHAT = 4242
TEST_NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday morning: reminders may go out


def closed_port_url() -> str:
    """An assistant URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhooks/rest/webhook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def running(bot: TelegramBot) -> AsyncIterator[Any]:
    """The bot's Application, started as `mobility telegram` starts it (serve()), stopped at the end."""
    app = bot.build_application()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(bot.serve(app, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # raises what went wrong
        raise AssertionError("the bot stopped before it was ready")
    assert waiter in done, "the bot did not get ready in 10 s"
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: Any = "condition") -> Any:
    """Wait (without blocking the event loop) until predicate() is truthy; return its value. `what` (a string or
    a function giving one) says what was awaited when it times out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.02)


def run(coro, timeout: float = 60.0):
    """Run a test coroutine with an overall time limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
