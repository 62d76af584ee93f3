"""Live RSS/Atom feeds: poll each listed feed once per run, politely, and remember what was seen.

Two layers, as for every stage:

* :func:`poll_feed` polls one feed with an injected fetcher and returns ``(outputs,
  new_state)``: items, rejects (stage ``fetch``) and skips.  It never raises, and every poll
  yields at least one output, so every listed feed is accounted for (conservation).
* :class:`FetchFeeds` is the Beam transform.  Feeds are grouped by host, so one worker polls
  one host's feeds one after the other: that is what keeps us at one request at a time per
  host across workers (the fetcher's throttle only sees its own process).

The new states leave the pipeline as an output and are written to staging by
:class:`WriteFeedStates`; the driver calls :func:`merge_states` only after the run succeeded,
so a failed run does not advance the state (its entries would otherwise never be ingested).

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
import os
import re
from typing import Callable, Optional
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.io.feedstate import MAX_ENTRIES, FeedState, FeedStateStore, atomic_write, dumps_states, loads_states
from pipeline.io.http import HTML_ACCEPT, FetchResult, FetchSettings, iso_utc
from pipeline.io.sources import NoInputError
from pipeline.records import is_skip, make_reject, make_skip

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

STAGE = "fetch"
NAMESPACE = "fetch"
STATE_STAGING_FILE = "_feed_state.json"
BACKOFF_BASE = _dt.timedelta(minutes=15)
MAX_BACKOFF_FACTOR = 64
#: Without the parser's ``summary_only`` flag, text shorter than this is taken for a summary.
SUMMARY_WORDS = 60
#: Bytes of an error response kept in the reject, enough to see what the server said.
BODY_PREFIX = 4096

SKIP_GONE = "feed gone (410), no longer polled"
SKIP_NOT_MODIFIED = "not modified (304)"
SKIP_KNOWN = "already ingested"
#: The reason of a backing-off skip, up to its time (counted per reason: the part before " until ").
SKIP_BACKING_OFF = "backing off after failed polls (--retry-now polls it anyway)"

COUNTERS = ("requests", "not_modified", "errors", "refused", "entries", "skipped_known",
            "updated", "gone", "rate_limited", "backing_off", "backoff_reset", "articles_fetched",
            "article_errors")


class FeedListError(NoInputError):
    """The feed list is missing, empty or not readable (raised while the pipeline is built)."""


# --------------------------------------------------------------------------------------
# Feed lists
# --------------------------------------------------------------------------------------

_INLINE_COMMENT = re.compile(r"\s+#.*$")


def read_feed_list(path: str) -> list[str]:
    """Feed URLs from an OPML file (``xmlUrl`` of every ``outline``, nested ones too) or a text
    file with one URL per line (blank lines and ``#`` comments ignored); de-duplicated, in
    order."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise FeedListError(path, f"cannot read the feed list {path!r}: {exc.strerror or exc}") from None
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    urls = _opml_urls(path, data) if head == b"<" else _text_urls(data)
    urls = list(dict.fromkeys(u for u in urls if u))
    if not urls:
        kind = "xmlUrl attributes in the OPML" if head == b"<" else "URLs"
        raise FeedListError(path, f"the feed list {path!r} has no feed {kind}")
    return urls


def _text_urls(data: bytes) -> list[str]:
    urls = []
    for line in data.decode("utf-8-sig", "replace").splitlines():
        line = _INLINE_COMMENT.sub("", line).strip()
        if line and not line.startswith("#"):
            urls.append(line)
    return urls


def _opml_urls(path: str, data: bytes) -> list[str]:
    """OPML is untrusted XML (exported from anywhere): no DTDs, no entities, no network."""
    try:
        from defusedxml import ElementTree as SafeET  # preferred when installed

        parse = SafeET.fromstring
        errors: tuple = (SafeET.ParseError, ValueError)
    except ImportError:  # pragma: no cover - defusedxml is a declared dependency
        import xml.etree.ElementTree as ET

        if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
            raise FeedListError(path, f"{path!r}: OPML with a DOCTYPE or entities is refused") from None
        parse = ET.fromstring
        errors = (ET.ParseError,)
    try:
        root = parse(data)
    except errors as exc:
        raise FeedListError(path, f"{path!r} is not valid OPML: {exc}") from None
    urls = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if tag.lower() != "outline":
            continue
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower() == "xmlurl" and value.strip():
                urls.append(value.strip())
    return urls


# --------------------------------------------------------------------------------------
# One poll
# --------------------------------------------------------------------------------------

def backoff_delay(failures: int) -> _dt.timedelta:
    """How long a feed rests after ``failures`` consecutive failures."""
    return BACKOFF_BASE * min(2 ** max(failures - 1, 0), MAX_BACKOFF_FACTOR)


def entry_key(item: dict) -> str:
    """Identity of a feed entry across runs: its guid/id, else its link, else its content."""
    return item.get("entry_id") or item.get("url") or f"content:{entry_hash(item)}"


def entry_hash(item: dict) -> str:
    """What 'same content' means for an entry: the feed parser defines it, in one place."""
    from pipeline.io.feeds import entry_fingerprint

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
              retry_before: Optional[_dt.datetime] = None) -> tuple[list[dict], FeedState]:
    """Poll the feed listed as ``url`` once.  ``fetcher`` has ``fetch(url, etag,
    last_modified) -> FetchResult``; ``now`` is an aware datetime; ``stats`` (optional)
    counts what happened under the :data:`COUNTERS` names.  Never raises.

    ``settings_key``: the fingerprint of the fetch settings (:meth:`FetchSettings.fingerprint`),
    recorded with a failure; a back-off recorded under another one is not honoured.
    ``retry_before`` (``--retry-now``: the run's start): a back-off whose last attempt was before
    it is not honoured (so a run polls such a feed once, then backs off again if it still fails)."""
    stats = stats if stats is not None else collections.Counter()
    new = state.copy() if state is not None else FeedState(url=url)
    new.url = url
    try:
        return _poll(url, new, fetcher, now, stats, parse, max_entries, settings_key, retry_before), new
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
          retry_before=None) -> list[dict]:
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
    if result.permanent_redirect:
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
        from pipeline.io.feeds import parse_feed as parse
    headers = dict(result.headers)
    # Relative links in the feed resolve against where it was actually fetched from.
    headers.setdefault("content-location", result.final_url or url)
    # feedparser flags a response without Content-Type as not XML (a reject when the feed has
    # no entries); application/xml is the neutral reading: charset from the XML declaration.
    headers.setdefault("content-type", "application/xml")
    outputs = []
    for record in parse(result.body, feed_url=url, headers=headers, fetched_at=fetched_at):
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


