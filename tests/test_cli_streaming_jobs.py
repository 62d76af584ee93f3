"""A local stream as a series of jobs, each in its own child process (``--segment-seconds``).

What a user relies on: nothing is lost or ingested twice across job boundaries, dedup remembers
what earlier jobs wrote, the run ends with a complete manifest, a failing job fails the run
(instead of hanging), Ctrl-C still leaves a final manifest and no process behind, and a killed
``newsbeam`` takes its running job with it.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO
from tests.io.feedserver import FeedServer, Response, rss_feed
from tests.test_cli_streaming import rows

WORDS = ("harbour ferry council budget storm road school market energy wind court judge police hospital "
         "library bridge station river farmer price solar cable port mayor grant teacher nurse train "
         "museum festival election minister airport tunnel housing rent water flood drought").split()


def story(n: int) -> dict:
    """A feed entry whose text shares no 5-gram run with the other stories (random words)."""
    rnd = random.Random(n)
    text = " ".join(rnd.choice(WORDS) for _ in range(120)).capitalize() + "."
    return {"guid": f"story-{n}", "title": f"Story {n}", "link": f"https://jobs.example/{n}",
            "content": f"<p>{text}</p>", "pubDate": f"Mon, {n:02d} Apr 2024 09:00:00 GMT"}


def manifest_now(out) -> dict:
    try:
        return json.loads((out / "_manifest.json").read_text())
    except (OSError, ValueError):
        return {}


class GrowingFeed:
    """One more story per request until all ``originals`` are out; then, once the live manifest
    says a later job is running, an edited re-post of story 1 (so its dedup decision is taken
    in another job than story 1's). ETag by content: an unchanged feed answers 304."""

    def __init__(self, originals: int, out):
        self.stories = [story(n) for n in range(1, originals + 1)]
        first = self.stories[0]
        self.repost = dict(first, guid="story-1-repost", link="https://jobs.example/1-repost",
                           title="Story 1 (updated)", content=first["content"].replace("</p>", " Updated.</p>"))
        self.out = out
        self.requests = 0
        self.shown = 0
        self.reposted_in_job = None

    def __call__(self, request):
        self.requests += 1
        self.shown = min(self.shown + 1, len(self.stories))
        entries = self.stories[:self.shown]
        if self.shown == len(self.stories):
            job = manifest_now(self.out).get("jobs", 0)
            if self.reposted_in_job is None and job >= 2:
                self.reposted_in_job = job
            if self.reposted_in_job is not None:
                entries = entries + [self.repost]
        etag = f'W/"{len(entries)}"'
        if request.header("If-None-Match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(200, rss_feed(entries), headers={"ETag": etag, "Content-Type": "application/rss+xml"})


def feed_list(server, tmp_path, handler):
    """Serve ``handler`` (a Response or a callable) at /feed.xml; the feed-list file naming it."""
    server.route("/feed.xml", handler)
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(server.url("/feed.xml") + "\n")
    return feeds


def session_alive(pid: int) -> bool:
    """Whether any process of the session ``pid`` leads (driver or job) is still there."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stream(feeds, out, *extra, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--feeds", str(feeds),
         "--allow-private-hosts", "--host-delay", "0", "--poll-interval", "1", "--output", str(out),
         "--no-entities", "--no-quality", *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(predicate, proc, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None and not predicate():
        time.sleep(0.3)
    return predicate()


def test_jobs_in_child_processes_lose_nothing_and_ingest_nothing_twice(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        feed = GrowingFeed(6, out)
        feeds = feed_list(server, tmp_path, feed)
        proc = stream(feeds, out, "--segment-seconds", "3", "--stop-after", "60")
        try:
            _stdout, stderr = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()

    assert proc.returncode == 0, stderr[-3000:]
    assert feed.reposted_in_job is not None and feed.reposted_in_job >= 2, \
        f"the run ended before a second job polled the full feed ({feed.requests} requests)"
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "complete" and m["jobs"] >= 2
    # every story exactly once, although every poll of a changed feed returns the earlier ones too
    articles = rows(out, "articles")
    assert sorted(r["url"] for r in articles) == sorted(f"https://jobs.example/{n}" for n in range(1, 7))
    # the re-post, seen by a later job, is a duplicate of story 1, which an earlier job wrote
    [repost] = rows(out, "duplicates")
    first = next(r for r in articles if r["url"] == "https://jobs.example/1")
    assert repost["url"] == "https://jobs.example/1-repost" and repost["duplicate_of"] == first["id"]
    c = m["counts"]
    assert m["conservation"]["holds"] and c["inputs"] == c["articles"] + c["duplicates"] + c["rejects"] + c["skipped"]
    assert (c["articles"], c["duplicates"], c["rejects"]) == (6, 1, 0)
    assert m["skipped_by_reason"].get("already ingested", 0) > 0  # earlier stories re-served, skipped


def test_a_failing_job_fails_the_run_with_a_message(tmp_path):
    """The feed list disappears after the first job: the next job cannot start."""
    out = tmp_path / "out"
    with FeedServer() as server:
        feeds = feed_list(server, tmp_path, Response(200, rss_feed([story(1)]), headers={"ETag": 'W/"1"'}))
        proc = stream(feeds, out, "--segment-seconds", "2", "--stop-after", "60")
        try:
            assert wait_for(lambda: rows(out, "articles"), proc), "no article landed"
            feeds.unlink()
            _stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 1, stderr[-3000:]
    assert "cannot read the feed list" in stderr and "exited with code 2" in stderr
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "failed" and "exited with code 2" in m["error"] and m["jobs"] >= 2
    assert [r["url"] for r in rows(out, "articles")] == ["https://jobs.example/1"]  # what landed stays


def test_ctrl_c_ends_driver_and_job_with_a_final_manifest(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        feeds = feed_list(server, tmp_path, Response(200, rss_feed([story(1), story(2)]), headers={"ETag": 'W/"2"'}))
        # its own session, so the SIGINT goes to the driver and its job as a terminal's Ctrl-C would;
        # with SIGINT's default disposition, as a terminal's foreground job has it: a shell without
        # job control starts background commands (CI scripts run as `... &`) with SIGINT ignored,
        # the children inherit that, and Python then installs no KeyboardInterrupt handler at all
        proc = stream(feeds, out, "--segment-seconds", "4", start_new_session=True,
                      preexec_fn=_default_sigint)
        try:
            assert wait_for(lambda: len(rows(out, "articles")) == 2, proc), "the articles did not land"
            os.killpg(proc.pid, signal.SIGINT)
            _stdout, stderr = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "complete" and "interrupted" in stderr
    assert proc.returncode == (0 if m["conservation"]["holds"] else 3), stderr[-3000:]
    assert m["counts"]["articles"] == 2
    assert not session_alive(proc.pid), "a process of the run was still alive after it exited"


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_sigterm_to_the_driver_stops_the_run_like_ctrl_c(tmp_path):
    """``docker stop`` / ``kill PID``: SIGTERM to the driver alone, in a background service where
    SIGINT is ignored; the job is stopped too and the final manifest is written."""
    out = tmp_path / "out"
    with FeedServer() as server:
        feeds = feed_list(server, tmp_path, Response(200, rss_feed([story(1), story(2)]), headers={"ETag": 'W/"2"'}))
        proc = stream(feeds, out, "--segment-seconds", "4", start_new_session=True, preexec_fn=_ignore_sigint)
        try:
            assert wait_for(lambda: len(rows(out, "articles")) == 2, proc), "the articles did not land"
            proc.terminate()
            _stdout, stderr = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "complete" and "interrupted" in stderr, stderr[-3000:]
    assert proc.returncode == (0 if m["conservation"]["holds"] else 3), stderr[-3000:]
    assert m["counts"]["articles"] == 2
    deadline = time.monotonic() + 10
    while session_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not session_alive(proc.pid), "the job outlived its driver"


def test_a_killed_driver_takes_its_job_with_it(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        feeds = feed_list(server, tmp_path, Response(200, rss_feed([story(1)]), headers={"ETag": 'W/"1"'}))
        proc = stream(feeds, out, "--segment-seconds", "3", start_new_session=True)
        try:  # once the first segment is committed, a later segment's job is running
            assert wait_for(lambda: rows(out, "articles"), proc), "no article landed"
            proc.kill()  # SIGKILL: no handler runs in the driver
            proc.communicate(timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if not session_alive(proc.pid):  # the job, if it outlived the driver
                    break
                time.sleep(0.3)
            else:
                raise AssertionError("the segment job kept running after its driver was killed")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_job_that_ends_before_its_segment_does_not_bring_the_next_poll_forward(tmp_path):
    """A segment is rounded up to whole poll intervals so a new job never polls early; but a job
    ends as soon as its last tick is handled. Before, the next job started at once: with one poll
    per segment (the default --poll-interval 300 > --segment-seconds 120) every feed was polled
    each time a job had started (seconds apart), not every --poll-interval. Counted, not timed:
    a 15 s interval over 30 s is two polls."""
    out = tmp_path / "out"
    with FeedServer() as server:
        feeds = feed_list(server, tmp_path, Response(200, rss_feed([story(1)]), headers={"ETag": 'W/"1"'}))
        proc = stream(feeds, out, "--poll-interval", "15", "--segment-seconds", "1", "--stop-after", "30")
        try:
            _stdout, stderr = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
        requests = server.requests_to("/feed.xml")
    assert proc.returncode == 0, stderr[-3000:]
    assert len(requests) == 2, [r.time for r in requests]
    m = json.loads((out / "_manifest.json").read_text())
    assert m["polls"] == 2 and m["jobs"] == 2 and m["counts"]["articles"] == 1
