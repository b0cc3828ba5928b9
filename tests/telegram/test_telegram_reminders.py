"""Deadline reminders: subscribing with /remind, cancelling with /reminders, reminders going out a number of days
before a deadline's next date on a clock the test controls, never twice, and all of it surviving a restart."""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import inspect

from bot.reminders import callback_key, due_reminders
from knowledge import make_engine
from knowledge.loader import build
from tg_helpers import CHAT, run, running, until

GRANT = "flemish-study-grant"  # every 1 June
GRANT_TITLE = "Apply for the Flemish study grant (studietoelage)"
OTHER_CHAT = 777


def no_assistant(sender, message):
    raise AssertionError("reminders need no assistant")


def buttons(message):
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def test_remind_offers_the_dated_deadlines_and_a_tap_subscribes(api, fake_assistant, make_bot):
    assistant = fake_assistant(no_assistant)
    bot = make_bot(assistant.url)

    async def scenario():
        async with running(bot):
            api.send_text(CHAT, "/remind")
            (offer,) = await until(lambda: api.sent(CHAT), what="the deadlines")
            assert "7 days before" in offer["text"]
            labels = [b["text"] for b in buttons(offer)]
            assert len(labels) == 7  # the eight deadlines but the ASEM calls, which have no date
            assert labels[0].startswith("1 February 2027 · ")  # soonest first, from the test's today
            grant = [b for b in buttons(offer) if "Flemish study grant" in b["text"]][0]
            assert grant["text"].startswith("1 June 2027")
            assert len(grant["callback_data"].encode()) <= 64

            api.tap(CHAT, offer["message_id"], grant["callback_data"])
            await until(lambda: len(api.sent(CHAT)) == 2, what="the confirmation")
            assert api.texts(CHAT)[1] == (f"Reminder set: {GRANT_TITLE} (1 June 2027). "
                                          "I'll send you a message 7 days before.")
            assert api.calls_of("answerCallbackQuery")[0].params["text"] == "Reminder set"
            now = api.messages[(CHAT, offer["message_id"])]  # the keyboard stays, the choice is ticked
            ticked = [b["text"] for b in buttons(now) if b["text"].startswith("✓ ")]
            assert len(ticked) == 1 and "Flemish study grant" in ticked[0] and len(buttons(now)) == 7

            api.tap(CHAT, offer["message_id"], grant["callback_data"])  # again: nothing new
            await until(lambda: len(api.calls_of("answerCallbackQuery")) == 2)
            assert "already" in api.calls_of("answerCallbackQuery")[1].params["text"]
            assert bot.store.subscriptions() == [(CHAT, GRANT)]

            api.send_text(CHAT, "/reminders")
            await until(lambda: len(api.sent(CHAT)) == 3, what="the list")
            listing = api.sent(CHAT)[2]
            assert f"• 1 June 2027: {GRANT_TITLE}" in listing["text"]
            (cancel,) = buttons(listing)
            assert cancel["text"].startswith("✕ ")
            api.tap(CHAT, listing["message_id"], cancel["callback_data"])
            await until(lambda: len(api.calls_of("answerCallbackQuery")) == 3)
            assert api.calls_of("answerCallbackQuery")[2].params["text"] == f"Reminder cancelled: {GRANT_TITLE}"
            await until(lambda: "reply_markup" not in api.messages[(CHAT, listing["message_id"])],
                        what="the cancel button to go")
            assert bot.store.subscriptions() == []

            api.send_text(CHAT, "/reminders")
            await until(lambda: len(api.sent(CHAT)) == 4)
            assert "no reminders" in api.texts(CHAT)[3]
        assert assistant.requests == []

    run(scenario())


