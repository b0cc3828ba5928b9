"""The fee engine: a student's profile in, a quote with its breakdown, instalment rules and sources out.

Rules follow the institution's tuition-fee page of the academic year asked (knowledge/data/fees/);
a year without data is an error, never another year's figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from knowledge.kb import KnowledgeBase, Param, fold
from knowledge.years import current_academic_year, parse_academic_year

CENT = Decimal("0.01")
MAX_CREDITS = 120
SCHOLARSHIPS = ("none", "part", "full")
CONTRACTS = ("diploma", "credit", "exam")
PROGRAMMES = ("bachelor", "master", "graduate", "bridging", "preparatory",
              "advanced-bachelor", "advanced-master", "secondary-school")
LEARNING_CREDIT_PROGRAMMES = ("bachelor", "master")
NATIONALITY_GROUPS = ("eea", "non-eea")
RESIDENCE_CARDS = ("B", "C", "D", "F", "F+", "K", "L", "A", "orange")
PROFILE_FIELDS = ("institution", "academic_year", "nationality", "nationality_group", "residence_permit",
                  "residence_status", "scholarship", "contract", "programme", "credits", "first_enrolled",
                  "credits_without_learning_credit", "higher_fee_exception", "flemish_secondary_diploma")
# Programmes the pages name without a fee (they only exclude them from instalments): refused with that reason.
UNPRICED_PROGRAMMES = {"postgraduate": "postgraduate programmes", "post-graduate": "postgraduate programmes",
                       "postgraduaat": "postgraduate programmes", "post-training": "post-training courses",
                       "study-day": "study days"}
DIPLOMA_RULE = "basic.flemish_secondary_diploma"
DIPLOMA_REASON = "you have a Flemish diploma of secondary education"
EXCEPTION_PREFIX = "higher_exception."

# Flemish and English synonyms of the scholarship statuses.
SCHOLARSHIP_SYNONYMS = {
    "none": "none", "no": "none", "non-scholarship": "none", "niet-beursstudent": "none", "niet beursstudent": "none",
    "part": "part", "partial": "part", "part-scholarship": "part", "bijna-beursstudent": "part", "bijna beursstudent": "part",
    "full": "full", "scholarship": "full", "beursstudent": "full", "beurstariefstudent": "full", "studietoelage": "full",
}
PROGRAMME_SYNONYMS = {"banaba": "advanced-bachelor", "manama": "advanced-master", "bachelor-na-bachelor": "advanced-bachelor",
                      "master-na-master": "advanced-master", "schakelprogramma": "bridging",
                      "voorbereidingsprogramma": "preparatory", "graduaat": "graduate"}
STATUS_SYNONYMS = {
    "refugee": "refugee", "refugee status": "refugee", "recognised refugee": "refugee",
    "subsidiary protection": "subsidiary-protection", "subsidiary-protection": "subsidiary-protection",
    "humanitarian regularisation": "humanitarian-regularisation", "humanitarian": "humanitarian-regularisation",
    "humanitarian-regularisation": "humanitarian-regularisation", "medical regularisation": "medical-regularisation",
    "medical-regularisation": "medical-regularisation", "medical": "medical-regularisation",
    "human trafficking": "human-trafficking-victim", "victim of human trafficking": "human-trafficking-victim",
    "human-trafficking-victim": "human-trafficking-victim", "family reunification": "family-reunification",
    "family-reunification": "family-reunification", "eea family member": "eea-family-member",
    "eea-family-member": "eea-family-member", "family member of an eea citizen": "eea-family-member",
    "temporary protection": "ukraine-temporary-protection", "ukraine-temporary-protection": "ukraine-temporary-protection",
    "ukrainian temporary protection": "ukraine-temporary-protection",
}


class ProfileError(ValueError):
    """Bad input: says which field and why. Never answered with a guess."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message

    def as_dict(self) -> Dict[str, str]:
        return {"error": self.message, "field": self.field}