# --------------------------------------------------------------------------------------
# Article pages for summary-only entries
# --------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def needs_article(item: dict) -> bool:
    """A feed entry whose feed gave only a summary, with a link to the full article."""
    if not item.get("url") or urlsplit(item["url"]).scheme.lower() not in ("http", "https"):
        return False
    if "summary_only" in item:
        return bool(item["summary_only"])
    body = item.get("text") or _TAG.sub(" ", item.get("html") or "")
    return len(body.split()) < SUMMARY_WORDS


def _decode_page(body: bytes, content_type: str) -> Optional[str]:
    match = _CHARSET.search(content_type or "")
    if match:
        try:
            return body.decode(match.group(1))
        except (LookupError, UnicodeDecodeError):
            pass
    from pipeline.io.sources import decode_text

    return decode_text(body)


def fetch_article(item: dict, fetcher, now: _dt.datetime,
                  stats: Optional[collections.Counter] = None) -> dict:
    """The item with its article page's HTML in ``html``; the feed's title, date, authors and
    url stay (the feed's metadata is cleaner than a page's).  A failed fetch keeps the summary
    and adds a warning: the entry is still worth ingesting."""
    stats = stats if stats is not None else collections.Counter()
    url = item["url"]
    result = fetcher.fetch(url, accept=HTML_ACCEPT)
    stats["requests"] += result.requests
    problem = result.error or result.http_error
    content_type = result.headers.get("content-type", "")
    page = None
    if problem is None and result.status != 200:
        problem = f"unexpected HTTP status {result.status}"
    if problem is None and content_type and not content_type.lower().startswith(_HTML_TYPES):
        problem = f"not an HTML page ({content_type.split(';')[0].strip()})"
    if problem is None:
        page = _decode_page(result.body, content_type)
        if page is None or not page.strip():
            problem = "the page is empty or not text"
    if problem is not None:
        stats["article_errors"] += 1
        warnings = list(item.get("warnings") or []) + [
            f"article page {url} not fetched ({problem}); kept the feed's summary"]
        return dict(item, warnings=warnings)
    stats["articles_fetched"] += 1
    out = dict(item, html=page, fetched_at=iso_utc(now), summary_only=False)
    if item.get("html") and not item.get("text"):
        # keep the summary as plain text: clean falls back to it if the page has no article
        out["text"] = " ".join(_TAG.sub(" ", item["html"]).split()) or None
    return out