def test_a_reminder_goes_out_days_before_the_deadline_once_and_not_again_after_a_restart(api, fake_assistant,
                                                                                           make_bot):
    assistant = fake_assistant(no_assistant)
    bot = make_bot(assistant.url)
    bot.store.subscribe(CHAT, GRANT)
    bot.store.subscribe(OTHER_CHAT, "pcp-application")  # 12 March: not due in May
    bot.store.set_language(OTHER_CHAT, "nl")

    async def scenario():
        async with running(bot) as app:
            assert await bot.send_due_reminders(app.bot, dt.date(2027, 5, 24)) == []  # 8 days before
            assert api.sent() == []
            sent = await bot.send_due_reminders(app.bot, dt.date(2027, 5, 25))  # 7 days before
            assert sent == [(CHAT, GRANT, dt.date(2027, 6, 1))]
            (reminder,) = api.sent(CHAT)
            assert reminder["text"].startswith(f"Reminder: {GRANT_TITLE}\nIn 7 days: 1 June 2027.")
            assert "Source: Tuition fees for English-taught programmes" in reminder["text"]
            assert [b["text"] for b in buttons(reminder)] == ["Stop this reminder"]
            assert await bot.send_due_reminders(app.bot, dt.date(2027, 5, 25)) == []  # the same check again
            assert await bot.send_due_reminders(app.bot, dt.date(2027, 5, 26)) == []  # the next day
        restarted = make_bot(assistant.url)  # a new Application on the same database
        async with running(restarted) as app:
            assert await restarted.send_due_reminders(app.bot, dt.date(2027, 5, 31)) == []
            assert len(api.sent(CHAT)) == 1
            # The Dutch chat's deadline, 12 March 2028, within 7 days: in Dutch.
            assert await restarted.send_due_reminders(app.bot, dt.date(2028, 3, 10)) == [
                (OTHER_CHAT, "pcp-application", dt.date(2028, 3, 12))]
            assert api.texts(OTHER_CHAT)[0].startswith("Herinnering: Apply for the Priority Country Programme grant"
                                                       "\nOver 2 dagen: 12 maart 2028.")
            # The next year's date is a new reminder.
            assert await restarted.send_due_reminders(app.bot, dt.date(2028, 6, 1)) == [
                (CHAT, GRANT, dt.date(2028, 6, 1))]
            assert api.texts(CHAT)[1].startswith(f"Reminder: {GRANT_TITLE}\nToday, 1 June 2028.")
        assert restarted.store.sent_reminders() == [(CHAT, GRANT, dt.date(2027, 6, 1)),
                                                    (OTHER_CHAT, "pcp-application", dt.date(2028, 3, 12)),
                                                    (CHAT, GRANT, dt.date(2028, 6, 1))]

    run(scenario())


def test_the_job_queue_checks_on_its_own_outside_the_night(api, fake_assistant, make_bot):
    assistant = fake_assistant(no_assistant)
    clock = {"now": dt.datetime(2027, 5, 30, 3, 0)}  # 2 days before 1 June, at night
    bot = make_bot(assistant.url, clock=lambda: clock["now"], check_interval=0.1, first_check=0.05)
    bot.store.subscribe(CHAT, GRANT)

    async def scenario():
        async with running(bot) as app:
            (job,) = app.job_queue.get_jobs_by_name("deadline-reminders")
            await asyncio.sleep(0.5)  # several checks
            assert api.sent() == []  # no reminders at 3 in the morning
            clock["now"] = dt.datetime(2027, 5, 30, 9, 0)
            (reminder,) = await until(lambda: api.sent(CHAT), what="the job to send the reminder")
            assert "In 2 days: 1 June 2027." in reminder["text"]
            await asyncio.sleep(0.5)  # more checks: no second reminder
            assert len(api.sent(CHAT)) == 1
            stop = buttons(reminder)[0]
            api.tap(CHAT, reminder["message_id"], stop["callback_data"])  # "Stop this reminder"
            await until(lambda: not bot.store.subscriptions(), what="the subscription to go")
            await until(lambda: "reply_markup" not in api.messages[(CHAT, reminder["message_id"])])

    run(scenario())


