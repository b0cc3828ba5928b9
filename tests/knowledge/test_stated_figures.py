"""Every figure the source pages state is in the knowledge base, where the engines read it.

Each row quotes a sentence of a page (checked to be on the page, whitespace aside) and says where
its figure must be in the knowledge base: a fee parameter of that year, a total the page states, a
grant variant of that page, a deadline, or a fact. The reverse direction is checked too: every fee
amount in the knowledge base is written on the page it cites.
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any, Dict, List, Optional

import pytest

from knowledge.fees import quote
from knowledge.loader import load_all

from kbhelpers import normalise, source_text

K26, K23 = "kdg-tuition-fees-2026-27.txt", "kdg-tuition-fees-2023-24.txt"
KASK, EACEA = "kask-going-abroad.txt", "eacea-flanders-cross-border-mobility.txt"
VISION = "kask-internationalisation-vision.txt"


def param(year: str, name: str, value: Any, mentions: Optional[str] = None) -> Dict[str, Any]:
    return {"kind": "param", "year": year, "name": name, "value": value, "mentions": mentions}


def total(year: str, profile: Dict[str, Any], value: str) -> Dict[str, Any]:
    return {"kind": "total", "year": year, "profile": profile, "value": value}


def grant(grant_id: str, path: str, value: Any) -> Dict[str, Any]:
    return {"kind": "grant", "grant": grant_id, "path": path, "value": value}


def deadline(deadline_id: str, month: Optional[int], day: Optional[int], kind: str) -> Dict[str, Any]:
    return {"kind": "deadline", "id": deadline_id, "month": month, "day": day, "deadline_kind": kind}


def fact(text: str) -> Dict[str, Any]:
    return {"kind": "fact", "text": text}


# (source file, sentence on the page, where the figure is in the knowledge base)
FIGURES: List[tuple] = [
    # -- KdG 2026-27 -------------------------------------------------------------------------------
    (K26, "If you enrol for a full-time programme (60 credits) with a diploma contract", param("2026-27", "default_credits", 60)),
    (K26, "Non-study grant student: €1.181,40", total("2026-27", {"scholarship": "none", "eea": True}, "1181.40")),
    (K26, "Study grant student: €139,40", total("2026-27", {"scholarship": "full", "eea": True}, "139.40")),
    (K26, "Basic fee: €1.181,40 (based on your residency status)", total("2026-27", {"eea": False, "residence_permit": "B"}, "1181.40")),
    (K26, "Higher fee: €9.020,00", total("2026-27", {"eea": False}, "9020.00")),
    (K26, "Scholarship student: - Fixed fee: €139.40", param("2026-27", "basic.full.fixed", "139.40")),
    (K26, "Per-credit fee: €0 - → Full-time programme: €139.40", param("2026-27", "basic.full.per_credit", "0")),
    (K26, "Part-scholarship student: - Fixed fee: €305.40", param("2026-27", "basic.part.fixed", "305.40")),
    (K26, "Per-credit fee: €5.30 - → Full-time programme: €623.40", param("2026-27", "basic.part.per_credit", "5.30")),
    (K26, "Per-credit fee: €5.30 - → Full-time programme: €623.40", total("2026-27", {"scholarship": "part", "eea": True}, "623.40")),
    (K26, "Non-scholarship student: - Fixed fee: €305.40", param("2026-27", "basic.none.fixed", "305.40")),
    (K26, "Per-credit fee: €14.60 - → Full-time programme: €1,181.40", param("2026-27", "basic.none.per_credit", "14.60")),
    (K26, "Exam contract - Fixed fee: €139,40 - Per-credit fee: €5,30", param("2026-27", "exam.basic.fixed", "139.40")),
    (K26, "Exam contract - Fixed fee: €139,40 - Per-credit fee: €5,30", param("2026-27", "exam.basic.per_credit", "5.30")),
    (K26, "New KdG student from 2026–27 - Fixed fee: €2.600 - Per-credit fee: €107 - → Full-time programme: €9.020",
     param("2026-27", "higher.new.fixed", "2600")),
    (K26, "New KdG student from 2026–27 - Fixed fee: €2.600 - Per-credit fee: €107", param("2026-27", "higher.new.per_credit", "107")),
    (K26, "KdG student before 2026–27: - Fixed fee: €2.600", param("2026-27", "higher.continuing.fixed", "2600")),
    (K26, "Per-credit fee: €84,90 - → Full-time programme: €7.694", param("2026-27", "higher.continuing.per_credit", "84.90")),
    (K26, "Per-credit fee: €84,90 - → Full-time programme: €7.694", total("2026-27", {"eea": False, "first_enrolled": "2025-26"}, "7694.00")),
    (K26, "Exam contract - Fixed fee: €1.078,10 - Per-credit fee: €8", param("2026-27", "exam.higher.fixed", "1078.10")),
    (K26, "Exam contract - Fixed fee: €1.078,10 - Per-credit fee: €8", param("2026-27", "exam.higher.per_credit", "8")),
    (K26, "Advanced bachelor - Fixed fee: €305,40", param("2026-27", "advanced_bachelor.fixed", "305.40")),
    (K26, "Per-credit fee: €14,60 - → Full-time programme: €1.181,40 - Advanced master", param("2026-27", "advanced_bachelor.per_credit", "14.60")),
    (K26, "Per-credit fee: €14,60 - → Full-time programme: €1.181,40 - Advanced master",
     total("2026-27", {"eea": True, "programme": "advanced-bachelor"}, "1181.40")),
    (K26, "Advanced master - Fixed fee: €1.014,10", param("2026-27", "advanced_master.fixed", "1014.10")),
    (K26, "Per-credit fee: €34,70", param("2026-27", "advanced_master.per_credit", "34.70")),
    (K26, "Full-time programme: €3.096,10", total("2026-27", {"eea": True, "programme": "advanced-master"}, "3096.10")),
    (K26, "credit contract, max. 12 credits", param("2026-27", "secondary_school.max_credits", "12")),
    (K26, "max. 12 credits- Fixed fee: €69,70", param("2026-27", "secondary_school.fixed", "69.70")),
    (K26, "Extra per credit for which no learning credit is available: €14,60", param("2026-27", "learning_credit.extra_per_credit", "14.60")),
    (K26, "When spreading your payment, you pay in 5 instalments.", param("2026-27", "instalments.max_count", "5")),
    (K26, "If you enrol in January or February, you pay in 3 instalments.", param("2026-27", "instalments.count_enrolled_jan_feb", "3")),
    (K26, "Higher fee students in their first academic year are not eligible for instalments.",
     param("2026-27", "instalments.higher_fee_allowed", True)),
    (K26, "for any programme excluding postgraduate programmes, post-training courses, and study days.",
     param("2026-27", "instalments.excluded", ["postgraduate programmes", "post-training courses", "study days"])),
    (K26, "Application deadline: 1 June of the running academic year.", deadline("flemish-study-grant", 6, 1, "deadline")),
    (K26, "Proof of application for humanitarian visa/procedure humanitarian regularisation/medical regularisation for legal stay of 12 months from 31/12",
     {"kind": "residence_proof", "year": "2026-27", "code": "humanitarian-regularisation", "text": "legal stay of 12 months from 31/12"}),
    (K26, "Proof of application for humanitarian visa/procedure humanitarian regularisation/medical regularisation for legal stay of 12 months from 31/12",
     {"kind": "residence_proof", "year": "2026-27", "code": "medical-regularisation", "text": "legal stay of 12 months from 31/12"}),
    # -- KdG 2023-24 -------------------------------------------------------------------------------
    (K23, "a fulltime programme worth 60 credits with a degree contract for the 2023-24 academic year", param("2023-24", "default_credits", 60)),
    (K23, "You pay the higher fee of 7102,60 euros", total("2023-24", {"eea": False}, "7102.60")),
    (K23, "you must pay the full tuition fee before the 30th June 2023", param("2023-24", "higher_fee_first_year_pay_by", "2023-06-30")),
    (K23, "EEA student • You pay the standard fee of 1092,10 euros", total("2023-24", {"scholarship": "none", "eea": True}, "1092.10")),
    (K23, "Non-scholarship student (niet beursstudent): you pay the standard fee of 1092,10 euros",
     total("2023-24", {"scholarship": "none", "eea": True}, "1092.10")),
    (K23, "Part-scholarship student (bijna-beursstudent): you pay a fee of 576,10 euros", total("2023-24", {"scholarship": "part", "eea": True}, "576.10")),
    (K23, "Scholarship student (beurstariefstudent): you pay the reduced fee of 128,80 euros", total("2023-24", {"scholarship": "full", "eea": True}, "128.80")),
    (K23, "Non-scholarship student: 282,10 euros + 13,50 euros per study credit", param("2023-24", "basic.none.fixed", "282.10")),
    (K23, "Non-scholarship student: 282,10 euros + 13,50 euros per study credit", param("2023-24", "basic.none.per_credit", "13.50")),
    (K23, "Part-scholarship student: 282,10 euro + 4,90 euros per study credit", param("2023-24", "basic.part.fixed", "282.10")),
    (K23, "Part-scholarship student: 282,10 euro + 4,90 euros per study credit", param("2023-24", "basic.part.per_credit", "4.90")),
    (K23, "Scholarship student: 128,80 euros", param("2023-24", "basic.full.fixed", "128.80")),
    (K23, "Scholarship student: 128,80 euros", param("2023-24", "basic.full.per_credit", "0")),
    (K23, "you pay the higher fee: 1420,60 euros + 94,70 euros per study credit", param("2023-24", "higher.new.fixed", "1420.60")),
    (K23, "you pay the higher fee: 1420,60 euros + 94,70 euros per study credit", param("2023-24", "higher.new.per_credit", "94.70")),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021: you pay 282,10 euros + 13,50 euros per study credit.",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.fixed", "282.10", mentions="2020-2021")),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021: you pay 282,10 euros + 13,50 euros per study credit.",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.per_credit", "13.50", mentions="2020-2021")),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019: you pay 995,70 euros + 56,20 euros per study credit.",
     param("2023-24", "higher_exception.ibm-2018-19.fixed", "995.70", mentions="2018-2019")),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019: you pay 995,70 euros + 56,20 euros per study credit.",
     param("2023-24", "higher_exception.ibm-2018-19.per_credit", "56.20", mentions="2018-2019")),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.label", "Dutch-taught graduates and bachelors")),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.programmes", ["graduate", "bachelor"])),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.started_before", "2020-21")),
    (K23, "Tuition fees 2023-2024: diploma or credit contract for graduates, bachelor’s and master’s",
     param("2023-24", "higher_exception.dutch-taught-before-2020-21.contracts", ["diploma", "credit"])),
    (K23, "Dutch-taught graduates and bachelors: if your KdG studies already started before 2020-2021: you pay 282,10 euros + 13,50 euros per study credit.",
     total("2023-24", {"eea": False, "higher_fee_exception": "dutch-taught-before-2020-21"}, "1092.10")),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019",
     param("2023-24", "higher_exception.ibm-2018-19.label", "Bachelor International Business Management")),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019",
     param("2023-24", "higher_exception.ibm-2018-19.programmes", ["bachelor"])),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019",
     param("2023-24", "higher_exception.ibm-2018-19.started_in", "2018-19")),
    (K23, "Tuition fees 2023-2024: diploma or credit contract for graduates, bachelor’s and master’s",
     param("2023-24", "higher_exception.ibm-2018-19.contracts", ["diploma", "credit"])),
    (K23, "Bachelor International Business Management: if your KdG studies already started in 2018-2019: you pay 995,70 euros + 56,20 euros per study credit.",
     total("2023-24", {"eea": False, "higher_fee_exception": "ibm-2018-19"}, "4367.70")),
    (K23, "You pay the standard fee if you have Belgian nationality or a Flemish diploma of secondary education",
     param("2023-24", "basic.flemish_secondary_diploma", True)),
    (K23, "You pay the standard fee if you have Belgian nationality or a Flemish diploma of secondary education",
     total("2023-24", {"eea": False, "flemish_secondary_diploma": True}, "1092.10")),
    (K23, "You pay the standard fee if you have Belgian nationality or a Flemish diploma of secondary education",
     fact("a Flemish diploma of secondary education")),
    (K23, "Exceptions to the higher fee: • Dutch-taught graduates and bachelors", fact("two exceptions to the higher fee")),
    (K23, "You pay the standard or increased rate exam contract, as per the same conditions as a diploma or credit contract",
     fact("on the same conditions as a diploma or credit contract")),
    (K23, "Check the Education and Examination Regulations for all info on tuition fees.", fact("Education and Examination Regulations")),
    (K23, "The main criterium is your nationality, or more specifically, the type of visa or residence permit you have to reside in Belgium.",
     fact("the type of visa or residence permit")),
    (K23, "Please note: if you are living in Belgium under a student or work visa, you will not be eligible.", fact("student or work visa")),
    (K23, "you can spread your payment for any course (excluding a postgraduate, post-training and study day)",
     param("2023-24", "instalments.excluded", ["postgraduate programmes", "post-training courses", "study days"])),
    (K23, "Standard rate exam contract: €128,80 + €4,90 per study credit", param("2023-24", "exam.basic.fixed", "128.80")),
    (K23, "Standard rate exam contract: €128,80 + €4,90 per study credit", param("2023-24", "exam.basic.per_credit", "4.90")),
    (K23, "Increased rate exam contract: 995,70 euro + 7,30 euro per study credit", param("2023-24", "exam.higher.fixed", "995.70")),
    (K23, "Increased rate exam contract: 995,70 euro + 7,30 euro per study credit", param("2023-24", "exam.higher.per_credit", "7.30")),
    (K23, "Advanced master: 936,5 euros + 32 euros per study credit", param("2023-24", "advanced_master.fixed", "936.50")),
    (K23, "Advanced master: 936,5 euros + 32 euros per study credit", param("2023-24", "advanced_master.per_credit", "32")),
    (K23, "Credit contract for student in final year of secondary education: 57,90 euros (max. 10 credits)", param("2023-24", "secondary_school.fixed", "57.90")),
    (K23, "Credit contract for student in final year of secondary education: 57,90 euros (max. 10 credits)", param("2023-24", "secondary_school.max_credits", "10")),
    (K23, "13,50 euros extra per study credit for which no learning account is available", param("2023-24", "learning_credit.extra_per_credit", "13.50")),
    (K23, "You pay an advance of 128,80 euros upon registration", param("2023-24", "instalments.advance", "128.80")),
    (K23, "You must pay the remaining amount in a maximum of five instalments.", param("2023-24", "instalments.max_count", "5")),
    (K23, "If you pay the standard fee, you can spread your payment", param("2023-24", "instalments.higher_fee_allowed", False)),
    # -- KASK: grants and calls, deadlines ------------------------------------------------------------
    (KASK, "Study and/or traineeship in Europe (min. 2/3 months to max. 12 months)", grant("erasmus-plus", "min_months.internship", 2)),
    (KASK, "Study and/or traineeship in Europe (min. 2/3 months to max. 12 months)", grant("erasmus-plus", "min_months.study", 3)),
    (KASK, "Study and/or traineeship in Europe (min. 2/3 months to max. 12 months)", grant("erasmus-plus", "max_months", 12)),
    (KASK, "Grant amount: varies around 300 euro per month, depending on the destination", grant("erasmus-plus", "amount.value", 300)),
    (KASK, "Application deadline: 25 March prior to the year of exchange", deadline("mobility-online-registration", 3, 25, "deadline")),
    (KASK, "Application deadline: 25 March prior to the year of exchange", grant("erasmus-plus", "deadline_id", "mobility-online-registration")),
    (KASK, "Grant amount: EUR 100 per month if you have an actual accommodation there", grant("erasmus-belgica", "amount.value", 100)),
    (KASK, "Application deadline: • 25.03 prior to the exchange year", grant("erasmus-belgica", "deadline_id", "mobility-online-registration")),
    (KASK, "Grant amount: between EUR 500 and EUR 3000, depending on the destination", grant("generic-grant", "amount.min", 500)),
    (KASK, "Grant amount: between EUR 500 and EUR 3000, depending on the destination", grant("generic-grant", "amount.max", 3000)),
    (KASK, "Application deadline: • 25.03 prior to the year of the exchange", grant("generic-grant", "deadline_id", "mobility-online-registration")),
    (KASK, "Study of min. 1 semester to China, India, Vietnam and South Korea", grant("asem-duo", "extra.min_text", "min. 1 semester")),
    (KASK, "call in spring for 1st semester • call in autumn for 2nd semester", deadline("asem-calls", None, None, "call")),
    (KASK, "Intership of min. 1 month in Bangladesh", grant("asem-wpp", "min_months.internship", 1)),
    (KASK, "Grant amount: 700 EUR per month", grant("asem-wpp", "amount.value", 700)),
    (KASK, "Study or internship of min. 1 month in Brazil, Chile, Japan", grant("priority-country-programme", "min_months.study", 1)),
    (KASK, "Study or internship of min. 1 month in Brazil, Chile, Japan", grant("priority-country-programme", "min_months.internship", 1)),
    (KASK, "Grant amount: EUR 700 per month", grant("priority-country-programme", "amount.value", 700)),
    (KASK, "Deadline aanvraag: • 12.03", deadline("pcp-application", 3, 12, "deadline")),
    (KASK, "Deadline aanvraag: • 12.03", grant("priority-country-programme", "deadline_id", "pcp-application")),
    (KASK, "Register online. Deadline: 25.03", deadline("mobility-online-registration", 3, 25, "deadline")),
    (KASK, "Registration for an international mobility in the academic year 2024-25 is possible from February 2024 only.",
     deadline("mobility-online-opens", 2, 1, "opens")),
    (KASK, "01.05, exchange in the 1st semester or for a full year", deadline("incoming-first-semester", 5, 1, "deadline")),
    (KASK, "30.10, exchange in the 2 semester", deadline("incoming-second-semester", 10, 30, "deadline")),
    (KASK, "registration is possible from March onwards of each year", deadline("incoming-registration-opens", 3, 1, "opens")),
    (KASK, "this for a minimum of 3 months and maximum 12 months", fact("for a minimum of 3 months and a maximum of 12 months")),
    (KASK, "Thanks to partnership agreements with more than 120 art schools in Europe and beyond", fact("more than 120 art schools")),
    (KASK, "up to 12 months after the graduation date", fact("up to 12 months after the graduation date")),
    (KASK, "Survival Dutch (Wednesday evening 18:00-20:00)", fact("18:00-20:00")),
    (KASK, "English B2 level is required. 3 ECTS each, in SEM1 or 2", fact("B2; each is 3 ECTS")),
    (KASK, "Each year scores of foreign students arrive in Belgium to join our bachelor and master’s degree programmes.",
     fact("scores of foreign students")),
    (KASK, "that’s why we enter into artistic projects with international partners", fact("artistic projects with international partners")),
    (KASK, "Each student that goes abroad to study, complete a traineeship or as part of his/her artistic work needs to register in mobility online before departure.",
     fact("as part of their artistic work")),
    # -- KASK: internationalisation vision -----------------------------------------------------------
    (VISION, "KASK & Conservatorium has a bilateral agreement with partner institutions in 31 countries", fact("partner institutions in 31 countries")),
    (VISION, "Since 2021, KASK & Conservatorium is also an active organizer and participant", fact("Since 2021")),
    (VISION, "InMICS was founded by eight European and Canadian partners", fact("founded by eight European and Canadian partners")),
    (VISION, "This two-year program offers advanced students", fact("two-year programme")),
    (VISION, "Our vision on internationalisation can be summarised in five priority points", fact("five priority points")),
    (VISION, "four renowned Conservatories on the one hand and four established organizations from the professional field",
     fact("four conservatories and four organisations from the professional field")),
    (VISION, "economic justice, ecological sustainability, political and philosophical pluralism, curiosity and self-questioning",
     fact("economic justice, ecological sustainability, political and philosophical pluralism")),
    (VISION, "KASK & Conservatorium is also an active member of various international networks in various fields.",
     fact("active member of various international networks")),
    (VISION, "We are therefore always looking for partners and project proposals", fact("always looking for partners and project proposals")),
    (VISION, "In this sense, we see internationalisation as a culture and mindset.", fact("a culture and mindset")),
    # -- EACEA (Flemish Community): grants ------------------------------------------------------------
    (EACEA, "The total budget available for the Priority Country Programme in 2023/2024 is 500 000 EUR.",
     grant("priority-country-programme", "extra.budget.value", 500000)),
    (EACEA, "For students, €1,000 to €2,000 is supported per pair for one month (4 months).", grant("asem-duo", "amount.min", 1000)),
    (EACEA, "For students, €1,000 to €2,000 is supported per pair for one month (4 months).", grant("asem-duo", "amount.max", 2000)),
    (EACEA, "The Department of Education and Training offers 12 scholarships for Flemish students", grant("washington-center", "extra.places", 12)),
    (EACEA, "The scholarship amount is € 9.000 per student", grant("washington-center", "amount.options.0.value", 9000)),
    (EACEA, "(or €3.500 for the virtual program; academic year 2023-2024)", grant("washington-center", "amount.options.1.value", 3500)),
    (EACEA, "(or €3.500 for the virtual program; academic year 2023-2024)", grant("washington-center", "academic_year", "2023-24")),
    (EACEA, "For students from underrepresented groups the scholarship amount is € 12.000", grant("washington-center", "amount.options.2.value", 12000)),
    (EACEA, "(or €4.300 for the virtual program)", grant("washington-center", "amount.options.3.value", 4300)),
    (EACEA, "minimum two (for internships) or three (for studies) months and maximum 12 months", grant("erasmus-belgica", "min_months.internship", 2)),
    (EACEA, "minimum two (for internships) or three (for studies) months and maximum 12 months", grant("erasmus-belgica", "min_months.study", 3)),
    (EACEA, "minimum two (for internships) or three (for studies) months and maximum 12 months", grant("erasmus-belgica", "max_months", 12)),
    (EACEA, "Students receive a flat rate of €100 and a monthly scholarship of €100", grant("erasmus-belgica", "amount.flat", 100)),
    (EACEA, "Students receive a flat rate of €100 and a monthly scholarship of €100", grant("erasmus-belgica", "amount.value", 100)),
    (EACEA, "7.335 Flemish students in tertiary education", fact("7,335 Flemish students")),
    (EACEA, "can go abroad individually or in groups for two weeks to 12 months abroad", fact("two weeks to 12 months")),
    (EACEA, "by 2020 at least one in three graduates", fact("at least one in three")),
    (EACEA, "JINT was founded in 1989", fact("founded 1989")),
    (EACEA, "gives young people aged between 12 and 30 the opportunity", fact("aged 12 to 30")),
    (EACEA, "allow Flemish youth from 14 to 30 years old to go abroad", fact("14 to 30-year-olds")),
    (EACEA, "Kamiel is developed for young people between the ages of 16 and 30", fact("16 to 30-year-olds")),
    (EACEA, "The Bel'J program was established in 2009", fact("established in 2009")),
    (EACEA, "With its programme Erasmus+ (2021-2027) in the field of education, training, youth and sport", fact("Erasmus+ (2021-2027)")),
    (EACEA, "The various actions are divided into 3 large clusters of key actions", fact("three clusters of key actions")),
    (EACEA, "The most recent report (January 2021) that monitors and registers the outcomes", fact("January 2021")),
    (EACEA, "In multilateral cooperation (Unesco, the Council of Europe and the OECD)", fact("Unesco, the Council of Europe, the OECD")),
    (EACEA, "The World@School project, for example, brings international students", fact("World@School")),
    (EACEA, "JINT is structurally financed by two institutions", fact("structurally financed by two institutions")),
    (EACEA, "An overview of the current possibilities for studying abroad can be found on the Euroguidance - Vlaanderen", fact("Euroguidance Vlaanderen")),
    (EACEA, "Students in higher education can contact in their institution an internationalization service", fact("internationalisation service")),
    (EACEA, "Since 2011, JINT together with several other Erasmus+ Youth in Action National Agencies", fact("Since 2011 JINT")),
    (EACEA, "In 2019-2020 the RAY network conducted RAY-LEARN", fact("In 2019-2020 the RAY network ran RAY-LEARN")),
    (EACEA, "The RAY-LEARN research has being conducted in 14 countries", fact("in 14 countries")),
    (EACEA, "in Flanders, nine organisations participated in the qualitative part of the research", fact("nine organisations")),
    (EACEA, "Through this action, students and staff from one of these partner countries can also come to a European Higher Education Institution",
     fact("students and staff from partner countries can also come")),
]

SOURCE_IDS = {K26: "kdg-tuition-fees-2026-27", K23: "kdg-tuition-fees-2023-24", KASK: "kask-going-abroad",
              EACEA: "eacea-flanders-cross-border-mobility", VISION: "kask-internationalisation-vision"}


def _id(row) -> str:
    file, sentence, where = row
    key = where.get("name") or where.get("grant") or where.get("id") or where.get("code") or where["kind"]
    path = f".{where['path']}" if "path" in where else ""
    return f"{file.split('.')[0]}: {sentence[:70]} -> {where['kind']} {key}{path}"


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else (obj.get(part) if isinstance(obj, dict) else getattr(obj, part))
    return obj


def _same(got: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(got, bool):
        return got is expected
    if isinstance(expected, (int, Decimal)) or (isinstance(expected, str) and re.fullmatch(r"\d+(\.\d+)?", expected)):
        try:
            return Decimal(str(got)) == Decimal(str(expected))
        except Exception:  # noqa: BLE001
            return False
    return got == expected


def _quote_profile(year: str, profile: Dict[str, Any]) -> Dict[str, Any]:
    """A stated total's profile ({eea, scholarship, ...}) as a fee profile."""
    p = {"institution": "kdg", "academic_year": year, "nationality": "BE" if profile.get("eea") else "BR"}
    p.update({k: v for k, v in profile.items() if k != "eea"})
    return p


