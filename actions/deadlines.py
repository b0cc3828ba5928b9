"""Deadline actions: the next date of the deadline asked about, or the coming ones."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet

from actions.common import cite, is_fee_question, kb, latest_text, update_context, words
from knowledge.deadlines import upcoming


def _line(d: Dict[str, Any]) -> str:
    if d["next_date"]:
        when = date.fromisoformat(d["next_date"])
        verb = "opens" if d["kind"] == "opens" else "deadline"
        head = f"{when.day} {when:%B %Y} ({verb}, in {d['days_left']} days)"
    else:
        head = "no fixed date"
    return f"• {head}: {d['title']}. {d['description']} (source: {cite(d['source'])})"


def _pairs(text: str) -> set:
    w = words(text)
    return set(zip(w, w[1:]))


def best_deadlines(items: List[Dict[str, Any]], text: str, ctx: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The deadlines the question is about: a named grant's, else those whose wording overlaps the question most."""
    if ctx.get("grant"):
        named = [d for d in items if ctx["grant"] in d["grants"]]
        if named:
            return named
    asked = set(words(text))
    if ctx.get("months") and ctx["months"] >= 12:
        asked |= {"full", "year"}
    scored = []
    pairs = _pairs(text)
    for d in items:
        if d["kind"] == "opens":
            continue
        title = words(d["title"])
        vocab = set(words(d["title"] + " " + d["description"]))
        # Words of the title weigh more than the description's; a two-word phrase of the title ("study grant")
        # most of all.
        score = len(asked & vocab) + len(asked & set(title)) + 3 * len(pairs & _pairs(d["title"]))
        scored.append((score, d))
    scored.sort(key=lambda x: -x[0])
    if not scored or scored[0][0] < 2:
        return []
    top = scored[0][0]
    return [d for s, d in scored if s == top]


def deadline_answer(dispatcher, tracker: Tracker) -> List[Any]:
    """The deadlines the latest message asks about (a named grant's, or those its words point to), else the
    coming ones."""
    ctx, events = update_context(tracker, "deadline")
    base = kb()
    items = upcoming(base)
    chosen = best_deadlines(items, latest_text(tracker), ctx)
    if chosen:
        text = "\n".join(_line(d) for d in chosen)
    else:
        text = "The coming deadlines:\n" + "\n".join(_line(d) for d in items)
    dispatcher.utter_message(text=text)
    return events + [SlotSet("topic", "deadline")]


class ActionAnswerDeadline(Action):
    def name(self) -> str:
        return "action_answer_deadline"

    async def run(self, dispatcher, tracker: Tracker, domain):
        from actions.dialogue import ActionContinue, is_fragment

        if is_fragment(tracker):
            return await ActionContinue().run(dispatcher, tracker, domain)
        from actions.fees import answer_fee_question, is_tuition_payment_question

        if is_fee_question(tracker) or is_tuition_payment_question(latest_text(tracker)):
            return answer_fee_question(dispatcher, tracker)
        return deadline_answer(dispatcher, tracker)
