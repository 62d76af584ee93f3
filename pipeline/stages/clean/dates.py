"""Dates: explicit full dates found in plain text (month names in ten languages, ISO), and
date/time strings from metadata parsed to ISO 8601 UTC. Deterministic: a string without a
4-digit year is refused rather than completed from today's date; dateutil is imported lazily.
"""
from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Optional

_I = re.IGNORECASE

_MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    # German / Norwegian / Danish / Swedish / Dutch
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12, "desember": 12, "januari": 1, "februari": 2, "maj": 5,
    "augusti": 8, "maart": 3, "mei": 5, "augustus": 8,
    # Spanish / Italian / Portuguese
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12, "janeiro": 1, "fevereiro": 2, "março": 3,
    "maio": 5, "junho": 6, "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DATE_MDY_RE = re.compile(
    rf"\b(?P<mon>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", _I
)
_DATE_DMY_RE = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s+(?:de\s+)?(?P<mon>{_MONTH_ALT})\.?,?\s+(?:de\s+|del\s+)?{_YEAR}\b",
    _I,
)
_DATE_ISO_RE = re.compile(rf"\b{_YEAR}-(?P<month>\d{{2}})-(?P<day>\d{{2}})\b")
_WEEKDAY_PREFIX_RE = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+", _I
)
FIND_DATE_MAX_LINES = 30


def _iter_dates(text: str):
    """Yield ``(start, end, datetime)`` for every explicit full date in ``text``."""
    if not _HAS_YEAR_RE.search(text):
        # every date pattern has its year between non-digits; the three month-name regexes
        # cost ~80 us a line, this check ~1 us (edge_nav asks it of every edge line)
        return
    for rx in (_DATE_MDY_RE, _DATE_DMY_RE, _DATE_ISO_RE):
        for m in rx.finditer(text):
            g = m.groupdict()
            month = _MONTHS[g["mon"].lower()] if g.get("mon") else int(g["month"])
            try:
                d = datetime(int(g["year"]), month, int(g["day"]), tzinfo=timezone.utc)
            except ValueError:
                continue  # "February 30, 2023"
            yield m.start(), m.end(), d


def is_date_line(line: str) -> bool:
    """The whole line is one date, e.g. "Friday, 22 November 2024" (a page's date banner)."""
    rest = _WEEKDAY_PREFIX_RE.sub("", line).rstrip(" .")
    return any(start == 0 and end == len(rest) for start, end, _ in _iter_dates(rest))


def _iso(dt: datetime) -> Optional[str]:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        dt = dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    if not 1900 <= dt.year <= 2100:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_date_in_text(text: Optional[str]) -> Optional[str]:
    """The first explicit full date in the first 30 lines of a plain text, as ISO UTC midnight.

    Recognises "Oct. 17, 2023", "October 17, 2023", "Tuesday, Oct. 17, 2023", "17 October 2023",
    "17. oktober 2023", "17 de octubre de 2023" (month names in en/fr/de/es/it/pt/nl/no/sv/da)
    and "2023-10-17".  A focused regex is used on purpose: htmldate on plain text was measured
    to return junk year-only guesses (e.g. "2023-01-01" from any "2023"), while a date-line
    or photo caption with a full date is a good signal of when a story ran.
    """
    if not text:
        return None
    for line in text.split("\n")[:FIND_DATE_MAX_LINES]:
        found = min(_iter_dates(line), default=None, key=lambda m: m[0])
        if found:
            return _iso(found[2])
    return None


_TZ_OFFSETS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "MSK": 3, "IST": 5.5, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "EST": -5, "EDT": -4,
    "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8,
    "HST": -10,
}
_HAS_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_EPOCH_RE = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_RFC2822_RE = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Za-z]{1,5})?$"
)


def _tzinfos(name, offset):
    if name and name.upper() in _TZ_OFFSETS:
        return timezone(timedelta(hours=_TZ_OFFSETS[name.upper()]))
    return None  # unknown abbreviation: leave naive (read as UTC)


