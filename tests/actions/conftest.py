"""Runs the custom actions as the action server would: a real rasa_sdk Tracker built from a message whose
entities come from the project's own spaCy pipeline, and a CollectingDispatcher that keeps what was said."""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from bot.nlp import build_pipeline, extractor_labels

DIMENSIONS = extractor_labels()  # the labels the action server receives


@pytest.fixture(scope="session")
def nlp(kb):
    return build_pipeline(kb)


@pytest.fixture(autouse=True, scope="session")
def _actions_use_test_kb(kb):
    common.set_kb(kb)
    yield
    common.set_kb(None)


@dataclass
class Turn:
    """What an action did with one message: its replies and the slots after its events."""
    messages: List[Dict[str, Any]]
    events: List[Dict[str, Any]]
    slots: Dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> List[Dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]


class Conversation:
    """A conversation's slots carried from turn to turn, as Rasa's tracker would."""

    def __init__(self, nlp, sender: str = "test-user"):
        self.nlp, self.sender, self.slots = nlp, sender, {}
        self.events: List[Dict[str, Any]] = []

    def message(self, text: str, intent: str, confidence: float = 0.95,
                ranking: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
        if text.startswith("/"):  # a button payload: /intent{"entity": "value"}
            m = re.fullmatch(r"/(\w+)(\{.*\})?", text)
            ents = [{"entity": k, "value": v} for k, v in json.loads(m.group(2) or "{}").items()]
            intent = m.group(1)
        else:
            ents = [{"entity": e.label_, "value": e.text, "start": e.start_char, "end": e.end_char}
                    for e in self.nlp(text).ents if e.label_ in DIMENSIONS]
        return {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": ents,
                "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]}

    def run(self, action, text: str, intent: str = "inform", **kw) -> Turn:
        latest = self.message(text, intent, **kw)
        self.events.append({"event": "user", "text": text, "parse_data": latest})
        tracker = Tracker(self.sender, dict(self.slots), latest, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, tracker, {}))
        self.events.append({"event": "action", "name": action.name()})
        for e in events:
            if e.get("event") == "slot":
                self.slots[e["name"]] = e["value"]
        self.events.extend(events)
        return Turn(dispatcher.messages, events, dict(self.slots))


@pytest.fixture
def conversation(nlp) -> Conversation:
    return Conversation(nlp)
