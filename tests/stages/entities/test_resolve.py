"""Tests for pipeline.stages.entities.resolve: document-level names and labels, tidy spans,
datelines, surname propagation."""
from __future__ import annotations

from pipeline.stages.entities.places import gazetteer
from pipeline.stages.entities.resolve import dateline_mentions, propagate_surnames, resolve_document, tidy_mentions
from tests.stages.entities.samples import M


def test_resolve_document_surnames_and_given_names():
    mentions = [M(0, "Putin", "PERSON"), M(10, "Vladimir Putin", "PERSON"), M(40, "Xi", "PERSON"),
                M(50, "President Xi Jinping", "PERSON"), M(80, "Gabuev", "PERSON"),
                M(90, "Alexander Gabuev", "PERSON"), M(120, "Smith", "PERSON")]
    out = resolve_document(reversed(mentions))
    assert [m["start"] for m in out] == [0, 10, 40, 50, 80, 90, 120]
    assert [m["canonical"] for m in out] == ["Vladimir Putin", "Vladimir Putin", "Xi Jinping", "Xi Jinping",
                                             "Alexander Gabuev", "Alexander Gabuev", "Smith"]
    assert [m["text"] for m in out] == [m["text"] for m in mentions]  # surface forms untouched


def test_resolve_document_ambiguous_surname_left_alone():
    tie = [M(0, "Kim", "PERSON"), M(10, "Kim Jong Un", "PERSON"), M(30, "Kim Yo Jong", "PERSON")]
    assert [m["canonical"] for m in resolve_document(tie)] == ["Kim", "Kim Jong Un", "Kim Yo Jong"]
    majority = tie + [M(50, "Kim Jong Un", "PERSON")]
    assert resolve_document(majority)[0]["canonical"] == "Kim Jong Un"


def test_resolve_document_surname_only_for_persons():
    out = resolve_document([M(0, "George Washington", "PERSON"), M(30, "Washington", "GPE"),
                            M(50, "Washington", "GPE")])
    assert [(m["canonical"], m["label"]) for m in out] == [
        ("George Washington", "PERSON"), ("Washington", "GPE"), ("Washington", "GPE")]


def test_resolve_document_majority_label():
    out = resolve_document([M(0, "Orban", "PERSON"), M(10, "Orban", "ORG"), M(20, "Orban", "PERSON"),
                            M(30, "Viktor Orban", "PERSON")])
    assert [(m["canonical"], m["label"]) for m in out] == [("Viktor Orban", "PERSON")] * 4
    airport = resolve_document([M(0, "Beijing Airport", "FAC"), M(20, "Beijing Airport", "ORG"),
                                M(40, "Beijing Airport", "ORG")])
    assert {m["label"] for m in airport} == {"ORG"}


def test_resolve_document_label_tie():
    # tie between ORG and PERSON: the full-name mention decides
    out = resolve_document([M(0, "Gabuev", "ORG"), M(10, "Gabuev", "PERSON"), M(30, "Alexander Gabuev", "PERSON")])
    assert [(m["canonical"], m["label"]) for m in out] == [("Alexander Gabuev", "PERSON")] * 3
    # no longer mention: the first mention's label
    out = resolve_document([M(0, "Sputnik", "ORG"), M(10, "Sputnik", "PERSON")])
    assert [m["label"] for m in out] == ["ORG", "ORG"]


def test_resolve_document_all_caps_dateline():
    out = resolve_document([M(0, "BEIJING", "GPE"), M(20, "Beijing", "GPE"), M(40, "NATO", "ORG")])
    assert [m["canonical"] for m in out] == ["Beijing", "Beijing", "NATO"]


def test_tidy_mentions_title_makes_a_person():
    text = "German Chancellor Olaf Scholz met the Chancellor of Austria."
    start = text.index("Olaf")
    out = tidy_mentions([M(start, "Olaf Scholz", "ORG"), M(text.index("Austria"), "Austria", "GPE")], text,
                        gazetteer())
    assert [(m["text"], m["label"]) for m in out] == [("Olaf Scholz", "PERSON"), ("Austria", "GPE")]


def test_dateline_places_replace_model_guesses():
    text = "Some headline\nTAIPEI, Taiwan (AP) \u2014 Russian President Vladimir Putin arrived."
    out = dateline_mentions([M(text.index("TAIPEI"), "TAIPEI, Taiwan", "ORG")], text, gazetteer())
    assert [(m["text"], m["label"]) for m in out] == [("TAIPEI", "GPE"), ("Taiwan", "GPE")]
    resolved = resolve_document(out, gazetteer())
    assert [(m["canonical"], m["country_code"]) for m in resolved] == [("Taipei", "TW"), ("Taiwan", "TW")]
    assert dateline_mentions([], "NOT A DATELINE (AP) \u2014 x", gazetteer()) == []


def test_propagate_surnames_adds_untagged_mentions():
    text = "Volodymyr Zelenskyy spoke. Later Zelenskyy urged allies. Rose Smith agreed; prices rose."
    ms = [{**M(0, "Volodymyr Zelenskyy", "PERSON"), "country_code": None},
          {**M(text.index("Rose Smith"), "Rose Smith", "PERSON"), "country_code": None}]
    out = propagate_surnames(ms, text)
    assert [(m["start"], m["text"], m["canonical"]) for m in out if m not in ms] == [
        (text.index("Zelenskyy urged"), "Zelenskyy", "Volodymyr Zelenskyy")]
    text2 = "Rose Smith and Tom Smith. Smith said no."  # two full names share the surname
    ms2 = [{**M(0, "Rose Smith", "PERSON"), "country_code": None},
           {**M(15, "Tom Smith", "PERSON"), "country_code": None}]
    assert propagate_surnames(ms2, text2) == ms2


def test_resolve_document_with_gazetteer():
    out = resolve_document([M(0, "PARIS", "ORG"), M(20, "Narendra Modi", "PERSON"), M(40, "Modi", "GPE"),
                            M(60, "Leaving Beijing", "PERSON"), M(90, "Hagia Sophia Cathedral", "PERSON"),
                            M(120, "Visit", "GPE")], gazetteer())
    assert [(m["text"], m["canonical"], m["label"], m["country_code"]) for m in out] == [
        ("PARIS", "Paris", "GPE", "FR"), ("Narendra Modi", "Narendra Modi", "PERSON", None),
        ("Modi", "Narendra Modi", "PERSON", None), ("Beijing", "Beijing", "GPE", "CN"),
        ("Hagia Sophia Cathedral", "Hagia Sophia Cathedral", "FAC", None)]
    assert out[3]["start"] == 68
