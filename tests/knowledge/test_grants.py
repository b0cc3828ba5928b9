"""The grant finder: which grants fit a destination, an activity and a stay, which do not and why;
through the API and `mobility grants`."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from knowledge import SearchError, find_grants

from kbhelpers import SOURCES_DIR, error_of, parse_cli_json

KASK, EACEA = "kask-going-abroad", "eacea-flanders-cross-border-mobility"

# (sentence, query, grants that must fit as (grant, source), grants that must not fit with words of the reason)
SCENARIOS = [
    ("an internship of 2 months in Japan fits ASEM-WPP, the Priority Country Programme and the Generic grant",
     {"institution": "kask", "destination": "JP", "activity": "internship", "months": 2},
     {("asem-wpp", KASK), ("priority-country-programme", KASK), ("generic-grant", KASK)},
     {("erasmus-plus", KASK): "wrong destination", ("priority-country-programme", EACEA): "not internship",
      ("asem-duo", KASK): "wrong destination", ("washington-center", EACEA): "wrong destination"}),
    ("a study stay of 4 months in the French Community fits Erasmus Belgica on both pages",
     {"institution": "kask", "destination": "French Community", "activity": "study", "months": 4},
     {("erasmus-belgica", KASK), ("erasmus-belgica", EACEA)},
     {("erasmus-plus", KASK): "wrong destination", ("generic-grant", KASK): "wrong destination"}),
    ("an internship of 3 months in Eupen (German-speaking Community) fits Erasmus Belgica",
     {"destination": "Eupen", "activity": "internship", "months": 3},
     {("erasmus-belgica", KASK), ("erasmus-belgica", EACEA)}, {}),
    ("a study stay of 2 months in Wallonia is too short for Erasmus Belgica on the EACEA page (3 months)",
     {"destination": "Wallonia", "activity": "study", "months": 2},
     {("erasmus-belgica", KASK)},
     {("erasmus-belgica", EACEA): "too short: at least 3 months for study"}),
    ("an internship of 1 month in the German-speaking Community is too short for Erasmus Belgica on the EACEA page (2 months)",
     {"destination": "German-speaking Community", "activity": "internship", "months": 1},
     {("erasmus-belgica", KASK)},
     {("erasmus-belgica", EACEA): "too short: at least 2 months for internship"}),
    ("a study stay of 2 months in Germany is too short for the KASK Erasmus+ grant (3 months)",
     {"institution": "kask", "destination": "DE", "activity": "study", "months": 2},
     set(), {("erasmus-plus", KASK): "too short: at least 3 months for study"}),
    ("an internship of 1 month in Spain is too short for the KASK Erasmus+ grant (2 months)",
     {"institution": "kask", "destination": "Spain", "activity": "internship", "months": 1},
     set(), {("erasmus-plus", KASK): "too short: at least 2 months for internship"}),
    ("an internship of 2 months in Spain fits the KASK Erasmus+ grant",
     {"institution": "kask", "destination": "ES", "activity": "internship", "months": 2},
     {("erasmus-plus", KASK)}, {("generic-grant", KASK): "wrong destination"}),
    ("a study stay of 13 months in the Netherlands is too long for Erasmus+ (12 months)",
     {"institution": "kask", "destination": "the Netherlands", "activity": "study", "months": 13},
     set(), {("erasmus-plus", KASK): "too long: at most 12 months"}),
    ("a study stay of 2 months in China is too short for the KASK ASEM-DUO grant (one semester)",
     {"institution": "kask", "destination": "China", "activity": "study", "months": 2},
     {("generic-grant", KASK)}, {("asem-duo", KASK): "too short: at least 1 semester for study", ("asem-wpp", KASK): "not study"}),
    ("a study semester in South Korea fits ASEM-DUO",
     {"institution": "kask", "destination": "KR", "activity": "study", "months": 5},
     {("asem-duo", KASK), ("asem-duo", EACEA), ("generic-grant", KASK)}, {}),
    ("an internship in Washington fits The Washington Center scholarship",
     {"institution": "kask", "destination": "US", "activity": "internship", "months": 4},
     {("washington-center", EACEA), ("priority-country-programme", KASK)},
     {("priority-country-programme", EACEA): "not internship"}),
    ("Turkey is an Erasmus+ country, so the Generic grant does not fit",
     {"institution": "kask", "destination": "TR", "activity": "study", "months": 4},
     {("erasmus-plus", KASK), ("priority-country-programme", KASK)}, {("generic-grant", KASK): "wrong destination"}),
    ("going to Belgium as a country fits no grant: Erasmus Belgica is asked by Community",
     {"destination": "BE", "activity": "study", "months": 4},
     set(), {("erasmus-belgica", KASK): "wrong destination", ("erasmus-plus", KASK): "wrong destination"}),
    ("a KdG student sees only the Flemish Community's grants, not KASK's",
     {"institution": "kdg", "destination": "JP", "activity": "study", "months": 3},
     {("priority-country-programme", EACEA)}, {}),
]


def _pairs(entries):
    return {(e["grant"], e["source"]["id"]) for e in entries}


@pytest.mark.parametrize("query, fits, no_fit", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_the_grant_finder_says_what_fits_and_why_the_others_do_not(kb, today, query, fits, no_fit):
    result = find_grants(kb, query, today=today)
    got_fits = _pairs(result["fits"])
    assert fits <= got_fits, f"missing {fits - got_fits}; fits: {sorted(got_fits)}"
    reasons = {(e["grant"], e["source"]["id"]): " / ".join(e["reasons"]) for e in result["does_not_fit"]}
    for key, words in no_fit.items():
        assert key in reasons, f"{key} should not fit; fits: {sorted(got_fits)}"
        assert words in reasons[key], f"{key}: {reasons[key]!r} does not say {words!r}"
    assert all(e["reasons"] for e in result["does_not_fit"]), "a grant that does not fit must say why"
    assert not got_fits & set(reasons), "a grant variant both fits and does not fit"
    if query.get("institution") == "kdg":
        assert all(e["source"]["institution"] == "flemish-community" for e in result["fits"] + result["does_not_fit"])


def test_a_minimum_in_the_page_s_words_is_not_said_twice(kb, today):
    """KASK's ASEM-DUO: "Study of min. 1 semester": the reason reads "at least 1 semester", not "at least min. 1 semester"."""
    result = find_grants(kb, {"institution": "kask", "destination": "KR", "activity": "study", "months": 3}, today=today)
    duo = next(e for e in result["does_not_fit"] if e["grant"] == "asem-duo" and e["source"]["id"] == KASK)
    assert duo["reasons"] == ["too short: at least 1 semester for study"]


