"""Event time of streaming records: publication time when plausible, else fetch time."""
from __future__ import annotations

import datetime as _dt
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue

from pipeline.io.stream.base import NAMESPACE

__all__ = ["EARLIEST_PLAUSIBLE", "AssignEventTime", "event_time"]

#: Publication times before this are not believed (a parser that read "0001-01-01" or a unix 0).
EARLIEST_PLAUSIBLE = _dt.datetime(1990, 1, 1, tzinfo=_dt.timezone.utc)


def _parse(value: Optional[str]) -> Optional[_dt.datetime]:
    if not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def event_time(record: dict, received: _dt.datetime, tolerance_seconds: float) -> tuple[_dt.datetime, str]:
    """``(event time, where it came from)`` of a record.

    The fetch time is ``fetched_at`` (feeds, WARC), else ``received`` (when newsbeam read it).
    The publication time is used when it is plausible: not before 1990, and not after the fetch
    time by more than ``tolerance_seconds`` (a clock skew or time-zone slip within the tolerance
    is clamped to the fetch time; a date further in the future is not believed).
    """
    fetched = _parse(record.get("fetched_at")) or received
    published = _parse(record.get("published_at"))
    if published is None or published < EARLIEST_PLAUSIBLE:
        return fetched, "fetched"
    if published > fetched + _dt.timedelta(seconds=tolerance_seconds):
        return fetched, "fetched (published_at in the future)"
    return min(published, fetched), "published"


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class _EventTimeFn(beam.DoFn):
    def __init__(self, tolerance_seconds: float):
        self.tolerance = tolerance_seconds
        self.from_published = Metrics.counter(NAMESPACE, "event_time_published")
        self.from_fetch = Metrics.counter(NAMESPACE, "event_time_fetched")

    def process(self, record: dict):
        moment, source = event_time(record, _utcnow(), self.tolerance)
        (self.from_published if source == "published" else self.from_fetch).inc()
        yield TimestampedValue(record, moment.timestamp())


class AssignEventTime(beam.PTransform):
    """Re-stamp records with their event time (see :func:`event_time`)."""

    def __init__(self, tolerance_seconds: float = 600.0):
        super().__init__()
        self.tolerance = tolerance_seconds

    def expand(self, records):
        return records | "EventTime" >> beam.ParDo(_EventTimeFn(self.tolerance))

