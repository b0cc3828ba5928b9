"""Grant actions: which grants fit a stay abroad, and what a named grant gives."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import button, cite, eur, kb, update_context
from knowledge.deadlines import for_grant
from knowledge.grants import SearchError, amount_summary, find


def _when(deadline: Dict[str, Any] | None, text: str | None) -> str:
    if deadline and deadline.get("next_date"):
        d = date.fromisoformat(deadline["next_date"])
        return f"deadline {d.day} {d:%B %Y}"
    if text:
        return f"deadline: {text}"
    return "deadline: not given in my sources"


def _amount(a: Dict[str, Any], months: int | None, label: str | None) -> str:
    if not a or not a.get("text"):
        return "amount not given in my sources"
    text = a["text"]
    if a.get("estimate") is not None:
        approx = "about " if a.get("estimate_is_approximate") else ""
        cond = f" ({a['condition']})" if a.get("condition") else ""
        text += f"; for {label or f'{months} months'}: {approx}{eur(a['estimate'], cents=False)}{cond}"
    return text


def grant_lines(result: Dict[str, Any]) -> List[str]:
    """One line per fitting grant; a second source's differing figures in brackets."""
    by_grant: Dict[str, List[Dict[str, Any]]] = {}
    for g in result["fits"]:
        by_grant.setdefault(g["grant"], []).append(g)
    lines = []
    for gid, variants in by_grant.items():
        main = next((v for v in variants if v["amount"].get("text")), variants[0])
        line = (f"• {main['name']}: {_amount(main['amount'], result['months'], result.get('duration_label'))}"
                f"{'; ' + main['duration'] if main['duration'] else ''}; {_when(main['deadline'], main['deadline_text'])}.")
        for cond in main["conditions"][:1]:
            line += f" {cond}"
        line += f" (source: {cite(main['source'])})"
        for other in variants:
            if other is not main and other["amount"].get("text") and other["amount"]["text"] != main["amount"]["text"]:
                line += f" The {cite(other['source'])} page says: {other['amount']['text']}."
        lines.append(line)
    return lines


def grants_answer(dispatcher: CollectingDispatcher, ctx: Dict[str, Any]) -> List[Any]:
    events: List[Any] = [SlotSet("topic", "grants")]
    base = kb()
    if not ctx.get("destination"):
        lead = (f"I don't know a country called \"{ctx['unknown_place']}\". " if ctx.get("unknown_place") else "")
        dispatcher.utter_message(text=lead + "Which grants fit depends on where you go abroad. Tell me the country "
                                      "(or the Belgian Community), and whether it is for study or an internship.",
                                 buttons=[button("Study in Europe", "inform", activity="study"),
                                          button("Internship outside Europe", "inform", activity="internship"),
                                          button("French-speaking Community", "inform", community="French-speaking Community")])
        return events + [SlotSet("pending", "grants")]
    if ctx["destination"] == "BE":  # within Belgium the grant depends on the Community one goes to
        dispatcher.utter_message(text="Within Belgium, which grant fits depends on the Community you go to. Which one?",
                                 buttons=[button(c.name, "inform", community=c.name) for c in base.communities.values()
                                          if c.id != "flemish-community"])
        return events + [SlotSet("destination", None), SlotSet("pending", "grants")]
    query = {"destination": ctx["destination"]}
    if ctx.get("activity"):
        query["activity"] = ctx["activity"]
    if ctx.get("months"):
        query["months"] = int(ctx["months"])
    if ctx.get("institution") in ("kask",):
        query["institution"] = ctx["institution"]
    try:
        result = find(base, query)
    except SearchError as e:
        dispatcher.utter_message(text=f"I can't search grants for that: {e.message}.")
        return events
    result["duration_label"] = ctx.get("duration_label")
    place = result["destination"]["name"]
    if ctx.get("city"):
        place = f"{ctx['city']}, {place}"
    what = ctx.get("activity") or "stay"
    what = f"{'an' if what[0] in 'aeiou' else 'a'} {what}"
    span = f" of {ctx['duration_label']}" if ctx.get("duration_label") else ""
    lines = grant_lines(result)
    if lines:
        text = f"Grants for {what}{span} in {place}:\n" + "\n".join(lines)
    else:
        text = f"I found no grant in my sources for {what}{span} in {place}."
    misses = {}
    for g in result["does_not_fit"]:
        if g["grant"] not in {f['grant'] for f in result["fits"]}:
            misses.setdefault(g["name"], g["reasons"][0])
    relevant = [f"{name} ({why})" for name, why in misses.items() if not why.startswith("wrong destination")]
    if relevant:
        text += "\nNot a fit: " + "; ".join(relevant) + "."
    text += "\nTo get a grant you register in Mobility Online before the deadline; the registration is your application."
    buttons = []
    if not ctx.get("activity"):
        buttons += [button("Study", "inform", activity="study"), button("Internship", "inform", activity="internship")]
    if not ctx.get("months"):
        text += " Tell me how many months you plan to stay and I'll estimate the amount."
        buttons += [button("3 months", "inform", duration="3 months"), button("a semester", "inform", duration="semester")]
    dispatcher.utter_message(text=text, buttons=buttons or None)
    return events + [SlotSet("pending", None)]


