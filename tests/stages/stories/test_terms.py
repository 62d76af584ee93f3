"""Tests for pipeline.stages.stories.terms: word and entity weights."""
import math
import random

import pytest

from pipeline.stages.stories.terms import (
    MAX_TERM_SHARE,
    capped,
    cosine,
    entity_overlap,
    entity_weights,
    frequency_list,
    normalise,
    term_weights,
    words,
)
from tests.stages.stories.samples import entities


def test_words_are_casefolded_letters_without_numbers_or_possessives():
    assert words("Putin’s 2023 visit: U.S. officials' talks, G20 CAFÉ x") == [
        "putin", "visit", "officials", "talks", "café"]
    assert words(None) == [] and words("") == []


def test_rare_terms_outweigh_common_ones():
    w = term_weights("Putin said this week that Harbin and Gabuev matter. Putin said so again.",
                     title="Putin in Harbin", lang="en")
    assert w["gabuev"] >= w["harbin"] > w["putin"] > w.get("week", 0.0) >= w.get("said", 0.0)
    assert "the" not in w and "that" not in w and "this" not in w  # stopwords: zipf >= 6
    assert not any(ch.isdigit() for term in w for ch in term)
    assert math.isclose(math.sqrt(sum(v * v for v in w.values())), 1.0)


def test_language_without_frequency_list_falls_back_to_plain_term_frequency():
    assert frequency_list("und") is None and frequency_list("xx") is None and frequency_list(None) is None
    assert frequency_list("en-GB") is frequency_list("en") is not None
    w = term_weights("Kestrel kestrel bridge over the Varne estuary", lang="und")
    assert set(w) == {"kestrel", "bridge", "over", "varne", "estuary"}  # "the" is shorter than 4 letters
    assert w["kestrel"] > w["bridge"] == w["varne"]  # tf only


def test_no_single_term_dominates_the_vector():
    v = term_weights(" ".join(["gabuev"] * 20 + ["alliance", "beijing", "forum", "harbin", "kremlin"] * 10
                              + [f"filler{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40)]), lang="en")
    assert max(v.values()) <= MAX_TERM_SHARE + 1e-9
    assert math.isclose(math.sqrt(sum(x * x for x in v.values())), 1.0)
    rnd = random.Random(3)
    for _ in range(100):
        n = rnd.randint(1, 60)
        raw = normalise({f"w{i}": rnd.random() ** rnd.choice([1, 4, 10]) for i in range(n)})
        out = capped(raw, 0.2)
        order = sorted(raw, key=raw.get)
        assert all(out[a] <= out[b] + 1e-12 for a, b in zip(order, order[1:]))  # order kept
        if n * 0.04 >= 1:
            assert max(out.values()) <= 0.2 + 1e-9
            assert math.isclose(math.sqrt(sum(x * x for x in out.values())), 1.0)
        else:
            assert out == raw  # too short to cap


def test_entity_weights_follow_label_and_rarity():
    w = entity_weights(entities([("Harbin", "GPE", 1), ("China", "GPE", 1), ("Harbinese", "NORP", 1),
                                 ("Tuesday", "DATE", 1), ("Putin", "PERSON", 3)]), "en")
    assert "tuesday" not in w  # numeric and date labels do not identify a story
    assert w["harbin"] > w["china"]  # rarity
    assert w["harbin"] > w["harbinese"]  # nationalities weigh less
    assert w["putin"] > entity_weights(entities([("Putin", "PERSON", 1)]), "en")["putin"]  # count


def test_entity_overlap_credits_rare_names_more_than_famous_ones():
    famous = entity_weights(entities([("Vladimir Putin", "PERSON", 2), ("Xi Jinping", "PERSON", 2),
                                      ("Beijing", "GPE", 1), ("Russia", "GPE", 1)]), "en")
    rare = entity_weights(entities([("Alexander Gabuev", "PERSON", 2), ("Halvorsen & Pike", "ORG", 2),
                                    ("Harbin", "GPE", 1), ("Heilongjiang", "GPE", 1)]), "en")
    assert entity_overlap(famous, famous) < 0.6 < entity_overlap(rare, rare) <= 1.0
    assert entity_overlap(famous, rare) == 0.0
    assert cosine(normalise(famous), normalise(famous)) == pytest.approx(1.0)  # what the prior fixes
