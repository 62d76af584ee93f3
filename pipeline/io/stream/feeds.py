"""Live feeds in a streaming run: every listed feed polled on each tick, its state kept in Beam
state keyed by host and saved to the state directory for the next run."""
from __future__ import annotations

import collections
import datetime as _dt
from typing import Any, Optional, Tuple

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from pipeline.io.feeds.articles import FeedBudgets, fetch_article, needs_article, robots_policy
from pipeline.io.feeds.fetch import FetchDoFn, host_of, utcnow
from pipeline.io.feeds.poll import poll_feed
from pipeline.io.feeds.state import FeedState
from pipeline.io.route import route
from pipeline.io.source import Source
from pipeline.io.stream.base import NAMESPACE, STORE_LOCK
from pipeline.io.stream.ticks import Ticks

__all__ = ["PollFeedsForever", "PollHostStatefulFn", "SaveFeedStates"]


def _hosts(_tick, keyed: list):
    """Every host's feed list, once per tick (a host key carries all of its feeds)."""
    by_host: dict = collections.defaultdict(list)
    for host, feed in keyed:
        by_host[host].append(feed)
    return sorted(by_host.items())


class PollHostStatefulFn(FetchDoFn):
    """``(host, [(index, url)])`` per tick -> items, ``rejects``, ``skipped``, ``states``.

    The host's feed states live in Beam state between ticks (seeded from the state directory
    the run started with), so the conditional request of each poll uses the previous poll's
    validators. Summary-only entries get their article page here too with ``fetch_articles``.
    """

    FEEDS = ReadModifyWriteStateSpec("feeds", PickleCoder())

    def __init__(self, settings, initial_states: dict, fetch_articles: bool = False,
                 retry_before: Optional[_dt.datetime] = None, max_feed_entries: Optional[int] = None):
        super().__init__(settings, max_feed_entries)
        self.initial = initial_states
        self.fetch_articles = fetch_articles
        self.retry_before = retry_before  # --retry-now: the run's start (see poll_feed)
        self.polls = Metrics.counter(NAMESPACE, "polls")

    def process(self, element, feeds=beam.DoFn.StateParam(FEEDS)):
        _host, listed = element
        known = feeds.read()
        if known is None:
            known = {url: state for url, state in self.initial.items()}
        budgets = FeedBudgets(self.settings.feed_budget)  # each feed's article pages, in this poll
        robots: dict = {}  # article host -> its robots.txt policy, read once per poll
        for _index, url in sorted(listed):
            raw = known.get(url)
            state = FeedState.from_dict(raw, url) if raw is not None else None
            stats: collections.Counter = collections.Counter()
            outputs, new_state = poll_feed(url, state, self.fetcher, utcnow(), stats,
                                           settings_key=self.settings_key, retry_before=self.retry_before,
                                           max_feed_entries=self.max_feed_entries)
            self.polls.inc()
            for record in outputs:
                routed = route(record)
                if routed is record and self.fetch_articles and needs_article(record):
                    routed = self._article(record, stats, budgets, robots)
                yield routed
            self._count(stats)
            known[url] = new_state.to_dict()
            yield beam.pvalue.TaggedOutput("states", (url, known[url]))
        feeds.write(known)


    def _article(self, record: dict, stats: collections.Counter, budgets: FeedBudgets, robots: dict) -> dict:
        """The entry with its page (as in batch runs: robots.txt honoured, the feed's --feed-budget)."""
        host = host_of(record["url"])
        if host not in robots and budgets.over(record) is None:
            robots[host] = robots_policy(record["url"], self.fetcher, stats)
        out, spent = budgets.fetch(record, lambda r: fetch_article(r, self.fetcher, utcnow(), stats, robots.get(host)))
        stats["feed_budget_spent"] += spent
        return out


class PollFeedsForever(beam.PTransform):
    """Poll ``feed_urls`` every ``interval`` seconds from ``start`` until ``stop`` (unix seconds;
    None: forever). ``expand`` returns a :class:`~pipeline.io.source.Source` with the feeds' ``states``."""

    def __init__(self, feed_urls: list[str], states: dict, settings, interval: float,
                 start: Optional[float] = None, stop: Optional[float] = None, fetch_articles: bool = False,
                 paced: bool = False, retry_before: Optional[_dt.datetime] = None, limits=None):
        super().__init__()
        self.limits = limits  # the run's --max-feed-entries ... (None: the defaults)
        self.retry_before = retry_before  # --retry-now: the run's start (see pipeline.io.feeds.poll.poll_feed)
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
                                                            self.retry_before,
                                                            self.limits.max_feed_entries if self.limits else None))
                  .with_outputs("rejects", "skipped", "states", main="items"))
        return Source((polled.items,), polled.rejects, polled.skipped, polled.states)


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
        from pipeline.io.feeds.state import FeedStateStore

        with STORE_LOCK:
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
