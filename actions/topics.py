"""Answers on a topic from the knowledge base's facts: exchanges, projects, study grant, ..."""
from __future__ import annotations

from typing import Any, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import is_fee_question, kb, latest_text, sources_line, update_context
from knowledge.kb import fold
from knowledge.years import current_academic_year

# intent -> topic of knowledge/data/facts.yaml
INTENT_TOPICS = {
    "ask_fee_rules": "fee_rules", "ask_invoice": "invoice", "ask_study_grant": "study_grant",
    "ask_scholarships": "scholarships", "ask_incoming_procedure": "incoming_procedure",
    "ask_incoming_documents": "incoming_documents", "ask_portfolio": "portfolio",
    "ask_exchange_courses": "exchange_courses", "ask_theory_courses": "theory_courses",
    "ask_english_masters": "english_masters", "ask_outgoing_steps": "outgoing_steps", "ask_partners": "partners",
    "ask_exchange_duration": "exchange_duration", "ask_credit_recognition": "credit_recognition",
    "ask_exchange_costs": "exchange_costs", "ask_work_placement": "work_placement",
    "ask_internship_after_graduation": "internship_after_graduation", "ask_bip": "bip", "ask_inmics": "inmics",
    "ask_staff_mobility": "staff_mobility", "ask_vision": "vision", "ask_youth_programmes": "youth_programmes",
}
# Intents a fee follow-up about one's scholarship status is mistaken for ("and if I get a studietoelage?").
GRANT_STATUS_INTENTS = {"ask_study_grant", "ask_scholarships", "ask_fee_rules"}
COURSE_TOPICS = {"exchange_courses": None, "theory_courses": "HOGENT-wide"}


def _pick_year(facts, year: str):
    """Facts of the asked year (or undated); a dated topic without that year answers from none."""
    return [f for f in facts if f.academic_year in (None, year)]


def course_lines(topic: str, text: str) -> List[str]:
    base = kb()
    courses = base.courses()
    programmes = list(dict.fromkeys(c.programme for c in courses))
    if topic == "theory_courses":
        chosen = [p for p in programmes if "HOGENT-wide" in p]
    else:
        asked = fold(text)
        chosen = [p for p in programmes if fold(p.split("(")[0]).strip() in asked] or programmes
    lines = []
    for p in chosen:
        items = [c for c in courses if c.programme == p]
        sem = lambda c: f", semester {c.semester}" if c.semester and c.semester != "year" else (", full year" if c.semester == "year" else "")
        lines.append(f"{p}: " + "; ".join(f"{c.name} ({c.ects} ECTS{sem(c)})" for c in items))
    return lines


def topic_answer(dispatcher: CollectingDispatcher, topic: str, institution: Optional[str] = None,
                 year: Optional[str] = None, text: str = "") -> List[Any]:
    base = kb()
    year = year or current_academic_year()
    facts = _pick_year(base.facts(topic), year)
    if institution and any(f.institution == institution for f in facts):
        facts = [f for f in facts if f.institution in (institution, None)]
    if not facts:
        dispatcher.utter_message(text="I don't have that in my sources. A person at the international office can help.",
                                 buttons=[{"title": "Talk to a person", "payload": "/ask_human"}])
        return []
    lines = [f.text for f in facts]
    ids = [f.source_id for f in facts]
    if topic in COURSE_TOPICS:
        extra = course_lines(topic, text)
        lines += extra
        if extra:
            ids.append("kask-going-abroad")
    lines.append(sources_line(ids))
    dispatcher.utter_message(text="\n".join(lines))
    return [SlotSet("topic", topic)]


class ActionAnswerTopic(Action):
    def name(self) -> str:
        return "action_answer_topic"

    async def run(self, dispatcher, tracker: Tracker, domain):
        from actions.dialogue import ActionContinue, is_fragment

        if is_fragment(tracker):
            return await ActionContinue().run(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in GRANT_STATUS_INTENTS and is_fee_question(tracker):
            from actions.fees import answer_fee_question

            return answer_fee_question(dispatcher, tracker)
        ctx, events = update_context(tracker, None)
        if intent == "ask_scholarships" and any(e.get("name") == "destination" for e in events):
            # KdG's scholarships are for studying at KdG; funding for a place abroad is a grant question.
            from actions.grants import grants_answer

            return events + grants_answer(dispatcher, ctx)
        topic = INTENT_TOPICS.get(intent)
        if not topic:
            dispatcher.utter_message(response="utter_capabilities")
            return events
        return events + topic_answer(dispatcher, topic, ctx.get("institution"), ctx.get("academic_year"), latest_text(tracker))