class ActionFindGrants(Action):
    def name(self) -> str:
        return "action_find_grants"

    async def run(self, dispatcher, tracker: Tracker, domain):
        ctx, events = update_context(tracker, "grants")
        if ctx.get("grant") and not any(e.get("entity") in ("country", "city", "community") for e in tracker.latest_message.get("entities", [])) \
                and tracker.latest_message.get("intent", {}).get("name") == "ask_grant_info":
            return events + grant_info(dispatcher, ctx["grant"])
        return events + grants_answer(dispatcher, ctx)


def grant_info(dispatcher: CollectingDispatcher, gid: str) -> List[Any]:
    base = kb()
    if gid == "mastermind":
        from actions.topics import topic_answer

        return topic_answer(dispatcher, "scholarships", "kdg")
    g = base.grants[gid]
    lines = [f"{g.name}:"]
    for v in g.variants:
        src = cite(v.source_id)
        a = amount_summary(v.amount, None)
        bits = []
        if v.destinations.get("text"):
            bits.append(f"for {' or '.join(v.activities)} in {v.destinations['text']}")
        if v.duration_text:
            bits.append(v.duration_text)
        bits.append(f"amount: {a['text']}" if a.get("text") else "amount: not given on this page")
        if v.deadline_id:
            d = base.deadlines[v.deadline_id]
            nxt = [x for x in for_grant(base, gid) if x["id"] == d.id]
            if nxt and nxt[0]["next_date"]:
                when = date.fromisoformat(nxt[0]["next_date"])
                bits.append(f"deadline {when.day} {when:%B %Y} ({v.deadline_text})")
            else:
                bits.append(f"deadline: {v.deadline_text}")
        if (v.extra or {}).get("places"):
            bits.append(f"{v.extra['places']} scholarships")
        if (v.extra or {}).get("budget"):
            bits.append(v.extra["budget"]["text"])
        line = f"• According to {src}: " + "; ".join(bits) + "."
        if v.conditions:
            line += " " + " ".join(v.conditions)
        lines.append(line)
    if len(g.variants) > 1:
        lines.append("Where the pages differ, the KASK page describes what KASK students apply for; the EACEA page describes the Flemish programme.")
    dispatcher.utter_message(text="\n".join(lines))
    return [SlotSet("topic", "grants"), SlotSet("grant", gid)]


class ActionAnswerGrant(Action):
    def name(self) -> str:
        return "action_answer_grant"

    async def run(self, dispatcher, tracker: Tracker, domain):
        ctx, events = update_context(tracker, "grants")
        named = [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == "grant"]
        if ctx.get("grant") and (named or not ctx.get("destination")):
            return events + grant_info(dispatcher, ctx["grant"])
        if ctx.get("destination"):
            return events + grants_answer(dispatcher, ctx)
        base = kb()
        dispatcher.utter_message(text="Which grant would you like to know about?",
                                 buttons=[button(g.name, "ask_grant_info", grant=g.id) for g in base.grants.values()])
        return events
