"""A local stand-in for the Telegram Bot API: an HTTP server on 127.0.0.1 (stdlib, in a thread) answering
/bot<token>/<method> for the methods the bot uses, recording every call, holding updates for getUpdates (long
polling, offsets confirmed as Telegram does), and failing on request (429 with retry_after, 502, ...).

The real python-telegram-bot client talks to it: ApplicationBuilder().base_url(api.base_url).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

TOKEN = "123456:TEST-token_for-the-fake-api"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Mobility", "username": "mobility_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


class _JsonHandler(BaseHTTPRequestHandler):
    """What both loopback servers share: keep-alive HTTP/1.1, no log lines, JSON answers."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body leave in one write (flushed after each request)

    def log_message(self, *args: Any) -> None:
        pass

    def send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a cancelled long poll)


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    result: Any = None  # what the API answered (a copy, as it was then)


def _decode(value: str) -> Any:
    """PTB sends parameters form-encoded, objects (reply_markup, ...) as JSON strings."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotAPI:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: List[Call] = []
        self.updates: List[Dict[str, Any]] = []  # not yet confirmed by an offset
        self.pushed: Dict[int, Dict[str, Any]] = {}  # every update ever queued, by update_id
        self.messages: Dict[tuple, Dict[str, Any]] = {}  # (chat_id, message_id) -> the message as it is now
        self.webhook: Dict[str, Any] = {"url": ""}
        self.failures: Dict[str, List[tuple]] = {}
        self._next_update, self._next_message = 1000, 1
        self._cond = threading.Condition()
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> "FakeBotAPI":
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # -- what tests do ------------------------------------------------------------------------------
    def _user(self, chat_id: int, language: str) -> Dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Student", "language_code": language}

    def _push(self, update: Dict[str, Any]) -> int:
        with self._cond:
            update["update_id"] = self._next_update
            self._next_update += 1
            self.updates.append(update)
            self.pushed[update["update_id"]] = json.loads(json.dumps(update))
            self._cond.notify_all()
            return update["update_id"]

    def _new_message_id(self) -> int:
        with self._cond:
            mid = self._next_message
            self._next_message += 1
            return mid

    def send_text(self, chat_id: int, text: str, language: str = "en") -> int:
        """A user writes to the bot; returns the update_id."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = {"message_id": self._new_message_id(), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Student"},
                   "from": self._user(chat_id, language), "text": text}
        if entities:
            message["entities"] = entities
        return self._push({"message": message})

    def send_sticker(self, chat_id: int) -> int:
        message = {"message_id": self._new_message_id(), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Student"},
                   "from": self._user(chat_id, "en"),
                   "sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
                               "is_animated": False, "is_video": False, "type": "regular"}}
        return self._push({"message": message})

    def tap(self, chat_id: int, message_id: int, callback_data: str, language: str = "en") -> int:
        """A user taps an inline button of one of the bot's messages."""
        with self._cond:
            message = json.loads(json.dumps(self.messages[(chat_id, message_id)]))
        return self._push({"callback_query": {"id": f"cq{self._next_update}", "from": self._user(chat_id, language),
                                              "chat_instance": f"ci{chat_id}", "message": message,
                                              "data": callback_data}})

    def redeliver(self, update_id: int) -> None:
        """Telegram delivers an update again, with the same update_id."""
        with self._cond:
            self.updates.append(json.loads(json.dumps(self.pushed[update_id])))
            self._cond.notify_all()

    def fail(self, method: str, status: int, description: str, times: int = 1, **parameters: Any) -> None:
        """The next `times` calls of `method` fail with this HTTP status (and response parameters)."""
        with self._cond:
            self.failures.setdefault(method, []).extend([(status, description, parameters)] * times)

    def calls_of(self, method: str) -> List[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def attempts_of(self, method: str) -> List[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: Optional[int] = None) -> List[Dict[str, Any]]:
        """The messages the bot sent (successfully), oldest first, as they were sent: message_id, text and
        reply_markup (when there was one)."""
        return [c.result for c in self.calls_of("sendMessage")
                if chat_id is None or int(c.params["chat_id"]) == chat_id]

    def texts(self, chat_id: Optional[int] = None) -> List[str]:
        return [m["text"] for m in self.sent(chat_id)]

    def pending_updates(self) -> int:
        with self._cond:
            return len(self.updates)

    # -- the server ------------------------------------------------------------------------------------
    def _message(self, chat_id: int, params: Dict[str, Any]) -> Dict[str, Any]:
        message = {"message_id": self._next_message, "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Student"},
                   "from": BOT_USER, "text": params["text"]}
        self._next_message += 1
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _answer(self, method: str, params: Dict[str, Any]) -> tuple:
        """(HTTP status, response body) for one Bot API call; called with the lock held."""
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed: gone
            timeout = float(params.get("timeout") or 0)
            deadline = time.monotonic() + min(timeout, 30)
            while not self.updates and not self._closed and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            limit = int(params.get("limit") or 100)
            return 200, {"ok": True, "result": self.updates[:limit]}
        if method == "sendMessage":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            if len(text.encode("utf-16-le")) // 2 > 4096:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
            if "parse_mode" in params:
                return 400, {"ok": False, "error_code": 400, "description": "test: no parse_mode expected"}
            markup = params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    if "callback_data" in b and not 1 <= len(b["callback_data"].encode()) <= 64:
                        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: BUTTON_DATA_INVALID"}
            return 200, {"ok": True, "result": self._message(int(params["chat_id"]), params)}
        if method == "editMessageReplyMarkup":
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = self.messages.get(key)
            if message is None:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            return 200, {"ok": True, "result": message}
        if method in ("answerCallbackQuery", "sendChatAction", "setMyCommands"):
            return 200, {"ok": True, "result": True}
        if method == "setWebhook":
            self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
            return 200, {"ok": True, "result": True}
        if method == "deleteWebhook":
            self.webhook = {"url": ""}
            return 200, {"ok": True, "result": True}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                                                "pending_update_count": len(self.updates)}}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _handle(self, path: str, params: Dict[str, Any]) -> tuple:
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = parts[0][3:], parts[1]
        with self._cond:
            if token != self.token:
                self.calls.append(Call(method, params, status=401))
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            queued = self.failures.get(method)
            if queued:
                status, description, parameters = queued.pop(0)
                self.calls.append(Call(method, params, status=status))
                body = {"ok": False, "error_code": status, "description": description}
                if parameters:
                    body["parameters"] = parameters
                return status, body
            call = Call(method, params)
            self.calls.append(call)
            status, body = self._answer(method, params)
            call.status = status
            call.result = json.loads(json.dumps(body.get("result")))
            self._cond.notify_all()
            return status, body

    def _handler(self):
        api = self

        class Handler(_JsonHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    params = json.loads(raw or "{}")
                else:
                    params = {k: _decode(v[-1]) for k, v in parse_qs(raw, keep_blank_values=True).items()}
                params.update({k: _decode(v[-1]) for k, v in parse_qs(urlparse(self.path).query).items()})
                status, body = api._handle(urlparse(self.path).path, params)
                self.send_json(status, body)

            do_GET = do_POST

        return Handler


# -- a fake assistant (Rasa's REST channel) ------------------------------------------------------------------
class FakeAssistant:
    """POST {"sender", "message"} -> a JSON list of messages from `reply(sender, message)`. Records the requests.
    `reply` may return an int (that HTTP status) or a float (sleep that long first, then answer [])."""

    def __init__(self, reply: Callable[[str, str], Any]):
        self.reply = reply
        self.requests: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        assistant = self

        class Handler(_JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with assistant._lock:
                    assistant.requests.append(body)
                answer = assistant.reply(body.get("sender"), body.get("message"))
                status = 200
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = []
                if isinstance(answer, int):
                    status, answer = answer, {"error": "test"}
                self.send_json(status, answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/rest/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> "FakeAssistant":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def messages(self) -> List[str]:
        with self._lock:
            return [r.get("message") for r in self.requests]
