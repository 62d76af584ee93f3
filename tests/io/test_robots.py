"""--fetch-articles honours the host's robots.txt (RFC 9309): pipeline.io.feeds.articles."""
from __future__ import annotations

import collections
import datetime as dt

import pytest

from pipeline.io.feeds.articles import fetch_article, robots_policy
from pipeline.io.http import Fetcher, FetchSettings
from tests.io.feedserver import Response, feed_server  # noqa: F401 (fixture)

NOW = dt.datetime(2024, 3, 12, 18, 30, tzinfo=dt.timezone.utc)
PAGE = b"<html><body><article><p>The whole article.</p></article></body></html>"


@pytest.fixture
def fetcher():
    made = Fetcher(FetchSettings(allow_private_hosts=True, min_delay=0.0, timeout=2.0))
    yield made
    made.close()


def summary_item(url: str) -> dict:
    return {"input_uri": "f", "offset": 1, "url": url, "text": "Teaser.", "html": None,
            "summary_only": True, "text_kind": "summary", "warnings": []}


def test_a_page_robots_txt_disallows_is_not_fetched_and_the_summary_stays(feed_server, fetcher):
    feed_server.route("/robots.txt", body=b"User-agent: *\nAllow: /\n\nUser-agent: newsbeam\nDisallow: /private/\n",
                      headers={"Content-Type": "text/plain"})
    for path in ("/private/a", "/public/b"):
        feed_server.route(path, body=PAGE, headers={"Content-Type": "text/html"})
    stats = collections.Counter()
    robots = robots_policy(feed_server.url("/private/a"), fetcher, stats)
    private = fetch_article(summary_item(feed_server.url("/private/a")), fetcher, NOW, stats, robots)
    public = fetch_article(summary_item(feed_server.url("/public/b")), fetcher, NOW, stats, robots)
    assert private["text"] == "Teaser." and private["html"] is None and private["text_kind"] == "summary"
    assert "robots.txt disallows it for newsbeam" in private["warnings"][0]
    assert public["html"] == PAGE.decode() and public["text_kind"] == "full"
    assert feed_server.requests_to("/private/a") == []  # never requested
    assert len(feed_server.requests_to("/robots.txt")) == 1
    assert (stats["robots_disallowed"], stats["articles_fetched"]) == (1, 1)


def test_no_robots_txt_allows_everything(feed_server, fetcher):
    feed_server.route("/a", body=PAGE, headers={"Content-Type": "text/html"})  # /robots.txt: 404
    robots = robots_policy(feed_server.url("/a"), fetcher)
    assert fetch_article(summary_item(feed_server.url("/a")), fetcher, NOW, robots=robots)["text_kind"] == "full"


def test_an_unreachable_robots_txt_disallows_everything(feed_server, fetcher):
    feed_server.route("/robots.txt", Response(503, b"down"))
    feed_server.route("/a", body=PAGE, headers={"Content-Type": "text/html"})
    robots = robots_policy(feed_server.url("/a"), fetcher)
    out = fetch_article(summary_item(feed_server.url("/a")), fetcher, NOW, robots=robots)
    assert out["html"] is None and "HTTP 503" in out["warnings"][0]
    assert feed_server.requests_to("/a") == []
