"""Tests for pipeline.io.live: polling feeds against a local server (conditional GET, redirects,
410, rate limits, failures and backoff, known entries), article pages, feed lists, Beam."""
from __future__ import annotations

import collections
import datetime as dt

import pytest

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.io.feedstate import FeedState, FeedStateStore
from pipeline.io.http import Fetcher, FetchSettings, HostThrottle
from pipeline.io.live import (
    SKIP_GONE,
    SKIP_KNOWN,
    SKIP_NOT_MODIFIED,
    FeedListError,
    FetchFeeds,
    WriteFeedStates,
    backoff_delay,
    fetch_article,
    merge_states,
    needs_article,
    poll_feed,
    read_feed_list,
)
from pipeline.records import is_skip
from tests.io.feedserver import Response, atom_feed, feed_server, rss_feed  # noqa: F401 (fixture)

NOW = dt.datetime(2024, 3, 12, 18, 30, tzinfo=dt.timezone.utc)
LONG = ("The council voted on Tuesday to build a new bridge over the river. " * 12).strip()
ENTRY_A = {"guid": "urn:a", "link": "https://news.example/a", "title": "Bridge approved",
           "content": f"<p>{LONG}</p>", "pubDate": "Tue, 12 Mar 2024 10:00:00 GMT"}
ENTRY_B = {"guid": "urn:b", "link": "https://news.example/b", "title": "Mayor speaks",
           "content": "<p>The mayor welcomed the vote and thanked the council.</p>"}


class FakeClock:
    def __init__(self):
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_fetcher(clock):
    made = []

    def make(now=NOW, **settings):
        settings.setdefault("allow_private_hosts", True)
        settings.setdefault("min_delay", 0.0)
        settings.setdefault("timeout", 2.0)
        fetcher = Fetcher(FetchSettings(**settings), throttle=HostThrottle(clock.clock, clock.sleep),
                          now=lambda: now)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.fixture
def fetcher(make_fetcher):
    return make_fetcher()


def poll(url, state, fetcher, now=NOW):
    stats = collections.Counter()
    outputs, new_state = poll_feed(url, state, fetcher, now, stats)
    assert outputs, "every poll accounts for its feed with at least one output"
    return outputs, new_state, stats


def items(outputs):
    return [o for o in outputs if "stage" not in o and not is_skip(o)]


def skips(outputs):
    return [o["skipped"] for o in outputs if is_skip(o)]


def rejects(outputs):
    return [o for o in outputs if "stage" in o]


# ------------------------------------------------------------------------- conditional GET

def test_first_poll_emits_entries_and_stores_validators(feed_server, fetcher):
    feed_server.route("/feed", body=rss_feed([ENTRY_A, ENTRY_B]),
                      headers={"ETag": 'W/"abc"', "Last-Modified": "Tue, 12 Mar 2024 18:00:00 GMT"})
    url = feed_server.url("/feed")
    outputs, state, stats = poll(url, None, fetcher)
    got = items(outputs)
    assert [i["entry_id"] for i in got] == ["urn:a", "urn:b"]
    assert {(i["input_uri"], i["feed_url"], i["format"], i["fetched_at"]) for i in got} == {
        (url, url, "feed", "2024-03-12T18:30:00Z")}
    assert [i["offset"] for i in got] == [1, 2]
    assert "update_of" not in got[0]
    assert (state.etag, state.last_modified) == ('W/"abc"', "Tue, 12 Mar 2024 18:00:00 GMT")
    assert (state.url, state.current_url, state.last_status, state.status) == (url, url, 200, "active")
    assert list(state.entries) == ["urn:a", "urn:b"]
    assert stats["entries"] == 2 and stats["requests"] == 1