@pytest.mark.parametrize("row", FIGURES, ids=[_id(r) for r in FIGURES])
def test_each_stated_figure_is_in_the_knowledge_base(kb, row):
    file, sentence, where = row
    assert normalise(sentence) in source_text(file), f"the sentence is not on {file}: {sentence!r}"
    source_id = SOURCE_IDS[file]
    kind = where["kind"]
    if kind == "param" and where["name"] == "default_credits":
        q = quote(kb, {"institution": "kdg", "academic_year": where["year"], "nationality": "BE"})
        assert q["credits"] == where["value"]
    elif kind == "param":
        params = kb.fee_parameters("kdg", where["year"])
        assert where["name"] in params, f"{where['name']} has no {where['year']} value"
        p = params[where["name"]]
        assert _same(p.value, where["value"]), f"{where['name']} {where['year']} is {p.value!r}, the page says {where['value']!r}"
        assert p.source == source_id
        if where["mentions"]:
            assert where["mentions"] in p.description
    elif kind == "total":
        stated = [t for t in kb.stated_totals("kdg") if t.academic_year == where["year"] and t.profile == where["profile"]]
        if stated:  # the page's own total is recorded: it must be this figure, from this page
            assert Decimal(stated[0].total) == Decimal(where["value"]) and stated[0].source_id == source_id
        q = quote(kb, _quote_profile(where["year"], where["profile"]))
        assert q["total"] == Decimal(where["value"]), f"the engine gives {q['total']}, the page {where['value']}"
        assert {s["id"] for s in q["sources"]} == {source_id}
    elif kind == "grant":
        variants = [v for v in kb.grants[where["grant"]].variants if v.source_id == source_id]
        assert len(variants) == 1, f"{where['grant']} has {len(variants)} variants citing {file}"
        got = _dig(variants[0], where["path"])
        assert _same(got, where["value"]), f"{where['grant']}.{where['path']} is {got!r}, the page says {where['value']!r}"
    elif kind == "deadline":
        d = kb.deadlines[where["id"]]
        assert (d.month, d.day, d.kind) == (where["month"], where["day"], where["deadline_kind"])
        assert d.source_id == source_id
    elif kind == "fact":
        facts = [f for topic in kb.topics() for f in kb.facts(topic) if f.source_id == source_id]
        assert any(where["text"] in f.text for f in facts), f"no fact from {file} says {where['text']!r}"
    elif kind == "residence_proof":
        rules = [r for r in kb.residence_rules("kdg", where["year"]) if r.code == where["code"]]
        assert rules and where["text"] in (rules[0].proof or "") and rules[0].source_id == source_id
    else:  # pragma: no cover - a typo in FIGURES
        pytest.fail(f"unknown kind {kind}")


