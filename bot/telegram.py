"""The Telegram channel: a python-telegram-bot 22 Application that relays each message to the assistant's REST
channel and sends its replies back, with deadline reminders.

    TELEGRAM_TOKEN=... mobility telegram                      # long polling
    TELEGRAM_TOKEN=... TELEGRAM_WEBHOOK_SECRET=... mobility telegram --webhook-url https://bot.example.org/telegram

Each chat talks to the assistant as sender "tg-<chat_id>" ("tg-<chat_id>-<n>" after /new). Rasa buttons become
inline keyboards; a tap sends the button's payload. /remind and /reminders manage deadline reminders, kept in the
database (bot/reminders.py) and sent by a repeating job a number of days before each deadline's next date.

python-telegram-bot, httpx and aiohttp are imported on first use, so the rest of the `mobility` command line stays
quick to start.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import hmac
import json
import logging
import os
import re
import signal
import sys
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    from aiohttp import web
    from telegram import Bot, InlineKeyboardMarkup, Update
    from telegram.ext import Application, CallbackContext

    from bot.reminders import Store

log = logging.getLogger("mobility.telegram")

DEFAULT_ASSISTANT_URL = "http://localhost:5005/webhooks/rest/webhook"
DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
MAX_MESSAGE = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes: telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_BUTTONS = 100
MAX_BUTTON_TITLE = 64
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
LANGUAGES = ("en", "nl")
TIMEZONE = "Europe/Brussels"  # the deadlines are Belgian: "today" is today in Brussels

# Callback data the bot itself puts on buttons; anything else is a Rasa payload.
CB_SUBSCRIBE, CB_UNSUBSCRIBE, CB_LANGUAGE, CB_PAYLOAD = "tg:sub:", "tg:unsub:", "tg:lang:", "tg:p:"

# -- the bot's own words, in English and Dutch -----------------------------------------------------------
STRINGS: Dict[str, Dict[str, str]] = {
    "en": {
        "help": (
            "I pass your questions on to the mobility assistant: tuition fees at KdG, grants for studying or doing "
            "an internship abroad, deadlines, and exchanges at KASK & Conservatorium. Just type your question, for "
            "example: How much does a Belgian student pay for 60 credits at KdG?\n\n"
            "Commands:\n"
            "/start – the assistant's welcome and what it can do\n"
            "/new – start a fresh conversation (the assistant forgets the previous one)\n"
            "/remind – get a reminder before a deadline\n"
            "/reminders – your reminders, and cancel them\n"
            "/language en|nl – the language of my own messages\n"
            "/help – this text"),
        "intro": ("Hello! I answer questions about studying abroad and studying in Flanders: tuition fees at KdG, "
                  "grants for going abroad, deadlines, and exchanges at KASK & Conservatorium."),
        "start_note": "",
        "unavailable": "The assistant isn't answering right now. Please try again in a moment.",
        "error": "Something went wrong on my side. Please try again in a moment.",
        "no_answer": "The assistant had no answer to that. Try asking in other words, or see /help.",
        "text_only": "I can only read text messages: please type your question.",
        "unknown_command": "I don't know that command. /help lists the ones I do.",
        "new": "New conversation: the assistant has forgotten what you told it before. What would you like to know?",
        "language_set": "From now on my own messages are in English.",
        "language_usage": "Which language should my messages be in? /language en or /language nl",
        "choose": "Choose:",
        "expired": "This button no longer works. Please ask again.",
        "remind_intro": "Which deadline should I remind you of? I'll send you a message {days} days before it.",
        "remind_none": "There are no deadlines with a date at the moment.",
        "subscribed": "Reminder set: {title} ({date}). I'll send you a message {days} days before.",
        "subscribed_toast": "Reminder set",
        "already": "You already have a reminder for this deadline.",
        "reminders_list": "Your reminders (tap one to cancel it):",
        "reminders_none": "You have no reminders. /remind sets one.",
        "cancelled": "Reminder cancelled: {title}",
        "not_subscribed": "That reminder was already cancelled.",
        "reminder": "Reminder: {title}\n{when}\n\n{description}\n\nSource: {source}",
        "today": "Today, {date}.",
        "tomorrow": "Tomorrow, {date}.",
        "in_days": "In {days} days: {date}.",
        "stop_button": "Stop this reminder",
    },
    "nl": {
        "help": (
            "Ik geef je vragen door aan de mobiliteitsassistent: inschrijvingsgeld aan KdG, beurzen om in het "
            "buitenland te studeren of stage te lopen, deadlines, en uitwisselingen aan KASK & Conservatorium. Typ "
            "gewoon je vraag (de assistent antwoordt in het Engels), bijvoorbeeld: How much does a Belgian student "
            "pay for 60 credits at KdG?\n\n"
            "Commando's:\n"
            "/start – het welkom van de assistent en wat hij kan\n"
            "/new – een nieuw gesprek beginnen (de assistent vergeet het vorige)\n"
            "/remind – een herinnering krijgen voor een deadline\n"
            "/reminders – je herinneringen, en ze annuleren\n"
            "/language en|nl – de taal van mijn eigen berichten\n"
            "/help – deze tekst"),
        "intro": ("Hallo! Ik beantwoord vragen over studeren in het buitenland en studeren in Vlaanderen: "
                  "inschrijvingsgeld aan KdG, beurzen om naar het buitenland te gaan, deadlines, en uitwisselingen "
                  "aan KASK & Conservatorium."),
        "start_note": "Hallo! De assistent antwoordt in het Engels; mijn eigen berichten zijn in het Nederlands. "
                      "/help toont wat ik kan.",
        "unavailable": "De assistent antwoordt nu niet. Probeer het zo meteen opnieuw.",
        "error": "Er ging bij mij iets mis. Probeer het zo meteen opnieuw.",
        "no_answer": "De assistent had daar geen antwoord op. Vraag het in andere woorden, of kijk bij /help.",
        "text_only": "Ik kan alleen tekstberichten lezen: typ je vraag.",
        "unknown_command": "Dat commando ken ik niet. /help toont de commando's die ik wel ken.",
        "new": "Nieuw gesprek: de assistent is vergeten wat je eerder vertelde. Wat wil je weten?",
        "language_set": "Vanaf nu zijn mijn eigen berichten in het Nederlands. De assistent antwoordt in het Engels.",
        "language_usage": "In welke taal wil je mijn berichten? /language en of /language nl",
        "choose": "Kies:",
        "expired": "Deze knop werkt niet meer. Vraag het gerust opnieuw.",
        "remind_intro": "Voor welke deadline wil je een herinnering? Ik stuur je {days} dagen vooraf een bericht.",
        "remind_none": "Er zijn op dit moment geen deadlines met een datum.",
        "subscribed": "Herinnering ingesteld: {title} ({date}). Ik stuur je {days} dagen vooraf een bericht.",
        "subscribed_toast": "Herinnering ingesteld",
        "already": "Je hebt al een herinnering voor deze deadline.",
        "reminders_list": "Je herinneringen (tik erop om er een te annuleren):",
        "reminders_none": "Je hebt geen herinneringen. Met /remind stel je er een in.",
        "cancelled": "Herinnering geannuleerd: {title}",
        "not_subscribed": "Die herinnering was al geannuleerd.",
        "reminder": "Herinnering: {title}\n{when}\n\n{description}\n\nBron: {source}",
        "today": "Vandaag, {date}.",
        "tomorrow": "Morgen, {date}.",
        "in_days": "Over {days} dagen: {date}.",
        "stop_button": "Stop deze herinnering",
    },
}
COMMANDS: Dict[str, List[Tuple[str, str]]] = {
    "en": [("start", "the assistant's welcome"), ("help", "what I can do"), ("new", "start a fresh conversation"),
           ("remind", "get a reminder before a deadline"), ("reminders", "your reminders"),
           ("language", "en or nl: the language of my messages")],
    "nl": [("start", "het welkom van de assistent"), ("help", "wat ik kan"), ("new", "een nieuw gesprek beginnen"),
           ("remind", "een herinnering voor een deadline"), ("reminders", "je herinneringen"),
           ("language", "en of nl: de taal van mijn berichten")],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
}


def text(lang: str, key: str, **kw: Any) -> str:
    s = STRINGS.get(lang, STRINGS["en"])[key]
    return s.format(**kw) if kw else s


def format_date(d: dt.date, lang: str) -> str:
    return f"{d.day} {MONTHS.get(lang, MONTHS['en'])[d.month - 1]} {d.year}"


def brussels_now() -> dt.datetime:
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(TIMEZONE))
    except Exception:  # noqa: BLE001 - no time zone data: the server's local time
        return dt.datetime.now()


# -- long replies ----------------------------------------------------------------------------------------
def utf16_len(s: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def _fits(s: str, limit: int) -> int:
    """How many characters of s fit in `limit` UTF-16 code units."""
    units = 0
    for i, c in enumerate(s):
        units += 2 if ord(c) > 0xFFFF else 1
        if units > limit:
            return i
    return len(s)


def split_text(message: str, limit: int = MAX_MESSAGE) -> List[str]:
    """Split a reply into Telegram messages of at most `limit` UTF-16 units: at the last line break that fits,
    else at the last space, else (one enormous word) anywhere. Blank pieces are dropped."""
    chunks: List[str] = []
    rest = message
    while utf16_len(rest) > limit:
        n = _fits(rest, limit)
        window = rest[:n + 1]  # a break right after the last character that fits still ends a full chunk
        cut = window.rfind("\n")
        if cut <= 0:
            cut = max(window.rfind(" "), window.rfind("\t"))
        if cut <= 0:
            chunks.append(rest[:n])
            rest = rest[n:]
        else:
            chunks.append(rest[:cut].rstrip("\n"))  # blank lines at a cut would only make empty space
            rest = rest[cut + 1:].lstrip("\n")
    chunks.append(rest)
    return [c for c in chunks if c.strip()]


# -- the assistant -----------------------------------------------------------------------------------------
class AssistantUnavailable(Exception):
    """The assistant is down, too slow, or answered something that is not a list of messages."""


class AssistantClient:
    """POST {"sender", "message"} to Rasa's REST channel; a list of messages comes back."""

    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout
        self._client: Optional["httpx.AsyncClient"] = None

    def _http(self) -> "httpx.AsyncClient":
        import httpx

        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, connect=min(5.0, self.timeout)))
        return self._client

    async def ask(self, sender: str, message: str) -> List[Dict[str, Any]]:
        import httpx

        body = {"sender": sender, "message": message}
        for attempt in range(2):
            try:
                r = await asyncio.wait_for(self._http().post(self.url, json=body), self.timeout + 1)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                # Nothing reached the assistant, so asking again cannot answer the message twice.
                if attempt == 0:
                    await asyncio.sleep(0.5)
                    continue
                raise AssistantUnavailable(f"cannot reach {self.url}: {e!r}") from e
            except (httpx.HTTPError, asyncio.TimeoutError) as e:
                raise AssistantUnavailable(f"no answer from {self.url}: {e!r}") from e
            if r.status_code != 200:
                raise AssistantUnavailable(f"{self.url} answered HTTP {r.status_code}: {r.text[:200]}")
            try:
                data = r.json()
            except ValueError as e:
                raise AssistantUnavailable(f"{self.url} answered something that is not JSON") from e
            if not isinstance(data, list):
                raise AssistantUnavailable(f"{self.url} answered {type(data).__name__}, not a list of messages")
            return [m for m in data if isinstance(m, dict)]
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# -- configuration -----------------------------------------------------------------------------------------
@dataclass
class Config:
    token: str
    assistant_url: str = DEFAULT_ASSISTANT_URL
    assistant_timeout: float = 30.0
    database_url: Optional[str] = None  # the bot's tables: DATABASE_URL or the SQLite default, as the knowledge base
    kb_url: Optional[str] = None  # the knowledge base (deadlines); default: database_url
    remind_days: int = 7
    check_interval: float = 3600.0  # seconds between reminder checks
    first_check: float = 10.0  # seconds after start-up
    send_hours: Tuple[int, int] = (8, 21)  # reminders go out between 08:00 and 21:00, Brussels time
    clock: Callable[[], dt.datetime] = brussels_now
    api_url: str = DEFAULT_API_URL
    file_url: str = DEFAULT_FILE_URL
    webhook_url: Optional[str] = None  # None: long polling
    webhook_secret: Optional[str] = None
    listen: str = "127.0.0.1"
    port: int = 8443
    url_path: Optional[str] = None  # default: the path of webhook_url
    poll_timeout: int = 10  # long polling: seconds Telegram holds getUpdates open
    network_retries: int = 3  # a Bot API call failing on the network is tried this many more times
    retry_after_retries: int = 3  # ... and after a 429 Retry-After (AIORateLimiter waits as told)
    retry_delay: float = 0.5  # first wait before a network retry; doubles each time
    http_timeouts: Dict[str, float] = field(default_factory=lambda: {"connect": 10.0, "read": 20.0, "write": 20.0,
                                                                     "pool": 5.0})


