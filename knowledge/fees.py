"""The fee engine: a student's profile in, a quote with its breakdown, instalment rules and sources out.

Rules follow the institution's tuition-fee page of the academic year asked (knowledge/data/fees/);
a year without data is an error, never another year's figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Dict, List, Optional

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
                  "credits_without_learning_credit")

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
    notes: List[str] = field(default_factory=list)


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
        if p.programme not in PROGRAMMES:
            raise ProfileError("programme", f"programme must be one of {', '.join(PROGRAMMES)}, got {prog!r}")
    p.credits = _integer(raw, "credits", 60, 1, MAX_CREDITS)
    p.first_enrolled = _year(raw, "first_enrolled", year)
    if p.first_enrolled > year:
        raise ProfileError("first_enrolled", f"first_enrolled ({p.first_enrolled}) is after the academic year asked ({year})")
    p.credits_without_learning_credit = _integer(raw, "credits_without_learning_credit", 0, 0, MAX_CREDITS)
    if p.credits_without_learning_credit > p.credits:
        raise ProfileError("credits_without_learning_credit", "credits_without_learning_credit cannot exceed credits")
    if p.credits_without_learning_credit and p.programme not in LEARNING_CREDIT_PROGRAMMES:
        raise ProfileError("credits_without_learning_credit", "the learning-credit surcharge applies to bachelor's and master's programmes only")
    return p


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


def basic_fee_reason(kb: KnowledgeBase, p: Profile) -> Optional[str]:
    """Why this student pays the basic fee, or None for the higher fee. Raises when it cannot tell."""
    eea = is_eea_national(kb, p)
    if eea:
        return "you are Belgian" if p.nationality == "BE" else "you have an EEA nationality"
    residence = qualifying_residence(kb, p)
    if residence:
        return f"you hold a qualifying right of residence ({residence})"
    if has_study_grant_status(p):
        return "as a (part-)scholarship student you meet the nationality conditions"
    if (p.residence_permit or p.residence_status) and not kb.residence_rules(p.institution, p.academic_year):
        field = "residence_permit" if p.residence_permit else "residence_status"
        raise ProfileError(field, f"the {p.academic_year} page does not list which residence permits or statuses give the basic fee")
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


def quote_profile(kb: KnowledgeBase, p: Profile) -> Dict[str, Any]:
    params = kb.fee_parameters(p.institution, p.academic_year)
    year = p.academic_year
    used: List[Param] = []
    basic_reason = None
    fee_type = ""
    if p.programme == "secondary-school":
        contract = p.contract or "credit"
        if contract != "credit":
            raise ProfileError("contract", "a final-year secondary-school pupil enrols with a credit contract")
        cap = _need(params, "secondary_school.max_credits", "programme", "final-year secondary-school pupils", year)
        if p.credits > cap.value:
            raise ProfileError("credits", f"a final-year secondary-school pupil's credit contract allows at most {cap.value} credits in {year}")
        fixed = _need(params, "secondary_school.fixed", "programme", "final-year secondary-school pupils", year)
        used += [cap, fixed]
        per_credit, fee_type, who = None, "secondary-school", "a final-year secondary-school pupil with a credit contract"
        p.contract = contract
    else:
        p.contract = p.contract or "diploma"
        basic_reason = basic_fee_reason(kb, p)
        if p.contract == "exam":
            rate = "basic" if basic_reason else "higher"
            fixed = _need(params, f"exam.{rate}.fixed", "contract", "exam contracts", year)
            per_credit = _need(params, f"exam.{rate}.per_credit", "contract", "exam contracts", year)
            fee_type, who = f"exam-{rate}", f"an exam contract at the {rate} rate"
        elif p.programme in ("advanced-bachelor", "advanced-master"):
            key = p.programme.replace("-", "_")
            label = p.programme.replace("-", " ")
            fixed = _need(params, f"{key}.fixed", "programme", f"an {label}'s programme", year)
            per_credit = _need(params, f"{key}.per_credit", "programme", f"an {label}'s programme", year)
            fee_type, who = p.programme, f"an {label}'s programme"
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
    instalments = _instalments(kb, p, params, basic_reason is not None or fee_type == "secondary-school", used)
    breakdown = f"{euros(fixed.value)} fixed" + (f" + {p.credits} credits × {euros(pc_value)}" if per_credit else "")
    if p.credits_without_learning_credit:
        breakdown += f" + {euros(lines[-1]['amount'])} for credits without learning credit"
    reason = f" because {basic_reason}" if basic_reason else ""
    explanation = (f"In {year} at {kb.institutions[p.institution].name} you pay {who}{reason}: "
                   f"{breakdown} = {euros(total)}.")
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
        "sources": kb.sources_for(x.source for x in used),
    }


def _instalments(kb: KnowledgeBase, p: Profile, params: Dict[str, Param], basic: bool, used: List[Param]) -> Dict[str, Any]:
    count = params.get("instalments.max_count")
    if count is None:
        return {"allowed": None, "note": f"the {p.academic_year} page says nothing about instalments"}
    used.append(count)
    first_year = p.first_enrolled == p.academic_year
    higher_ok = params.get("instalments.higher_fee_allowed")
    if basic:
        allowed, note = True, "You can pay in instalments (not for postgraduate programmes, post-training courses and study days)."
    elif higher_ok is not None and higher_ok.value and not first_year:
        used.append(higher_ok)
        allowed, note = True, "Higher-fee students can pay in instalments from their second academic year onwards."
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