# -- the totals the fee file records as stated by the pages --------------------------------------------
CURATED = load_all()  # the curated files as the loader validates them
STATED = [(f.institution, t) for f in CURATED["fee_files"] for t in f.stated_totals]


@pytest.mark.parametrize("institution, stated", STATED,
                         ids=[f"{t.academic_year} {t.profile} = {t.total}" for _, t in STATED])
def test_the_engine_reproduces_every_total_a_page_states(kb, institution, stated):
    q = quote(kb, {**_quote_profile(stated.academic_year, stated.profile), "institution": institution})
    assert q["total"] == stated.total
    assert stated.source in {s["id"] for s in q["sources"]}


# -- the reverse: no amount in the knowledge base that its page does not write ------------------------
def _written_forms(x: Decimal) -> List[str]:
    """How a page may write an amount: 1.014,10 / 1,014.10 / 1014,10 / 936,5 / 2.600 / 107."""
    whole, frac = f"{x:.2f}".split(".")
    groups = f"{int(whole):,}"
    forms = set()
    for thousands, decimal in ((".", ","), (",", ".")):
        for w in {whole, groups.replace(",", thousands)}:
            forms.add(f"{w}{decimal}{frac}")
            if frac.endswith("0"):
                forms.add(f"{w}{decimal}{frac[0]}")
            if frac == "00":
                forms.add(w)
    return sorted(forms)