# -- python-telegram-bot pieces (imported on first use) ---------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _ptb_classes():
    from telegram import Update
    from telegram.error import BadRequest, NetworkError
    from telegram.ext import AIORateLimiter, BaseUpdateProcessor

    class RetryingRateLimiter(AIORateLimiter):
        """AIORateLimiter (flood limits; waits and retries on 429 RetryAfter) that also retries a call that failed
        on the network (connection refused or reset, timed out, a 5xx from the Bot API), with a growing pause.
        A 400 BadRequest is the request's fault and is not retried."""

        def __init__(self, *, network_retries: int, retry_delay: float, **kwargs: Any):
            super().__init__(**kwargs)
            self._network_retries, self._retry_delay = network_retries, retry_delay

        async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
            delay = self._retry_delay
            for attempt in range(self._network_retries + 1):
                try:
                    return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
                except BadRequest:
                    raise
                except NetworkError as e:
                    if attempt == self._network_retries:
                        raise
                    log.warning("Bot API %s failed (%s); retrying in %.1f s", endpoint, e, delay)
                    await asyncio.sleep(delay)
                    delay *= 2
            raise AssertionError("unreachable")

    class PerChatUpdateProcessor(BaseUpdateProcessor):
        """Updates of different chats are handled at the same time (a slow answer for one user keeps no one else
        waiting); the updates of one chat one after the other, in the order they came."""

        def __init__(self, max_concurrent_updates: int = 64):
            super().__init__(max_concurrent_updates)
            self._locks: "weakref.WeakValueDictionary[int, asyncio.Lock]" = weakref.WeakValueDictionary()

        async def do_process_update(self, update: object, coroutine) -> None:
            chat = update.effective_chat if isinstance(update, Update) else None
            if chat is None:
                await coroutine
                return
            lock = self._locks.get(chat.id)
            if lock is None:
                lock = self._locks[chat.id] = asyncio.Lock()
            async with lock:
                await coroutine

        async def initialize(self) -> None:
            pass

        async def shutdown(self) -> None:
            pass

    return RetryingRateLimiter, PerChatUpdateProcessor