def test_the_japanese_internship_estimates_700_a_month(kb, today):
    result = find_grants(kb, {"institution": "kask", "destination": "Japan", "activity": "internship", "months": 2}, today=today)
    wpp = next(e for e in result["fits"] if e["grant"] == "asem-wpp")
    assert wpp["amount"]["per_month"] == Decimal(700)
    assert wpp["amount"]["estimate"] == Decimal(1400)  # 2 × 700
    assert result["destination"] == {"kind": "country", "value": "JP", "name": "Japan"}


def test_erasmus_belgica_on_the_eacea_page_is_a_flat_100_plus_100_a_month(kb, today):
    result = find_grants(kb, {"destination": "French Community", "activity": "study", "months": 4}, today=today)
    by_source = {e["source"]["id"]: e for e in result["fits"] if e["grant"] == "erasmus-belgica"}
    assert by_source[EACEA]["amount"]["estimate"] == Decimal(500)  # 100 + 4 × 100
    assert by_source[KASK]["amount"]["estimate"] == Decimal(400)  # 4 × 100
    assert "accommodation" in by_source[EACEA]["amount"]["condition"]
    assert result["destination"]["kind"] == "community" and result["destination"]["value"] == "french-community"


def test_a_grant_with_a_deadline_gives_its_next_date(kb, today):
    result = find_grants(kb, {"institution": "kask", "destination": "JP", "activity": "study", "months": 2}, today=today)
    pcp = next(e for e in result["fits"] if e["grant"] == "priority-country-programme")
    assert pcp["deadline"]["next_date"] == "2027-03-12"
    assert pcp["deadline"]["days_left"] == 109