def test_a_refused_reminder_is_tried_again_and_a_blocked_chat_is_unsubscribed(api, fake_assistant, make_bot):
    assistant = fake_assistant(no_assistant)
    bot = make_bot(assistant.url, network_retries=0)
    bot.store.subscribe(CHAT, GRANT)
    bot.store.subscribe(OTHER_CHAT, GRANT)

    async def scenario():
        async with running(bot) as app:
            api.fail("sendMessage", 400, "Bad Request: something passing")
            api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
            assert await bot.send_due_reminders(app.bot, dt.date(2027, 5, 28)) == []
            assert bot.store.subscriptions() == [(CHAT, GRANT)]  # the chat that blocked the bot is gone
            assert await bot.send_due_reminders(app.bot, dt.date(2027, 5, 29)) == [(CHAT, GRANT, dt.date(2027, 6, 1))]
            assert len(api.sent(CHAT)) == 1 and api.sent(OTHER_CHAT) == []

    run(scenario())


def test_building_the_knowledge_base_leaves_the_bots_tables_alone(api, fake_assistant, make_bot, db_url):
    assistant = fake_assistant(no_assistant)
    bot = make_bot(assistant.url, kb_url=None)  # the knowledge base and the bot share one database, as deployed
    bot.store.subscribe(CHAT, GRANT)
    bot.store.put_callback("x" * 100)
    engine = make_engine(db_url)
    build(engine)  # `mobility kb build`: drops and recreates the knowledge tables
    assert {"telegram_subscription", "telegram_reminder_sent", "telegram_chat", "fact"} <= set(
        inspect(engine).get_table_names())
    assert bot.store.subscriptions() == [(CHAT, GRANT)]
    assert bot.store.get_callback(callback_key("x" * 100)) == "x" * 100

    async def scenario():
        async with running(bot) as app:
            assert len(await bot.send_due_reminders(app.bot, dt.date(2027, 5, 25))) == 1

    run(scenario())


def test_due_reminders_window():
    deadlines = [{"id": "a", "next_date": "2027-06-01"}, {"id": "call", "next_date": None}]
    subs = [(1, "a"), (2, "call"), (3, "gone")]
    due = lambda today, days=7: [(r.chat_id, r.date) for r in due_reminders(subs, deadlines, today, days)]  # noqa: E731
    assert due(dt.date(2027, 5, 24)) == []
    assert due(dt.date(2027, 5, 25)) == [(1, dt.date(2027, 6, 1))]
    assert due(dt.date(2027, 6, 1)) == [(1, dt.date(2027, 6, 1))]  # a missed check is caught up to the day itself
    assert due(dt.date(2027, 5, 31), days=0) == []
    assert due(dt.date(2027, 6, 1), days=0) == [(1, dt.date(2027, 6, 1))]


def test_a_dutch_speaking_user_subscribes_and_is_reminded_in_dutch(api, fake_assistant, make_bot):
    assistant = fake_assistant(no_assistant)
    bot = make_bot(assistant.url)

    async def scenario():
        async with running(bot) as app:
            api.send_text(CHAT, "/remind", language="nl")
            (offer,) = await until(lambda: api.sent(CHAT))
            assert offer["text"].startswith("Voor welke deadline wil je een herinnering?")
            grant = [b for b in buttons(offer) if "Flemish study grant" in b["text"]][0]
            assert grant["text"].startswith("1 juni 2027 · ")
            api.tap(CHAT, offer["message_id"], grant["callback_data"], language="nl")
            await until(lambda: len(api.sent(CHAT)) == 2)
            assert api.texts(CHAT)[1].startswith("Herinnering ingesteld: ")
            await bot.send_due_reminders(app.bot, dt.date(2027, 5, 31))  # no update here to tell the language by
            await until(lambda: len(api.sent(CHAT)) == 3)
            assert api.texts(CHAT)[2].startswith(f"Herinnering: {GRANT_TITLE}\nMorgen, 1 juni 2027.")
            assert [b["text"] for b in buttons(api.sent(CHAT)[2])] == ["Stop deze herinnering"]

    run(scenario())