def test_second_poll_sends_validators_byte_for_byte_and_304_is_a_skip(feed_server, fetcher):
    etag, modified = 'W/"caf\xe9-\\"1\\""', "Tue, 12 Mar 2024 18:00:00 GMT"

    def conditional(request):
        if request.header("If-None-Match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(200, rss_feed([ENTRY_A]), headers={"ETag": etag, "Last-Modified": modified})

    feed_server.route("/feed", conditional)
    url = feed_server.url("/feed")
    _, state, _ = poll(url, None, fetcher)
    outputs, state2, stats = poll(url, state, fetcher)
    assert outputs == [{"skipped": SKIP_NOT_MODIFIED, "input_uri": url, "offset": 0}]
    second = feed_server.requests[1]
    assert second.header("If-None-Match") == etag
    assert second.header("If-Modified-Since") == modified
    assert (state2.etag, state2.last_modified, state2.last_status) == (etag, modified, 304)
    assert state2.entries == state.entries
    assert stats["not_modified"] == 1


def test_known_entries_skipped_changed_entries_marked_as_updates(feed_server, fetcher):
    url = feed_server.url("/feed")
    feed_server.route("/feed", body=rss_feed([ENTRY_A, ENTRY_B]))
    first, state, _ = poll(url, None, fetcher)
    old_b = state.entries["urn:b"]
    changed_b = dict(ENTRY_B, content="<p>The mayor welcomed the vote; a correction was added.</p>")
    entry_c = {"guid": "urn:c", "link": "https://news.example/c", "title": "New", "content": "<p>New story.</p>"}
    feed_server.route("/feed", body=rss_feed([entry_c, ENTRY_A, changed_b]))
    outputs, state2, stats = poll(url, state, fetcher)
    assert skips(outputs) == [SKIP_KNOWN]
    assert [o["offset"] for o in outputs if is_skip(o)] == [2]
    got = {i["entry_id"]: i for i in items(outputs)}
    assert set(got) == {"urn:b", "urn:c"}
    assert got["urn:b"]["update_of"] == old_b and "update_of" not in got["urn:c"]
    assert state2.entries["urn:b"] != old_b
    assert list(state2.entries) == ["urn:c", "urn:a", "urn:b"]  # recency order of this poll
    assert (stats["skipped_known"], stats["updated"], stats["entries"]) == (1, 1, 2)
    # Unchanged again: everything is known, nothing is emitted twice.
    third, _, _ = poll(url, state2, fetcher)
    assert skips(third) == [SKIP_KNOWN] * 3 and items(third) == []


# ------------------------------------------------------------------------- redirects, 410, rate limits

def test_permanent_redirect_updates_the_stored_url(feed_server, fetcher):
    feed_server.redirect("/old", "/new", 301)
    feed_server.route("/new", body=rss_feed([ENTRY_A]))
    url = feed_server.url("/old")
    outputs, state, _ = poll(url, None, fetcher)
    assert state.url == url and state.current_url == feed_server.url("/new")
    assert items(outputs)[0]["input_uri"] == url  # the feed keeps the name the user gave it
    poll(url, state, fetcher)
    assert len(feed_server.requests_to("/old")) == 1
    assert len(feed_server.requests_to("/new")) == 2


def test_410_marks_the_feed_gone_and_it_is_not_polled_again(feed_server, fetcher):
    feed_server.route("/feed", Response(410))
    url = feed_server.url("/feed")
    outputs, state, _ = poll(url, None, fetcher)
    assert skips(outputs) == [SKIP_GONE] and state.status == "gone"
    outputs, state2, stats = poll(url, state, fetcher, NOW + dt.timedelta(days=30))
    assert skips(outputs) == [SKIP_GONE] and state2.status == "gone"
    assert len(feed_server.requests) == 1 and stats["requests"] == 0


def test_short_retry_after_is_waited_for_inside_the_poll(feed_server, fetcher, clock):
    feed_server.route("/feed", [Response(429, headers={"Retry-After": "1"}), Response(200, rss_feed([ENTRY_A]))])
    outputs, state, stats = poll(feed_server.url("/feed"), None, fetcher)
    assert len(items(outputs)) == 1 and clock.sleeps == [1.0]
    assert stats["requests"] == 2 and state.next_poll_after is None


def test_long_retry_after_skips_and_the_feed_rests_until_then(feed_server, fetcher):
    feed_server.route("/feed", Response(429, headers={"Retry-After": "3600"}))
    url = feed_server.url("/feed")
    outputs, state, _ = poll(url, None, fetcher)
    assert skips(outputs) == ["rate limited until 2024-03-12T19:30:00Z"]
    assert state.next_poll_after == "2024-03-12T19:30:00Z" and state.consecutive_failures == 0
    outputs, state2, _ = poll(url, state, fetcher, NOW + dt.timedelta(minutes=30))
    assert skips(outputs) == ["rate limited until 2024-03-12T19:30:00Z"]
    assert len(feed_server.requests) == 1
    feed_server.route("/feed", body=rss_feed([ENTRY_A]))
    outputs, state3, _ = poll(url, state2, fetcher, NOW + dt.timedelta(minutes=61))
    assert len(items(outputs)) == 1 and state3.next_poll_after is None
    assert len(feed_server.requests) == 2


# ------------------------------------------------------------------------- failures

def test_slow_feed_is_rejected_and_the_next_feed_is_still_polled(feed_server, make_fetcher):
    fetcher = make_fetcher(timeout=0.2)
    feed_server.route("/slow", Response(200, rss_feed([ENTRY_A]), delay=0.6))
    feed_server.route("/fast", body=rss_feed([ENTRY_B]))
    slow, state, stats = poll(feed_server.url("/slow"), None, fetcher)
    [reject] = rejects(slow)
    assert (reject["stage"], reject["input_uri"], reject["offset"]) == ("fetch", feed_server.url("/slow"), 0)
    assert reject["reason"] == "timed out after 0.2 s (read)"
    assert reject["raw_encoding"] == "json" and '"url":' in reject["raw"]
    assert state.consecutive_failures == 1 and stats["errors"] == 1
    fast, _, _ = poll(feed_server.url("/fast"), None, fetcher)
    assert len(items(fast)) == 1


def test_oversized_feed_is_rejected(feed_server, make_fetcher):
    feed_server.route("/feed", body=rss_feed([ENTRY_A] * 20))
    outputs, _, _ = poll(feed_server.url("/feed"), None, make_fetcher(max_bytes=2000))
    assert rejects(outputs)[0]["reason"].startswith("response larger than 2000 bytes")


def test_redirect_loop_is_rejected(feed_server, fetcher):
    feed_server.redirect("/a", "/b", 302)
    feed_server.redirect("/b", "/a", 302)
    outputs, _, _ = poll(feed_server.url("/a"), None, fetcher)
    assert rejects(outputs)[0]["reason"] == "too many redirects (more than 5)"


def test_http_error_reject_keeps_status_and_body_prefix(feed_server, fetcher):
    feed_server.route("/feed", Response(500, b"<h1>database down</h1>"))
    outputs, state, _ = poll(feed_server.url("/feed"), None, fetcher)
    [reject] = rejects(outputs)
    assert reject["reason"] == "HTTP 500 Internal Server Error"
    assert "database down" in reject["raw"] and '"status":500' in reject["raw"]
    assert state.last_status == 500


def test_private_address_refused_without_the_flag(feed_server, make_fetcher):
    feed_server.route("/feed", body=rss_feed([ENTRY_A]))
    outputs, state, stats = poll(feed_server.url("/feed"), None, make_fetcher(allow_private_hosts=False))
    assert rejects(outputs)[0]["reason"] == ("refused: 127.0.0.1 is a loopback address "
                                            "(pass --allow-private-hosts to allow it)")
    assert stats["refused"] == 1 and stats["errors"] == 0 and feed_server.requests == []
    assert state.last_status is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed.xml"])
def test_non_http_feed_urls_are_rejected(url, fetcher):
    outputs, _, stats = poll(url, None, fetcher)
    scheme = url.split(":")[0]
    assert rejects(outputs)[0]["reason"] == f"only http and https URLs are fetched (got {scheme})"
    assert stats["refused"] == 1


def test_backoff_under_other_settings_or_before_retry_now_is_not_honoured(feed_server, fetcher):
    from pipeline.io.http import FetchSettings

    feed_server.route("/feed", Response(500))
    url = feed_server.url("/feed")
    before, after = FetchSettings().fingerprint(), FetchSettings(allow_private_hosts=True).fingerprint()
    assert before != after and FetchSettings(min_delay=5).fingerprint() == before  # politeness is not part of it
    outputs, state = poll_feed(url, None, fetcher, NOW, settings_key=before)
    assert state.consecutive_failures == 1 and state.failed_with == before
    soon = NOW + dt.timedelta(minutes=1)
    # same settings: backing off, no request
    hits = len(feed_server.requests)
    outputs, same = poll_feed(url, state, fetcher, soon, settings_key=before)
    assert skips(outputs) and len(feed_server.requests) == hits
    # other settings: polled, and the old failures do not count
    stats = collections.Counter()
    outputs, other = poll_feed(url, state, fetcher, soon, stats, settings_key=after)
    assert len(feed_server.requests) == hits + 1 and stats["backoff_reset"] == 1
    assert other.consecutive_failures == 1 and other.failed_with == after
    # --retry-now (retry_before: the run's start): polled once, a new failure counts on
    outputs, retried = poll_feed(url, state, fetcher, soon, settings_key=before, retry_before=soon)
    assert len(feed_server.requests) == hits + 2 and retried.consecutive_failures == 2
    # ... and within the same run the new back-off holds
    outputs, again = poll_feed(url, retried, fetcher, soon + dt.timedelta(seconds=5), settings_key=before,
                               retry_before=soon)
    assert skips(outputs) and len(feed_server.requests) == hits + 2
    # a state written before failed_with existed: its back-off holds (--retry-now lifts it)
    legacy = FeedState.from_dict({k: v for k, v in state.to_dict().items() if k != "failed_with"}, url)
    outputs, _ = poll_feed(url, legacy, fetcher, soon, settings_key=after)
    assert skips(outputs) and len(feed_server.requests) == hits + 2


def test_repeated_failures_back_off_exponentially_and_success_resets(feed_server, fetcher):
    feed_server.route("/feed", Response(500))
    url = feed_server.url("/feed")
    state, now = None, NOW
    for failures, rest in ((1, 15), (2, 30), (3, 60)):
        outputs, state, _ = poll(url, state, fetcher, now)
        assert rejects(outputs) and state.consecutive_failures == failures
        resume = now + dt.timedelta(minutes=rest)
        assert state.next_poll_after == resume.strftime("%Y-%m-%dT%H:%M:%SZ")
        hits = len(feed_server.requests)
        outputs, state, stats = poll(url, state, fetcher, resume - dt.timedelta(minutes=1))
        assert skips(outputs) == [f"backing off after failed polls (--retry-now polls it anyway) until "
                                  f"{state.next_poll_after} after {failures} consecutive failures"]
        assert len(feed_server.requests) == hits and stats["backing_off"] == 1
        now = resume
    feed_server.route("/feed", body=rss_feed([ENTRY_A]))
    outputs, state, _ = poll(url, state, fetcher, now)
    assert items(outputs) and state.consecutive_failures == 0 and state.next_poll_after is None
    assert backoff_delay(50) == dt.timedelta(hours=16)


def test_feed_without_entries_and_garbage_are_accounted_for(feed_server, fetcher):
    feed_server.route("/empty", body=rss_feed([]))
    feed_server.route("/html", body=b"<html><body><p>Log in</p></body></html>",
                      headers={"Content-Type": "text/html"})
    empty, _, _ = poll(feed_server.url("/empty"), None, fetcher)
    assert skips(empty) == ["feed has no entries"]
    html, _, _ = poll(feed_server.url("/html"), None, fetcher)
    assert len(html) == 1 and (rejects(html) or skips(html))


def test_a_body_naming_a_local_file_is_not_read_from_disk(feed_server, fetcher, tmp_path):
    local = tmp_path / "local.xml"
    local.write_bytes(rss_feed([{"guid": "secret", "title": "SECRET from local disk",
                                 "description": "secret"}]))
    feed_server.route("/feed", body=str(local).encode())
    outputs, _, _ = poll(feed_server.url("/feed"), None, fetcher)
    assert items(outputs) == []
    assert "SECRET" not in repr(outputs)


def test_relative_entry_links_resolve_against_the_fetched_url(feed_server, fetcher):
    feed_server.route("/news/feed", body=atom_feed([{"id": "urn:r", "link": "story.html", "title": "T",
                                                     "content": "<p>Body text.</p>"}]))
    outputs, _, _ = poll(feed_server.url("/news/feed"), None, fetcher)
    assert items(outputs)[0]["url"] == feed_server.url("/news/story.html")


def test_unexpected_error_is_one_reject_and_the_state_is_kept(fetcher):
    class Broken:
        def fetch(self, *_a, **_k):
            raise RuntimeError("boom")

    state = FeedState(url="https://x.example/feed", etag='"1"')
    outputs, new_state = poll_feed(state.url, state, Broken(), NOW)
    assert len(outputs) == 1 and "newsbeam bug" in outputs[0]["reason"]
    assert new_state == state


# ------------------------------------------------------------------------- article pages

def test_needs_article():
    assert needs_article({"url": "https://n.example/a", "summary_only": True, "text": LONG})
    assert not needs_article({"url": "https://n.example/a", "summary_only": False, "text": "short"})
    assert not needs_article({"url": None, "summary_only": True})
    assert not needs_article({"url": "mailto:x@example.com", "summary_only": True})
    # without the parser's flag: short text with a link is a summary
    assert needs_article({"url": "https://n.example/a", "text": "Short teaser."})
    assert needs_article({"url": "https://n.example/a", "html": "<p>Short teaser.</p>"})
    assert not needs_article({"url": "https://n.example/a", "text": LONG})


def test_summary_only_entry_gets_its_article_page(feed_server, fetcher):
    page = f"<html><head><title>Page title</title></head><body><article><p>{LONG}</p></article></body></html>"
    feed_server.route("/article", body=page.encode("cp1252"),
                      headers={"Content-Type": "text/html; charset=windows-1252"})
    item = {"input_uri": "f", "offset": 1, "url": feed_server.url("/article"), "title": "Feed title",
            "published_at": "2024-03-12T10:00:00Z", "authors": ["A. Writer"], "text": None,
            "html": "<p>Teaser.</p>", "summary_only": True, "warnings": [], "fetched_at": "2024-03-12T18:00:00Z"}
    stats = collections.Counter()
    out = fetch_article(item, fetcher, NOW, stats)
    assert out["html"] == page and out["summary_only"] is False
    assert (out["title"], out["published_at"], out["authors"], out["url"]) == (
        "Feed title", "2024-03-12T10:00:00Z", ["A. Writer"], item["url"])
    assert out["text"] == "Teaser." and out["fetched_at"] == "2024-03-12T18:30:00Z"
    assert stats["articles_fetched"] == 1 and out["warnings"] == []
    assert feed_server.requests[0].header("Accept").startswith("text/html")


@pytest.mark.parametrize("response,problem", [
    (Response(404, b"gone"), "HTTP 404 Not Found"),
    (Response(200, b"%PDF-1.4", headers={"Content-Type": "application/pdf"}), "not an HTML page (application/pdf)"),
])
def test_failed_article_fetch_keeps_the_summary_with_a_warning(feed_server, fetcher, response, problem):
    feed_server.route("/article", response)
    item = {"url": feed_server.url("/article"), "text": "Teaser.", "html": None, "summary_only": True,
            "warnings": ["feed parser warning: x"]}
    stats = collections.Counter()
    out = fetch_article(item, fetcher, NOW, stats)
    assert out["text"] == "Teaser." and out["html"] is None
    assert out["warnings"][0] == "feed parser warning: x"
    assert out["warnings"][1] == f"article page {item['url']} not fetched ({problem}); kept the feed's summary"
    assert stats["article_errors"] == 1


# ------------------------------------------------------------------------- feed lists

def test_plain_feed_list(tmp_path):
    path = tmp_path / "feeds.txt"
    path.write_text("# my feeds\n\nhttps://a.example/feed\n  https://b.example/rss  # nightly\n"
                    "https://a.example/feed\nhttps://c.example/atom#frag\n")
    assert read_feed_list(str(path)) == ["https://a.example/feed", "https://b.example/rss",
                                         "https://c.example/atom#frag"]


def test_opml_feed_list_nested_and_deduplicated(tmp_path):
    path = tmp_path / "feeds.opml"
    path.write_text("""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="News">
    <outline text="A" type="rss" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>
    <outline text="Tech"><outline text="B" xmlUrl="https://b.example/rss?x=1&amp;y=2"/></outline>
  </outline>
  <outline text="A again" xmlUrl="https://a.example/feed"/>
  <outline text="no feed" htmlUrl="https://c.example/"/>
  <outline text="odd case" xmlurl="https://d.example/feed"/>
</body></opml>""")
    assert read_feed_list(str(path)) == ["https://a.example/feed", "https://b.example/rss?x=1&y=2",
                                         "https://d.example/feed"]


def test_opml_with_entities_is_refused(tmp_path):
    path = tmp_path / "bomb.opml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                    '<opml><body><outline xmlUrl="https://x.example/&b;"/></body></opml>')
    with pytest.raises(FeedListError):
        read_feed_list(str(path))


@pytest.mark.parametrize("content,message", [
    ("# nothing here\n\n", "has no feed URLs"),
    ("<opml><body><outline text='x'/></body></opml>", "has no feed xmlUrl attributes"),
    ("<opml><body>", "is not valid OPML"),
])
def test_unusable_feed_lists_fail_at_build_time(tmp_path, content, message):
    path = tmp_path / "feeds"
    path.write_text(content)
    with pytest.raises(FeedListError, match=message):
        read_feed_list(str(path))


def test_missing_feed_list(tmp_path):
    with pytest.raises(FeedListError, match="cannot read the feed list"):
        read_feed_list(str(tmp_path / "nope.txt"))


# ------------------------------------------------------------------------- Beam

def test_fetch_feeds_in_beam(feed_server, tmp_path):
    teaser = {"guid": "urn:t", "link": feed_server.url("/articles/t"), "title": "Teaser",
              "description": "Short teaser."}
    feed_server.route("/a.xml", body=rss_feed([ENTRY_A, teaser]), headers={"ETag": '"a1"'})
    feed_server.route("/b.xml", body=rss_feed([ENTRY_B]))
    feed_server.route("/gone.xml", Response(410))
    feed_server.route("/articles/t", body=f"<html><body><p>{LONG}</p></body></html>".encode(),
                      headers={"Content-Type": "text/html; charset=utf-8"})
    a, b, gone = feed_server.url("/a.xml"), feed_server.url("/b.xml"), feed_server.url("/gone.xml")
    bad = "ftp://files.example/feed.xml"
    with Fetcher(FetchSettings(allow_private_hosts=True, min_delay=0)) as first_run:
        _, known_b, _ = poll(b, None, first_run)  # b was ingested by an earlier run
    settings = FetchSettings(allow_private_hosts=True, min_delay=0.0, timeout=2.0)
    staging = tmp_path / "staging"
    staging.mkdir()

    pipeline = TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    out = pipeline | "Feeds" >> FetchFeeds([a, b, gone, bad, a], {b: known_b}, settings, fetch_articles=True)
    summary = out.items[0] | "Summarise" >> beam.Map(
        lambda i: (i["entry_id"], i["input_uri"], bool(i["html"] and LONG in i["html"])))
    assert_that(summary, equal_to([("urn:a", a, True), ("urn:t", a, True)]), label="Items")
    assert_that(out.skipped | "Reasons" >> beam.Map(lambda s: (s["input_uri"], s["skipped"])),
                equal_to([(b, SKIP_KNOWN), (gone, SKIP_GONE)]), label="Skipped")
    assert_that(out.rejects | "Rejected" >> beam.Map(lambda r: (r["stage"], r["input_uri"])),
                equal_to([("fetch", bad)]), label="Rejects")
    assert_that(out.states | "Urls" >> beam.Keys(), equal_to([a, b, gone, bad]), label="States")
    out.states | "Save" >> WriteFeedStates(str(staging))
    result = pipeline.run()
    result.wait_until_finish()

    counters = collections.Counter()  # summed over steps: polls and page fetches both count
    for c in result.metrics().query(MetricsFilter().with_namespace("fetch"))["counters"]:
        counters[c.key.metric.name] += c.committed
    assert counters["requests"] == 4  # a, b, gone, the article page; ftp is refused unsent
    assert (counters["entries"], counters["skipped_known"], counters["refused"]) == (2, 1, 1)
    assert counters["articles_fetched"] == 1
    assert len(feed_server.requests_to("/a.xml")) == 1  # listed twice, polled once

    store = FeedStateStore(str(tmp_path / "_state"))
    store.save({"https://other.example/feed": FeedState(url="https://other.example/feed")})
    merged = merge_states(store, str(staging))
    assert set(merged) == {a, b, gone, bad, "https://other.example/feed"}
    assert merged[a].etag == '"a1"' and list(merged[a].entries) == ["urn:a", "urn:t"]
    assert merged[gone].status == "gone" and merged[bad].consecutive_failures == 1
    assert store.load() == merged


def test_polled_feed_reads_at_most_max_feed_entries(feed_server, fetcher):
    """--max-feed-entries holds for polled feeds as for feed files: the rest is one reject naming the flag."""
    feed_server.route("/feed", body=rss_feed([ENTRY_A, ENTRY_B]))
    stats = collections.Counter()
    outputs, _state = poll_feed(feed_server.url("/feed"), None, fetcher, NOW, stats, max_feed_entries=1)
    assert [i["entry_id"] for i in items(outputs)] == ["urn:a"]
    (reject,) = rejects(outputs)
    assert "over --max-feed-entries 1" in reject["reason"]


def test_fetch_feeds_passes_the_runs_feed_entry_limit(feed_server):
    from pipeline.limits import Limits

    feed_server.route("/feed", body=rss_feed([ENTRY_A, ENTRY_B]))
    url = feed_server.url("/feed")
    settings = FetchSettings(min_delay=0.0, allow_private_hosts=True)
    pipeline = TestPipeline(options=PipelineOptions(runner="FnApiRunner"))
    out = pipeline | FetchFeeds([url], {}, settings, limits=Limits(max_feed_entries=1))
    assert_that(out.items[0] | "Ids" >> beam.Map(lambda i: i["entry_id"]), equal_to(["urn:a"]), label="Items")
    assert_that(out.rejects | "Why" >> beam.Map(lambda r: "--max-feed-entries 1" in r["reason"]),
                equal_to([True]), label="Rejects")
    pipeline.run().wait_until_finish()


def test_a_refused_permanent_redirect_does_not_move_the_feed(feed_server, make_fetcher, monkeypatch):
    """A 301 to a private address (issue 23): refused, a reject naming --allow-private-hosts, and
    the feed keeps its URL; on 153e593 the private address became ``current_url``, the listed URL
    was never polled again and a later --allow-private-hosts run fetched the private address."""
    from pipeline.io import http as http_mod

    real = http_mod.address_problem  # the test server's loopback counts as public; 10/8 stays private
    monkeypatch.setattr(http_mod, "address_problem", lambda a: None if a == "127.0.0.1" else real(a))
    feed_server.redirect("/feed", "http://10.0.0.5/internal", 301)
    url = feed_server.url("/feed")
    outputs, state, stats = poll(url, None, make_fetcher(allow_private_hosts=False))
    [reject] = rejects(outputs)
    assert "10.0.0.5 is a private address" in reject["reason"] and "--allow-private-hosts" in reject["reason"]
    assert state.current_url in (None, url), state.current_url
    # the next poll asks the listed URL again (after the back-off), never the private address
    feed_server.route("/feed", body=rss_feed([ENTRY_A]))
    later = NOW + backoff_delay(state.consecutive_failures) + dt.timedelta(seconds=1)
    outputs, state, _ = poll(url, state, make_fetcher(allow_private_hosts=False, now=later), now=later)
    assert [o["title"] for o in items(outputs)] == [ENTRY_A["title"]]
    assert len(feed_server.requests_to("/feed")) == 2


def test_a_permanent_redirect_that_fails_does_not_move_the_feed(feed_server, fetcher):
    feed_server.redirect("/feed", "/broken", 301)
    feed_server.route("/broken", Response(500))
    url = feed_server.url("/feed")
    _, state, _ = poll(url, None, fetcher)
    assert state.current_url in (None, url), state.current_url
