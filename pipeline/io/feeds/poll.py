"""One poll of one feed: politely, remembering what was seen, backing off after failures.

:func:`poll_feed` polls one feed with an injected fetcher and returns ``(outputs,
new_state)``: items, rejects (stage ``fetch``) and skips.  It never raises, and every poll
yields at least one output, so every listed feed is accounted for (conservation).

Backoff: after the n-th consecutive failure a feed is not polled again before
``min(2 ** (n - 1), 64) * BACKOFF_BASE`` (15 min, 30 min, 1 h ... 16 h); any answer from
the server (200, 304) resets it.  A Retry-After longer than ``max_retry_after`` sets
``next_poll_after`` to the time asked, without counting a failure.  Two ways out of a back-off:
failures recorded under other fetch settings (``failed_with``, the fingerprint of
:class:`FetchSettings`: say the run before lacked ``--allow-private-hosts``) do not count, and
``retry_before`` (``--retry-now``: the run's start) polls a feed whose last attempt was before it
once, whatever its back-off (a failure then backs off again, counted on).
"""
from __future__ import annotations

import collections
import datetime as _dt
from typing import Callable, Optional

from pipeline.io.feeds.state import MAX_ENTRIES, FeedState
from pipeline.io.http import FetchResult, iso_utc
from pipeline.records import is_skip, make_reject, make_skip

__all__ = ["BACKOFF_BASE", "COUNTERS", "SKIP_BACKING_OFF", "SKIP_GONE", "SKIP_KNOWN", "SKIP_NOT_MODIFIED", "STAGE",
           "backoff_delay", "entry_hash", "entry_key", "poll_feed"]

STAGE = "fetch"
BACKOFF_BASE = _dt.timedelta(minutes=15)
MAX_BACKOFF_FACTOR = 64
#: Bytes of an error response kept in the reject, enough to see what the server said.
BODY_PREFIX = 4096

SKIP_GONE = "feed gone (410), no longer polled"
SKIP_NOT_MODIFIED = "not modified (304)"
SKIP_KNOWN = "already ingested"
#: The reason of a backing-off skip, up to its time (counted per reason: the part before " until ").
SKIP_BACKING_OFF = "backing off after failed polls (--retry-now polls it anyway)"

COUNTERS = ("requests", "not_modified", "errors", "refused", "entries", "skipped_known",
            "updated", "gone", "rate_limited", "backing_off", "backoff_reset", "articles_fetched",
            "article_errors", "robots_disallowed", "feed_budget_spent")


def backoff_delay(failures: int) -> _dt.timedelta:
    """How long a feed rests after ``failures`` consecutive failures."""
    return BACKOFF_BASE * min(2 ** max(failures - 1, 0), MAX_BACKOFF_FACTOR)


def entry_key(item: dict) -> str:
    """Identity of a feed entry across runs: its guid/id, else its link, else its content."""
    return item.get("entry_id") or item.get("url") or f"content:{entry_hash(item)}"


def entry_hash(item: dict) -> str:
    """What 'same content' means for an entry: the feed parser defines it, in one place."""
    from pipeline.io.feeds.parse import entry_fingerprint

    return entry_fingerprint(item)


def _parse_iso(value: Optional[str]) -> Optional[_dt.datetime]:
    if not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _fetch_reject(url: str, result: FetchResult, reason: str) -> dict:
    details = {
        "url": url,
        "fetched_url": result.final_url or result.url,
        "status": result.status,
        "error": reason,
        "headers": result.headers,
        "body_prefix": result.body[:BODY_PREFIX].decode("utf-8", "replace"),
        "elapsed_seconds": round(result.elapsed, 3),
    }
    return dict(make_reject(STAGE, reason, details, input_uri=url))


def poll_feed(url: str, state: Optional[FeedState], fetcher, now: _dt.datetime,
              stats: Optional[collections.Counter] = None, *,
              parse: Optional[Callable[..., list]] = None,
              max_entries: int = MAX_ENTRIES, settings_key: Optional[str] = None,
              retry_before: Optional[_dt.datetime] = None,
              max_feed_entries: Optional[int] = None) -> tuple[list[dict], FeedState]:
    """Poll the feed listed as ``url`` once.  ``fetcher`` has ``fetch(url, etag,
    last_modified) -> FetchResult``; ``now`` is an aware datetime; ``stats`` (optional)
    counts what happened under the :data:`COUNTERS` names.  Never raises.

    ``settings_key``: the fingerprint of the fetch settings (:meth:`FetchSettings.fingerprint`),
    recorded with a failure; a back-off recorded under another one is not honoured.
    ``retry_before`` (``--retry-now``: the run's start): a back-off whose last attempt was before
    it is not honoured (so a run polls such a feed once, then backs off again if it still fails).
    ``max_feed_entries`` (``--max-feed-entries``): entries read from the document (None: the
    default); ``max_entries``: entry fingerprints the state remembers."""
    stats = stats if stats is not None else collections.Counter()
    new = state.copy() if state is not None else FeedState(url=url)
    new.url = url
    try:
        return _poll(url, new, fetcher, now, stats, parse, max_entries, settings_key, retry_before,
                     max_feed_entries), new
    except Exception as exc:  # a bug must cost one feed, not the run
        stats["errors"] += 1
        reason = f"unexpected error {exc!r}; this is a newsbeam bug, please report it with this feed"
        return [dict(make_reject(STAGE, reason, url, input_uri=url))], (state or FeedState(url=url))


