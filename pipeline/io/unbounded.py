"""Unbounded sources for ``newsbeam run --streaming``, and event time.

* :class:`PollFeedsForever`: a PeriodicImpulse tick every ``--poll-interval`` polls the feed list.
  Feed state (ETag, Last-Modified, entries seen, backoff) lives in Beam state keyed by host, so
  a changed feed costs one request and an unchanged one a 304; one host's feeds are polled one
  after the other by one DoFn call (politeness, as in batch). Every new state is also handed to
  ``states`` so the driver can save it for the next run.
* :class:`WatchFiles`: ``fileio.MatchContinuously`` over each ``--watch`` glob every
  ``--watch-interval`` (default a few seconds: a scan only lists a folder), a stateful step
  that passes a file on only when it is new or changed (size or mtime), then the batch reader.
* :class:`ReadPubSub`: one JSON article per message (Dataflow); the reader is the batch one.
* :func:`event_time` / :class:`AssignEventTime`: publication time when plausible, else fetch time.

All three return ``(items, rejects, skipped)`` like the batch readers, so the stages after them
are the same.
"""
from __future__ import annotations

import collections
import datetime as _dt
import time
from typing import Any, Optional, Tuple

import apache_beam as beam
from apache_beam.coders import PickleCoder, StrUtf8Coder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.transforms.window import TimestampedValue

from pipeline.io.feedstate import FeedState
from pipeline.io.live import (_FetchDoFn, _utcnow, fetch_article, host_of, needs_article, poll_feed, route)

NAMESPACE = "stream"
_STORE_LOCK = __import__("threading").Lock()  # state files written from several bundles at once
#: Publication times before this are not believed (a parser that read "0001-01-01" or a unix 0).
EARLIEST_PLAUSIBLE = _dt.datetime(1990, 1, 1, tzinfo=_dt.timezone.utc)


# --------------------------------------------------------------------------- event time


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


# --------------------------------------------------------------------------- ticks


def _impulse_fns():
    """``(ImpulseSeqGenDoFn, its restriction provider, the watermark estimator provider)``."""
    from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
    from apache_beam.transforms.periodicsequence import ImpulseSeqGenDoFn, ImpulseSeqGenRestrictionProvider

    return ImpulseSeqGenDoFn, ImpulseSeqGenRestrictionProvider, ManualWatermarkEstimator


def seconds_until_tick(start: float, interval: float, index: int, stop_index: int, now: float) -> float:
    """How long to wait for tick ``index`` (0 when it is due, or when there is none left)."""
    if index >= stop_index:
        return 0.0
    return max(0.0, min(interval, start + interval * index - now))


_SeqGenFn, _SeqGenRestrictions, _ManualWatermark = _impulse_fns()


class _PacedImpulseFn(_SeqGenFn):
    """PeriodicImpulse's splittable DoFn, but it waits for its next tick inside the bundle.

    Beam's own defers the rest of its range at once, and the FnApiRunner then runs it again as
    fast as it can: measured, 15-37 bundles a second of newsbeam's whole fused graph between two
    ticks, and the runner's memory grows with every bundle (~0.2-0.7 MB). Waiting here makes it one
    bundle per tick. Only for the local runner: a cluster runner schedules deferred work itself.
    """

    @beam.DoFn.unbounded_per_element()
    def process(self, element, restriction_tracker=beam.DoFn.RestrictionParam(_SeqGenRestrictions()),
                watermark_estimator=beam.DoFn.WatermarkEstimatorParam(_ManualWatermark.default_provider())):
        from apache_beam.utils.timestamp import Timestamp

        start, _stop, interval = element
        begin = start.micros / 1_000_000 if isinstance(start, Timestamp) else float(start)
        restriction = restriction_tracker.current_restriction()
        wait = seconds_until_tick(begin, interval, restriction.start, restriction.stop, time.time())
        if wait > 0:
            time.sleep(wait)
        yield from super().process(element, restriction_tracker, watermark_estimator)


class Ticks(beam.PTransform):
    """A tick every ``interval`` seconds from ``start`` until ``stop`` (unix seconds; None:
    forever): Beam's PeriodicImpulse, or with ``paced`` (the local runner) :class:`_PacedImpulseFn`."""

    def __init__(self, start: Optional[float], stop: Optional[float], interval: float, paced: bool = False):
        super().__init__()
        self.start = start
        self.stop = stop
        self.interval = interval
        self.paced = paced

    def expand(self, pbegin):
        from apache_beam.transforms.periodicsequence import PeriodicImpulse
        from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

        start = self.start if self.start is not None else time.time()
        stop = self.stop if self.stop is not None else MAX_TIMESTAMP
        if not self.paced:
            return pbegin | "Impulse" >> PeriodicImpulse(start_timestamp=start, stop_timestamp=stop,
                                                         fire_interval=self.interval)
        return (pbegin
                | "ImpulseElement" >> beam.Create([(Timestamp.of(start), Timestamp.of(stop), self.interval)])
                | "GenSequence" >> beam.ParDo(_PacedImpulseFn()))


