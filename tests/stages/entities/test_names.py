"""Tests for pipeline.stages.entities.names: canonical forms of one mention."""
from __future__ import annotations

import pytest

from pipeline.stages.entities.names import canonical_form, name_bounds


@pytest.mark.parametrize("text,label,expected", [
    ("President Vladimir Putin", "PERSON", "Vladimir Putin"),
    ("Prime Minister  Narendra\nModi", "PERSON", "Narendra Modi"),
    ("Secretary-General Ant\u00f3nio Guterres", "PERSON", "Ant\u00f3nio Guterres"),
    ("Mr. Gabuev", "PERSON", "Gabuev"),
    ("Dr. Jill Biden", "PERSON", "Jill Biden"),
    ("Vice President Kamala Harris", "PERSON", "Kamala Harris"),
    ("President", "PERSON", "President"),  # nothing left: keep it
    ("King Charles", "PERSON", "King Charles"),  # regnal titles are part of the name
    ("Xi\u2019s", "PERSON", "Xi"),
    ("Xi Jinping\u2019s Belt", "PERSON", "Xi Jinping"),
    ("Russia\u2019s", "GPE", "Russia"),
    ("the United States", "GPE", "United States"),
    ("The Associated Press", "ORG", "Associated Press"),
    ("the Carnegie Russia Eurasia Center", "ORG", "Carnegie Russia Eurasia Center"),
    ("Reuters'", "ORG", "Reuters"),
    ("The Hague", "GPE", "The Hague"),
    ("the Hague", "GPE", "The Hague"),
    ("the Netherlands", "GPE", "Netherlands"),
    ("The Godfather", "WORK_OF_ART", "The Godfather"),
    ("\u201cNATO\u201d", "ORG", "NATO"),
])
def test_canonical_form(text, label, expected):
    assert canonical_form(text, label) == expected


@pytest.mark.parametrize("surface,label,name", [
    ("the United States", "GPE", "United States"),
    ("The Hague", "GPE", "The Hague"),
    ("Xi Jinping\u2019s", "PERSON", "Xi Jinping"),
    ("Xi Jinping\u2019s Belt", "PERSON", "Xi Jinping"),
    ("President Joe Biden", "PERSON", "Joe Biden"),
    ("Stanford University\u2019s", "ORG", "Stanford University"),
    ("\u201cNATO\u201d", "ORG", "NATO"),
    ("Reuters'", "ORG", "Reuters"),
    ("The Godfather", "WORK_OF_ART", "The Godfather"),
    ("the", "ORG", "the"),  # nothing would be left: unchanged
])
def test_name_bounds(surface, label, name):
    lo, hi = name_bounds(surface, label)
    assert surface[lo:hi] == name
