"""Rasa input channels with input checks: bad requests get a clear 4xx error and never reach the assistant."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage as BadRequest  # 400 (Sanic 21)
from sanic.exceptions import PayloadTooLarge  # 413
from sanic.request import Request

MAX_MESSAGE_CHARS = 10_000  # about four pages of text: longer is not a chat message
MAX_SENDER_CHARS = 128
MARKUP = re.compile(r"<(script|style)\b[^>]{0,200}>.*?</\1\s*>|</?[a-zA-Z][\w-]*(\s[^<>]{0,500})?/?>", re.I | re.S)


def plain_text(message: str) -> str:
    """What the assistant reads: markup removed (a pasted "<b>fees?</b>" is the question "fees?").

    The message as sent is kept in the tracker (metadata "raw_message"); nothing is ever rendered as HTML."""
    if "<" not in message:
        return message
    plain = re.sub(r"\s+", " ", MARKUP.sub(" ", message)).strip()
    return plain or message  # nothing but markup: let the assistant say it did not understand


def _body(req: Request) -> dict:
    body = req.json  # Sanic answers 400 itself when the body is not JSON
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object: {"sender": "...", "message": "..."}')
    return body


def checked_sender(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest('"sender" must be a non-empty string identifying the conversation')
    if len(value) > MAX_SENDER_CHARS:
        raise BadRequest(f'"sender" must be at most {MAX_SENDER_CHARS} characters')
    return value


def checked_message(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest('"message" must be a string')
    if len(value) > MAX_MESSAGE_CHARS:
        raise PayloadTooLarge(f'"message" is {len(value)} characters; the limit is {MAX_MESSAGE_CHARS}')
    return value


class RestChannel(RestInput):
    """Rasa's REST channel (/webhooks/rest/webhook) with its input checked."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return checked_sender(_body(req).get("sender"))

    def _extract_message(self, req: Request) -> Optional[Text]:
        return plain_text(checked_message(_body(req).get("message")))

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        body = _body(request)
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        message = body.get("message")
        if isinstance(message, str) and plain_text(message) != message:
            metadata = {**metadata, "raw_message": message}
        return metadata or None