@dataclass
class Profile:
    institution: str
    academic_year: str
    nationality: Optional[str] = None
    nationality_group: Optional[str] = None
    residence_permit: Optional[str] = None
    residence_status: Optional[str] = None
    scholarship: str = "none"
    contract: Optional[str] = None
    programme: str = "bachelor"
    credits: int = 60
    first_enrolled: Optional[str] = None
    credits_without_learning_credit: int = 0
    higher_fee_exception: Optional[str] = None  # the code of an exception to the higher fee the student claims
    flemish_secondary_diploma: Optional[bool] = None  # None: not said
    first_enrolled_given: bool = False  # whether first_enrolled was given, not defaulted
    notes: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class HigherFeeException:
    """An exception to the higher fee of one year's page: who it is for, and its fee."""

    code: str
    label: Param
    programmes: Param
    contracts: Param
    start: Param  # started_before or started_in: an academic year
    fixed: Param
    per_credit: Param

    @property
    def started_before(self) -> bool:
        return self.start.name.endswith(".started_before")

    def start_fits(self, first_enrolled: str) -> bool:
        return first_enrolled < self.start.value if self.started_before else first_enrolled == self.start.value

    def condition(self) -> str:
        """'your KdG studies already started before 2020-2021', as the page says it."""
        return f"your KdG studies already started {'before' if self.started_before else 'in'} {long_year(self.start.value)}"

    def params(self) -> List[Param]:
        return [self.label, self.programmes, self.contracts, self.start, self.fixed, self.per_credit]


def long_year(academic_year: str) -> str:
    """'2020-21' -> '2020-2021'."""
    start = int(academic_year[:4])
    return f"{start}-{start + 1}"


def higher_fee_exceptions(params: Dict[str, Param]) -> Dict[str, HigherFeeException]:
    """The exceptions to the higher fee a year's parameters hold, by code. The loader refuses an incomplete one;
    one found incomplete all the same (a database built from older data) is left out, never guessed."""
    out = {}
    for name in params:
        if name.startswith(EXCEPTION_PREFIX) and name.endswith(".fixed"):
            code = name[len(EXCEPTION_PREFIX):-len(".fixed")]
            part = {x: params.get(f"{EXCEPTION_PREFIX}{code}.{x}")
                    for x in ("label", "programmes", "contracts", "fixed", "per_credit", "started_before", "started_in")}
            start = part["started_before"] or part["started_in"]
            if start is None or any(part[x] is None for x in ("label", "programmes", "contracts", "per_credit")):
                continue
            out[code] = HigherFeeException(code, part["label"], part["programmes"], part["contracts"], start,
                                           part["fixed"], part["per_credit"])
    return dict(sorted(out.items()))


def exception_code(text: str) -> str:
    """A written exception as a code: 'Dutch taught before 2020-2021' -> 'dutch-taught-before-2020-21'."""
    code = fold(text).replace(" ", "-")
    code = re.sub(r"\b(\d{4})-\d{2}(\d{2})\b", r"\1-\2", code)
    return code.replace("international-business-management", "ibm")


def _text(raw: Dict[str, Any], name: str) -> Optional[str]:
    v = raw.get(name)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        raise ProfileError(name, f"{name} must be a non-empty text")
    return v.strip()


