"""Fee actions: a personal quote, instalments, learning credit, residence exceptions."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (PROFILE_ENTITIES, button, cite, eur, kb, latest_entities, latest_text, sources_line,
                            update_context)
from knowledge.fees import ProfileError, quote
from knowledge.years import current_academic_year, label, start_year

FEE_INSTITUTION_DEFAULT = "kdg"  # the only institution whose fees the sources give


def _year_and_institution(ctx: Dict[str, Any], dispatcher: CollectingDispatcher) -> Optional[tuple]:
    base = kb()
    inst = ctx.get("institution") or FEE_INSTITUTION_DEFAULT
    years = base.fee_years(inst)
    if not years:
        name = base.institutions[inst].name
        dispatcher.utter_message(text=f"My sources hold no tuition fees for {name}: I only have Karel de Grote "
                                      f"Hogeschool's (KdG) fee pages. For {name}'s fees, please ask its staff.",
                                 buttons=[button("Talk to a person", "ask_human"), button("KdG fees", "ask_fee", institution="KdG")])
        return None
    year = ctx.get("academic_year") or current_academic_year()
    if year not in years:
        dispatcher.utter_message(
            text=f"I have no tuition fees for {year} at {base.institutions[inst].name}: they are not in my sources "
                 f"(published years: {', '.join(years)}). I won't guess another year's figures.",
            buttons=[button(f"Fees {y}", "inform", academic_year=y) for y in years])
        return None
    return inst, year


def build_profile(ctx: Dict[str, Any], inst: str, year: str) -> Dict[str, Any]:
    profile: Dict[str, Any] = {"institution": inst, "academic_year": year}
    nat = ctx.get("nationality")
    if nat in ("eea", "non-eea"):
        profile["nationality_group"] = nat
    elif nat:
        profile["nationality"] = nat
    residence = ctx.get("residence") or ""
    if residence.startswith("card:"):
        profile["residence_permit"] = residence[5:]
    elif residence.startswith("status:"):
        profile["residence_status"] = residence[7:]
    for key in ("scholarship", "contract", "programme"):
        if ctx.get(key):
            profile[key] = ctx[key]
    if ctx.get("credits"):
        profile["credits"] = int(ctx["credits"])
    elif profile.get("programme") == "secondary-school":
        cap = kb().fee_parameters(inst, year).get("secondary_school.max_credits")
        if cap is not None:  # a pupil's credit contract is capped; its fee does not depend on the credits
            profile["credits"] = int(cap.value)
    if ctx.get("first_enrolled"):
        profile["first_enrolled"] = ctx["first_enrolled"]
    elif ctx.get("enrolment") == "continuing":
        profile["first_enrolled"] = label(start_year(year) - 1)
    return profile


NATIONALITY_BUTTONS = [button("Belgian", "inform", nationality="BE"), button("EU/EEA country", "inform", nationality="EEA"),
                       button("Outside the EU/EEA", "inform", nationality="non-EEA"),
                       button("I have a Belgian residence card", "ask_residence_exceptions")]


def ask_nationality(dispatcher: CollectingDispatcher, unknown: Optional[str] = None) -> List[Any]:
    lead = f"I don't know a country called \"{unknown}\", so I can't tell which fee applies. " if unknown else ""
    dispatcher.utter_message(
        text=lead + "Your fee depends on your nationality or residence status. What is your nationality?",
        buttons=NATIONALITY_BUTTONS)
    return [SlotSet("pending", "fee")]


def cannot_quote(dispatcher: CollectingDispatcher, e: ProfileError) -> List[Any]:
    dispatcher.utter_message(text=f"I can't work out that fee: {e.message}. A person at the international office can help.",
                             buttons=[button("Talk to a person", "ask_human")])
    return []


def fee_by_scholarship(dispatcher: CollectingDispatcher, profile: Dict[str, Any]) -> List[Any]:
    """A scholarship status told without a nationality ("niet-beursstudent, 45 credits"). The statuses are tiers
    of the basic fee, and a (part-)scholarship student meets the nationality conditions, so the engine quotes
    them whatever the nationality; a non-scholarship student pays the basic fee or, as a non-EEA national
    without the nationality conditions, the higher fee: both are given, and the nationality asked."""
    base = kb()
    try:
        basic = quote(base, {**profile, "nationality_group": "eea"}, require_nationality=False)
        higher = quote(base, {**profile, "nationality_group": "non-eea"}, require_nationality=False)
    except ProfileError as e:  # e.g. a programme the year's page gives no fee for
        return cannot_quote(dispatcher, e)
    if higher["fee_type"] == basic["fee_type"]:  # the status itself decides: one answer
        dispatcher.utter_message(text="\n".join([higher["explanation"], sources_line(s["id"] for s in higher["sources"])]))
        return [SlotSet("pending", None)]
    year = basic["academic_year"]
    new = ""
    if has_continuing_fee(base, profile["institution"], year):
        new = f" and enrolled at KdG before {year}" if profile.get("first_enrolled") else " and new at KdG"
    article = "an" if basic["contract"][0] in "aeiou" else "a"
    lines = [f"As a non-scholarship student, {basic['credits']} credits on {article} {basic['contract']} contract in {year}:",
             f"- with the basic fee (Belgian and EEA nationals, and others who meet the nationality conditions): "
             f"{eur(basic['fixed'])} + {basic['credits']} × {eur(basic['per_credit'])} = {eur(basic['total'])};",
             f"- with the higher fee (a non-EEA national who does not meet them{new}): {eur(higher['fixed'])} + "
             f"{higher['credits']} × {eur(higher['per_credit'])} = {eur(higher['total'])}.",
             "Tell me your nationality and I'll say which applies.",
             sources_line([s["id"] for s in basic["sources"]] + [s["id"] for s in higher["sources"]])]
    dispatcher.utter_message(text="\n".join(lines), buttons=NATIONALITY_BUTTONS)
    return [SlotSet("pending", "fee")]


def has_continuing_fee(base, institution: str, year: str) -> bool:
    """Whether the year's higher fee differs for students who enrolled before it (KdG's continuing students)."""
    return "higher.continuing.fixed" in base.fee_parameters(institution, year)


def fee_answer(dispatcher: CollectingDispatcher, ctx: Dict[str, Any]) -> List[Any]:
    """Quote the fee for what the user told so far, or ask for the one thing still missing."""
    events: List[Any] = [SlotSet("topic", "fee")]
    found = _year_and_institution(ctx, dispatcher)
    if not found:
        return events
    inst, year = found
    base = kb()
    profile = build_profile(ctx, inst, year)
    try:
        q = quote(base, profile, require_nationality=False)
    except ProfileError as e:
        if e.field == "nationality" and ctx.get("scholarship") and not ctx.get("unknown_place"):
            return events + fee_by_scholarship(dispatcher, profile)
        if e.field == "nationality":
            return events + ask_nationality(dispatcher, ctx.get("unknown_place"))
        return events + cannot_quote(dispatcher, e)
    parts = [q["explanation"]] + list(q.get("notes") or [])
    assumed = []
    if not ctx.get("credits"):
        assumed.append("a full-time year of 60 credits")
    if not ctx.get("contract") and q["contract"] == "diploma":
        assumed.append("a diploma contract")
    alternatives = []
    if q["fee_type"] == "higher":
        if not (ctx.get("enrolment") or ctx.get("first_enrolled")) and has_continuing_fee(base, inst, year):
            assumed.append(f"you are new at KdG in {year}")
            alt = quote(base, {**profile, "first_enrolled": label(start_year(year) - 1)}, require_nationality=False)
            alternatives.append(f"If you enrolled at KdG before {year}: {eur(alt['total'])} "
                                f"({eur(alt['fixed'])} + {alt['credits']} × {eur(alt['per_credit'])}).")
        if not ctx.get("residence") and base.residence_rules(inst, year):
            alt = quote(base, {**profile, "residence_permit": "B"}, require_nationality=False)
            alternatives.append(f"With a permanent Belgian residence permit (B, C, D, F, F+, K or L card) or a right of "
                                f"residence such as refugee status you pay the basic fee instead: {eur(alt['total'])}.")
    if assumed:
        parts.append("I assumed " + ", ".join(assumed) + ".")
    parts.extend(alternatives)
    inst_note = q["instalments"].get("note")
    if inst_note:
        parts.append(inst_note)
    parts.append(sources_line(s["id"] for s in q["sources"]))
    buttons = []
    if not ctx.get("credits"):
        buttons += [button("30 credits", "inform", credits=30), button("15 credits", "inform", credits=15)]
    if q["fee_type"] == "higher" and not (ctx.get("enrolment") or ctx.get("first_enrolled")):
        buttons.append(button(f"I enrolled before {year}", "inform", enrolment="continuing"))
    dispatcher.utter_message(text="\n".join(parts), buttons=buttons or None)
    return events + [SlotSet("pending", None)]


# "How do I pay my tuition?" asks how to pay, not how much: a way of paying asked for, and no amount.
PAYMENT_HOW = re.compile(r"\b(how|where|via|through|hoe|waar)\b(\W+\w+){0,3}?\W+(pay|paying|payment|betaal|betalen)\b"
                         r"|\b(pay|paying|betalen|betaal)\b.{0,30}\b(by|with|via|through|online|from abroad|bank transfer"
                         r"|credit card|flywire|overschrijving)\b", re.I)
# Wordings that ask for an amount, and the two patterns built on them:
_AMOUNT_WORDS = r"how much|what (is|will|would|do|does|should)|amount|cost|costs|price|hoeveel|wat kost|bedrag"
# - beside a way of paying, any talk of a smaller sum or of instalments also makes it a question about the amount;
AMOUNT = re.compile(rf"\b({_AMOUNT_WORDS}|less|lower|reduced|cheaper|minder|instal+ments?|afbetaling)\b", re.I)
# - a quote asked beside instalments ("how much ..., and can I pay in instalments?"): any amount wording, "what's" too.
QUOTE_ASKED = re.compile(rf"\b({_AMOUNT_WORDS}|what('|\u2019)s)\b", re.I)
# An amount asked beside a payment date: narrower, since "what is the payment deadline?" asks no amount.
AMOUNT_ASKED = re.compile(r"\b(how much|hoeveel|wat kost|what('|\u2019)?s the (fee|tuition|cost|price)|what is the "
                          r"(fee|tuition|cost|price)|what (do|does|did|will|would|should)\b.{0,30}\bpay|wat\b.{0,20}\bbeta+l\w*)\b",
                          re.I)


def is_payment_question(text: str) -> bool:
    return bool(PAYMENT_HOW.search(text)) and not AMOUNT.search(text)


# "By when must I pay?" asks when the tuition is due (the invoice topic), not how much.
# "When" must ask the question ("when do I pay ...", "by when ...", "tegen wanneer ..."), not set a condition
# ("when I take 30 credits, what do I pay?", "wanneer ik hier studeer, wat moet ik betalen?").
_PAY = r"(pay|paid|paying|due|beta+l\w*)"
PAYMENT_WHEN = re.compile(rf"\b(by|before|until|till|tot|tegen) (when|wanneer)\b.{{0,60}}\b{_PAY}\b"
                          rf"|(^|[.?!,;:]\s*)(when|wanneer)\s+(do|does|did|must|should|is|are|was|were|have|has|had|will|can"
                          rf"|moet|moeten|kan|kunnen|zijn)\b.{{0,50}}\b{_PAY}\b|(^|[.?!,;:]\s*)wanneer\s+betaa?l\w*"
                          r"|\b(tuition|fees?|payment|studiegeld|inschrijvingsgeld)\b.{0,20}\b(due|vervalt)\b"
                          r"|\b(payment|paying) deadline\b|\bbetalingstermijn\b", re.I)
# Spreading the payment: the instalments answer, which has the advance and the number of instalments.
INSTALMENTS = re.compile(r"\b(instal+ments?|payment plan|spread(ing)? (out )?(the |my |your )?(payment|tuition|fee)s?"
                         r"|pay(ing)? in (parts|stages)|afbetaling\w*|gespreid\w*|spreiding|betalingsplan|in (\w+ )?schijven)\b", re.I)


def is_payment_when_question(text: str) -> bool:
    """When the tuition is due, and not also how much it is ("what's the fee and when is it due?" is quoted)."""
    return bool(PAYMENT_WHEN.search(text)) and not AMOUNT_ASKED.search(text)


NAMES_TUITION = re.compile(r"\b(tuition|studiegeld|inschrijvingsgeld|collegegeld|fees?|tarief|instal+ments?|afbetaling\w*)\b", re.I)


def is_tuition_payment_question(text: str) -> bool:
    """A question another intent (a deadline) won that asks when or how the tuition is paid."""
    return bool(NAMES_TUITION.search(text)) and (is_payment_when_question(text) or bool(INSTALMENTS.search(text)))


# "How much does a visa cost?", "price of a meal", "cost of living": the price of something other than tuition,
# which the knowledge base does not hold, gets the out-of-scope answer, never a tuition figure. The other thing
# must be what is priced: "what's my fee on a student visa?" and "hoeveel betaal ik met een kot?" are tuition
# questions, and so is any question that names tuition, a fee or paying ("a visa fee" is the price of a visa).
_OTHER = (r"(rent|rooms?|kot|koten|kamers?|studentenkamers?|studios?|apartments?|flats?|housing|accommodation|"
          r"dorm\w*|food|meals?|groceries|lunch|dinner|restaurants?|canteen|bus|tram|train|metro|tickets?|transport|"
          r"openbaar vervoer|bikes?|insurance|verzekering|visas?|visum|phones?|sim card|gym|huur|eten)")
_PRICED = rf"(an?\s+|the\s+|my\s+|een\s+|de\s+|het\s+|mijn\s+)?(\w+\s+)?{_OTHER}\b(?!\s+(holders?|students?|status|card|kaart))"
OTHER_COST = re.compile(rf"\b(how much|what)(\s+(is|are|does|do|would|will)|'s|\u2019s)\s+{_PRICED}"
                        rf"|\b(hoeveel|wat)\s+(kost|kosten|is|zijn)\s+{_PRICED}"
                        rf"|\bhow expensive\s+(is|are)\s+{_PRICED}"
                        rf"|\b(price|prices|cost|costs|prijs|kost)\s+(of|for|van|voor)\s+(\w+\s+)?{_PRICED}"
                        rf"|\b{_OTHER}(\s+\w+)?\s+(cost|costs|price|prices|kost|kosten|fee|fees)\b"
                        r"|\bcost of living\b|\bliving (costs?|expenses)\b|\blevenskosten\b|\blevensduurte\b", re.I)
TUITION = re.compile(r"\b(tuition|studiegeld|inschrijvingsgeld|collegegeld|fees?|pay|paying|betaal\w*|betalen|tarief|"
                     r"tariff)\b", re.I)
OTHER_FEE = re.compile(rf"\b{_OTHER}\s+fees?\b", re.I)


def is_other_cost_question(text: str) -> bool:
    return bool(OTHER_COST.search(text)) and not TUITION.search(OTHER_FEE.sub(" ", text))


def answer_fee_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Any]:
    """A question about one's tuition: how it is paid (the invoice topic), or else a quote. The price of
    anything else is out of scope."""
    text = latest_text(tracker)
    if is_other_cost_question(text):
        _, events = update_context(tracker, None)  # what the message told is kept for the next question
        dispatcher.utter_message(response="utter_out_of_scope")
        return events
    if INSTALMENTS.search(text):
        ctx, events = update_context(tracker, "fee")
        if QUOTE_ASKED.search(text) and {e.get("entity") for e in latest_entities(tracker)} & PROFILE_ENTITIES:
            # "what's the fee for 60 credits as a non-EU student, and can I pay in instalments?": both answers
            events += fee_answer(dispatcher, ctx)
        return events + instalments_answer(dispatcher, ctx, text)
    if is_payment_question(text) or is_payment_when_question(text):
        from actions.topics import topic_answer

        ctx, events = update_context(tracker, None)
        return events + topic_answer(dispatcher, "invoice", ctx.get("institution"), ctx.get("academic_year"), text)
    ctx, events = update_context(tracker, "fee")
    return events + fee_answer(dispatcher, ctx)


class ActionQuoteFee(Action):
    def name(self) -> str:
        return "action_quote_fee"

    async def run(self, dispatcher, tracker: Tracker, domain):
        return answer_fee_question(dispatcher, tracker)


class ActionAnswerInstalments(Action):
    def name(self) -> str:
        return "action_answer_instalments"

    async def run(self, dispatcher, tracker: Tracker, domain):
        ctx, events = update_context(tracker, "fee")
        return events + instalments_answer(dispatcher, ctx, latest_text(tracker))


def instalments_answer(dispatcher: CollectingDispatcher, ctx: Dict[str, Any], text: str) -> List[Any]:
    """Spreading the payment: how many instalments, the advance where the year's page sets one, who may.
    ctx is the conversation's context after the message (update_context), text the message."""
    found = _year_and_institution(ctx, dispatcher)
    if not found:
        return []
    inst, year = found
    base = kb()
    params = base.fee_parameters(inst, year)
    text = text.lower()
    parts = []
    count, late = params.get("instalments.max_count"), params.get("instalments.count_enrolled_jan_feb")
    advance = params.get("instalments.advance")
    if late is not None and re.search(r"\b(jan|januari|feb|februari)", text):
        parts.append(f"If you enrol in January or February, you pay in {int(late.value)} instalments.")
    q = None
    if ctx.get("nationality") or ctx.get("residence") or ctx.get("scholarship"):
        try:
            q = quote(base, build_profile(ctx, inst, year), require_nationality=False)
            parts.append(q["instalments"]["note"])
        except ProfileError:
            pass
    may_spread = q is None or q["instalments"].get("allowed") is not False
    if advance is not None and may_spread and not any(eur(advance.value) in (p or "") for p in parts):
        parts.append(f"In {year}, standard-fee students who choose a spread payment plan pay an advance of "
                     f"{eur(advance.value)} upon registration"
                     + (f", then the rest in at most {int(count.value)} instalments." if count else "."))
    elif count is not None and len(parts) < 2:
        line = f"When you spread your payment you pay in {int(count.value)} instalments"
        line += f", or {int(late.value)} if you enrol in January or February." if late is not None else "."
        parts.append(line)
    facts = [f for f in base.facts("instalments", inst) if f.academic_year == year]
    parts += [f.text for f in facts]
    ids = [p.source for p in (count, late, advance) if p is not None] + [f.source_id for f in facts]
    parts.append(sources_line(ids))
    dispatcher.utter_message(text="\n".join(dict.fromkeys(parts)))
    return [SlotSet("topic", "fee")]


