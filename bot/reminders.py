"""The Telegram bot's state in the database, and which deadline reminders are due.

Its own tables (all named telegram_*) on its own MetaData, in the same database as the knowledge base
(DATABASE_URL or the SQLite default): created when missing, never dropped by `mobility kb build`, which
drops only knowledge.models.Base tables. SQLAlchemy 2.0-style queries on 1.4. No Telegram import here.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import (BigInteger, Column, Date, DateTime, Integer, MetaData, String, Text, UniqueConstraint,
                        delete, select)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

metadata = MetaData()
Base = declarative_base(metadata=metadata)  # not knowledge.models.Base: a knowledge build leaves these alone


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Chat(Base):
    """A Telegram chat's settings: interface language and which conversation with the assistant is current."""

    __tablename__ = "telegram_chat"
    chat_id = Column(BigInteger, primary_key=True, autoincrement=False)
    language = Column(String(8), nullable=True)  # None: not chosen yet (the user's Telegram language decides)
    conversation = Column(Integer, nullable=False, default=0)  # /new adds one: a new sender id
    updated_at = Column(DateTime, nullable=False, default=_now)


class CallbackKey(Base):
    """Button data longer than Telegram's 64 bytes of callback_data, under a short key."""

    __tablename__ = "telegram_callback"
    key = Column(String(32), primary_key=True)
    data = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=_now)


class Subscription(Base):
    """A chat wants a reminder before each next date of a deadline."""

    __tablename__ = "telegram_subscription"
    __table_args__ = (UniqueConstraint("chat_id", "deadline_id"),)
    id = Column(Integer, primary_key=True)
    chat_id = Column(BigInteger, nullable=False, index=True)
    deadline_id = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=_now)


class SentReminder(Base):
    """A reminder that went out: one per (chat, deadline, deadline date), so never twice for the same date."""

    __tablename__ = "telegram_reminder_sent"
    __table_args__ = (UniqueConstraint("chat_id", "deadline_id", "deadline_date"),)
    id = Column(Integer, primary_key=True)
    chat_id = Column(BigInteger, nullable=False)
    deadline_id = Column(String(64), nullable=False)
    deadline_date = Column(Date, nullable=False)
    sent_at = Column(DateTime, nullable=False, default=_now)


class SeenUpdate(Base):
    """Telegram updates already taken on, so none is handled twice (also across a restart)."""

    __tablename__ = "telegram_update"
    bot_id = Column(BigInteger, primary_key=True, autoincrement=False)
    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    seen_at = Column(DateTime, nullable=False, default=_now, index=True)


CALLBACK_KEY_PREFIX = "tg:k:"


def callback_key(data: str) -> str:
    """A short, stable key for data: the same data always gets the same key (21 bytes in all)."""
    digest = hashlib.sha256(data.encode("utf-8")).digest()[:12]
    return CALLBACK_KEY_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class ChatSettings:
    language: Optional[str]
    conversation: int