@pytest.mark.parametrize("destination", ["JP", "jp", "Japan", "japan", "Japanese"])
def test_a_destination_may_be_a_code_a_name_or_a_nationality(kb, today, destination):
    assert find_grants(kb, {"destination": destination}, today=today)["destination"]["value"] == "JP"


def test_every_grant_entry_cites_an_existing_page(kb, today):
    result = find_grants(kb, {"destination": "JP"}, today=today)
    entries = result["fits"] + result["does_not_fit"]
    assert {e["grant"] for e in entries} == set(kb.grants), "every grant is either fitting or not, never left out"
    for e in entries:
        assert (SOURCES_DIR / e["source"]["file"]).is_file()


# (sentence, query, field)
BAD_QUERIES = [
    ("an unknown country is refused", {"destination": "Atlantis"}, "destination"),
    ("an unknown country code is refused", {"destination": "XX"}, "destination"),
    ("a missing destination is refused", {"activity": "study"}, "destination"),
    ("an empty destination is refused", {"destination": "  "}, "destination"),
    ("a destination given as a number is refused", {"destination": 81}, "destination"),
    ("an unknown activity is refused", {"destination": "JP", "activity": "holiday"}, "activity"),
    ("0 months are refused", {"destination": "JP", "months": 0}, "months"),
    ("25 months are refused", {"destination": "JP", "months": 25}, "months"),
    ("months written as text are refused", {"destination": "JP", "months": "3"}, "months"),
    ("half months are refused", {"destination": "JP", "months": 2.5}, "months"),
    ("an unknown institution is refused", {"destination": "JP", "institution": "ugent"}, "institution"),
    ("an unknown field is refused", {"destination": "JP", "budget": 1000}, "budget"),
]


@pytest.mark.parametrize("query, field", [b[1:] for b in BAD_QUERIES], ids=[b[0] for b in BAD_QUERIES])
def test_a_bad_query_is_refused_naming_the_field(kb, today, query, field):
    with pytest.raises(SearchError) as caught:
        find_grants(kb, query, today=today)
    assert caught.value.field == field and caught.value.message


def test_a_query_that_is_not_an_object_is_refused(kb, today):
    with pytest.raises(SearchError) as caught:
        find_grants(kb, ["JP"], today=today)
    assert caught.value.field == "query"


# -- the command line --------------------------------------------------------------------------------
def test_mobility_grants_finds_the_internship_grants_for_japan(mobility):
    query = {"institution": "kask", "destination": "JP", "activity": "internship", "months": 2}
    proc = mobility("grants", "--today", "2026-11-23", input=json.dumps(query))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = parse_cli_json(proc)
    fits = {e["grant"]: e for e in result["fits"]}
    assert {"asem-wpp", "priority-country-programme", "generic-grant"} <= set(fits)
    assert fits["asem-wpp"]["amount"]["estimate"] == 1400
    assert fits["priority-country-programme"]["deadline"]["next_date"] == "2027-03-12"
    assert any(e["grant"] == "erasmus-plus" and e["reasons"] for e in result["does_not_fit"])


def test_mobility_grants_rejects_a_too_short_belgica_stay_with_the_reason(mobility):
    proc = mobility("grants", input=json.dumps({"destination": "Wallonia", "activity": "study", "months": 2}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = parse_cli_json(proc)
    eacea = [e for e in result["does_not_fit"] if e["grant"] == "erasmus-belgica" and e["source"]["id"] == EACEA]
    assert eacea and "too short" in eacea[0]["reasons"][0]


@pytest.mark.parametrize("stdin, field", [
    (json.dumps({"destination": "Atlantis"}), "destination"),
    ('{"destination": "JP", ', "input"),
], ids=["an unknown country exits 2 naming the destination", "malformed JSON exits 2 naming the input"])
def test_mobility_grants_exits_2_on_bad_input(mobility, stdin, field):
    code, error = error_of(mobility("grants", input=stdin))
    assert (code, error["field"]) == (2, field)