class ActionAnswerLearningCredit(Action):
    def name(self) -> str:
        return "action_answer_learning_credit"

    async def run(self, dispatcher, tracker: Tracker, domain):
        ctx, events = update_context(tracker, "fee")
        found = _year_and_institution(ctx, dispatcher)
        if not found:
            return events
        inst, year = found
        base = kb()
        extra = base.fee_parameters(inst, year).get("learning_credit.extra_per_credit")
        parts = []
        if extra is not None:
            parts.append(f"With insufficient learning credit (bachelor's and master's) you pay {eur(extra.value)} extra "
                         f"per credit for which no learning credit is available ({year}).")
        facts = [f for f in base.facts("learning_credit", inst) if f.academic_year in (year, None)]
        parts += [f.text for f in facts]
        parts.append(sources_line(([extra.source] if extra else []) + [f.source_id for f in facts]))
        dispatcher.utter_message(text="\n".join(parts))
        return events + [SlotSet("topic", "fee")]


# "Do I pay the basic fee?", "wat betaal ik?": paying asked about, beside the amount wordings of QUOTE_ASKED.
PAYING = re.compile(r"\b(pay|paying|betaal\w*|betalen)\b", re.I)


def asks_for_amount(tracker: Tracker) -> bool:
    """The message asks what the user pays or gives the number of credits: the quote is wanted too."""
    text = latest_text(tracker)
    return (bool(QUOTE_ASKED.search(text) or PAYING.search(text))
            or "credits" in {e.get("entity") for e in latest_entities(tracker)})


