"""Conversations through Telegram: the real python-telegram-bot client long-polling the Bot API stand-in, a fake
assistant behind it. Questions, inline keyboards, taps, the commands, each update once."""
from __future__ import annotations

from tg_helpers import CHAT, run, running, until

STUDY = '/inform{"activity": "study"}'
LONG_PAYLOAD = ('/inform{"institution": "kask", "destination": "JP", "activity": "internship", "months": 2, '
                '"note": "longer than the 64 bytes Telegram allows"}')
QUESTION = "What grants can I get for Japan?"
ANSWER = "For a 2-month internship in Japan: the Priority Country Programme grant (source: kask-going-abroad.txt)."


def script(sender, message):
    if message == QUESTION:
        return [{"recipient_id": sender, "text": "Which kind of stay?",
                 "buttons": [{"title": "Study", "payload": STUDY},
                             {"title": "Internship of 2 months", "payload": LONG_PAYLOAD}]}]
    if message == LONG_PAYLOAD:
        return [{"recipient_id": sender, "text": ANSWER}]
    if message == "/greet":
        return [{"recipient_id": sender, "text": "Hi! I answer questions about studying abroad. What would you like "
                 "to know?", "buttons": [{"title": "Tuition fees", "payload": "/ask_fee"}]}]
    if message == "tg:sub:looks-like-ours":
        return [{"text": "a payload that looks like the bot's own data, relayed as it is"}]
    return [{"recipient_id": sender, "text": f"echo: {message}"}]


def test_a_whole_conversation_question_keyboard_tap_answer(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, QUESTION)
            (first,) = await until(lambda: api.sent(CHAT), what="the assistant's question")
            assert first["text"] == "Which kind of stay?"
            keyboard = first["reply_markup"]["inline_keyboard"]
            assert [[b["text"] for b in row] for row in keyboard] == [["Study"], ["Internship of 2 months"]]
            assert keyboard[0][0]["callback_data"] == STUDY  # a short payload is the callback data itself
            long_data = keyboard[1][0]["callback_data"]
            assert len(long_data.encode()) <= 64 < len(LONG_PAYLOAD.encode())

            api.tap(CHAT, first["message_id"], long_data)
            await until(lambda: len(api.sent(CHAT)) == 2, what="the answer after the tap")
            answered = api.calls_of("answerCallbackQuery")
            assert len(answered) == 1 and answered[0].params["callback_query_id"].startswith("cq")
            (edit,) = api.calls_of("editMessageReplyMarkup")
            assert int(edit.params["message_id"]) == first["message_id"] and not edit.params.get("reply_markup")
            assert "reply_markup" not in api.messages[(CHAT, first["message_id"])]  # the keyboard is gone
            assert api.sent(CHAT)[1]["text"] == ANSWER
            methods = [c.method for c in api.calls if c.method != "getUpdates" and c.method != "sendChatAction"]
            assert methods.index("answerCallbackQuery") < methods.index("editMessageReplyMarkup") \
                < len(methods) - 1 - methods[::-1].index("sendMessage")

        assert assistant.messages() == [QUESTION, LONG_PAYLOAD]  # the tap sent the whole long payload
        assert {r["sender"] for r in assistant.requests} == {f"tg-{CHAT}"}
        assert all("parse_mode" not in c.params for c in api.calls_of("sendMessage"))

    run(scenario())


