"""Polling live feeds in a batch run: the Beam transform :class:`FetchFeeds` and the feed
states it hands to the driver.

Feeds are grouped by host, so one worker polls one host's feeds one after the other: that is
what keeps us at one request at a time per host across workers (the fetcher's throttle only
sees its own process).  Each poll is :func:`pipeline.io.feeds.poll.poll_feed`.

The new states leave the pipeline as an output and are written to staging by
:class:`WriteFeedStates`; the driver calls :func:`merge_states` only after the run succeeded,
so a failed run does not advance the state (its entries would otherwise never be ingested).
"""
from __future__ import annotations

import collections
import datetime as _dt
import os
from typing import Optional
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.io.feeds.articles import FeedBudgets, fetch_article, needs_article, robots_policy
from pipeline.io.feeds.poll import COUNTERS, poll_feed
from pipeline.io.feeds.state import FeedState, FeedStateStore, atomic_write, dumps_states, loads_states
from pipeline.io.http import FetchSettings
from pipeline.io.route import route
from pipeline.io.source import Source

__all__ = ["FetchArticlesFn", "FetchDoFn", "FetchFeeds", "NAMESPACE", "PollHostFn", "STATE_STAGING_FILE",
           "WriteFeedStates", "host_of", "merge_states", "utcnow"]

NAMESPACE = "fetch"
STATE_STAGING_FILE = "_feed_state.json"


def host_of(url: Optional[str]) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class FetchDoFn(beam.DoFn):
    """Shared setup: one fetcher per DoFn instance, counters under ``fetch``. ``max_feed_entries``
    (``--max-feed-entries``): entries read from one feed document (None: the default)."""

    def __init__(self, settings: FetchSettings, max_feed_entries: Optional[int] = None):
        super().__init__()
        self.settings = settings
        self.max_feed_entries = max_feed_entries
        self.settings_key = settings.fingerprint()
        self.fetcher = None
        self.counters = {name: Metrics.counter(NAMESPACE, name) for name in COUNTERS}

    def setup(self):
        from pipeline.io.http import Fetcher

        self.fetcher = Fetcher(self.settings)

    def teardown(self):
        if self.fetcher is not None:
            self.fetcher.close()
            self.fetcher = None

    def _count(self, stats: collections.Counter) -> None:
        for name, value in stats.items():
            if value and name in self.counters:
                self.counters[name].inc(value)


class PollHostFn(FetchDoFn):
    """Poll every feed of one host, in list order.  Input ``(host, [(index, url, state dict |
    None)])``.  Outputs: items (main; with ``fetch_articles``, the items that need their
    article page go to ``articles`` keyed by its host), ``rejects``, ``skipped``, ``states``."""

    def __init__(self, settings: FetchSettings, fetch_articles: bool = False,
                 retry_before: Optional[_dt.datetime] = None, max_feed_entries: Optional[int] = None):
        super().__init__(settings, max_feed_entries)
        self.fetch_articles = fetch_articles
        self.retry_before = retry_before

    def process(self, element):
        _host, feeds = element
        for _index, url, known in sorted(feeds, key=lambda feed: feed[0]):
            state = FeedState.from_dict(known, url) if known is not None else None
            stats: collections.Counter = collections.Counter()
            outputs, new_state = poll_feed(url, state, self.fetcher, utcnow(), stats,
                                           settings_key=self.settings_key, retry_before=self.retry_before,
                                           max_feed_entries=self.max_feed_entries)
            self._count(stats)
            for record in outputs:
                routed = route(record)
                if routed is record and self.fetch_articles and needs_article(record):
                    routed = beam.pvalue.TaggedOutput("articles", (host_of(record["url"]), record))
                yield routed
            yield beam.pvalue.TaggedOutput("states", (url, new_state.to_dict()))