class ActionAnswerResidence(Action):
    """Which residence cards and statuses give the basic fee. With a card named: the basic-fee quote when it exempts;
    when it does not, the higher-fee quote if the message asks what they pay (asks_for_amount)."""

    def name(self) -> str:
        return "action_answer_residence"

    async def run(self, dispatcher, tracker: Tracker, domain):
        ctx, events = update_context(tracker, "fee")
        found = _year_and_institution(ctx, dispatcher)
        if not found:
            return events
        inst, year = found
        base = kb()
        rules = base.residence_rules(inst, year)
        residence = ctx.get("residence") or ""
        if residence and rules:
            kind, code = residence.split(":", 1)
            match = next((r for r in rules if r.kind == kind and r.code == code), None)
            if match is None:
                dispatcher.utter_message(text=f"The {year} fee page does not mention that card or status, so I can't tell "
                                              f"which fee applies. Please ask the international office.",
                                         buttons=[button("Talk to a person", "ask_human")])
                return events
            if match.exempt:
                proof = f" Proof: {match.proof}." if match.proof else ""
                dispatcher.utter_message(text=f"Yes: with {match.label} you pay the basic tuition fee at KdG in {year}.{proof}")
                return events + fee_answer(dispatcher, ctx)
            dispatcher.utter_message(text=f"No: {match.label}. Unless you have another of the listed exceptions or an EEA "
                                          f"nationality, the higher fee applies.\n{sources_line([match.source_id])}")
            if asks_for_amount(tracker):
                # "only an orange card: do I pay the basic fee for 60 credits?": what they pay instead
                return events + fee_answer(dispatcher, ctx)
            return events + [SlotSet("topic", "fee")]
        facts = [f for f in base.facts("residence_exceptions", inst) if f.academic_year in (year, None)]
        lines = [f.text for f in facts]
        proofs = [f"- {r.label}: {r.proof}" for r in rules if r.kind == "status"]
        if proofs:
            lines.append("Documents that prove a right of residence:\n" + "\n".join(proofs))
        if not lines:
            lines.append(f"The {year} page does not list the residence exceptions.")
        lines.append(sources_line([f.source_id for f in facts] + [r.source_id for r in rules]))
        dispatcher.utter_message(text="\n".join(lines))
        return events + [SlotSet("topic", "fee")]
