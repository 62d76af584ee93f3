"""Tests for pipeline.stages.clean.dates: parse_date and find_date_in_text."""
from __future__ import annotations

import pytest

import datetime as dt

from pipeline.stages.clean.dates import find_date_in_text, parse_date, plausible_publication


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


# --------------------------------------------------------------------------- precision


from pipeline.stages.clean.dates import Stated, choose_published, stated_date  # noqa: E402


@pytest.mark.parametrize("value, at, precision, offset", [
    ("2023-10-17", "2023-10-17T00:00:00Z", "day", False),
    ("2023-10-17T08:30+02:00", "2023-10-17T06:30:00Z", "minute", True),
    ("2023-10-17T08:30:00+02:00", "2023-10-17T06:30:00Z", "second", True),
    ("2023-10-17 08:30:00 +0200", "2023-10-17T06:30:00Z", "second", True),
    ("2023-10-17T08:30:00.000+0200", "2023-10-17T06:30:00Z", "second", True),
    ("2023-10-17T08:30:00", "2023-10-17T08:30:00Z", "second", False),  # no offset: read as UTC
    ("Tue, 17 Oct 2023 10:00 -0400", "2023-10-17T14:00:00Z", "minute", True),
    ("October 17, 2023 8:30 AM EDT", "2023-10-17T12:30:00Z", "minute", True),
    ("17 octobre 2023", "2023-10-17T00:00:00Z", "day", False),
])
def test_stated_date_keeps_what_the_source_states(value, at, precision, offset):
    s = stated_date(value)
    assert (s.at, s.precision, s.offset) == (at, precision, offset)


def test_stated_date_refuses_what_parse_date_refuses():
    assert stated_date("yesterday") is None and stated_date(None) is None


def test_choose_published_takes_the_time_of_the_same_day():
    day = stated_date("2023-10-17")
    assert choose_published(day, ["2023-10-17T08:30:00+02:00"]).at == "2023-10-17T06:30:00Z"
    # the local day counts: 23:30 in New York is the next day in UTC
    late = choose_published(day, ["2023-10-17T23:30:00-05:00"])
    assert (late.at, late.precision) == ("2023-10-18T04:30:00Z", "second")
    # another day is another story (an update, a related article): the day stays, undated time
    other = choose_published(day, ["2023-10-19T08:30:00+02:00"])
    assert (other.at, other.precision) == ("2023-10-17T00:00:00Z", "day")
    # a time with its offset beats the same time read without one (written as UTC)
    naive = stated_date("2023-10-17T08:30:00")
    assert choose_published(naive, ["2023-10-17 08:30:00 +0200"]).at == "2023-10-17T06:30:00Z"
    # less precision never replaces more; no primary, no date
    assert choose_published(stated_date("2023-10-17T08:30:00Z"), ["2023-10-17"]).precision == "second"
    assert choose_published(None, ["2023-10-17T08:30:00Z"]) is None
    assert isinstance(choose_published(day, []), Stated)


NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("published,fetched,plausible", [
    ("2026-12-08T11:00:00Z", None, True),  # within a day of the clock: time zones and clock slack
    ("2026-12-08T13:00:00Z", None, False),
    ("2038-01-19T03:14:08Z", None, False),
    ("2099-12-31T00:00:00Z", None, False),
    ("2024-03-12T09:00:00Z", "2024-03-12T18:30:00Z", True),
    ("2024-03-14T09:00:00Z", "2024-03-12T18:30:00Z", False),  # after its own fetch: not plausible
    ("2024-03-14T09:00:00Z", "not a date", True),  # no usable fetch time: the clock decides
])
def test_a_publication_time_after_the_fetch_or_the_clock_is_not_plausible(published, fetched, plausible):
    assert plausible_publication(published, fetched, now=NOW) is plausible
