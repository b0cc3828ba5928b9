"""The words users write for the knowledge base's things: patterns for entity recognition and normalisation.

Country names, nationalities, communities, institutions and grants come from the knowledge base;
the closed vocabularies below (scholarship status, contract, programme, ...) map each phrase to the
canonical value the engines take. Nothing here imports spaCy or Rasa: the assistant's spaCy pipeline
is built from `entity_patterns()`.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional, Tuple

from knowledge.kb import KnowledgeBase, plural_of, fold
from knowledge.years import current_academic_year, label, parse_academic_year, start_year

NATIONALITY_GROUPS = {
    "eea": ["EU", "EEA", "EU/EEA", "European", "EU citizen", "EER", "EU-burger", "Europese"],
    "non-eea": ["non-EU", "non EU", "non-EEA", "non EEA", "non-European", "non European", "outside the EU",
                "outside the EEA", "from outside Europe", "niet-EU", "niet-EER", "buiten de EU", "buiten de EER", "buiten Europa",
                "international student",
                "international students"],
}
SCHOLARSHIP = {
    "full": ["scholarship student", "scholarship students", "full scholarship", "beursstudent", "beursstudenten",
             "beurstariefstudent", "study grant student", "study grant students", "with a study grant", "receive a study grant",
             "get a study grant", "have a study grant", "studietoelage student", "scholarship holder", "studietoelage",
             "study grant", "a study grant"],
    "part": ["part-scholarship student", "part-scholarship students", "part scholarship student", "part-scholarship",
             "part scholarship", "partial scholarship", "bijna-beursstudent", "bijna beursstudent", "bijna-beursstudenten",
             "almost scholarship student", "near scholarship student"],
    "none": ["non-scholarship student", "non-scholarship students", "non scholarship student", "niet-beursstudent",
             "niet beursstudent", "no study grant", "no scholarship", "without a study grant", "without study grant",
             "without a grant", "without a scholarship", "don't receive a study grant", "do not receive a study grant",
             "don't get a study grant", "do not get a study grant", "don't have a study grant", "do not have a study grant",
             "don't receive a grant", "dont receive a study grant", "dont have a study grant", "dont get a study grant", "no grant", "non-study grant student", "not a scholarship student"],
}
CONTRACT = {
    "credit": ["credit contract", "creditcontract", "credit-contract"],
    "exam": ["exam contract", "examination contract", "examencontract", "exam-contract"],
    "diploma": ["diploma contract", "degree contract", "diplomacontract", "diploma-contract"],
}
PROGRAMME = {
    "advanced-master": ["advanced master", "advanced master's", "advanced masters", "manama", "master-na-master",
                        "master after master"],
    "advanced-bachelor": ["advanced bachelor", "advanced bachelor's", "advanced bachelors", "banaba", "bachelor-na-bachelor",
                          "bachelor after bachelor"],
    "bridging": ["bridging programme", "bridging program", "bridging course", "schakelprogramma", "schakeljaar"],
    "preparatory": ["preparatory programme", "preparatory program", "voorbereidingsprogramma"],
    "graduate": ["graduate programme", "graduate program", "graduaat", "associate degree"],
    "secondary-school": ["final-year secondary school", "final year of secondary school", "secondary school pupil",
                         "secondary school student", "secondary school", "high school student", "middelbare school",
                         "secundair", "secundair onderwijs", "last year of secondary school", "final year of high school",
                         "last year of high school"],
    "master": ["master", "master's", "masters", "master student", "master's student", "master programme"],
    "bachelor": ["bachelor", "bachelor's", "bachelors", "bachelor student", "bachelor's student", "bachelor programme",
                 "professional bachelor", "academic bachelor"],
}
ACTIVITY = {
    "internship": ["internship", "internships", "intership", "internschip", "traineeship", "traineeships", "work placement",
                   "work placements", "placement", "stage", "stageplaats", "trainee"],
    "study": ["study", "studying", "studies", "study exchange", "exchange", "studeren", "studie",
              "student exchange"],
}
ENROLMENT = {
    "new": ["new student", "new students", "new KdG student", "new at KdG", "first year at KdG", "first enrolment",
            "first time", "first academic year", "starting student", "nieuwe student", "just starting"],
    "continuing": ["enrolled before", "continuing student", "returning student", "already enrolled", "already studying",
                   "second year", "second academic year", "third year", "started last year", "already a KdG student",
                   "enrolled last year"],
}
RESIDENCE_STATUS = {
    "refugee": ["refugee status", "refugee", "recognised refugee", "recognized refugee", "vluchteling", "erkend vluchteling"],
    "subsidiary-protection": ["subsidiary protection", "subsidiaire bescherming"],
    "humanitarian-regularisation": ["humanitarian regularisation", "humanitarian regularization", "humanitarian visa"],
    "medical-regularisation": ["medical regularisation", "medical regularization"],
    "human-trafficking-victim": ["victim of human trafficking", "human trafficking", "mensenhandel"],
    "family-reunification": ["family reunification", "family reunion", "gezinshereniging"],
    "eea-family-member": ["family member of an EEA citizen", "family member of an EU citizen", "EEA family member"],
    "ukraine-temporary-protection": ["temporary protection", "tijdelijke bescherming"],
}
# Words the ruler must not take for a person's nationality or a country: a language community ("Dutch-speaking
# schools"), a thing described by a nationality adjective ("Belgian culture", "a Dutch course", "at a European
# university"), a region named after a country ("Latin America"). Matched as NOT_ENTITY, which no consumer
# keeps (the longer match wins over the nationality or country inside it). Subjects stay out ("a Mexican art
# student" is Mexican), and so does an institution followed by "student" ("a Dutch university student").
NOT_ENTITY = "not_entity"
LANGUAGE_WORDS = ["speaking", "sprekende", "talige", "culture", "cultures", "language", "languages", "taal", "course",
                  "courses", "cursus", "class", "classes", "lesson", "lessons", "les", "taalles", "government",
                  "overheid", "city", "cities"]
INSTITUTION_WORDS = ["university", "universities", "universiteit", "school", "schools", "scholen", "hogeschool",
                     "hogescholen", "institution", "institutions"]
STUDENT_WORDS = ["student", "students", "studenten", "student's", "students'"]
# "per study credit" is about credits, not the activity study; "Survival Dutch", "taught in English" name a
# language, not a nationality.
NOT_ENTITY_PHRASES = ["study credit", "study credits", "study point", "study points",
                      # named after a city, no place: citation styles, language certificates, conventions
                      "Chicago style", "Vancouver style", "Vancouver referencing", "Harvard style", "Oxford comma",
                      "Oxford dictionary", "Cambridge certificate", "Cambridge English", "Cambridge exam",
                      "Lisbon Recognition Convention", "Bologna process", "Bologna Process"]
LANGUAGE_USE = ["survival", "learn", "learning", "speak", "speaks", "in", "taught", "basic", "beginner", "beginners"]
LANGUAGES = ["dutch", "english", "french", "german", "spanish", "italian", "nederlands", "engels", "frans", "duits"]
REGIONS = ["Latin America", "South America", "North America", "Central America", "Latijns-Amerika", "Zuid-Amerika",
           "Noord-Amerika", "Midden-Amerika", "Southeast Asia", "South-East Asia", "East Asia", "Zuidoost-Azië"]
CARDS = ["A", "B", "C", "D", "E", "F", "F+", "H", "K", "L", "M", "N"]
CARD_WORDS = ["card", "kaart", "residence card", "verblijfskaart", "permit"]
ORANGE_CARD = ["orange card", "oranje kaart"]
CREDIT_UNITS = ["credits", "credit", "ects", "studiepunten", "studiepunt", "sp", "study credits", "ects-credits"]
# English ordinal words (those spaCy's LIKE_NUM knows): a year of study, not a count ("first-year", "twelfth year")
ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
                 "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                 "nineteenth", "twentieth", "thirtieth", "fortieth", "fiftieth", "hundredth"]
MONTH_UNITS = {"month": 1, "months": 1, "maand": 1, "maanden": 1, "mo": 1, "year": 12, "years": 12, "jaar": 12,
               "semester": 0, "semesters": 0, "week": 0, "weeks": 0, "weken": 0}
NUMBER_WORDS = {"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                "fifty": 50, "sixty": 60, "een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "twaalf": 12,
                "half": 0}
SEMESTER_MONTHS = 4  # ASEM-DUO on the EACEA page: "one month (4 months)": a semester counts as 4 months at least
CLOSED = {"scholarship": SCHOLARSHIP, "contract": CONTRACT, "programme": PROGRAMME, "activity": ACTIVITY,
          "enrolment": ENROLMENT, "residence_status": RESIDENCE_STATUS}


def _phrase_index(table: Dict[str, List[str]]) -> Dict[str, str]:
    return {fold(p): canon for canon, phrases in table.items() for p in phrases}


_INDEX = {name: _phrase_index(table) for name, table in CLOSED.items()}
_GROUPS = _phrase_index(NATIONALITY_GROUPS)


def normalise(kind: str, text: str) -> Optional[str]:
    """The canonical value of a phrase of a closed vocabulary ('beursstudent' -> 'full'), or None."""
    key = fold(text or "")
    idx = _INDEX[kind]
    if key in idx:
        return idx[key]
    if kind in ("scholarship", "activity", "programme", "contract", "enrolment"):
        for phrase, canon in sorted(idx.items(), key=lambda x: -len(x[0])):
            if phrase and phrase in key:
                return canon
    return None


def nationality_group(text: str) -> Optional[str]:
    return _GROUPS.get(fold(text or ""))


def card_code(text: str) -> Optional[str]:
    """'F+ card' -> 'F+', 'orange card' -> 'orange', 'card L' -> 'L'."""
    t = (text or "").strip()
    if fold(t) in {fold(x) for x in ORANGE_CARD} or fold(t) == "orange":
        return "orange"
    m = re.search(r"(?:^|\b)([A-Za-z]\+?)(?:[-\s]*(?:card|kaart|permit)\b)", t) or re.search(r"(?:card|kaart)\s+([A-Za-z]\+?)\b", t)
    if m:
        code = m.group(1).upper()
        return code if code in CARDS else None
    return t.upper() if t.upper() in CARDS else None


def parse_number(text: str) -> Optional[int]:
    m = re.search(r"\d+", text or "")
    if m:
        return int(m.group(0))
    for word in fold(text or "").split():
        if word in NUMBER_WORDS and NUMBER_WORDS[word]:
            return NUMBER_WORDS[word]
    return None


def parse_duration(text: str) -> Tuple[Optional[int], Optional[str]]:
    """(months, label): '2 months' -> (2, '2 months'); 'semester' -> (4, 'a semester'); 'full year' -> (12, 'a full year')."""
    t = fold(text or "")
    if not t:
        return None, None
    if "semester" in t:
        n = parse_number(t) or 1
        return SEMESTER_MONTHS * n, "a semester" if n == 1 else f"{n} semesters"
    if re.search(r"\b(full|whole|academic|one|1|a|een|heel) (year|jaar)\b", t) or t in ("year", "jaar"):
        return 12, "a full year"
    n = parse_number(t)
    if n is None:
        return None, None
    if re.search(r"\b(year|years|jaar)\b", t):
        return 12 * n, f"{n} year" + ("s" if n > 1 else "")
    if re.search(r"\b(week|weeks|weken)\b", t):
        months = max(1, n // 4)
        return (n // 4) or None, f"{n} weeks"
    return n, f"{n} month" + ("s" if n != 1 else "")


def parse_year(text: str, today: Optional[date] = None) -> Optional[str]:
    """'2023-24', '2023/2024', 'this year', 'next year', 'last year' -> '2026-27' style."""
    y = parse_academic_year(re.sub(r"\s+", "", text or ""))
    if y:
        return y
    t = fold(text or "")
    now = start_year(current_academic_year(today))
    if re.search(r"\b(next|volgend)", t):
        return label(now + 1)
    if re.search(r"\b(last|previous|vorig)", t):
        return label(now - 1)
    if re.search(r"\b(this|current|dit|huidig)", t):
        return label(now)
    m = re.fullmatch(r"(\d{4})", t)
    if m:
        return label(int(m.group(1)))
    return None


def entity_patterns(kb: KnowledgeBase) -> List[Dict[str, Any]]:
    """spaCy EntityRuler patterns (label = Rasa entity name), built from the knowledge base and the tables above."""
    pats: List[Dict[str, Any]] = []

    def phrases(label_: str, items, ident: Optional[str] = None):
        for p in items:
            if p and p.strip():
                pats.append({"label": label_, "pattern": p, **({"id": ident} if ident else {})})

    country_names = {fold(n) for c in kb.countries.values() for n in [c.name, *c.names]}
    for c in kb.countries.values():
        phrases("country", [c.name, *c.names], c.code)
        phrases("nationality", c.demonyms, c.code)
        plurals = [plural_of(d) for d in c.demonyms]  # "Germans"; not "Laos", "Philippines": countries
        phrases("nationality", [p for p in plurals if p and fold(p) not in country_names], c.code)
    for city in kb.cities.values():
        phrases("city", [city.name, *city.names], city.country)
    for group, items in NATIONALITY_GROUPS.items():
        phrases("nationality", items, group)
    for com in kb.communities.values():
        if com.id != "flemish-community":
            phrases("community", [com.name, *com.aliases], com.id)
    for inst in kb.institutions.values():
        if inst.id != "flemish-community":
            phrases("institution", inst.aliases, inst.id)
    for g in kb.grants.values():
        phrases("grant", [g.name, *g.aliases], g.id)
    phrases("grant", ["Mastermind", "Mastermind scholarship", "Mastermind scholarships"], "mastermind")
    for kind in ("scholarship", "contract", "programme", "activity", "enrolment"):
        for canon, items in CLOSED[kind].items():
            phrases(kind, items, canon)
    for canon, items in RESIDENCE_STATUS.items():
        phrases("residence", items, canon)
    phrases("residence", ORANGE_CARD, "orange")
    card_letters = {"ORTH": {"IN": CARDS}}
    card_word = {"LOWER": {"IN": ["card", "kaart", "permit"]}}
    pats.append({"label": "residence", "pattern": [card_letters, {"ORTH": "-", "OP": "?"}, card_word]})
    pats.append({"label": "residence", "pattern": [{"LOWER": {"IN": ["card", "kaart"]}}, card_letters]})
    pats.append({"label": "residence", "pattern": [{"LOWER": {"IN": ["f+card", "fcard", "lcard", "kcard", "bcard", "ccard", "dcard", "acard"]}}]})
    number = {"LIKE_NUM": True}
    pats.append({"label": "credits", "pattern": [number, {"LOWER": {"IN": CREDIT_UNITS}}]})
    pats.append({"label": "credits", "pattern": [number, {"LOWER": "study"}, {"LOWER": {"IN": ["credits", "points"]}}]})
    pats.append({"label": "credits", "pattern": [{"LOWER": {"REGEX": r"^\d+(credits|ects|sp)$"}}]})
    month_units = [u for u in MONTH_UNITS if u not in ("mo",)]
    # spaCy's LIKE_NUM takes ordinals for numbers ("first", "eleventh", "1st", "2nd"): "a first-year student" or "2nd
    # year" names a year of study, not a stay of a year or two
    count = {"LIKE_NUM": True, "LOWER": {"NOT_IN": ORDINAL_WORDS, "REGEX": r"^(?!\d+(st|nd|rd|th)$)"}}
    pats.append({"label": "duration", "pattern": [count, {"ORTH": "-", "OP": "?"}, {"LOWER": {"IN": month_units}}]})
    pats.append({"label": "duration", "pattern": [{"LOWER": {"IN": ["one", "1", "a", "an"]}}, {"LOWER": {"IN": ["half"]}}, {"LOWER": {"IN": ["year"]}}]})
    pats.append({"label": "duration", "pattern": [{"LOWER": {"IN": ["full", "whole", "entire", "heel"]}}, {"LOWER": {"IN": ["year", "jaar", "academic"]}}, {"LOWER": "year", "OP": "?"}]})
    pats.append({"label": "duration", "pattern": [{"LOWER": {"IN": ["semester", "semesters", "semester-long"]}}]})
    pats.append({"label": "duration", "pattern": [{"LOWER": {"REGEX": r"^\d+(months?|maanden|mnths?)$"}}]})
    pats.append({"label": "academic_year", "pattern": [{"SHAPE": "dddd"}, {"ORTH": {"IN": ["-", "/", "–"]}}, {"SHAPE": {"IN": ["dd", "dddd"]}}]})
    pats.append({"label": "academic_year", "pattern": [{"LOWER": {"REGEX": r"^20\d\d[-/]\d\d(\d\d)?$"}}]})
    pats.append({"label": "academic_year", "pattern": [{"LOWER": {"IN": ["this", "next", "last", "current", "previous"]}}, {"LOWER": "academic", "OP": "?"}, {"LOWER": "year"}]})
    adjectives = sorted({d.lower() for c in kb.countries.values() for d in c.demonyms if " " not in d}
                        | {w.lower() for w in NATIONALITY_GROUPS["eea"] + ["Flemish", "Vlaamse", "Vlaams", "Franstalige", "Nederlandstalige"]
                           if " " not in w})
    adjective = {"LOWER": {"IN": adjectives}}
    pats.append({"label": NOT_ENTITY, "pattern": [adjective, {"ORTH": "-", "OP": "?"}, {"LOWER": {"IN": LANGUAGE_WORDS}}]})
    # "a European university?" but not "a Dutch university student" (nor a name right after: "Belgian school Erasmus").
    pats.append({"label": NOT_ENTITY, "pattern": [adjective, {"LOWER": {"IN": INSTITUTION_WORDS}},
                                                  {"LOWER": {"NOT_IN": STUDENT_WORDS}, "IS_TITLE": False}]})
    phrases(NOT_ENTITY, REGIONS + NOT_ENTITY_PHRASES)
    pats.append({"label": NOT_ENTITY, "pattern": [{"LOWER": {"IN": LANGUAGE_USE}}, {"LOWER": {"IN": LANGUAGES}}]})
    return pats