def _backoff_lifted(state: FeedState, settings_key: Optional[str],
                    retry_before: Optional[_dt.datetime]) -> Optional[str]:
    """Why a feed's back-off does not hold it back this time (None: it does)."""
    if settings_key is not None and state.failed_with is not None and state.failed_with != settings_key:
        return "settings"
    if retry_before is not None:
        last = _parse_iso(state.last_fetched_at)
        if last is None or last < retry_before:
            return "retry"
    return None


def _poll(url, new: FeedState, fetcher, now, stats, parse, max_entries, settings_key=None,
          retry_before=None, max_feed_entries=None) -> list[dict]:
    if new.status == "gone":
        stats["gone"] += 1
        return [dict(make_skip(SKIP_GONE, url))]
    resume = _parse_iso(new.next_poll_after)
    if resume is not None and now < resume and new.consecutive_failures:
        lifted = _backoff_lifted(new, settings_key, retry_before)
        if lifted == "settings":  # the failures were had with other settings: they do not count
            new.consecutive_failures, new.next_poll_after, new.failed_with = 0, None, None
        if lifted is not None:
            stats["backoff_reset"] += 1
            resume = None
    if resume is not None and now < resume:
        if new.consecutive_failures:
            stats["backing_off"] += 1
            reason = (f"{SKIP_BACKING_OFF} until {new.next_poll_after} after "
                      f"{new.consecutive_failures} consecutive failures")
        else:
            stats["rate_limited"] += 1
            reason = f"rate limited until {new.next_poll_after}"
        return [dict(make_skip(reason, url))]

    result: FetchResult = fetcher.fetch(new.current_url or url, etag=new.etag,
                                        last_modified=new.last_modified)
    fetched_at = iso_utc(now)
    stats["requests"] += result.requests
    new.last_fetched_at = fetched_at
    new.last_status = result.status
    if result.permanent_redirect and not result.error and result.status in (200, 304):
        # the feed moves only to where a usable answer came from: a redirect that was refused (a
        # private address), failed, or led to an error status leaves the feed where it was
        new.current_url = result.permanent_redirect

    if result.retry_after:  # rate limited for longer than we wait inside a run
        stats["rate_limited"] += 1
        new.next_poll_after = result.retry_after
        return [dict(make_skip(f"rate limited until {result.retry_after}", url))]
    if result.status == 410 and not result.error:
        stats["gone"] += 1
        new.status, new.consecutive_failures, new.next_poll_after = "gone", 0, None
        return [dict(make_skip(SKIP_GONE, url))]
    reason = result.error or result.http_error
    if reason is None and result.status != 200 and result.status != 304:
        reason = f"unexpected HTTP status {result.status} for a feed"
    if reason is not None:
        stats["refused" if result.refused else "errors"] += 1
        new.consecutive_failures += 1
        new.next_poll_after = iso_utc(now + backoff_delay(new.consecutive_failures))
        new.failed_with = settings_key
        return [_fetch_reject(url, result, reason)]

    new.consecutive_failures, new.next_poll_after, new.failed_with = 0, None, None
    if "etag" in result.headers or result.status == 200:
        new.etag = result.headers.get("etag")
    if "last-modified" in result.headers or result.status == 200:
        new.last_modified = result.headers.get("last-modified")
    if result.status == 304:
        stats["not_modified"] += 1
        return [dict(make_skip(SKIP_NOT_MODIFIED, url))]

    if parse is None:
        from pipeline.io.feeds.parse import parse_feed as parse
    headers = dict(result.headers)
    # Relative links in the feed resolve against where it was actually fetched from.
    headers.setdefault("content-location", result.final_url or url)
    # feedparser flags a response without Content-Type as not XML (a reject when the feed has
    # no entries); application/xml is the neutral reading: charset from the XML declaration.
    headers.setdefault("content-type", "application/xml")
    outputs = []
    for record in parse(result.body, feed_url=url, headers=headers, fetched_at=fetched_at,
                        max_entries=max_feed_entries):
        if "stage" in record or is_skip(record):
            outputs.append(record)
            continue
        key, content = entry_key(record), entry_hash(record)
        previous = new.entries.get(key)
        new.remember(key, content, max_entries)
        if previous == content:
            stats["skipped_known"] += 1
            outputs.append(dict(make_skip(SKIP_KNOWN, url, record.get("offset") or 0)))
            continue
        if previous is not None:
            stats["updated"] += 1
            record = dict(record, update_of=previous)
        stats["entries"] += 1
        outputs.append(record)
    if not outputs:  # a parser that returned nothing must not lose the feed
        outputs.append(dict(make_skip("feed has no entries", url)))
    return outputs
