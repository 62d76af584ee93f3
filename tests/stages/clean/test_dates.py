"""Tests for pipeline.stages.clean.dates: parse_date and find_date_in_text."""
from __future__ import annotations

import pytest

from pipeline.stages.clean.dates import find_date_in_text, parse_date


@pytest.mark.parametrize("value,expected", [
    ("2023-10-17T08:30:00Z", "2023-10-17T08:30:00Z"),
    ("2023-10-17T08:30:00+02:00", "2023-10-17T06:30:00Z"),
    ("2023-10-17T08:30:00.123+0200", "2023-10-17T06:30:00Z"),
    ("2023-10-17 08:30:00", "2023-10-17T08:30:00Z"),  # naive = UTC
    ("2023-10-17", "2023-10-17T00:00:00Z"),
    ("Tue, 17 Oct 2023 10:00:00 -0400", "2023-10-17T14:00:00Z"),
    ("Tue, 17 Oct 2023 10:00:00 GMT", "2023-10-17T10:00:00Z"),
    ("October 17, 2023 10:30 AM EDT", "2023-10-17T14:30:00Z"),
    ("Tuesday, Oct. 17, 2023", "2023-10-17T00:00:00Z"),
    ("17 octobre 2023", "2023-10-17T00:00:00Z"),
    ("17. Oktober 2023", "2023-10-17T00:00:00Z"),
    ("1697500800", "2023-10-17T00:00:00Z"),
    ("garbage", None),
    ("Oct 17", None),  # no year: refusing beats guessing "this year"
    ("2023-02-30", None),
    ("", None),
    (None, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("text,expected", [
    ("Putin arrives in Beijing, Tuesday, Oct. 17, 2023. (AP Photo)", "2023-10-17T00:00:00Z"),
    ("Headline\nPublished October 17, 2023 at 10:00", "2023-10-17T00:00:00Z"),
    ("Headline\nMis à jour le 17 octobre 2023", "2023-10-17T00:00:00Z"),
    ("Posted 2023-10-17 by staff", "2023-10-17T00:00:00Z"),
    ("Sept. 5, 2024 and later Oct. 17, 2023", "2024-09-05T00:00:00Z"),  # the first one
    ("Last year, in 2023, the quake hit.", None),  # a year alone is not a date
    ("On February 30, 2023 nothing happened.", None),
    ("", None),
])
def test_find_date_in_text(text, expected):
    assert find_date_in_text(text) == expected


def test_find_date_in_text_only_looks_at_the_top():
    assert find_date_in_text("\n".join(["line"] * 40 + ["October 17, 2023"])) is None
