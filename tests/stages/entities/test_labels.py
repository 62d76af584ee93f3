"""Labels checked against curated lists and the gazetteers (issue 22): companies are ORG, "AI" is no
place, Georgia the US state vs the country, acronyms joined to their expansion in one article."""
from __future__ import annotations

from pipeline.stages.entities.labels import acronym_key, check_labels, is_common_word, join_acronyms
from pipeline.stages.entities.places import gazetteer, place_codes
from tests.stages.entities.samples import M


def _m(start, text, label, canonical=None):
    return {**M(start, text, label), "canonical": canonical or text, "country_code": None}


def test_curated_companies_are_org_and_ai_is_no_place():
    ms = [_m(0, "Zoom", "PERSON"), _m(10, "Tesla", "NORP"), _m(20, "Strava", "PERSON"), _m(30, "AI", "GPE"),
          _m(40, "Nikola Tesla", "PERSON"), _m(60, "Apple", "ORG"), _m(70, "AI", "ORG")]
    assert [(m["canonical"], m["label"]) for m in check_labels(ms)] == [
        ("Zoom", "ORG"), ("Tesla", "ORG"), ("Strava", "ORG"), ("Nikola Tesla", "PERSON"), ("Apple", "ORG"),
        ("AI", "ORG")]


def test_acronyms_join_their_expansion_within_an_article():
    assert (acronym_key("EU"), acronym_key("U.N."), acronym_key("NHS"), acronym_key("Paris"), acronym_key("A")) == (
        "EU", "UN", "NHS", "", "")
    ms = [_m(0, "EU", "ORG"), _m(10, "European Union", "ORG"), _m(30, "BoE", "ORG"), _m(40, "Bank of England", "ORG"),
          _m(60, "WHO", "ORG")]
    assert [m["canonical"] for m in join_acronyms(ms)] == [
        "European Union", "European Union", "Bank of England", "Bank of England", "WHO"]
    # no expansion in the article: left alone; two equally frequent expansions: left alone
    assert join_acronyms([_m(0, "EU", "ORG")])[0]["canonical"] == "EU"
    tie = [_m(0, "PA", "ORG"), _m(5, "Press Association", "ORG"), _m(30, "Palestinian Authority", "ORG")]
    assert join_acronyms(tie)[0]["canonical"] == "PA"


def test_georgia_the_state_or_the_country_by_context():
    gaz = gazetteer()
    us = place_codes([_m(0, "Georgia", "GPE"), _m(10, "Atlanta", "GPE"), _m(20, "Alabama", "GPE")], gaz)
    assert (us[0]["canonical"], us[0]["country_code"]) == ("Georgia", "US")
    ge = place_codes([_m(0, "Georgia", "GPE"), _m(10, "Tbilisi", "GPE"), _m(20, "Russia", "GPE")], gaz)
    assert ge[0]["country_code"] == "GE"
    alone = place_codes([_m(0, "Georgia", "GPE")], gaz)
    assert alone[0]["country_code"] == "GE"


def test_common_words():
    assert is_common_word("Trust") and is_common_word("Young")
    assert not is_common_word("Putin") and not is_common_word("Zelenskyy") and not is_common_word("Eliot Trust")


def test_extracted_text_gets_the_checked_labels(extractor):
    text = ("Staff met on Zoom and logged runs on Strava, while Tesla shares rose 4%. The EU said the European Union "
            "would act. Voters in Georgia and Arizona queued in Atlanta. A spokesman for George Eliot Hospital NHS "
            "Trust said the Trust would review it, Plymouth Live reported.")
    got = {(m["canonical"], m["label"], m["country_code"]) for m in extractor.extract(text)}
    assert {("Zoom", "ORG", None), ("Strava", "ORG", None), ("Tesla", "ORG", None)} <= got
    assert ("European Union", "ORG", None) in got and not [g for g in got if g[0] == "EU"]
    assert ("Georgia", "GPE", "US") in got
    assert not [g for g in got if g[1] == "PERSON" and "Trust" in g[0]]
    assert ("Plymouth Live", "ORG", None) in got