def test_start_greets_through_the_assistant_and_help_new_and_language_work(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "/start")
            (greeting,) = await until(lambda: api.sent(CHAT), what="the greeting")
            assert greeting["text"].startswith("Hi! I answer questions")
            assert greeting["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/ask_fee"

            api.send_text(CHAT, "/help")
            await until(lambda: len(api.sent(CHAT)) == 2)
            assert "/remind" in api.texts(CHAT)[1] and "/new" in api.texts(CHAT)[1]

            api.send_text(CHAT, "/language nl")
            await until(lambda: len(api.sent(CHAT)) == 3)
            assert "Nederlands" in api.texts(CHAT)[2]
            api.send_text(CHAT, "/help")
            await until(lambda: len(api.sent(CHAT)) == 4)
            assert "Commando's" in api.texts(CHAT)[3]

            api.send_text(CHAT, "first conversation")
            await until(lambda: len(api.sent(CHAT)) == 5)
            api.send_text(CHAT, "/new")
            await until(lambda: len(api.sent(CHAT)) == 6)
            assert "Nieuw gesprek" in api.texts(CHAT)[5]
            api.send_text(CHAT, "second conversation")
            await until(lambda: len(api.sent(CHAT)) == 7)
            api.send_text(CHAT, "/language")  # no choice given: buttons to choose
            await until(lambda: len(api.sent(CHAT)) == 8)
            choose = api.sent(CHAT)[7]
            en = [b for row in choose["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "English"][0]
            api.tap(CHAT, choose["message_id"], en["callback_data"])
            await until(lambda: len(api.sent(CHAT)) == 9)
            assert "English" in api.texts(CHAT)[8]

        senders = {r["message"]: r["sender"] for r in assistant.requests}
        assert senders["/greet"] == f"tg-{CHAT}"
        assert senders["first conversation"] == f"tg-{CHAT}"
        assert senders["second conversation"] == f"tg-{CHAT}-1"  # /new: a fresh sender id
        assert "/help" not in senders and "/language nl" not in senders  # the bot's own commands stay here

    run(scenario())


def test_language_and_conversation_survive_a_restart(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "/language nl")
            api.send_text(CHAT, "/new")
            await until(lambda: len(api.sent(CHAT)) == 2)
        async with running(make_bot(assistant.url)):  # a new Application on the same database
            api.send_text(CHAT, "/help")
            api.send_text(CHAT, "hello again")
            await until(lambda: len(api.sent(CHAT)) == 4)
            assert "Commando's" in api.texts(CHAT)[2]
        assert assistant.requests[-1] == {"sender": f"tg-{CHAT}-1", "message": "hello again"}

    run(scenario())


def test_telegram_users_with_dutch_settings_get_dutch_interface_strings(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "/help", language="nl-BE")
            await until(lambda: api.sent(CHAT))
        assert "Commando's" in api.texts(CHAT)[0]

    run(scenario())


def test_each_update_is_handled_once_even_when_delivered_again(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            update_id = api.send_text(CHAT, "only once please")
            await until(lambda: api.sent(CHAT))
            api.redeliver(update_id)  # Telegram delivers the same update again (same update_id)...
            api.send_text(CHAT, "next")
            await until(lambda: len(api.sent(CHAT)) >= 2)
        async with running(make_bot(assistant.url)):  # ...also to a restarted bot
            api.redeliver(update_id)
            api.send_text(CHAT, "after the restart")
            await until(lambda: len(api.sent(CHAT)) >= 3)
        assert assistant.messages() == ["only once please", "next", "after the restart"]
        assert api.texts(CHAT) == ["echo: only once please", "echo: next", "echo: after the restart"]

    run(scenario())


def test_payloads_that_look_like_the_bots_own_data_are_relayed_as_payloads(api, fake_assistant, make_bot):
    def reply(sender, message):
        if message == "menu":
            return [{"text": "Pick one", "buttons": [{"title": "Odd", "payload": "tg:sub:looks-like-ours"}]}]
        return script(sender, message)

    assistant = fake_assistant(reply)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_text(CHAT, "menu")
            (menu,) = await until(lambda: api.sent(CHAT))
            data = menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            assert data != "tg:sub:looks-like-ours"
            api.tap(CHAT, menu["message_id"], data)
            await until(lambda: len(api.sent(CHAT)) == 2)
        assert assistant.messages() == ["menu", "tg:sub:looks-like-ours"]

    run(scenario())


def test_other_messages_and_unknown_commands_get_a_pointer_and_reach_no_assistant(api, fake_assistant, make_bot):
    assistant = fake_assistant(script)

    async def scenario():
        async with running(make_bot(assistant.url)):
            api.send_sticker(CHAT)
            api.send_text(CHAT, "/frobnicate")
            await until(lambda: len(api.sent(CHAT)) == 2)
        assert "only read text" in api.texts(CHAT)[0]
        assert "/help" in api.texts(CHAT)[1]
        assert assistant.requests == []

    run(scenario())
