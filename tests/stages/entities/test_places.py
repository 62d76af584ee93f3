"""Tests for pipeline.stages.entities.places: country codes and relabelled places."""
from __future__ import annotations

from pipeline.stages.entities.names import canonical_form
from pipeline.stages.entities.places import gazetteer, place_codes
from tests.stages.entities.samples import M


def _placed(*mentions):
    return [(m["canonical"], m["label"], m["country_code"]) for m in place_codes(
        [{**m, "canonical": canonical_form(m["text"], m["label"])} for m in mentions], gazetteer())]


def test_place_codes_countries_and_cities():
    assert _placed(M(0, "U.S.", "GPE"), M(10, "Britain", "GPE"), M(20, "the Russian Federation", "GPE"),
                   M(50, "Beijing", "GPE"), M(60, "Asia", "LOC")) == [
        ("United States", "GPE", "US"), ("United Kingdom", "GPE", "GB"), ("Russia", "GPE", "RU"),
        ("Beijing", "GPE", "CN"), ("Asia", "LOC", None)]
    # mislabelled places; a country that is also a given name stays a PERSON
    assert _placed(M(0, "Hungary", "ORG"), M(10, "Odesa", "NORP"), M(20, "Moscow", "ORG"), M(30, "Jordan", "PERSON"),
                   M(40, "Smallville", "ORG")) == [
        ("Hungary", "GPE", "HU"), ("Odesa", "GPE", "UA"), ("Moscow", "GPE", "RU"), ("Jordan", "PERSON", None),
        ("Smallville", "ORG", None)]
    # a city takes the country the article talks about
    assert _placed(M(0, "Paris", "GPE"))[0][2] == "FR"
    assert _placed(M(0, "Texas", "GPE"), M(10, "Paris", "GPE"))[1] == ("Paris", "GPE", "US")
