"""Article pages for feed entries that carry only a summary (``--fetch-articles``)."""
from __future__ import annotations

import collections
import datetime as _dt
import re
from typing import Optional
from urllib.parse import urlsplit

from pipeline.io.files.text import html_canonical_url
from pipeline.io.http import HTML_ACCEPT, iso_utc
from pipeline.records import TEXT_FULL

__all__ = ["ROBOTS_AGENT", "SUMMARY_WORDS", "FeedBudgets", "RobotsPolicy", "fetch_article", "needs_article",
           "robots_policy"]

#: The product token newsbeam's User-Agent starts with: what robots.txt groups are matched against.
ROBOTS_AGENT = "newsbeam"
_ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
_ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: at least 500 KiB must be parsed

#: Without the parser's ``summary_only`` flag, text shorter than this is taken for a summary.
SUMMARY_WORDS = 60

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


class RobotsPolicy:
    """What one host's robots.txt allows newsbeam (RFC 9309): :meth:`allows` a URL.

    protego (Scrapy's parser: wildcards, ``$``, longest match) reads the file when installed,
    else the standard library's ``urllib.robotparser`` (prefix rules only)."""

    def __init__(self, text: Optional[str] = None, allow_all: bool = False, reason: str = ""):
        self.allow_all = allow_all
        self.reason = reason
        self._rules = None
        if text is not None and not allow_all:
            try:
                from protego import Protego
            except ImportError:
                import urllib.robotparser

                parser = urllib.robotparser.RobotFileParser()
                parser.parse(text.splitlines())
                self._rules = lambda url: parser.can_fetch(ROBOTS_AGENT, url)
            else:
                rules = Protego.parse(text)
                self._rules = lambda url: rules.can_fetch(url, ROBOTS_AGENT)

    def allows(self, url: str) -> bool:
        if self.allow_all:
            return True
        if self._rules is None:  # robots.txt unreachable (5xx, network): complete disallow
            return False
        return bool(self._rules(url))


def robots_policy(url: str, fetcher, stats: Optional[collections.Counter] = None) -> RobotsPolicy:
    """The robots.txt policy of ``url``'s host, fetched with ``fetcher`` (its safety rules, host
    delay and User-Agent).  RFC 9309: a 4xx (no robots.txt) allows everything; a 5xx or a failed
    fetch disallows everything, for now."""
    stats = stats if stats is not None else collections.Counter()
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    result = fetcher.fetch(robots_url, accept=_ROBOTS_ACCEPT)
    stats["requests"] += result.requests
    if result.error is None and result.status is not None and 400 <= result.status < 500:
        return RobotsPolicy(allow_all=True)
    if result.error is not None or result.status is None or result.status >= 500:
        problem = result.error or result.http_error or "no response"
        return RobotsPolicy(reason=f"{robots_url} could not be read ({problem}), which RFC 9309 "
                                   f"treats as disallowing everything")
    text = result.body[:_ROBOTS_MAX_BYTES].decode("utf-8", "replace")
    return RobotsPolicy(text, reason=f"{robots_url} disallows it for {ROBOTS_AGENT}")


def _decode_page(body: bytes, content_type: str) -> Optional[str]:
    match = _CHARSET.search(content_type or "")
    if match:
        try:
            return body.decode(match.group(1))
        except (LookupError, UnicodeDecodeError):
            pass
    from pipeline.io.files.decode import decode_text

    return decode_text(body)


class FeedBudgets:
    """The wall time each feed's article pages have taken in this run (``--feed-budget``): once a
    feed has spent its budget, its remaining entries keep their summaries (:meth:`over` -> a
    warning to add), so one slow site costs its budget, not the run's hours."""

    def __init__(self, seconds: float, clock=None):
        import time

        self.seconds = float(seconds or 0)
        self.clock = clock or time.monotonic
        self.spent: collections.Counter = collections.Counter()

    def over(self, item: dict) -> Optional[str]:
        feed = item.get("feed_url") or item.get("input_uri") or ""
        if self.seconds <= 0 or self.spent[feed] < self.seconds:
            return None
        return (f"article page {item['url']} not fetched: the feed's article pages took over "
                f"--feed-budget {self.seconds:g} seconds in this run; kept the feed's summary")

    def fetch(self, item: dict, fetch) -> tuple[dict, bool]:
        """``(fetch(item), False)`` timed against the item's feed, or ``(the item with a warning,
        True)`` when the feed's budget is spent."""
        warning = self.over(item)
        if warning is not None:
            return dict(item, warnings=list(item.get("warnings") or []) + [warning]), True
        started = self.clock()
        try:
            return fetch(item), False
        finally:
            self.spent[item.get("feed_url") or item.get("input_uri") or ""] += self.clock() - started


def fetch_article(item: dict, fetcher, now: _dt.datetime,
                  stats: Optional[collections.Counter] = None, robots: Optional[RobotsPolicy] = None) -> dict:
    """The item with its article page's HTML in ``html``; the feed's title, date, authors and
    url stay (the feed's metadata is cleaner than a page's).  A failed fetch keeps the summary
    and adds a warning: the entry is still worth ingesting.  ``robots``: the host's robots.txt
    policy (:func:`robots_policy`); a page it disallows is not fetched (summary kept, warning)."""
    stats = stats if stats is not None else collections.Counter()
    url = item["url"]
    if robots is not None and not robots.allows(url):
        stats["robots_disallowed"] += 1
        warnings = list(item.get("warnings") or []) + [
            f"article page {url} not fetched ({robots.reason}); kept the feed's summary"]
        return dict(item, warnings=warnings)
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
    out = dict(item, html=page, fetched_at=iso_utc(now), summary_only=False, text_kind=TEXT_FULL)
    canonical = html_canonical_url(page)
    if canonical:  # url stays the feed's link, where the page was fetched
        out["canonical_url"] = canonical
    if item.get("html") and not item.get("text"):
        # keep the summary as plain text: clean falls back to it if the page has no article
        out["text"] = " ".join(_TAG.sub(" ", item["html"]).split()) or None
    return out