def payload_data(payload: str) -> str:
    """The callback data for a Rasa payload: the payload itself, unless it could be taken for the bot's own."""
    return CB_PAYLOAD + payload if payload.startswith("tg:") else payload


# -- the bot -----------------------------------------------------------------------------------------------------
class TelegramBot:
    """Handlers and state of the Telegram channel; build_application() makes the PTB Application, serve() runs it."""

    def __init__(self, config: Config, store: Optional["Store"] = None):
        from bot.reminders import Store
        from knowledge.db import make_engine

        self.config = config
        self.store = store or Store(make_engine(config.database_url)).create()
        self.assistant = AssistantClient(config.assistant_url, config.assistant_timeout)
        kb_url = config.kb_url or config.database_url
        self._kb_engine = self.store.engine if kb_url == config.database_url else make_engine(kb_url)

    # -- building ------------------------------------------------------------------------------------------
    def build_application(self) -> "Application":
        from telegram import Update
        from telegram.ext import (ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler,
                                  TypeHandler, filters)

        RetryingRateLimiter, PerChatUpdateProcessor = _ptb_classes()
        c = self.config
        builder = (ApplicationBuilder().token(c.token).base_url(c.api_url).base_file_url(c.file_url)
                   .rate_limiter(RetryingRateLimiter(max_retries=c.retry_after_retries,
                                                     network_retries=c.network_retries, retry_delay=c.retry_delay))
                   .concurrent_updates(PerChatUpdateProcessor(64))
                   .connect_timeout(c.http_timeouts["connect"]).read_timeout(c.http_timeouts["read"])
                   .write_timeout(c.http_timeouts["write"]).pool_timeout(c.http_timeouts["pool"])
                   .connection_pool_size(64))
        if c.webhook_url:
            builder = builder.updater(None)
        app = builder.build()
        if app.job_queue is None:
            raise RuntimeError("python-telegram-bot's JobQueue is unavailable (APScheduler is not installed): "
                               "deadline reminders need it")

        message = filters.UpdateType.MESSAGE
        app.add_handler(TypeHandler(Update, self.once), group=-1)
        for name, callback in [("start", self.cmd_start), ("help", self.cmd_help), ("new", self.cmd_new),
                               ("language", self.cmd_language), ("remind", self.cmd_remind),
                               ("reminders", self.cmd_reminders)]:
            app.add_handler(CommandHandler(name, callback, filters=message))
        app.add_handler(MessageHandler(message & filters.COMMAND, self.cmd_unknown))
        app.add_handler(MessageHandler(message & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(message & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL,
                                       self.on_other))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_error_handler(self.on_error)
        app.job_queue.run_repeating(self.reminder_job, interval=c.check_interval, first=c.first_check,
                                    name="deadline-reminders")
        return app

    # -- per chat ----------------------------------------------------------------------------------------------
    def language(self, chat_id: int, update: Optional["Update"] = None) -> str:
        chosen = self.store.chat(chat_id).language
        if chosen in LANGUAGES:
            return chosen
        user = update.effective_user if update is not None else None
        code = (user.language_code or "") if user else ""
        return "nl" if code.lower().startswith("nl") else "en"

    def sender(self, chat_id: int) -> str:
        n = self.store.chat(chat_id).conversation
        return f"tg-{chat_id}" if not n else f"tg-{chat_id}-{n}"

    # -- sending -------------------------------------------------------------------------------------------------
    async def send(self, bot: "Bot", chat_id: int, message: str, markup: Optional["InlineKeyboardMarkup"] = None) -> None:
        """Plain text (no parse_mode: nothing is read as markup), split at Telegram's limit; the keyboard goes
        with the last part."""
        parts = split_text(message) or ["…"]
        for i, part in enumerate(parts):
            await bot.send_message(chat_id=chat_id, text=part, parse_mode=None,
                                   reply_markup=markup if i == len(parts) - 1 else None)

    def callback_data(self, data: str) -> str:
        """Telegram takes at most 64 bytes of callback_data: longer data is kept in the database under a key."""
        return data if len(data.encode("utf-8")) <= MAX_CALLBACK_DATA else self.store.put_callback(data)

    def keyboard(self, buttons: Sequence[Any]) -> Optional["InlineKeyboardMarkup"]:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        rows = []
        for b in list(buttons)[:MAX_BUTTONS]:
            if not isinstance(b, dict):
                continue
            title = str(b.get("title") or b.get("payload") or "").strip()[:MAX_BUTTON_TITLE]
            if not title:
                continue
            url = b.get("url")
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                rows.append([InlineKeyboardButton(title, url=url)])
                continue
            payload = str(b.get("payload") or title)
            rows.append([InlineKeyboardButton(title, callback_data=self.callback_data(payload_data(payload)))])
        return InlineKeyboardMarkup(rows) if rows else None

    async def send_replies(self, bot: "Bot", chat_id: int, replies: List[Dict[str, Any]], lang: str) -> None:
        sent = False
        for reply in replies:
            body = str(reply.get("text") or "").strip()
            for key in ("image", "attachment"):
                if isinstance(reply.get(key), str) and reply[key].strip():
                    body = f"{body}\n{reply[key].strip()}".strip()
            custom = reply.get("custom")
            if not body and isinstance(custom, dict) and isinstance(custom.get("text"), str):
                body = custom["text"].strip()
            markup = self.keyboard(reply.get("buttons") or [])
            if not body and markup is None:
                continue
            await self.send(bot, chat_id, body or text(lang, "choose"), markup)
            sent = True
        if not sent:
            await self.send(bot, chat_id, text(lang, "no_answer"))

    async def relay(self, bot: "Bot", chat_id: int, message: str, lang: str, on_unavailable: str = "") -> bool:
        """Send a message to the assistant as this chat, and its replies back. False when the assistant is down."""
        from telegram.error import TelegramError

        answered = asyncio.Event()

        async def typing() -> None:  # "typing…" while the assistant thinks (Telegram shows it 5 s at a time)
            while not answered.is_set():
                try:
                    await bot.send_chat_action(chat_id=chat_id, action="typing")
                except TelegramError:
                    return  # a nicety: never worth an error
                try:
                    await asyncio.wait_for(answered.wait(), 4.5)
                except asyncio.TimeoutError:
                    pass

        typing_task = asyncio.ensure_future(typing())
        try:
            replies: Optional[List[Dict[str, Any]]] = await self.assistant.ask(self.sender(chat_id), message)
        except AssistantUnavailable as e:
            log.warning("assistant unavailable for chat %s: %s", chat_id, e)
            replies = None
        finally:
            answered.set()
        await typing_task  # let a chat action under way finish rather than cut its request off
        if replies is None:
            await self.send(bot, chat_id, (on_unavailable + "\n\n" if on_unavailable else "") + text(lang, "unavailable"))
            return False
        await self.send_replies(bot, chat_id, replies, lang)
        return True

    # -- updates ---------------------------------------------------------------------------------------------------
    async def once(self, update: "Update", context: "CallbackContext") -> None:
        """Each update is handled once: one Telegram delivers again (a webhook retry, polling after a crash) stops
        here. Recorded in the database, so this holds across a restart."""
        from telegram.ext import ApplicationHandlerStop

        if not self.store.first_time(context.bot.id, update.update_id):
            log.info("update %s seen before: skipped", update.update_id)
            raise ApplicationHandlerStop

    async def cmd_start(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        lang = self.language(chat_id, update)
        if lang != "en":
            await self.send(context.bot, chat_id, text(lang, "start_note"))
        await self.relay(context.bot, chat_id, "/greet", lang, on_unavailable=text(lang, "intro"))

    async def cmd_help(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        await self.send(context.bot, chat_id, text(self.language(chat_id, update), "help"))

    async def cmd_new(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        self.store.new_conversation(chat_id)
        await self.send(context.bot, chat_id, text(self.language(chat_id, update), "new"))

    async def cmd_language(self, update: "Update", context: "CallbackContext") -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        chat_id = update.effective_chat.id
        wanted = (context.args[0].lower() if context.args else "")
        if wanted in LANGUAGES:
            self.store.set_language(chat_id, wanted)
            await self.send(context.bot, chat_id, text(wanted, "language_set"))
            return
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("English", callback_data=CB_LANGUAGE + "en"),
                                        InlineKeyboardButton("Nederlands", callback_data=CB_LANGUAGE + "nl")]])
        await self.send(context.bot, chat_id, text(self.language(chat_id, update), "language_usage"), markup)

    def _deadlines(self, today: dt.date) -> List[Dict[str, Any]]:
        """knowledge.deadlines.upcoming on the knowledge base as it is now (as open_kb() gives it, built when
        missing), on one engine for the bot's lifetime."""
        from knowledge import KnowledgeBase, build, upcoming_deadlines

        kb = KnowledgeBase(self._kb_engine)
        if not kb.is_built():
            build(kb.engine)
        return upcoming_deadlines(kb, today=today)

    async def cmd_remind(self, update: "Update", context: "CallbackContext") -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        chat_id = update.effective_chat.id
        lang = self.language(chat_id, update)
        have = {d for _, d in self.store.subscriptions(chat_id)}
        rows = []
        for d in self._deadlines(self.config.clock().date()):
            if not d["next_date"]:
                continue  # a call without a fixed date: nothing to remind of
            when = format_date(dt.date.fromisoformat(d["next_date"]), lang)
            label = ("✓ " if d["id"] in have else "") + f"{when} · {d['title']}"
            rows.append([InlineKeyboardButton(_shorten(label, MAX_BUTTON_TITLE),
                                              callback_data=self.callback_data(CB_SUBSCRIBE + d["id"]))])
        if not rows:
            await self.send(context.bot, chat_id, text(lang, "remind_none"))
            return
        await self.send(context.bot, chat_id, text(lang, "remind_intro", days=self.config.remind_days),
                        InlineKeyboardMarkup(rows))

    def _unsubscribe_markup(self, subs: List[str], by_id: Dict[str, Dict[str, Any]]):
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        rows = [[InlineKeyboardButton(_shorten("✕ " + by_id.get(d, {}).get("title", d), MAX_BUTTON_TITLE),
                                      callback_data=self.callback_data(CB_UNSUBSCRIBE + d))] for d in subs]
        return InlineKeyboardMarkup(rows) if rows else None

    async def cmd_reminders(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        lang = self.language(chat_id, update)
        subs = [d for _, d in self.store.subscriptions(chat_id)]
        if not subs:
            await self.send(context.bot, chat_id, text(lang, "reminders_none"))
            return
        by_id = {d["id"]: d for d in self._deadlines(self.config.clock().date())}
        lines = [text(lang, "reminders_list")]
        for d in subs:
            info = by_id.get(d)
            when = format_date(dt.date.fromisoformat(info["next_date"]), lang) if info and info["next_date"] else "?"
            lines.append(f"• {when}: {info['title'] if info else d}")
        await self.send(context.bot, chat_id, "\n".join(lines), self._unsubscribe_markup(subs, by_id))

    async def cmd_unknown(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        await self.send(context.bot, chat_id, text(self.language(chat_id, update), "unknown_command"))

    async def on_text(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        await self.relay(context.bot, chat_id, update.effective_message.text, self.language(chat_id, update))

    async def on_other(self, update: "Update", context: "CallbackContext") -> None:
        chat_id = update.effective_chat.id
        await self.send(context.bot, chat_id, text(self.language(chat_id, update), "text_only"))

    async def on_callback(self, update: "Update", context: "CallbackContext") -> None:
        from bot.reminders import CALLBACK_KEY_PREFIX

        query = update.callback_query
        chat_id = update.effective_chat.id if update.effective_chat else query.from_user.id
        lang = self.language(chat_id, update)
        data = query.data or ""
        if data.startswith(CALLBACK_KEY_PREFIX):
            data = self.store.get_callback(data)
            if data is None:
                await query.answer(text(lang, "expired"))
                await self._edit_markup(query, None)
                return
        if data.startswith(CB_SUBSCRIBE):
            await self._subscribe(query, context, chat_id, lang, data[len(CB_SUBSCRIBE):])
        elif data.startswith(CB_UNSUBSCRIBE):
            await self._unsubscribe(query, context, chat_id, lang, data[len(CB_UNSUBSCRIBE):])
        elif data.startswith(CB_LANGUAGE):
            wanted = data[len(CB_LANGUAGE):]
            if wanted in LANGUAGES:
                self.store.set_language(chat_id, wanted)
                lang = wanted
            await query.answer()
            await self._edit_markup(query, None)
            await self.send(context.bot, chat_id, text(lang, "language_set"))
        else:
            payload = data[len(CB_PAYLOAD):] if data.startswith(CB_PAYLOAD) else data
            await query.answer()  # stops the spinner on the button
            await self._edit_markup(query, None)  # the choice is made: the keyboard goes
            await self.relay(context.bot, chat_id, payload, lang)

    async def _edit_markup(self, query, markup) -> None:
        from telegram.error import BadRequest

        if query.message is None or not getattr(query.message, "is_accessible", True):
            return
        try:
            await query.edit_message_reply_markup(reply_markup=markup)
        except BadRequest as e:  # not modified, too old, deleted: nothing to change then
            log.info("keyboard not edited: %s", e)

    def _markup_without(self, query, data: str, mark: Optional[str] = None):
        """The tapped message's keyboard with the tapped button marked (✓) or, without mark, taken out."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        markup = getattr(query.message, "reply_markup", None)
        rows = []
        for row in (markup.inline_keyboard if markup else ()):
            new_row = []
            for b in row:
                if b.callback_data == query.data:
                    if mark is None:
                        continue
                    label = b.text if b.text.startswith(mark) else _shorten(mark + b.text, MAX_BUTTON_TITLE)
                    b = InlineKeyboardButton(label, callback_data=b.callback_data)
                new_row.append(b)
            if new_row:
                rows.append(new_row)
        return InlineKeyboardMarkup(rows) if rows else None

    async def _subscribe(self, query, context, chat_id: int, lang: str, deadline_id: str) -> None:
        info = next((d for d in self._deadlines(self.config.clock().date()) if d["id"] == deadline_id), None)
        if info is None or not info["next_date"]:
            await query.answer(text(lang, "expired"))
            return
        if not self.store.subscribe(chat_id, deadline_id):
            await query.answer(text(lang, "already"))
            return
        if self.store.chat(chat_id).language is None:
            self.store.set_language(chat_id, lang)  # reminders come without an update to tell the language by
        await query.answer(text(lang, "subscribed_toast"))
        await self._edit_markup(query, self._markup_without(query, query.data, mark="✓ "))
        when = format_date(dt.date.fromisoformat(info["next_date"]), lang)
        await self.send(context.bot, chat_id, text(lang, "subscribed", title=info["title"], date=when,
                                                   days=self.config.remind_days))

    async def _unsubscribe(self, query, context, chat_id: int, lang: str, deadline_id: str) -> None:
        if not self.store.unsubscribe(chat_id, deadline_id):
            await query.answer(text(lang, "not_subscribed"))
        else:
            info = next((d for d in self._deadlines(self.config.clock().date()) if d["id"] == deadline_id), None)
            await query.answer(text(lang, "cancelled", title=info["title"] if info else deadline_id))
        await self._edit_markup(query, self._markup_without(query, query.data))

    async def on_error(self, update: object, context: "CallbackContext") -> None:
        from telegram import Update
        from telegram.error import TelegramError

        log.error("error while handling %s", "an update" if update is not None else "a job", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_id = update.effective_chat.id
            try:
                await self.send(context.bot, chat_id, text(self.language(chat_id, update), "error"))
            except Exception:  # noqa: BLE001 - the error message is best effort; the error is logged above
                if not isinstance(context.error, TelegramError):
                    log.debug("could not tell chat %s about the error", chat_id)

    # -- reminders -----------------------------------------------------------------------------------------------
    def reminder_text(self, deadline: Dict[str, Any], when: dt.date, today: dt.date, lang: str) -> str:
        days = (when - today).days
        date_text = format_date(when, lang)
        key = "today" if days == 0 else "tomorrow" if days == 1 else "in_days"
        source = deadline.get("source") or {}
        cite = source.get("title", "")
        if source.get("file"):
            cite = f"{cite} ({source['file']})"
        return text(lang, "reminder", title=deadline["title"], when=text(lang, key, date=date_text, days=days),
                    description=deadline.get("description") or "", source=cite)

    async def send_due_reminders(self, bot: "Bot", today: dt.date) -> List[Tuple[int, str, dt.date]]:
        """Send every reminder due on `today` that has not gone out yet; returns (chat, deadline, date) of those
        sent. A reminder is recorded before it is sent (so two checks never both send it) and the record is
        dropped again when Telegram refuses it for a passing reason, so the next check tries again."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.error import Forbidden, TelegramError

        from bot.reminders import due_reminders

        due = due_reminders(self.store.subscriptions(), self._deadlines(today), today, self.config.remind_days)
        sent = []
        for r in due:
            deadline_id = r.deadline["id"]
            if not self.store.claim_reminder(r.chat_id, deadline_id, r.date):
                continue
            lang = self.language(r.chat_id)
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(
                text(lang, "stop_button"), callback_data=self.callback_data(CB_UNSUBSCRIBE + deadline_id))]])
            try:
                await self.send(bot, r.chat_id, self.reminder_text(r.deadline, r.date, today, lang), markup)
            except Forbidden as e:  # the user blocked the bot or deleted the chat: stop reminding them
                log.info("chat %s is gone (%s): its reminders are cancelled", r.chat_id, e)
                self.store.unsubscribe_chat(r.chat_id)
                continue
            except TelegramError as e:
                log.warning("reminder to chat %s not sent (%s): trying again at the next check", r.chat_id, e)
                self.store.release_reminder(r.chat_id, deadline_id, r.date)
                continue
            sent.append((r.chat_id, deadline_id, r.date))
        return sent

    async def reminder_job(self, context: "CallbackContext") -> None:
        self.store.forget_updates()
        now = self.config.clock()
        start, end = self.config.send_hours
        if not start <= now.hour < end:
            return  # no reminders at night: a later check sends them
        sent = await self.send_due_reminders(context.bot, now.date())
        if sent:
            log.info("%d reminder(s) sent", len(sent))

    # -- running -----------------------------------------------------------------------------------------------
    async def set_commands(self, bot: "Bot") -> None:
        from telegram import BotCommand
        from telegram.error import TelegramError

        try:
            for lang, commands in COMMANDS.items():
                await bot.set_my_commands([BotCommand(c, d) for c, d in commands],
                                          language_code=None if lang == "en" else lang)
        except TelegramError as e:
            log.warning("command menu not set: %s", e)

    async def _initialize(self, app: "Application", stop: asyncio.Event) -> bool:
        """Initialize (getMe), waiting out network trouble; an invalid token raises InvalidToken."""
        from telegram.error import BadRequest, InvalidToken, NetworkError

        delay = 1.0
        while True:
            try:
                await app.initialize()
                return True
            except (InvalidToken, BadRequest):
                raise
            except NetworkError as e:
                log.warning("Telegram not reachable (%s): trying again in %.0f s", e, delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return False
            except asyncio.TimeoutError:
                delay = min(delay * 2, 30.0)

    async def serve(self, app: "Application", stop: asyncio.Event, ready: Optional[asyncio.Event] = None) -> None:
        """Run until `stop` is set: long polling, or the webhook server when config.webhook_url is set."""
        c = self.config
        if not await self._initialize(app, stop):
            return
        runner = None
        try:
            await self.set_commands(app.bot)
            await app.start()  # handlers and the reminder job
            if c.webhook_url:
                runner = await start_webhook_server(app, c.listen, c.port, c.url_path or urlparse(c.webhook_url).path
                                                    or "/", c.webhook_secret or "")
                await app.bot.set_webhook(url=c.webhook_url, secret_token=c.webhook_secret,
                                          allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
                log.info("webhook: %s, listening on %s:%s", c.webhook_url, c.listen, c.port)
            else:
                await app.updater.start_polling(poll_interval=0.0, timeout=c.poll_timeout, bootstrap_retries=-1,
                                                allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
                log.info("long polling for updates of @%s", app.bot.username)
            if ready is not None:
                ready.set()
            await stop.wait()
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if runner is not None:
                await runner.cleanup()
            if app.running:
                await app.stop()
            await app.shutdown()
            await self.assistant.close()


async def start_webhook_server(app: "Application", listen: str, port: int, path: str, secret: str) -> "web.AppRunner":
    """The webhook endpoint (aiohttp): only requests carrying the secret token in X-Telegram-Bot-Api-Secret-Token
    get in (403 otherwise); a JSON update goes to the application's update queue.

    This is what Application.run_webhook(secret_token=...) does, on aiohttp (which Rasa brings) instead of
    tornado (PTB's "webhooks" extra, not installed)."""
    from aiohttp import web
    from telegram import Update

    if not secret:
        raise ValueError("a webhook needs a secret token")
    expected = secret.encode()

    async def receive(request: "web.Request") -> "web.Response":
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request without the right secret token from %s: refused", request.remote)
            return web.Response(status=403, text="forbidden")
        if request.content_type != "application/json":
            return web.Response(status=415, text="expected application/json")
        try:
            update = Update.de_json(json.loads(await request.read()), app.bot)
        except Exception:  # noqa: BLE001 - anything malformed is the sender's problem
            return web.Response(status=400, text="not a Telegram update")
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        await app.update_queue.put(update)
        return web.Response(status=200)

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(path if path.startswith("/") else "/" + path, receive)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    return runner


def _shorten(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[:limit - 1].rstrip() + "…"


# -- the command line ----------------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `mobility telegram` (argparse only: cheap to call when the command line is built)."""
    p.add_argument("--assistant-url", default=None,
                   help=f"the assistant's REST channel (default: ASSISTANT_URL or {DEFAULT_ASSISTANT_URL})")
    p.add_argument("--assistant-timeout", type=float, default=30.0,
                   help="seconds to wait for the assistant before telling the user to try again (default 30)")
    p.add_argument("--remind-days", type=int, default=7, help="days before a deadline a reminder goes out (default 7)")
    p.add_argument("--check-interval", type=float, default=3600.0,
                   help="seconds between checks for reminders to send (default 3600)")
    p.add_argument("--database-url", default=None,
                   help="database for subscriptions and chat settings (default: DATABASE_URL or var/knowledge.db)")
    p.add_argument("--webhook-url", default=None,
                   help="receive updates on this public HTTPS URL instead of long polling "
                        "(secret token from TELEGRAM_WEBHOOK_SECRET)")
    p.add_argument("--listen", default="127.0.0.1", help="webhook mode: address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8443, help="webhook mode: port to listen on (default 8443)")
    p.add_argument("--url-path", default=None, help="webhook mode: local path (default: the path of --webhook-url)")
    p.add_argument("--api-url", default=None,
                   help=f"Bot API base URL, for a local Bot API server (default: TELEGRAM_API_URL or {DEFAULT_API_URL})")
    return p


def add_parser(subparsers) -> argparse.ArgumentParser:
    """`mobility telegram`: for bot/cli.py's build_parser(). Imports nothing heavy."""
    p = subparsers.add_parser(
        "telegram", help="run the Telegram bot (TELEGRAM_TOKEN) in front of the assistant",
        description="Run the Telegram bot: relays messages to the assistant's REST channel and sends deadline "
                    "reminders. The bot token comes from TELEGRAM_TOKEN; long polling unless --webhook-url is given.")
    add_arguments(p)
    p.set_defaults(func=main)
    return p


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def config_from_args(args: argparse.Namespace, environ=os.environ) -> Config:
    """A Config from the command line and the environment; ValueError with a clear message when something is off."""
    token = (environ.get("TELEGRAM_TOKEN") or "").strip()
    if not token:
        raise ValueError("TELEGRAM_TOKEN is not set. Create a bot with @BotFather and run "
                         "`TELEGRAM_TOKEN=<its token> mobility telegram` (keep the token out of the repository).")
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
        raise ValueError("TELEGRAM_TOKEN does not look like a bot token (<digits>:<letters, digits, _ and ->)")
    get = lambda name, default=None: getattr(args, name, default)  # noqa: E731 - args may come from bot/cli.py
    assistant_url = get("assistant_url") or environ.get("ASSISTANT_URL") or DEFAULT_ASSISTANT_URL
    if urlparse(assistant_url).scheme not in ("http", "https"):
        raise ValueError(f"the assistant URL must be http(s)://...: {assistant_url!r}")
    timeout = float(get("assistant_timeout", 30.0))
    remind_days = int(get("remind_days", 7))
    interval = float(get("check_interval", 3600.0))
    if timeout <= 0 or interval <= 0:
        raise ValueError("--assistant-timeout and --check-interval must be positive")
    if not 0 <= remind_days <= 366:
        raise ValueError("--remind-days must be between 0 and 366")
    api_url = get("api_url") or environ.get("TELEGRAM_API_URL") or DEFAULT_API_URL
    webhook_url, secret = get("webhook_url"), None
    if webhook_url:
        u = urlparse(webhook_url)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"--webhook-url must be a full URL (Telegram requires https://): {webhook_url!r}")
        secret = (environ.get("TELEGRAM_WEBHOOK_SECRET") or "").strip()
        if not secret:
            raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -): requests "
                             "without it are refused")
        if not SECRET_RE.match(secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET may hold only A-Z a-z 0-9 _ - (1-256 characters)")
    file_url = api_url.replace("/bot", "/file/bot", 1) if api_url.rstrip("/").endswith("/bot") else DEFAULT_FILE_URL
    return Config(token=token, assistant_url=assistant_url, assistant_timeout=timeout,
                  database_url=get("database_url"), remind_days=remind_days, check_interval=interval,
                  api_url=api_url, file_url=file_url, webhook_url=webhook_url, webhook_secret=secret,
                  listen=get("listen", "127.0.0.1"), port=int(get("port", 8443)), url_path=get("url_path"))


async def _run(bot: TelegramBot, app: "Application") -> int:
    from telegram.error import InvalidToken

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on this platform / not the main thread
            pass
    try:
        await bot.serve(app, stop)
    except InvalidToken:
        return _error("Telegram refused TELEGRAM_TOKEN: check the token @BotFather gave you")
    return 0


def main(args: argparse.Namespace) -> int:
    """`mobility telegram`: exit 2 with a clear message on bad configuration (TELEGRAM_TOKEN missing, ...)."""
    try:
        config = config_from_args(args)
    except ValueError as e:
        return _error(str(e))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines show request URLs, which hold the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        bot = TelegramBot(config)
        app = bot.build_application()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"Telegram bot starting: assistant at {config.assistant_url}; "
          f"{'webhook ' + config.webhook_url if config.webhook_url else 'long polling'}. Ctrl-C stops it.", flush=True)
    return asyncio.run(_run(bot, app))


def cli(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="mobility telegram", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return main(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli())