def _integer(raw: Dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    v = raw.get(name, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        raise ProfileError(name, f"{name} must be a whole number, got {v!r}")
    v = int(v)
    if not low <= v <= high:
        raise ProfileError(name, f"{name} must be between {low} and {high}, got {v}")
    return v


def _year(raw: Dict[str, Any], name: str, default: Optional[str]) -> Optional[str]:
    v = raw.get(name)
    if v is None:
        return default
    year = parse_academic_year(v) if isinstance(v, str) else None
    if not year:
        raise ProfileError(name, f"{name} must be an academic year like 2026-27, got {v!r}")
    return year


def parse_profile(kb: KnowledgeBase, raw: Any, today: Optional[date] = None,
                  require_nationality: bool = True) -> Profile:
    """Validate a profile (the `mobility fee` JSON) into a Profile; raise ProfileError on bad input."""
    if not isinstance(raw, dict):
        raise ProfileError("profile", "the profile must be a JSON object")
    unknown = sorted(set(raw) - set(PROFILE_FIELDS))
    if unknown:
        raise ProfileError(unknown[0], f"unknown field {unknown[0]!r}; known fields: {', '.join(PROFILE_FIELDS)}")
    inst_text = _text(raw, "institution")
    if not inst_text:
        raise ProfileError("institution", "institution is required (e.g. \"kdg\")")
    institution = kb.resolve_institution(inst_text)
    if not institution:
        raise ProfileError("institution", f"unknown institution {inst_text!r}; known: {', '.join(sorted(kb.institutions))}")
    years = kb.fee_years(institution)
    if not years:
        raise ProfileError("institution", f"there are no tuition fee data for {kb.institutions[institution].name}")
    year = _year(raw, "academic_year", current_academic_year(today))
    if year not in years:
        raise ProfileError("academic_year", f"no tuition fees are published for {year} at "
                           f"{kb.institutions[institution].name}; years with data: {', '.join(years)}")
    p = Profile(institution=institution, academic_year=year)

    nat = _text(raw, "nationality")
    if nat:
        code = nat.upper() if len(nat) == 2 else None
        if not code or code not in kb.countries:
            raise ProfileError("nationality", f"unknown country code {nat!r}: use ISO 3166-1 alpha-2, e.g. BE, BR")
        p.nationality = code
    group = _text(raw, "nationality_group")
    if group:
        if group.lower() not in NATIONALITY_GROUPS:
            raise ProfileError("nationality_group", "nationality_group must be eea or non-eea")
        p.nationality_group = group.lower()
    if require_nationality and not (p.nationality or p.nationality_group):
        raise ProfileError("nationality", "nationality is required (ISO 3166-1 alpha-2, e.g. BE)")

    permit = _text(raw, "residence_permit")
    if permit:
        p.residence_permit = _card_code(permit)
        # A year whose page lists no cards still only accepts a card the README names.
        known = {r.code for r in kb.residence_rules(institution, year) if r.kind == "card"} or set(RESIDENCE_CARDS)
        if p.residence_permit not in known:
            raise ProfileError("residence_permit", f"unknown residence permit {permit!r}; known cards: {', '.join(sorted(known))}")
    status = _text(raw, "residence_status")
    if status:
        p.residence_status = STATUS_SYNONYMS.get(fold(status).replace(" ", "-")) or STATUS_SYNONYMS.get(fold(status))
        known = {r.code for r in kb.residence_rules(institution, year) if r.kind == "status"}
        if not p.residence_status or (known and p.residence_status not in known):
            raise ProfileError("residence_status", f"unknown residence status {status!r}; known: {', '.join(sorted(known)) or 'none listed for ' + year}")

    sch = _text(raw, "scholarship")
    if sch:
        p.scholarship = SCHOLARSHIP_SYNONYMS.get(sch.lower().strip()) or ""
        if p.scholarship not in SCHOLARSHIPS:
            raise ProfileError("scholarship", f"scholarship must be none, part or full, got {sch!r}")
    con = _text(raw, "contract")
    if con:
        p.contract = con.lower()
        if p.contract not in CONTRACTS:
            raise ProfileError("contract", f"contract must be diploma, credit or exam, got {con!r}")
    prog = _text(raw, "programme")
    if prog:
        p.programme = PROGRAMME_SYNONYMS.get(prog.lower(), prog.lower())
        unpriced = UNPRICED_PROGRAMMES.get(fold(prog).replace(" ", "-"))
        if unpriced:
            excluded = kb.fee_parameters(institution, year).get("instalments.excluded")
            also = f"; it only says that {unpriced} cannot be paid in instalments" if excluded is not None and unpriced in excluded.value else ""
            raise ProfileError("programme", f"the {year} tuition fee page gives no fee for {unpriced}{also}")
        if p.programme not in PROGRAMMES:
            raise ProfileError("programme", f"programme must be one of {', '.join(PROGRAMMES)}, got {prog!r}")
    p.credits = _integer(raw, "credits", 60, 1, MAX_CREDITS)
    p.first_enrolled = _year(raw, "first_enrolled", year)
    p.first_enrolled_given = raw.get("first_enrolled") is not None
    if p.first_enrolled > year:
        raise ProfileError("first_enrolled", f"first_enrolled ({p.first_enrolled}) is after the academic year asked ({year})")
    p.credits_without_learning_credit = _integer(raw, "credits_without_learning_credit", 0, 0, MAX_CREDITS)
    if p.credits_without_learning_credit > p.credits:
        raise ProfileError("credits_without_learning_credit", "credits_without_learning_credit cannot exceed credits")
    if p.credits_without_learning_credit and p.programme not in LEARNING_CREDIT_PROGRAMMES:
        raise ProfileError("credits_without_learning_credit", "the learning-credit surcharge applies to bachelor's and master's programmes only")
    diploma = raw.get("flemish_secondary_diploma")
    if diploma is not None:
        if not isinstance(diploma, bool):
            raise ProfileError("flemish_secondary_diploma", f"flemish_secondary_diploma must be true or false, got {diploma!r}")
        p.flemish_secondary_diploma = diploma
    claimed = _text(raw, "higher_fee_exception")
    if claimed:
        p.higher_fee_exception = _check_exception(kb, p, claimed)
    return p


def _check_exception(kb: KnowledgeBase, p: Profile, claimed: str) -> str:
    """The code of the exception to the higher fee a profile names, checked against the year's page."""
    field, year = "higher_fee_exception", p.academic_year
    exceptions = higher_fee_exceptions(kb.fee_parameters(p.institution, year))
    if not exceptions:
        raise ProfileError(field, f"the {year} tuition fee page lists no exceptions to the higher fee")
    code = exception_code(claimed)
    e = exceptions.get(code)
    if e is None:
        known = "; ".join(f"{c} ({x.label.value}, if {x.condition()})" for c, x in exceptions.items())
        raise ProfileError(field, f"unknown exception to the higher fee {claimed!r}; the {year} page lists: {known}")
    if p.programme not in e.programmes.value:
        raise ProfileError(field, f"the exception {code} is for {e.label.value} ({' or '.join(e.programmes.value)} "
                                  f"programmes), not a {p.programme} programme")
    contract = p.contract or ("credit" if p.programme == "secondary-school" else "diploma")
    if contract not in e.contracts.value:
        raise ProfileError(field, f"the exception {code} is for a {' or '.join(e.contracts.value)} contract, "
                                  f"not {'an' if contract[0] in 'aeiou' else 'a'} {contract} contract")
    if p.first_enrolled_given and not e.start_fits(p.first_enrolled):
        raise ProfileError(field, f"the exception {code} is for students whose KdG studies already started "
                                  f"{'before' if e.started_before else 'in'} {long_year(e.start.value)}; "
                                  f"first_enrolled is {p.first_enrolled}")
    return code


def _card_code(text: str) -> str:
    t = text.strip()
    low = t.lower().replace("card", "").replace("kaart", "").replace("-", "").strip()
    if low in ("orange", "oranje"):
        return "orange"
    return low.upper().replace(" ", "")


# -- eligibility: small named predicates, combined in one place ------------------------------------
def is_eea_national(kb: KnowledgeBase, p: Profile) -> Optional[bool]:
    if p.nationality:
        return kb.is_eea(p.nationality)
    if p.nationality_group:
        return p.nationality_group == "eea"
    return None


def qualifying_residence(kb: KnowledgeBase, p: Profile) -> Optional[str]:
    """The label of the residence card or status that gives the basic fee, if any."""
    for r in kb.residence_rules(p.institution, p.academic_year):
        if r.kind == "card" and r.code == p.residence_permit and r.exempt:
            return r.label
        if r.kind == "status" and r.code == p.residence_status:
            return r.label
    return None


def has_study_grant_status(p: Profile) -> bool:
    """A (part-)scholarship student receives the Flemish study grant, which requires meeting the nationality conditions."""
    return p.scholarship in ("part", "full")


def diploma_gives_basic_fee(params: Dict[str, Param]) -> Optional[bool]:
    """Whether the year's page gives the basic fee for a Flemish diploma of secondary education (None: it does not say)."""
    rule = params.get(DIPLOMA_RULE)
    return None if rule is None else bool(rule.value)


def basic_fee_reason(kb: KnowledgeBase, p: Profile, params: Optional[Dict[str, Param]] = None) -> Optional[str]:
    """Why this student pays the basic fee, or None for the higher fee. Raises when it cannot tell."""
    eea = is_eea_national(kb, p)
    if eea:
        return "you are Belgian" if p.nationality == "BE" else "you have an EEA nationality"
    residence = qualifying_residence(kb, p)
    if residence:
        return f"you hold a qualifying right of residence ({residence})"
    params = kb.fee_parameters(p.institution, p.academic_year) if params is None else params
    if p.flemish_secondary_diploma and diploma_gives_basic_fee(params):
        return DIPLOMA_REASON
    if has_study_grant_status(p):
        return "as a (part-)scholarship student you meet the nationality conditions"
    if (p.residence_permit or p.residence_status) and not kb.residence_rules(p.institution, p.academic_year):
        field = "residence_permit" if p.residence_permit else "residence_status"
        raise ProfileError(field, f"the {p.academic_year} page does not list which residence permits or statuses give the basic fee")
    if p.flemish_secondary_diploma and diploma_gives_basic_fee(params) is None and eea is not None:
        raise ProfileError("flemish_secondary_diploma", f"the {p.academic_year} page does not say whether a Flemish diploma "
                           "of secondary education gives the basic fee (it names Belgian or EEA nationality, the "
                           "nationality conditions and the listed rights of residence), so whether you pay the basic or the "
                           "higher fee cannot be told from it: ask KdG")
    if eea is None:
        raise ProfileError("nationality", "nationality is needed to tell the basic from the higher fee")
    return None


# -- the quote ---------------------------------------------------------------------------------------
def money(x: Decimal) -> Decimal:
    return x.quantize(CENT)


def euros(x: Decimal) -> str:
    """€1,181.40: how amounts read in sentences (the JSON fields stay plain decimals)."""
    return f"€{money(Decimal(x)):,}"


def _need(params: Dict[str, Param], name: str, field: str, what: str, year: str) -> Param:
    if name not in params:
        raise ProfileError(field, f"the {year} tuition fee page gives no fee for {what}")
    return params[name]


def quote(kb: KnowledgeBase, raw: Dict[str, Any], today: Optional[date] = None,
          require_nationality: bool = True) -> Dict[str, Any]:
    """Compute a quote for a profile (see README: `mobility fee`). Raises ProfileError on bad input."""
    p = parse_profile(kb, raw, today, require_nationality)
    return quote_profile(kb, p)


def quote_profile(kb: KnowledgeBase, p: Profile, with_notes: bool = True) -> Dict[str, Any]:
    params = kb.fee_parameters(p.institution, p.academic_year)
    year = p.academic_year
    used: List[Param] = []
    basic_reason = None
    fee_type = ""
    exception: Optional[HigherFeeException] = None
    if p.programme == "secondary-school":
        contract = p.contract or "credit"
        if contract != "credit":
            raise ProfileError("contract", "a final-year secondary-school pupil enrols with a credit contract")
        cap = _need(params, "secondary_school.max_credits", "programme", "final-year secondary-school pupils", year)
        if p.credits > cap.value:
            raise ProfileError("credits", f"a final-year secondary-school pupil's credit contract allows at most {cap.value} credits in {year}")
        fixed = _need(params, "secondary_school.fixed", "programme", "final-year secondary-school pupils", year)
        used += [cap, fixed]
        per_credit, fee_type, who = None, "secondary-school", "the fee for a final-year secondary-school pupil with a credit contract"
        p.contract = contract
    else:
        p.contract = p.contract or "diploma"
        basic_reason = basic_fee_reason(kb, p, params)
        if basic_reason == DIPLOMA_REASON:
            used.append(params[DIPLOMA_RULE])
        if p.contract == "exam":
            rate = "basic" if basic_reason else "higher"
            fixed = _need(params, f"exam.{rate}.fixed", "contract", "exam contracts", year)
            per_credit = _need(params, f"exam.{rate}.per_credit", "contract", "exam contracts", year)
            fee_type, who = f"exam-{rate}", f"the fee for an exam contract at the {rate} rate"
        elif p.programme in ("advanced-bachelor", "advanced-master"):
            # One fee on the page, whatever the nationality: the reason for the basic fee plays no part in it.
            key = p.programme.replace("-", "_")
            label = p.programme.replace("-", " ")
            fixed = _need(params, f"{key}.fixed", "programme", f"an {label}'s programme", year)
            per_credit = _need(params, f"{key}.per_credit", "programme", f"an {label}'s programme", year)
            fee_type, who = p.programme, f"the fee for an {label}'s programme"
        else:
            regular = params.get("regular_programmes")
            if regular is None or p.programme not in regular.value:
                raise ProfileError("programme", f"the {year} tuition fee page gives no fee for a {p.programme} programme")
            used.append(regular)
            if basic_reason:
                fixed = params[f"basic.{p.scholarship}.fixed"]
                per_credit = params[f"basic.{p.scholarship}.per_credit"]
                fee_type = "basic"
                who = {"none": "the basic fee, non-scholarship student", "part": "the basic fee, part-scholarship student",
                       "full": "the basic fee, scholarship student"}[p.scholarship]
            elif p.higher_fee_exception:
                exception = higher_fee_exceptions(params)[p.higher_fee_exception]
                fixed, per_credit = exception.fixed, exception.per_credit
                used += exception.params()
                fee_type = "higher-exception"
                who = f"the exception to the higher fee for {exception.label.value} ({exception.condition()})"
            else:
                continuing = p.first_enrolled < year and "higher.continuing.fixed" in params
                rate = "continuing" if continuing else "new"
                fixed = params[f"higher.{rate}.fixed"]
                per_credit = params[f"higher.{rate}.per_credit"]
                fee_type = "higher"
                who = ("the higher fee for a student enrolled at KdG before " + year) if continuing else (
                    "the higher fee for a student new at KdG" if "higher.continuing.fixed" in params else "the higher fee")
        used += [fixed, per_credit]
    lines = [{"label": "Fixed part", "amount": money(fixed.value)}]
    total = fixed.value
    pc_value = per_credit.value if per_credit else Decimal(0)
    if per_credit:
        credit_amount = money(pc_value * p.credits)
        lines.append({"label": f"{p.credits} credits × {euros(pc_value)}", "amount": credit_amount})
        total += credit_amount
    if p.credits_without_learning_credit:
        extra = _need(params, "learning_credit.extra_per_credit", "credits_without_learning_credit", "insufficient learning credit", year)
        used.append(extra)
        amount = money(extra.value * p.credits_without_learning_credit)
        lines.append({"label": f"{p.credits_without_learning_credit} credits without learning credit × {euros(extra.value)}", "amount": amount})
        total += amount
    total = money(total)
    instalments = _instalments(kb, p, params, basic_reason is not None or fee_type == "secondary-school", used, exception)
    breakdown = f"{euros(fixed.value)} fixed" + (f" + {p.credits} credits × {euros(pc_value)}" if per_credit else "")
    if p.credits_without_learning_credit:
        breakdown += f" + {euros(lines[-1]['amount'])} for credits without learning credit"
    reason = f" because {basic_reason}" if basic_reason and fee_type in ("basic", "exam-basic") else ""
    explanation = (f"In {year} at {kb.institutions[p.institution].name} you pay {who}{reason}: "
                   f"{breakdown} = {euros(total)}.")
    notes, cited = _notes(kb, p, params, fee_type, basic_reason, total) if with_notes else ([], [])
    return {
        "total": total,
        "currency": "EUR",
        "institution": p.institution,
        "academic_year": year,
        "fee_type": fee_type,
        "fixed": money(fixed.value),
        "per_credit": money(pc_value),
        "credits": p.credits,
        "contract": p.contract,
        "programme": p.programme,
        "lines": lines,
        "explanation": explanation,
        "instalments": instalments,
        "higher_fee_exception": exception.code if exception else None,
        "notes": notes,
        "sources": kb.sources_for([*(x.source for x in used), *cited]),
    }


def _alternative(kb: KnowledgeBase, p: Profile, **change: Any) -> Dict[str, Any]:
    """The quote the same student would get with one thing different (for the notes), without its own notes."""
    return quote_profile(kb, replace(p, notes=[], **change), with_notes=False)


def _notes(kb: KnowledgeBase, p: Profile, params: Dict[str, Param], fee_type: str, basic_reason: Optional[str],
           total: Decimal) -> Tuple[List[str], List[str]]:
    """Plain-language notes on what the profile did not say and the year's page makes matter (its exceptions to
    the higher fee, the Flemish diploma of secondary education), each with the fee it would give; and the
    sources of those notes."""
    notes: List[str] = []
    cited: List[str] = []
    year = p.academic_year
    for_credits = f"for {p.credits} credits" + (f" ({p.credits_without_learning_credit} of them without learning credit)"
                                                 if p.credits_without_learning_credit else "")

    def compared(alt_total: Decimal) -> str:
        return (f"{euros(alt_total)} {for_credits}" +
                (", the same amount" if alt_total == total else f" instead of {euros(total)}"))

    if p.higher_fee_exception and basic_reason:
        e = higher_fee_exceptions(params)[p.higher_fee_exception]
        cited.append(e.label.source)
        notes.append(f"The exception to the higher fee for {e.label.value} does not change your fee: you pay the basic "
                     f"(standard) fee because {basic_reason}.")
    if fee_type not in ("higher", "higher-exception", "exam-higher"):
        return notes, cited
    if fee_type == "higher":
        for e in higher_fee_exceptions(params).values():
            if not (p.programme in e.programmes.value and p.contract in e.contracts.value
                    and (not p.first_enrolled_given or e.start_fits(p.first_enrolled))):
                continue
            alt = _alternative(kb, p, higher_fee_exception=e.code)
            cited += [x.source for x in e.params()]
            notes.append(f"Exception to the higher fee in {year} for {e.label.value}: if {e.condition()}, you pay "
                         f"{euros(e.fixed.value)} + {euros(e.per_credit.value)} per credit, {compared(alt['total'])}.")
    if p.flemish_secondary_diploma is None and diploma_gives_basic_fee(params):
        alt = _alternative(kb, p, flemish_secondary_diploma=True, higher_fee_exception=None)
        cited += [params[DIPLOMA_RULE].source, *(s["id"] for s in alt["sources"])]
        rate = "standard rate for an exam contract" if p.contract == "exam" else "standard fee"
        notes.append(f"With a Flemish diploma of secondary education you pay the {rate}, whatever your nationality: "
                     f"{euros(alt['fixed'])} + {euros(alt['per_credit'])} per credit, {compared(alt['total'])} (the {year} "
                     f"page gives the standard fee to students with Belgian nationality, a Flemish diploma of secondary "
                     f"education, an EEA nationality or an exception due to rights of residency).")
    return notes, cited


def _and(items: List[str]) -> str:
    """'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _instalments(kb: KnowledgeBase, p: Profile, params: Dict[str, Param], basic: bool, used: List[Param],
                 exception: Optional[HigherFeeException] = None) -> Dict[str, Any]:
    count = params.get("instalments.max_count")
    if count is None:
        return {"allowed": None, "note": f"the {p.academic_year} page says nothing about instalments"}
    used.append(count)
    first_year = p.first_enrolled == p.academic_year
    higher_ok = params.get("instalments.higher_fee_allowed")
    excluded = params.get("instalments.excluded")
    if basic:
        if excluded is not None:
            used.append(excluded)
        allowed, note = True, "You can pay in instalments" + (f" (not for {_and(excluded.value)})." if excluded is not None else ".")
    elif higher_ok is not None and higher_ok.value and (exception is not None or not first_year):
        # an exception to the higher fee is for students whose KdG studies started years before
        used.append(higher_ok)
        allowed, note = True, "Higher-fee students can pay in instalments from their second academic year onwards."
    elif exception is not None:
        if higher_ok is not None:
            used.append(higher_ok)
        only_standard = " (it lets students who pay the standard fee spread their payment)" if higher_ok is not None else ""
        return {"allowed": None,
                "note": (f"The {p.academic_year} page does not say whether the exception to the higher fee for "
                         f"{exception.label.value} can be paid in instalments{only_standard}: ask KdG.")}
    else:
        allowed = False
        note = ("Higher-fee students in their first academic year are not eligible for instalments."
                if higher_ok is not None and higher_ok.value else "Only students paying the standard fee can spread their payment.")
        pay_by = params.get("higher_fee_first_year_pay_by")
        if pay_by is not None and first_year:
            used.append(pay_by)
            note += f" A first enrolment must be paid in full before {pay_by.value}."
    out: Dict[str, Any] = {"allowed": allowed, "note": note}
    if allowed:
        out["count"] = int(count.value)
        late = params.get("instalments.count_enrolled_jan_feb")
        if late is not None:
            used.append(late)
            out["count_if_enrolled_in_january_or_february"] = int(late.value)
            out["note"] += f" You pay in {int(count.value)} instalments, or {int(late.value)} if you enrol in January or February."
        advance = params.get("instalments.advance")
        if advance is not None:
            used.append(advance)
            out["advance"] = money(advance.value)
            out["note"] += f" You pay an advance of {euros(advance.value)} upon registration and the rest in at most {int(count.value)} instalments."
    return out