def parse_date(value) -> Optional[str]:
    """Parse a date/time string to "YYYY-MM-DDTHH:MM:SSZ" (UTC); naive times are UTC.

    Fast paths first (ISO 8601 via ``datetime.fromisoformat``, RFC 2822 via ``email.utils``,
    Unix epoch seconds), then ``dateutil`` for other English formats, then the multilingual
    full-date regex of :func:`find_date_in_text`.  Strings without a 4-digit year are refused
    (a parser would fill the year from "today", which is not deterministic); garbage -> None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _iso(value)
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s:
        return None
    if _EPOCH_RE.match(s):
        return _iso(datetime.fromtimestamp(float(s), tz=timezone.utc))
    if not _HAS_YEAR_RE.search(s):
        return None
    if s[:4].isdigit():
        try:
            return _iso(datetime.fromisoformat(s))
        except ValueError:
            pass
    if _RFC2822_RE.match(s):  # email.utils is lenient: only give it what looks like RFC 2822
        try:
            return _iso(email.utils.parsedate_to_datetime(s))
        except (TypeError, ValueError, IndexError):
            pass
    try:
        from dateutil import parser as du_parser  # lazy; installed with htmldate/trafilatura

        return _iso(du_parser.parse(s, default=datetime(2000, 1, 1), tzinfos=_tzinfos))
    except (ValueError, OverflowError, TypeError):
        pass
    found = min(_iter_dates(s), default=None, key=lambda m: m[0])
    return _iso(found[2]) if found else None



#: How far after its fetch time (or the run's clock) a publication time may be: time-zone and clock slack.
FUTURE_SLACK = timedelta(hours=24)


def plausible_publication(published_at: str, fetched_at: Optional[str] = None, now: Optional[datetime] = None) -> bool:
    """False for a publication time more than :data:`FUTURE_SLACK` after the item was fetched
    (``fetched_at``, feeds and WARC), or, when that is unknown, after ``now`` (the clock): a
    date in 2038 or 2099 is a parsing or publishing error, not a date to partition by."""
    reference = _parse_utc(fetched_at) if fetched_at else None
    reference = reference or now or datetime.now(timezone.utc)
    moment = _parse_utc(published_at)
    return moment is None or moment <= reference + FUTURE_SLACK


def future_warning(published_at: str, fetched_at: Optional[str]) -> str:
    after = f"its fetch time {fetched_at}" if fetched_at else "the time of the run"
    return f"published_at {published_at} is more than a day after {after}: not kept (the article is undated)"


def _parse_utc(value: str) -> Optional[datetime]:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


#: What a date/time value states: a day, a time to the minute, or to the second.
PRECISIONS = ("day", "minute", "second")
_TIME_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?P<sec>:\d{2})?(?!\d)")
_OFFSET_RE = re.compile(r"\d(?:\.\d+)?(?:\s*[AP]\.?M\.?)?\s*(?:Z|[+-]\d{2}:?\d{2}|GMT|UTC|UT|[A-Z]{1,3}T)\s*$", _I)
_ISO_DAY_RE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


class Stated(NamedTuple):
    """A publication time as a source states it."""

    at: str  # ISO 8601 UTC, as parse_date
    precision: str  # "day" | "minute" | "second"
    offset: bool  # the source gave its UTC offset (or zone), so ``at`` is the instant it means
    day: Optional[str]  # the calendar day in the source's own time zone, when it is ISO 8601


def stated_date(value) -> Optional[Stated]:
    """What a date/time value states (see :class:`Stated`); None when :func:`parse_date`
    cannot read it. A datetime or epoch seconds is a UTC instant to the second."""
    at = parse_date(value)
    if at is None:
        return None
    if isinstance(value, datetime):
        return Stated(at, "second", value.tzinfo is not None, None)
    s = value.strip()
    if _EPOCH_RE.match(s):
        return Stated(at, "second", True, None)
    m = _TIME_RE.search(s)
    precision = "day" if not m else "second" if m.group("sec") else "minute"
    day = _ISO_DAY_RE.match(s)
    return Stated(at, precision, precision != "day" and bool(_OFFSET_RE.search(s)), day and day.group(1))


def choose_published(primary: Optional[Stated], candidates) -> Optional[Stated]:
    """The publication time: ``primary`` decides the day; a candidate (a date/time value a page
    or input states) replaces it when it is the same day (in UTC, or in the candidate's own
    time zone) and states more precision, or as much with a UTC offset the one chosen so far
    lacks (a time without its offset was read as UTC). Candidates are tried in order; without
    a primary there is no date (candidates only refine one)."""
    if primary is None:
        return None
    best = primary
    rank = PRECISIONS.index(best.precision)
    for value in candidates:
        c = stated_date(value) if not isinstance(value, Stated) else value
        if c is None or primary.at[:10] not in (c.at[:10], c.day):
            continue
        c_rank = PRECISIONS.index(c.precision)
        if c_rank > rank or (c_rank == rank and c_rank > 0 and c.offset and not best.offset):
            best, rank = c, c_rank
    return best