class Store:
    """Short sessions per call; safe to share between handlers (one engine, a connection pool)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self) -> "Store":
        metadata.create_all(self.engine)  # checkfirst: existing tables and their rows stay
        return self

    # -- chats ---------------------------------------------------------------------------------
    def chat(self, chat_id: int) -> ChatSettings:
        with Session(self.engine) as s:
            row = s.get(Chat, chat_id)
            return ChatSettings(row.language, row.conversation) if row else ChatSettings(None, 0)

    def _update_chat(self, chat_id: int, **values: Any) -> Chat:
        for _ in range(2):  # a concurrent first insert of the same chat: read it back and update that
            try:
                with Session(self.engine, expire_on_commit=False) as s, s.begin():
                    row = s.get(Chat, chat_id)
                    if row is None:
                        row = Chat(chat_id=chat_id, conversation=0)
                        s.add(row)
                    for k, v in values.items():
                        setattr(row, k, v(row) if callable(v) else v)
                    row.updated_at = _now()
                return row
            except IntegrityError:
                continue
        raise RuntimeError(f"could not update chat {chat_id}")

    def set_language(self, chat_id: int, language: str) -> None:
        self._update_chat(chat_id, language=language)

    def new_conversation(self, chat_id: int) -> int:
        return self._update_chat(chat_id, conversation=lambda r: (r.conversation or 0) + 1).conversation

    # -- long button data ------------------------------------------------------------------------
    def put_callback(self, data: str) -> str:
        key = callback_key(data)
        with Session(self.engine) as s:
            if s.get(CallbackKey, key) is not None:
                return key
        self._add_new(CallbackKey(key=key, data=data))  # False: stored meanwhile by another handler, same data
        return key

    def get_callback(self, key: str) -> Optional[str]:
        with Session(self.engine) as s:
            row = s.get(CallbackKey, key)
            return row.data if row else None

    # -- subscriptions ---------------------------------------------------------------------------
    def _add_new(self, row: Base) -> bool:
        """Insert a row a unique constraint guards: True when new, False when it was there already."""
        try:
            with Session(self.engine) as s, s.begin():
                s.add(row)
            return True
        except IntegrityError:
            return False

    def subscribe(self, chat_id: int, deadline_id: str) -> bool:
        """True when new, False when the chat had it already."""
        return self._add_new(Subscription(chat_id=chat_id, deadline_id=deadline_id))

    def unsubscribe(self, chat_id: int, deadline_id: str) -> bool:
        with Session(self.engine) as s, s.begin():
            res = s.execute(delete(Subscription).where(Subscription.chat_id == chat_id,
                                                       Subscription.deadline_id == deadline_id))
            return bool(res.rowcount)

    def unsubscribe_chat(self, chat_id: int) -> int:
        with Session(self.engine) as s, s.begin():
            return s.execute(delete(Subscription).where(Subscription.chat_id == chat_id)).rowcount or 0

    def subscriptions(self, chat_id: Optional[int] = None) -> List[Tuple[int, str]]:
        """(chat_id, deadline_id) pairs, oldest first."""
        stmt = select(Subscription.chat_id, Subscription.deadline_id).order_by(Subscription.id)
        if chat_id is not None:
            stmt = stmt.where(Subscription.chat_id == chat_id)
        with Session(self.engine) as s:
            return [(c, d) for c, d in s.execute(stmt).all()]

    # -- reminders sent ----------------------------------------------------------------------------
    def claim_reminder(self, chat_id: int, deadline_id: str, deadline_date: dt.date) -> bool:
        """Record a reminder before sending it; False when it was sent (or is being sent) already."""
        return self._add_new(SentReminder(chat_id=chat_id, deadline_id=deadline_id, deadline_date=deadline_date))

    def release_reminder(self, chat_id: int, deadline_id: str, deadline_date: dt.date) -> None:
        """Sending failed: forget the claim so the next check tries again."""
        with Session(self.engine) as s, s.begin():
            s.execute(delete(SentReminder).where(SentReminder.chat_id == chat_id,
                                                 SentReminder.deadline_id == deadline_id,
                                                 SentReminder.deadline_date == deadline_date))

    def sent_reminders(self) -> List[Tuple[int, str, dt.date]]:
        stmt = select(SentReminder.chat_id, SentReminder.deadline_id, SentReminder.deadline_date).order_by(SentReminder.id)
        with Session(self.engine) as s:
            return [tuple(r) for r in s.execute(stmt).all()]

    # -- updates seen ------------------------------------------------------------------------------
    def first_time(self, bot_id: int, update_id: int) -> bool:
        """True the first time an update is seen; False for a repeat (a redelivery, a duplicate)."""
        return self._add_new(SeenUpdate(bot_id=bot_id, update_id=update_id))

    def forget_updates(self, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
        """Telegram keeps undelivered updates for 24 hours: a week of ids is plenty."""
        with Session(self.engine) as s, s.begin():
            return s.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < _now() - older_than)).rowcount or 0


@dataclass(frozen=True)
class DueReminder:
    chat_id: int
    deadline: Dict[str, Any]  # as knowledge.deadlines.describe gives it
    date: dt.date


def due_reminders(subscriptions: Iterable[Tuple[int, str]], deadlines: Iterable[Dict[str, Any]], today: dt.date,
                  days_before: int) -> List[DueReminder]:
    """Reminders due today: the deadline's next date is at most `days_before` days away (a check missed on the
    exact day is caught up later, up to the deadline itself). Whether one went out already is the Store's part."""
    by_id = {d["id"]: d for d in deadlines}
    due = []
    for chat_id, deadline_id in subscriptions:
        d = by_id.get(deadline_id)
        if not d or not d.get("next_date"):
            continue  # gone from the knowledge base, or a call without a fixed date
        when = dt.date.fromisoformat(d["next_date"])
        if 0 <= (when - today).days <= days_before:
            due.append(DueReminder(chat_id, d, when))
    return due