NUMBER_WORDS = {3: "three", 5: "five", 10: "ten", 12: "twelve"}
# every figure: amounts, counts, dates, academic years and words (the booleans and lists are rules, checked above)
PARAM_ROWS = [(f.institution, name, year, v) for f in CURATED["fee_files"] for name, p in f.parameters.items()
              for year, v in p.values.items() if not isinstance(v.value, (bool, list))]


@pytest.mark.parametrize("institution, name, year, value", PARAM_ROWS, ids=[f"{r[1]} {r[2]}" for r in PARAM_ROWS])
def test_every_fee_figure_in_the_knowledge_base_is_written_on_the_page_it_cites(kb, institution, name, year, value):
    file = kb.sources[value.source].file
    text = source_text(file)
    v = value.value
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):  # a date, written like "the 30th June 2023"
        d = datetime.date.fromisoformat(v)
        assert re.search(rf"\b{d.day}(st|nd|rd|th)? {d:%B} {d.year}", text), f"{v} is not on {file}"
        return
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}", v):  # an academic year, written 2020-2021 or 2020-21
        start = int(v[:4])
        assert f"{start}-{start + 1}" in text or v in text, f"{name} {year} = {v} is not on {file}"
        return
    if isinstance(v, str):  # words of the page (who an exception is for)
        assert normalise(v) in text, f"{name} {year} = {v!r} is not written on {file}"
        return
    if v == 0:
        # a zero rate is written as "€0" (2026-27) or is a fixed fee with no per-credit part (2023-24)
        assert "Per-credit fee: €0 " in text or "Scholarship student: 128,80 euros " in text, f"{name} {year} = 0 on {file}"
        return
    forms = _written_forms(Decimal(v))
    if v == int(v) and int(v) in NUMBER_WORDS:
        forms.append(NUMBER_WORDS[int(v)])
    pattern = r"(?<![\d.,])(" + "|".join(re.escape(f) for f in forms) + r")(?![\d]|[.,]\d)"
    assert re.search(pattern, text), f"{name} {year} = {v} is not written on {file} (looked for {forms})"
