"""Answering a mail's questions through the assistant, and judging each answer.

The trained model is loaded in-process (rasa.core.agent.Agent) with the project's action server as a
subprocess on a free loopback port. Per mail one fresh conversation: the mail's context sentences first
(what the sender states: nationality, credits, destination, ...), then each question in turn.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import subprocess
import sys
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from bot.mail.parse import ParsedMail

# The lowest intent confidence for an answer to go in a draft. On `make bench`'s cross-validation (the SVM's
# confidences, session 12) 0.7 sends 62 % of the wrong intents to a person and 4.2 % of the right ones (0.6: 47 %
# and 2.3 %); the logistic regression's 0.6 before it sent 60.4 % and 5.8 % (session 11).
DEFAULT_THRESHOLD = 0.7
MAX_QUESTION_CHARS = 2_000
MAX_CONTEXT_FED = 10
# Entities that make a sentence worth telling the assistant before the questions.
CONTEXT_ENTITIES = {"nationality", "country", "community", "institution", "academic_year", "credits", "duration",
                    "activity", "contract", "programme", "scholarship", "residence", "grant", "enrolment"}
SOCIAL_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "ask_capabilities", "bot_challenge"}
NO_ANSWER_INTENTS = {"out_of_scope": "out-of-scope", "ask_human": "asks-for-person", "nlu_fallback": "not-understood"}
# Replies that are not an answer: the assistant is unsure, hands off, or has nothing in its sources.
NON_ANSWERS = [
    ("not-understood", re.compile(r"I'm not sure I understood|I still don't understand", re.I)),
    ("hand-off", re.compile(r"^Who can help:|put you in touch with a person", re.I | re.M)),
    ("out-of-scope", re.compile(r"Sorry, I can't help with that", re.I)),
    ("not-in-sources", re.compile(r"I don't have that in my sources|not in my sources|My sources hold no|"
                                  r"I have no tuition fees for|does not mention that card|I found no grant|"
                                  r"I can't work out that fee|I can't search grants", re.I)),
]
SOURCE = re.compile(r"\bSource:|\(source:|\bAccording to\b", re.I)

TOPICS = {
    "ask_fee": "fees", "ask_fee_rules": "fees", "ask_learning_credit": "fees", "ask_instalments": "fees",
    "ask_residence_exceptions": "fees", "ask_invoice": "fees", "ask_study_grant": "grants",
    "ask_scholarships": "grants", "ask_grants": "grants", "ask_grant_info": "grants", "ask_deadline": "deadlines",
    "ask_incoming_procedure": "incoming exchange", "ask_incoming_documents": "incoming exchange",
    "ask_portfolio": "incoming exchange", "ask_exchange_courses": "courses", "ask_theory_courses": "courses",
    "ask_english_masters": "courses", "ask_outgoing_steps": "going abroad", "ask_partners": "going abroad",
    "ask_exchange_duration": "going abroad", "ask_credit_recognition": "going abroad",
    "ask_exchange_costs": "going abroad", "ask_work_placement": "going abroad",
    "ask_internship_after_graduation": "going abroad", "ask_bip": "projects", "ask_inmics": "projects",
    "ask_staff_mobility": "projects", "ask_vision": "projects", "ask_youth_programmes": "projects",
    "out_of_scope": "out of scope", "ask_human": "a person", "nlu_fallback": "unclear",
}


def topic_of(intent: str) -> str:
    return TOPICS.get(intent, "other")


@dataclass
class Answer:
    question: str
    intent: str
    intent_confidence: float
    confidence: float  # the intent confidence, 0 when the reply is not an answer
    text: str  # the assistant's reply (its texts; buttons left out)
    answered: bool
    reason: str = ""  # why it is left to a person: a code of REASONS
    ignored: bool = False  # a pleasantry ("Can you help me?"): neither answered nor left to a person

    @property
    def topic(self) -> str:
        return topic_of(self.intent)


REASONS = ("out-of-scope", "asks-for-person", "not-understood", "low-confidence", "not-in-sources", "hand-off",
           "needs-information", "no-source", "not-a-question", "no-reply")


def judge(question: str, parsed: Dict[str, Any], messages: List[Dict[str, Any]],
          threshold: float = DEFAULT_THRESHOLD) -> Answer:
    """An Answer from the NLU result of the question and the messages the assistant replied."""
    intent = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
    conf = float((parsed.get("intent") or {}).get("confidence") or 0.0)
    text = "\n".join(m.get("text") or "" for m in messages if m.get("text")).strip()
    reason = ""
    if intent in SOCIAL_INTENTS and len(question.split()) <= 6:
        return Answer(question, intent, conf, 0.0, text, answered=False, ignored=True)
    if intent in NO_ANSWER_INTENTS:
        reason = NO_ANSWER_INTENTS[intent]
    elif intent in SOCIAL_INTENTS:
        reason = "not-a-question"
    elif not text:
        reason = "no-reply"
    else:
        for code, pattern in NON_ANSWERS:
            if pattern.search(text):
                reason = code
                break
        if not reason and not SOURCE.search(text):
            reason = "needs-information" if text.rstrip().endswith("?") else "no-source"
    confidence = 0.0 if reason else conf
    if not reason and conf < threshold:
        reason = "low-confidence"
    return Answer(question, intent, conf, confidence, text, answered=not reason, reason=reason)


def user_text(sentence: str) -> str:
    """A sentence as the assistant is told it: never a "/intent{...}" command (Rasa reads a leading slash as one),
    and not longer than a question can be."""
    return sentence.lstrip("/\\ \t").strip()[:MAX_QUESTION_CHARS]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _in_dir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _quiet_logging() -> None:
    """Rasa's debug logs (structlog, unconfigured outside the rasa command) off; warnings and errors stay."""
    import structlog

    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for name in ("rasa", "tensorflow", "absl", "sanic", "urllib3", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


class AssistantError(RuntimeError):
    pass


class Assistant:
    """The trained assistant in this process, with its action server (started here unless action_url is given)."""

    def __init__(self, action_url: Optional[str] = None, log: Optional[Path] = None,
                 threshold: float = DEFAULT_THRESHOLD):
        self.action_url = action_url
        self.log = log
        self.threshold = threshold
        self.agent = None
        self.procs: List[subprocess.Popen] = []

    def start(self) -> "Assistant":
        from bot import runner

        if not runner.MODEL.exists():
            raise AssistantError(f"no trained model at {runner.MODEL}: run `mobility train` first")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        health = None
        if not self.action_url:
            port = free_port()
            out = open(self.log, "ab") if self.log else subprocess.DEVNULL
            env = dict(os.environ, SANIC_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
            self.procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "actions", "--port", str(port)],
                                           cwd=runner.ROOT, env=env, stdout=out, stderr=out, start_new_session=True)]
            if self.log:
                out.close()
            self.action_url = f"http://127.0.0.1:{port}/webhook"
            health = f"http://127.0.0.1:{port}/health"
        try:
            # record=True: the libraries' import-time warnings are kept here and dropped, even those of a
            # library that changes the warning filters while it is imported.
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("ignore")
                from rasa.core.agent import Agent
                from rasa.utils.endpoints import EndpointConfig

                from bot import rasa_speedups

                rasa_speedups.install()

                _quiet_logging()
                with _in_dir(runner.ROOT):  # the model names its spaCy pipeline relative to the project
                    self.agent = Agent.load(str(runner.MODEL), action_endpoint=EndpointConfig(url=self.action_url))
            if health and not runner._wait_http(health, 120, self.procs):
                raise AssistantError("the action server did not start" + (f": see {self.log}" if self.log else ""))
        except AssistantError:
            self.stop()
            raise
        except Exception as e:  # noqa: BLE001 - whatever stops the model loading stops the run, once
            self.stop()
            raise AssistantError(f"the assistant could not be loaded from {runner.MODEL}: {e}") from e
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        from bot import runner

        runner.stop(self.procs)
        self.procs = []

    async def parse(self, text: str) -> Dict[str, Any]:
        return await self.agent.parse_message(text)

    async def say(self, text: str, sender: str) -> List[Dict[str, Any]]:
        return await self.agent.handle_text(text, sender_id=sender) or []

    async def answer(self, mail: ParsedMail, threshold: Optional[float] = None) -> "MailAnswers":
        """Tell the assistant the mail's context, then ask each question, in one fresh conversation."""
        threshold = self.threshold if threshold is None else threshold
        sender = "mail-" + hashlib.sha256(mail.key.encode()).hexdigest()[:12] + "-" + uuid.uuid4().hex[:8]
        used: List[str] = []
        for sentence in map(user_text, mail.context):
            if not sentence:
                continue
            parsed = await self.parse(sentence)
            if len(used) < MAX_CONTEXT_FED and {e.get("entity") for e in parsed.get("entities") or []} & CONTEXT_ENTITIES:
                await self.say(sentence, sender)
                used.append(sentence)
        answers = []
        for q in map(user_text, mail.questions):
            if not q:
                continue
            parsed = await self.parse(q)
            replies = await self.say(q, sender)
            answers.append(judge(q, parsed, replies, threshold))
        return MailAnswers(answers=answers, context_used=used)


@dataclass
class MailAnswers:
    answers: List[Answer]
    context_used: List[str]

    @property
    def questions(self) -> List[Answer]:
        return [a for a in self.answers if not a.ignored]

    @property
    def open(self) -> List[Answer]:
        return [a for a in self.questions if not a.answered]

    @property
    def min_confidence(self) -> Optional[float]:
        qs = self.questions
        return min(a.confidence for a in qs) if qs else None
