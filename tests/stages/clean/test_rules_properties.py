"""Properties of clean_text (issue 11), checked on generated input with hypothesis.

clean_text is idempotent, never raises, and never returns text absent from its input: every
output paragraph is one input line, whitespace-tidied.
"""
from __future__ import annotations

import re

from hypothesis import given

from pipeline.stages.clean.rules import clean_text
from tests.stages.clean.strategies import SETTINGS, TEXTS


_SPACE = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


@SETTINGS
@given(TEXTS)
def test_clean_text_is_idempotent(text):
    once = clean_text(text).text
    assert clean_text(once).text == once


@SETTINGS
@given(TEXTS)
def test_clean_text_returns_only_lines_of_its_input(text):
    tidied = {_SPACE.sub(" ", line).strip() for line in text.split("\n")}
    out = clean_text(text).text
    for paragraph in out.split("\n\n") if out else []:
        assert paragraph in tidied, paragraph


@SETTINGS
@given(TEXTS)
def test_clean_text_counts_what_it_removed(text):
    result = clean_text(text)
    kept = len(result.text.split("\n\n")) if result.text else 0
    nonblank = sum(1 for line in text.split("\n") if _SPACE.sub(" ", line).strip())
    assert kept + sum(result.removed.values()) == nonblank