# --------------------------------------------------------------------------- feeds


def _hosts(_tick, keyed: list):
    """Every host's feed list, once per tick (a host key carries all of its feeds)."""
    by_host: dict = collections.defaultdict(list)
    for host, feed in keyed:
        by_host[host].append(feed)
    return sorted(by_host.items())


class PollHostStatefulFn(_FetchDoFn):
    """``(host, [(index, url)])`` per tick -> items, ``rejects``, ``skipped``, ``states``.

    The host's feed states live in Beam state between ticks (seeded from the state directory
    the run started with), so the conditional request of each poll uses the previous poll's
    validators. Summary-only entries get their article page here too with ``fetch_articles``.
    """

    FEEDS = ReadModifyWriteStateSpec("feeds", PickleCoder())

    def __init__(self, settings, initial_states: dict, fetch_articles: bool = False,
                 retry_before: Optional[_dt.datetime] = None):
        super().__init__(settings)
        self.initial = initial_states
        self.fetch_articles = fetch_articles
        self.retry_before = retry_before  # --retry-now: the run's start (see poll_feed)
        self.polls = Metrics.counter(NAMESPACE, "polls")

    def process(self, element, feeds=beam.DoFn.StateParam(FEEDS)):
        _host, listed = element
        known = feeds.read()
        if known is None:
            known = {url: state for url, state in self.initial.items()}
        for _index, url in sorted(listed):
            raw = known.get(url)
            state = FeedState.from_dict(raw, url) if raw is not None else None
            stats: collections.Counter = collections.Counter()
            outputs, new_state = poll_feed(url, state, self.fetcher, _utcnow(), stats,
                                           settings_key=self.settings_key, retry_before=self.retry_before)
            self.polls.inc()
            for record in outputs:
                routed = route(record)
                if routed is record and self.fetch_articles and needs_article(record):
                    routed = fetch_article(record, self.fetcher, _utcnow(), stats)
                yield routed
            self._count(stats)
            known[url] = new_state.to_dict()
            yield beam.pvalue.TaggedOutput("states", (url, known[url]))
        feeds.write(known)


class PollFeedsForever(beam.PTransform):
    """Poll ``feed_urls`` every ``interval`` seconds from ``start`` until ``stop`` (unix seconds;
    None: forever). ``expand`` returns ``{"items", "rejects", "skipped", "states"}``."""

    def __init__(self, feed_urls: list[str], states: dict, settings, interval: float,
                 start: Optional[float] = None, stop: Optional[float] = None, fetch_articles: bool = False,
                 paced: bool = False, retry_before: Optional[_dt.datetime] = None):
        super().__init__()
        self.retry_before = retry_before  # --retry-now: the run's start (see pipeline.io.live.poll_feed)
        self.feed_urls = list(dict.fromkeys(feed_urls))
        listed = set(self.feed_urls)
        self.states = {url: (s.to_dict() if isinstance(s, FeedState) else dict(s))
                       for url, s in (states or {}).items() if url in listed}
        self.settings = settings
        self.interval = interval
        self.start = start
        self.stop = stop
        self.fetch_articles = fetch_articles
        self.paced = paced  # the local runner: see Ticks

    def _keyed(self) -> list:
        keyed = []
        for index, url in enumerate(self.feed_urls):
            state = self.states.get(url)
            keyed.append((host_of((state or {}).get("current_url") or url), (index, url)))
        return keyed

    def expand(self, pbegin):
        polled = (pbegin
                  | "Ticks" >> Ticks(self.start, self.stop, self.interval, self.paced)
                  | "HostsDue" >> beam.FlatMap(_hosts, self._keyed()).with_output_types(Tuple[str, Any])
                  | "Poll" >> beam.ParDo(PollHostStatefulFn(self.settings, self.states, self.fetch_articles,
                                                            self.retry_before))
                  .with_outputs("rejects", "skipped", "states", main="items"))
        return {"items": polled.items, "rejects": polled.rejects, "skipped": polled.skipped,
                "states": polled.states}


# --------------------------------------------------------------------------- watched folders


WATCHED_FILE = "watched.json"


def load_watched(state_dir: Optional[str]) -> dict[str, str]:
    """``path -> "size:mtime"`` of the files earlier runs read (``<state dir>/watched.json``)."""
    import json
    import os

    if not state_dir:
        return {}
    try:
        with open(os.path.join(state_dir, WATCHED_FILE), encoding="utf-8") as f:
            return {str(k): str(v) for k, v in json.load(f).items()}
    except (OSError, ValueError):
        return {}


