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


# ---------------------------------------------------------------------------- --feed-budget


def test_a_feed_that_spent_its_budget_keeps_summaries_and_other_feeds_are_untouched():
    from pipeline.io.feeds.articles import FeedBudgets

    now = [0.0]
    budgets = FeedBudgets(3, clock=lambda: now[0])

    def slow_fetch(item):
        now[0] += 2.0  # each page takes 2 s
        return dict(item, html=PAGE.decode(), text_kind="full")

    results = []
    for feed, n in (("a", 1), ("a", 2), ("b", 1), ("a", 3), ("b", 2), ("b", 3)):
        item = dict(summary_item(f"https://{feed}.example/{n}"), feed_url=f"https://{feed}.example/feed")
        results.append((feed, n, *budgets.fetch(item, slow_fetch)))
    fetched = {(feed, n) for feed, n, out, spent in results if not spent}
    assert fetched == {("a", 1), ("a", 2), ("b", 1), ("b", 2)}  # 2 s, then 4 s > 3 s: the third waits
    _, _, kept, spent = results[3]
    assert spent and kept["text_kind"] == "summary" and "--feed-budget 3 seconds" in kept["warnings"][-1]
    assert FeedBudgets(0).over(dict(summary_item("https://a.example/1"))) is None  # 0: no limit


def test_fetch_articles_stops_a_slow_feed_at_its_budget(feed_server):
    """Pages that take 1 s each, a 1.5 s budget: two pages are fetched (1 s, then 2 s > 1.5 s), the
    other four are never requested and keep their summaries with the warning."""
    from pipeline.io.feeds.fetch import FetchArticlesFn

    for i in range(6):
        feed_server.route(f"/p{i}", Response(200, PAGE, {"Content-Type": "text/html"}, delay=1.0))
    fn = FetchArticlesFn(FetchSettings(allow_private_hosts=True, min_delay=0.0, timeout=5.0, feed_budget=1.5))
    fn.setup()
    try:
        items = [dict(summary_item(feed_server.url(f"/p{i}")), offset=i, feed_url=feed_server.url("/feed"))
                 for i in range(6)]
        out = list(fn.process(("127.0.0.1", items)))
    finally:
        fn.teardown()
    full = [o for o in out if o.get("text_kind") == "full"]
    kept = [o for o in out if o.get("text_kind") == "summary"]
    assert len(full) == 2 and len(kept) == 4, [o.get("warnings") for o in out]
    assert all("--feed-budget 1.5 seconds" in o["warnings"][-1] for o in kept)
    assert sum(len(feed_server.requests_to(f"/p{i}")) for i in range(6)) == 2


def test_a_stream_poll_honours_robots_txt_and_the_feed_budget(feed_server):
    """Streaming --fetch-articles reads pages as batch runs do: robots.txt first (on 34b91f7 a
    stream fetched every page, disallowed or not), then the feed's budget."""
    from pipeline.io.feeds.articles import FeedBudgets
    from pipeline.io.stream.feeds import PollHostStatefulFn

    feed_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    for path in ("/private/a", "/b", "/c"):
        feed_server.route(path, Response(200, PAGE, {"Content-Type": "text/html"}, delay=1.0))
    fn = PollHostStatefulFn(FetchSettings(allow_private_hosts=True, min_delay=0.0, timeout=5.0, feed_budget=0.5), {},
                     fetch_articles=True)
    fn.setup()
    try:
        stats, budgets, robots = collections.Counter(), FeedBudgets(0.5), {}
        out = [fn._article(dict(summary_item(feed_server.url(p)), feed_url="f"), stats, budgets, robots)
               for p in ("/private/a", "/b", "/c")]
    finally:
        fn.teardown()
    assert [o["text_kind"] for o in out] == ["summary", "full", "summary"]
    assert "robots.txt" in out[0]["warnings"][-1] and "--feed-budget 0.5 seconds" in out[2]["warnings"][-1]
    assert feed_server.requests_to("/private/a") == [] and feed_server.requests_to("/c") == []
    assert stats["feed_budget_spent"] == 1 and stats["robots_disallowed"] == 1
