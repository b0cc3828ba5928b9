"""Dialogue actions: follow-ups that continue the topic, clarification when unsure, hand-off to a person."""
from __future__ import annotations

from typing import Any, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import button, kb, latest_entities, latest_text, update_context
from actions.deadlines import deadline_answer
from actions.fees import fee_answer
from actions.grants import grant_info, grants_answer

FEE_ENTITIES = {"credits", "scholarship", "contract", "programme", "enrolment", "residence", "nationality", "academic_year"}
GRANT_ENTITIES = {"duration", "activity", "community", "grant"}
# What each intent is called on a clarification button.
INTENT_TITLES = {
    "ask_fee": "Tuition fees", "ask_fee_rules": "Who pays which fee", "ask_learning_credit": "Learning credit",
    "ask_instalments": "Paying in instalments", "ask_residence_exceptions": "Residence cards and the fee",
    "ask_invoice": "Invoices and payment", "ask_study_grant": "Flemish study grant", "ask_scholarships": "Scholarships",
    "ask_grants": "Grants for going abroad", "ask_grant_info": "About a grant", "ask_deadline": "Deadlines",
    "ask_incoming_procedure": "Applying as an exchange student", "ask_incoming_documents": "Application documents",
    "ask_portfolio": "Portfolio", "ask_exchange_courses": "Courses for exchange students",
    "ask_theory_courses": "HOGENT theory courses", "ask_english_masters": "English-taught masters",
    "ask_outgoing_steps": "Steps to go abroad", "ask_partners": "Partner schools", "ask_exchange_duration": "How long abroad",
    "ask_credit_recognition": "Credits from abroad", "ask_exchange_costs": "Fees at the partner school",
    "ask_work_placement": "Work placement abroad", "ask_internship_after_graduation": "Internship after graduation",
    "ask_bip": "Blended Intensive Programmes", "ask_inmics": "InMICS", "ask_staff_mobility": "Staff mobility",
    "ask_vision": "Internationalisation vision", "ask_youth_programmes": "Programmes for pupils and youth",
    "ask_human": "Talk to a person",
}


def capabilities_buttons() -> List[dict]:
    return [button("Tuition fees", "ask_fee"), button("Grants for going abroad", "ask_grants"),
            button("Deadlines", "ask_deadline"), button("Coming on exchange", "ask_incoming_procedure"),
            button("Going abroad", "ask_outgoing_steps"), button("Talk to a person", "ask_human")]


# A country or a city: where one goes abroad, when a grant conversation is open.
PLACES = {"country", "city"}
# What a short follow-up must name to continue each open topic.
FRAGMENT_ENTITIES = {"fee": FEE_ENTITIES, "grants": GRANT_ENTITIES | PLACES, "deadline": {"grant"}}
DEADLINE_FOLLOWUP_INTENTS = {"inform", "nlu_fallback", "ask_deadline"}


def is_fragment(tracker: Tracker) -> bool:
    """A few words that continue the open fee, grant or deadline question ('for 3 months', 'in Chile', 'I'm
    Turkish', 'and for Erasmus?' after a deadline), whatever intent the classifier gave them.

    A deadline is continued more strictly: by a grant's name and nothing else, and only where the classifier
    saw no other question ('Erasmus for staff mobility?' asks about staff mobility)."""
    topic = tracker.get_slot("pending") or tracker.get_slot("topic")
    relevant = FRAGMENT_ENTITIES.get(topic)
    if not relevant or len(latest_text(tracker).split()) > 5:
        return False
    said = {e.get("entity") for e in latest_entities(tracker)}
    if topic == "deadline":
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        return bool(said) and said <= relevant and intent in DEADLINE_FOLLOWUP_INTENTS
    return bool(said & relevant)


class ActionContinue(Action):
    """An answer to a question the assistant asked, or a follow-up ('and for 30 credits?', 'what about Japan?')."""

    def name(self) -> str:
        return "action_continue"

    async def run(self, dispatcher, tracker: Tracker, domain):
        topic = tracker.get_slot("pending") or tracker.get_slot("topic")
        said = {e.get("entity") for e in latest_entities(tracker)}
        if topic == "deadline" and is_fragment(tracker):
            return deadline_answer(dispatcher, tracker)
        if topic == "fee" and said and said <= GRANT_ENTITIES | PLACES and said & GRANT_ENTITIES:
            topic = "grants"
        elif topic not in ("fee", "grants"):
            if said & GRANT_ENTITIES and not said & FEE_ENTITIES:
                topic = "grants"
            elif said & FEE_ENTITIES:
                topic = "fee"
            elif said & PLACES:
                topic = "grants"
        ctx, events = update_context(tracker, topic if topic in ("fee", "grants") else None)
        if topic == "fee":
            return events + fee_answer(dispatcher, ctx)
        if topic == "grants":
            if "grant" in said and not said & (PLACES | {"community", "duration", "activity"}):
                return events + grant_info(dispatcher, ctx["grant"])
            return events + grants_answer(dispatcher, ctx)
        dispatcher.utter_message(text="Thanks, noted. What would you like to know?", buttons=capabilities_buttons())
        return events


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[Any]:
    base = kb()
    inst = tracker.get_slot("institution")
    facts = [f for f in base.facts("contact") if not inst or f.institution in (inst, None)] or base.facts("contact")
    lines = [reason, "Who can help:"] + [f"• {f.text}" for f in facts]
    lines.append(f"This conversation is kept, so staff can read it: quote reference {tracker.sender_id}.")
    dispatcher.utter_message(text="\n".join(lines))
    return [SlotSet("handoff", True)]


class ActionHandOff(Action):
    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher, tracker: Tracker, domain):
        return hand_off(dispatcher, tracker, "I'll put you in touch with a person of the international office staff.")


class ActionClarify(Action):
    """Not sure what was asked: offer the best guesses as buttons; unsure twice in a row, hand off."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher, tracker: Tracker, domain):
        if is_fragment(tracker):  # a few words naming what the open topic needs, however unsure the classifier
            return await ActionContinue().run(dispatcher, tracker, domain)
        _, events = update_context(tracker, tracker.get_slot("topic"))
        previous = [e.get("name") for e in tracker.events if e.get("event") == "action"
                    and e.get("name") not in ("action_listen", None)][-1:]
        if previous == ["action_clarify"]:
            return events + hand_off(dispatcher, tracker, "I'm sorry, I still don't understand, and I'd rather not guess.")
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        guesses = [r["name"] for r in ranking if r.get("name") in INTENT_TITLES][:3]
        buttons = [button(INTENT_TITLES[g], g) for g in guesses]
        if "ask_human" not in guesses:
            buttons.append(button("Talk to a person", "ask_human"))
        dispatcher.utter_message(text="I'm not sure I understood. Did you mean one of these?", buttons=buttons)
        return events