class FetchArticlesFn(FetchDoFn):
    """Fetch the article pages of one host's summary-only items, one after the other, as the
    host's robots.txt allows (read once per host)."""

    def process(self, element):
        _host, items = element
        robots = None
        budgets = FeedBudgets(self.settings.feed_budget)
        for item in sorted(items, key=lambda i: (i.get("input_uri") or "", i.get("offset") or 0)):
            stats: collections.Counter = collections.Counter()
            if robots is None and budgets.over(item) is None:  # once per host and bundle, before its first page
                robots = robots_policy(item["url"], self.fetcher, stats)
            out, spent = budgets.fetch(item, lambda i: fetch_article(i, self.fetcher, utcnow(), stats, robots))
            stats["feed_budget_spent"] += spent
            yield out
            self._count(stats)


class FetchFeeds(beam.PTransform):
    """Poll live feeds; ``expand`` returns a :class:`~pipeline.io.source.Source` whose ``states``
    are ``(listed url, FeedState dict)``, one per feed polled."""

    def __init__(self, feed_urls: list[str], states: dict, settings: Optional[FetchSettings] = None,
                 fetch_articles: bool = False, label: Optional[str] = None,
                 retry_before: Optional[_dt.datetime] = None, limits=None):
        super().__init__(label)
        self.limits = limits  # the run's --max-feed-entries ... (None: the defaults)
        self.retry_before = retry_before  # --retry-now: the run's start (see poll_feed)
        self.feed_urls = list(dict.fromkeys(feed_urls))
        listed = set(self.feed_urls)
        # Each feed's state travels with the feed (not with the DoFn): a worker holds only the
        # states of the hosts it polls.
        self.states = {url: (s.to_dict() if isinstance(s, FeedState) else dict(s))
                       for url, s in (states or {}).items() if url in listed}
        self.settings = settings or FetchSettings()
        self.fetch_articles = fetch_articles

    def _keyed(self) -> list:
        keyed = []
        for index, url in enumerate(self.feed_urls):
            state = self.states.get(url)
            host = host_of((state or {}).get("current_url") or url)
            keyed.append((host, (index, url, state)))
        return keyed

    def expand(self, pbegin):
        polled = (
            pbegin
            | "ListFeeds" >> beam.Create(self._keyed())
            | "ByHost" >> beam.GroupByKey()
            | "Poll" >> beam.ParDo(PollHostFn(self.settings, self.fetch_articles, self.retry_before,
                                              self.limits.max_feed_entries if self.limits else None))
            .with_outputs("rejects", "skipped", "states", "articles", main="items")
        )
        items = polled.items
        if self.fetch_articles:
            pages = (
                polled.articles
                | "ArticlesByHost" >> beam.GroupByKey()
                | "FetchArticles" >> beam.ParDo(FetchArticlesFn(self.settings))
            )
            items = (polled.items, pages) | "AllItems" >> beam.Flatten()
        return Source((items,), polled.rejects, polled.skipped, polled.states)


def _write_states(states: dict, path: str) -> str:
    atomic_write(path, dumps_states(dict(sorted(states.items()))))
    return path


class WriteFeedStates(beam.PTransform):
    """Collect every ``(url, state dict)`` into ``<staging_dir>/_feed_state.json`` (a local or
    shared path: the driver reads it back with :func:`merge_states`)."""

    def __init__(self, staging_dir: str, label: Optional[str] = None):
        super().__init__(label)
        self.path = os.path.join(staging_dir, STATE_STAGING_FILE)

    def expand(self, states):
        return (states
                | "AllStates" >> beam.combiners.ToDict()
                | "WriteStates" >> beam.Map(_write_states, self.path))


def merge_states(store: FeedStateStore, staging_dir: str) -> dict[str, FeedState]:
    """Fold the run's new states into the store; call after the run succeeded.  Feeds not
    polled this run keep their state.  Returns the merged states."""
    merged = store.load()
    path = os.path.join(staging_dir, STATE_STAGING_FILE)
    if os.path.exists(path):
        with open(path, "rb") as f:
            merged.update(loads_states(f.read(), path))
    store.save(merged)
    return merged