# --------------------------------------------------------------------------------------
# Beam
# --------------------------------------------------------------------------------------

def route(record: dict):
    """A read or poll output as Beam emits it: rejects and skips to their tagged outputs
    (``rejects``, ``skipped``), items as they are."""
    if "stage" in record:
        return beam.pvalue.TaggedOutput("rejects", record)
    if is_skip(record):
        return beam.pvalue.TaggedOutput("skipped", record)
    return record


def host_of(url: Optional[str]) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class _FetchDoFn(beam.DoFn):
    """Shared setup: one fetcher per DoFn instance, counters under ``fetch``."""

    def __init__(self, settings: FetchSettings):
        super().__init__()
        self.settings = settings
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


class PollHostFn(_FetchDoFn):
    """Poll every feed of one host, in list order.  Input ``(host, [(index, url, state dict |
    None)])``.  Outputs: items (main; with ``fetch_articles``, the items that need their
    article page go to ``articles`` keyed by its host), ``rejects``, ``skipped``, ``states``."""

    def __init__(self, settings: FetchSettings, fetch_articles: bool = False,
                 retry_before: Optional[_dt.datetime] = None):
        super().__init__(settings)
        self.fetch_articles = fetch_articles
        self.retry_before = retry_before

    def process(self, element):
        _host, feeds = element
        for _index, url, known in sorted(feeds, key=lambda feed: feed[0]):
            state = FeedState.from_dict(known, url) if known is not None else None
            stats: collections.Counter = collections.Counter()
            outputs, new_state = poll_feed(url, state, self.fetcher, _utcnow(), stats,
                                           settings_key=self.settings_key, retry_before=self.retry_before)
            self._count(stats)
            for record in outputs:
                routed = route(record)
                if routed is record and self.fetch_articles and needs_article(record):
                    routed = beam.pvalue.TaggedOutput("articles", (host_of(record["url"]), record))
                yield routed
            yield beam.pvalue.TaggedOutput("states", (url, new_state.to_dict()))


class FetchArticlesFn(_FetchDoFn):
    """Fetch the article pages of one host's summary-only items, one after the other."""

    def process(self, element):
        _host, items = element
        for item in sorted(items, key=lambda i: (i.get("input_uri") or "", i.get("offset") or 0)):
            stats: collections.Counter = collections.Counter()
            yield fetch_article(item, self.fetcher, _utcnow(), stats)
            self._count(stats)


class FetchFeeds(beam.PTransform):
    """Poll live feeds; ``expand`` returns ``{"items", "rejects", "skipped", "states"}``
    (states are ``(listed url, FeedState dict)``, one per feed polled)."""

    def __init__(self, feed_urls: list[str], states: dict, settings: Optional[FetchSettings] = None,
                 fetch_articles: bool = False, label: Optional[str] = None,
                 retry_before: Optional[_dt.datetime] = None):
        super().__init__(label)
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
            | "Poll" >> beam.ParDo(PollHostFn(self.settings, self.fetch_articles, self.retry_before))
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
        return {"items": items, "rejects": polled.rejects, "skipped": polled.skipped,
                "states": polled.states}


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
