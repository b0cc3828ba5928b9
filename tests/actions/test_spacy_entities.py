"""The spaCy pipeline built from the knowledge base finds people's nationalities and countries, and not the
language communities, regions and things that only share their words."""
from __future__ import annotations

import pytest

from conftest import DIMENSIONS


def found(nlp, text):
    return {(e.label_, e.text) for e in nlp(text).ents if e.label_ in DIMENSIONS}


@pytest.mark.parametrize("text, label", [
    ("exchange between Dutch-speaking and French-speaking schools in Belgium", "nationality"),
    ("is there a course on Belgian culture", "nationality"),
    ("can I as a teacher do a training week at a European university?", "nationality"),
    ("training weeks at European universities for staff", "nationality"),
    ("which Dutch course can exchange students take", "nationality"),
    ("are there partner schools in Latin America", "country"),
    ("any partners in South America?", "country"),
    ("what is Survival Dutch?", "nationality"),
    ("which masters are taught in English", "nationality"),
    ("do I need to speak Dutch for an exchange at KASK", "nationality"),
    ("extra fee per study credit with no learning credit left", "activity"),
])
def test_words_that_only_look_like_a_nationality_or_country_are_not_taken_for_one(nlp, text, label):
    assert not {e for e in found(nlp, text) if e[0] == label}


@pytest.mark.parametrize("text, entity", [
    ("I'm Dutch, what is my fee", ("nationality", "Dutch")),
    ("fee for a Belgian student", ("nationality", "Belgian")),
    ("I'm a European student", ("nationality", "European")),
    ("a grant for studying in America", ("country", "America")),
    ("I live in the German-speaking Community", ("community", "German-speaking Community")),
    ("I'm a Mexican art student", ("nationality", "Mexican")),
    ("I'm a German law student coming for a semester", ("nationality", "German")),
    ("I'm a Dutch university student", ("nationality", "Dutch")),
    ("an Italian music student on Erasmus", ("nationality", "Italian")),
    ("Chinese partner university students", ("nationality", "Chinese")),
    ("I'm Dutch and in Ghent for a semester", ("nationality", "Dutch")),
    ("fee for 60 study credits", ("credits", "60 study credits")),
    ("a grant to study in Japan", ("activity", "study")),
    ("an internship in Japan for a semester", ("country", "Japan")),
])
def test_people_places_and_communities_are_still_found(nlp, text, entity):
    assert entity in found(nlp, text)


@pytest.mark.parametrize("text", ["How do I pay as a first-year international student?", "I'm a second year student",
                                  "grants for third-year bachelor students", "a 1st year student", "as a 2nd-year student",
                                  "3rd year students can go", "my eleventh year"])
def test_a_year_of_study_is_not_a_duration(nlp, text):
    assert not {e for e in found(nlp, text) if e[0] == "duration"}


@pytest.mark.parametrize("text, entity", [("an internship of 3 months", ("duration", "3 months")),
                                          ("studying there for one year", ("duration", "one year")),
                                          ("two semesters in Spain", ("duration", "two semesters")),
                                          ("a 2 year master", ("duration", "2 year")),
                                          ("a twelve-month stay", ("duration", "twelve-month"))])
def test_a_counted_stay_is_a_duration(nlp, text, entity):
    assert entity in found(nlp, text)