class _NewOrChangedFn(beam.DoFn):
    """``(path, "size:mtime")`` -> the path, when the file is new or changed since last seen.

    What was seen is kept in Beam state and, bundle by bundle, in ``<state dir>/watched.json``,
    which the next run (or the next segment of a local run) starts from.
    """

    SEEN = ReadModifyWriteStateSpec("seen", StrUtf8Coder())

    def __init__(self, seed: Optional[dict] = None, state_dir: Optional[str] = None):
        self.seed = seed or {}
        self.state_dir = state_dir
        self.changed = Metrics.counter(NAMESPACE, "watched_files")

    def start_bundle(self):
        self._new: dict = {}

    def process(self, element, seen=beam.DoFn.StateParam(SEEN)):
        path, version = element
        if (seen.read() or self.seed.get(path)) == version:
            return
        seen.write(version)
        self._new[path] = version
        self.changed.inc()
        yield path

    def finish_bundle(self):
        if not self._new or not self.state_dir:
            return
        import json
        import os

        from pipeline.io.feedstate import atomic_write

        with _STORE_LOCK:
            known = load_watched(self.state_dir)
            known.update(self._new)
            os.makedirs(self.state_dir, exist_ok=True)
            atomic_write(os.path.join(self.state_dir, WATCHED_FILE),
                         json.dumps(dict(sorted(known.items())), indent=0).encode())
        self._new = {}


def _path_and_version(metadata):
    return metadata.path, f"{metadata.size_in_bytes}:{metadata.last_updated_in_seconds}"


class WatchFiles(beam.PTransform):
    """New or changed files under the globs, checked every ``interval`` seconds (``--watch-interval``),
    read like batch inputs: ``(items, rejects, skipped)``. With ``scans_root`` (the streaming output),
    every scan of a glob is counted as a ``scans`` count there (the manifest's ``scans``)."""

    def __init__(self, patterns: list[str], interval: float, start: Optional[float] = None,
                 stop: Optional[float] = None, state_dir: Optional[str] = None, paced: bool = False,
                 scans_root: Optional[str] = None):
        super().__init__()
        self.patterns = list(patterns)
        self.interval = interval
        self.start = start
        self.stop = stop
        self.state_dir = state_dir
        self.paced = paced  # the local runner: see Ticks
        self.scans_root = scans_root

    def expand(self, pbegin):
        from apache_beam.io import fileio

        from pipeline.io.sources import ReadFileFn

        # fileio.MatchContinuously(has_deduplication=False) is PeriodicImpulse | pattern | MatchAll;
        # spelled out here so that the ticks can be paced
        matches = []
        for i, pattern in enumerate(self.patterns):
            scans = (pbegin
                     | f"Ticks{i}" >> Ticks(self.start, self.stop, self.interval, self.paced)
                     | f"Pattern{i}" >> beam.Map(lambda _tick, pattern=pattern: pattern))
            if self.scans_root:
                from pipeline.io.live_sinks import CountLive

                scans | f"CountScans{i}" >> CountLive("scans", self.scans_root)
            matches.append(scans | f"Match{i}" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW))
        files = matches[0] if len(matches) == 1 else matches | "AllMatches" >> beam.Flatten()
        read = (files
                | "Version" >> beam.Map(_path_and_version).with_output_types(Tuple[str, str])
                | "NewOrChanged" >> beam.ParDo(_NewOrChangedFn(load_watched(self.state_dir), self.state_dir))
                | "ReadFiles" >> beam.ParDo(ReadFileFn()).with_outputs("rejects", "skipped", main="items"))
        return read.items, read.rejects, read.skipped


# --------------------------------------------------------------------------- Pub/Sub


def _message_items(message, subscription: str):
    from pipeline.io.sources import read_file

    message_id = getattr(message, "message_id", None) or ""
    yield from read_file(f"{subscription}/messages/{message_id or 'message'}.json", message.data)


def _routed(record: dict):
    yield route(record)


class ReadPubSub(beam.PTransform):
    """One JSON article per Pub/Sub message (fields as in a JSONL input): ``(items, rejects, skipped)``."""

    def __init__(self, subscription: str):
        super().__init__()
        self.subscription = subscription

    def expand(self, pbegin):
        messages = pbegin | "ReadPubSub" >> beam.io.ReadFromPubSub(
            subscription=self.subscription, with_attributes=True)
        read = (messages
                | "Parse" >> beam.FlatMap(_message_items, self.subscription)
                | "Split" >> beam.FlatMap(_routed).with_outputs("rejects", "skipped", main="items"))
        return read.items, read.rejects, read.skipped


# --------------------------------------------------------------------------- feed state on disk

class _SaveFeedStateFn(beam.DoFn):
    """Fold each bundle's new feed states into the state directory (``feeds.json``), so a later
    run, batch or streaming, starts from them. Beam state stays the source of truth while the
    job runs; the file is a checkpoint for the next run (one writer per process on the local
    runners; on a cluster give each job its own ``--state``)."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir

    def start_bundle(self):
        self._states: dict = {}

    def process(self, element):
        url, state = element
        self._states[url] = state

    def finish_bundle(self):
        if not self._states:
            return
        from pipeline.io.feedstate import FeedStateStore

        with _STORE_LOCK:
            store = FeedStateStore(self.state_dir)
            merged = store.load()
            merged.update({url: FeedState.from_dict(s, url) for url, s in self._states.items()})
            store.save(merged)
        self._states = {}


class SaveFeedStates(beam.PTransform):
    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, states):
        return states | "SaveBundles" >> beam.ParDo(_SaveFeedStateFn(self.state_dir))
