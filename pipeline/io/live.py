"""Live feeds in a batch run, by their old import path: they live in :mod:`pipeline.io.feeds`
now (``lists``, ``poll``, ``articles``, ``fetch``).  This module re-exports every public name
it had; ``__all__`` is unchanged."""
from __future__ import annotations

from pipeline.io.feeds.articles import SUMMARY_WORDS, fetch_article, needs_article
from pipeline.io.feeds.fetch import (NAMESPACE, STATE_STAGING_FILE, FetchArticlesFn, FetchFeeds, PollHostFn,
                                     WriteFeedStates, host_of, merge_states)
from pipeline.io.feeds.lists import FeedListError, read_feed_list
from pipeline.io.feeds.poll import (BACKOFF_BASE, BODY_PREFIX, COUNTERS, MAX_BACKOFF_FACTOR, SKIP_BACKING_OFF, SKIP_GONE,
                                    SKIP_KNOWN, SKIP_NOT_MODIFIED, STAGE, backoff_delay, entry_hash, entry_key,
                                    poll_feed)
from pipeline.io.route import route

__all__ = [
    "BACKOFF_BASE",
    "FeedListError",
    "FetchFeeds",
    "STAGE",
    "STATE_STAGING_FILE",
    "WriteFeedStates",
    "backoff_delay",
    "entry_key",
    "fetch_article",
    "merge_states",
    "needs_article",
    "poll_feed",
    "read_feed_list",
]
