"""A feed that failed backs off (15 min, 30 min, ...): the way out, end to end, batch and streaming.

* The skip reason names how to reset the back-off (``--retry-now``), and ``--retry-now`` polls a
  backing-off feed once in that run (a failure in that run backs off again, even in a stream).
* Failures recorded under other fetch settings (``--allow-private-hosts``, ``--fetch-timeout``, ...)
  do not hold the feed back: the first run refused the private host, the second allows it.

Before, the second run of either case reported "skipped 1: backing off until ..." for 15 minutes
with no hint how to reset it. These runs are about feed state, not NER: --no-entities for speed.
"""
import json
import subprocess
import sys

from tests.conftest import REPO
from tests.io.feedserver import FeedServer, Response, rss_feed
from tests.test_cli import manifest, newsbeam

BODY = ("<p>The harbour authority approved a new ferry terminal on Monday after three years of "
        "planning, officials said.</p><p>Construction of the terminal, which will serve two new "
        "electric ferries, is expected to begin in June and to take eighteen months.</p>")
FEED = rss_feed([{"guid": "ferry", "title": "Ferry terminal approved", "link": "https://news.example/ferry",
                  "content": BODY, "pubDate": "Mon, 01 Apr 2024 09:00:00 GMT"}])


def batch(feeds, out, *extra):
    return newsbeam("run", "--feeds", feeds, "--output", out, "--no-entities", "--no-quality",
                    "--host-delay", "0", *extra)


def stream(feeds, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--feeds", str(feeds), "--output", str(out),
         "--no-entities", "--no-quality", "--host-delay", "0", "--poll-interval", "1", "--stop-after", "6",
         *map(str, extra)],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def backing_off(out) -> list[str]:
    return [reason for reason in manifest(out)["skipped_by_reason"] if reason.startswith("backing off")]


def feed_state(out, url) -> dict:
    return json.loads((out / "_state" / "feeds.json").read_text())["feeds"][url]


def test_batch_changed_fetch_settings_reset_the_backoff(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        server.route("/news.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/news.xml") + "\n")
        first = batch(feeds, out)  # 127.0.0.1 is refused without --allow-private-hosts
        assert first.returncode == 0, first.stderr[-3000:]
        assert manifest(out)["counts"]["rejects"] == 1 and feed_state(out, server.url("/news.xml"))["consecutive_failures"] == 1
        second = batch(feeds, out, "--allow-private-hosts")
        assert second.returncode == 0, second.stderr[-3000:]
        assert backing_off(out) == [], second.stdout
        assert manifest(out)["counts"]["articles"] == 1
        assert len(server.requests_to("/news.xml")) == 1
        state = feed_state(out, server.url("/news.xml"))
        assert state["consecutive_failures"] == 0 and state["next_poll_after"] is None


def test_batch_backoff_names_its_reset_and_retry_now_polls_once(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        server.route("/news.xml", Response(500))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/news.xml") + "\n")
        first = batch(feeds, out, "--allow-private-hosts")
        assert first.returncode == 0 and manifest(out)["counts"]["rejects"] == 1, first.stderr[-3000:]
        # the same settings: backing off, and the reason says how to poll it anyway
        second = batch(feeds, out, "--allow-private-hosts")
        [reason] = backing_off(out)
        assert "--retry-now" in reason and "--retry-now" in second.stdout
        assert len(server.requests_to("/news.xml")) == 1
        # the server is back; --retry-now polls it in spite of the back-off
        server.route("/news.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
        third = batch(feeds, out, "--allow-private-hosts", "--retry-now")
        assert third.returncode == 0, third.stderr[-3000:]
        assert backing_off(out) == [] and manifest(out)["counts"]["articles"] == 1
        assert len(server.requests_to("/news.xml")) == 2
        assert feed_state(out, server.url("/news.xml"))["consecutive_failures"] == 0


def test_streaming_changed_fetch_settings_reset_the_backoff(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        server.route("/news.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/news.xml") + "\n")
        first = stream(feeds, out)
        assert first.returncode == 0, first.stderr[-3000:]
        assert manifest(out)["counts"]["rejects"] >= 1 and manifest(out)["counts"]["articles"] == 0
        second = stream(feeds, out, "--allow-private-hosts")
        assert second.returncode == 0, second.stderr[-3000:]
        assert backing_off(out) == [], second.stdout
        assert manifest(out)["counts"]["articles"] == 1


def test_streaming_retry_now_polls_a_backing_off_feed_once_per_run(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        server.route("/news.xml", Response(500))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/news.xml") + "\n")
        first = stream(feeds, out, "--allow-private-hosts")
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(server.requests_to("/news.xml")) == 1  # then it backs off for the rest of the run
        [reason] = backing_off(out)
        assert "--retry-now" in reason and "--retry-now" in first.stdout
        # --retry-now while the server still fails: one request, then backing off again (not every poll)
        second = stream(feeds, out, "--allow-private-hosts", "--retry-now")
        assert second.returncode == 0, second.stderr[-3000:]
        assert len(server.requests_to("/news.xml")) == 2
        assert feed_state(out, server.url("/news.xml"))["consecutive_failures"] == 2
        # the server is back: --retry-now ingests at once
        server.route("/news.xml", body=FEED, headers={"Content-Type": "application/rss+xml"})
        third = stream(feeds, out, "--allow-private-hosts", "--retry-now")
        assert third.returncode == 0, third.stderr[-3000:]
        assert manifest(out)["counts"]["articles"] == 1 and backing_off(out) == []
        assert feed_state(out, server.url("/news.xml"))["consecutive_failures"] == 0
