"""`newsbeam run --streaming` against a local feed server whose feed changes during the run."""
import json
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import REPO, table_rows
from tests.io.feedserver import FeedServer, Response, rss_feed
from tests.test_cli import newsbeam

FERRY = ("<p>The harbour authority approved a new ferry terminal on Monday after three years of planning, "
         "officials said, ending a long dispute with residents of the old port district.</p>"
         "<p>Construction of the terminal, which will serve two new electric ferries, is expected to begin "
         "in June and to take eighteen months, according to the authority's director.</p>"
         "<p>Opponents said the project would increase traffic on the coastal road, but the council rejected "
         "their appeal last week by a large majority.</p>")
LIBRARY = ("<p>City libraries will open on Sunday afternoons from next month, the culture office announced, "
           "after a survey of more than four thousand residents asked for longer opening hours.</p>"
           "<p>The pilot will run for a year before the council decides whether to keep it, and will cost "
           "about two hundred thousand euros in staff time.</p>")
MARKET = ("<p>The covered market on the main square reopened on Saturday after a renovation that replaced "
          "the leaking glass roof and added stalls for twenty local producers.</p>"
          "<p>Traders said the first day brought more customers than any weekend last year, and the mayor "
          "promised free parking on Saturdays until the end of the summer.</p>")


def entry(guid, title, body, day):
    return {"guid": guid, "title": title, "link": f"https://news.example/{guid}", "content": body,
            "pubDate": f"Mon, {day:02d} Apr 2024 09:00:00 GMT"}


class ChangingFeed:
    """A feed whose ETag changes with its entries; answers 304 to a matching If-None-Match."""

    def __init__(self, entries):
        self.entries = list(entries)

    @property
    def etag(self):
        return f'W/"v{len(self.entries)}"'

    def __call__(self, request):
        if request.header("If-None-Match") == self.etag:
            return Response(304, headers={"ETag": self.etag})
        return Response(200, rss_feed(self.entries), headers={"ETag": self.etag,
                                                              "Content-Type": "application/rss+xml"})


def rows(out, dataset):
    """What a reader sees of a stream's dataset now: its table's committed rows (a local stream
    commits each segment), or the folder files a managed runner's stream writes."""
    if (out / "_catalog.db").is_file():
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return table_rows(out, dataset)
        except NoSuchTableError:  # nothing committed yet
            return []
    files = list((out / dataset).glob("**/*.parquet"))
    if not files:
        return []
    return duckdb.sql(f"select * from read_parquet('{out}/{dataset}/**/*.parquet', hive_partitioning=true)"
                      ).to_arrow_table().to_pylist()


def test_streaming_run_writes_while_running_dedups_reposts_and_polls_conditionally(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        feed = ChangingFeed([entry("ferry", "Ferry terminal approved", FERRY, 1),
                             entry("library", "Libraries open on Sundays", LIBRARY, 2)])
        server.route("/news.xml", feed)
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/news.xml") + "\n")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--feeds", str(feeds),
             "--allow-private-hosts", "--poll-interval", "2", "--stop-after", "90", "--output", str(out),
             "--host-delay", "0", "--segment-seconds", "4"],  # a commit every 4 s: readers see segments  # entities on (the default): they crashed every streaming run before
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen_new_while_running = False
            deadline = time.monotonic() + 75
            while time.monotonic() < deadline and not rows(out, "articles"):
                time.sleep(0.5)
            assert rows(out, "articles"), "no article was committed in the first 75 s"
            # a new story appears in the feed while the job runs
            feed.entries.append(entry("market", "Covered market reopens", MARKET, 3))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                if any(r["url"] == "https://news.example/market" for r in rows(out, "articles")):
                    seen_new_while_running = proc.poll() is None
                    break
                time.sleep(0.5)
            assert seen_new_while_running, "the new entry was not readable in OUT/articles while the run was going"
            # the ferry story re-posted under a new guid, slightly edited
            feed.entries.append(entry("ferry-update", "Ferry terminal approved (updated)",
                                      FERRY.replace("on Monday", "on Monday evening"), 4))
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        requests = server.requests_to("/news.xml")

    assert proc.returncode == 0, stderr[-3000:]
    articles = rows(out, "articles")
    dups = rows(out, "duplicates")
    assert sorted(r["url"] for r in articles) == ["https://news.example/ferry", "https://news.example/library",
                                                  "https://news.example/market"]
    [repost] = dups
    ferry = next(r for r in articles if r["url"].endswith("/ferry"))
    assert repost["url"] == "https://news.example/ferry-update" and repost["duplicate_of"] == ferry["id"]
    assert repost["kind"] == "near"
    # conditional polling: the ETag went back, and unchanged polls cost a 304
    statuses = [r.header("If-None-Match") for r in requests]
    assert len(requests) >= 10 and sum(1 for s in statuses if s) >= len(requests) - 1
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "complete" and m["mode"] == "streaming"
    assert m["skipped_by_reason"].get("not modified (304)", 0) >= 5
    c = m["counts"]
    assert m["conservation"]["holds"] and c["inputs"] == c["articles"] + c["duplicates"] + c["rejects"] + c["skipped"]
    assert c["articles"] == 3 and c["duplicates"] == 1
    assert "polls" in stderr and "articles" in stderr  # the status line
    # NER ran on every article (not skipped); the rows arrived in several segment commits
    assert all(r["provenance"]["entities"] is None for r in articles)
    assert m["layout"] == "tables" and m["commit"]["segments"] >= 2


def test_streaming_needs_an_unbounded_source(tmp_path):
    result = newsbeam("run", "--streaming", "--output", tmp_path / "out")
    assert result.returncode == 2 and "--streaming needs a source" in result.stderr
    result = newsbeam("run", "--watch", str(tmp_path / "*.json"), "--output", tmp_path / "out")
    assert result.returncode == 2 and "add --streaming" in result.stderr


def test_a_zero_interval_is_a_usage_error_not_a_failed_job(tmp_path):
    result = newsbeam("run", "--streaming", "--watch", str(tmp_path / "*.json"), "--watch-interval", "0",
                      "--stop-after", "5", "--output", tmp_path / "out")
    assert result.returncode == 2 and "--watch-interval must be a number of seconds above 0" in result.stderr


def test_watched_folder_new_files_are_ingested_while_running(tmp_path):
    """Also across the local runner's job segments (--segment-seconds 10): the second segment
    neither re-reads a.json nor forgets it for dedup."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "out"
    first = {"url": "https://wire.example/ferry", "title": "Ferry terminal approved", "text": FERRY.replace("<p>", "").replace("</p>", "\n\n"),
             "published_at": "2024-04-01T09:00:00Z"}
    (inbox / "a.json").write_text(json.dumps(first))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--watch", str(inbox / "*.json"),
         "--watch-interval", "1", "--stop-after", "90", "--segment-seconds", "10", "--output", str(out),
         "--no-quality"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline and not rows(out, "articles"):
            time.sleep(0.5)
        assert [r["url"] for r in rows(out, "articles")] == [first["url"]]  # committed by the first segment
        while proc.poll() is None and live_jobs(out) < 2:  # into the second segment
            time.sleep(0.5)
        assert live_jobs(out) >= 2, "the run ended before its second segment"
        # a new file, and an exact copy of the first under another name
        second = dict(first, url="https://wire.example/library", title="Libraries",
                      text=LIBRARY.replace("<p>", "").replace("</p>", "\n\n"))
        (inbox / "b.json").write_text(json.dumps(second))
        (inbox / "c.json").write_text(json.dumps(dict(first, url="https://copy.example/ferry")))
        _stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert sorted(r["url"] for r in rows(out, "articles")) == [first["url"], "https://wire.example/library"]
    [dup] = rows(out, "duplicates")
    assert dup["url"] == "https://copy.example/ferry" and dup["kind"] == "exact"
    m = json.loads((out / "_manifest.json").read_text())
    assert m["counts"]["inputs"] == 3 and m["conservation"]["holds"]
    assert all(r["provenance"]["entities"] is None for r in rows(out, "articles"))  # NER ran


def test_watch_with_default_options_sees_files_added_while_running(tmp_path):
    """The README's command as written: no interval given, entities on. Before, --watch used the
    feeds' --poll-interval (300 s): one scan at the start, files added later never ingested."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "out"
    named = "Mayor Anne Hidalgo told reporters in Paris on Friday that the plan had her full support."
    body = lambda text: text.replace("<p>", "").replace("</p>", "\n\n") + named
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--watch", str(inbox / "*"),
         "--stop-after", "20", "--output", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for at, name, url, text in ((6, "a.json", "https://wire.example/ferry", FERRY),
                                    (11, "b.json", "https://wire.example/library", LIBRARY)):
            time.sleep(max(0.0, started + at - time.monotonic()))
            (inbox / name).write_text(json.dumps({"url": url, "title": name, "text": body(text),
                                                  "published_at": "2024-04-01T09:00:00Z"}))
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    articles = rows(out, "articles")
    assert sorted(r["url"] for r in articles) == ["https://wire.example/ferry", "https://wire.example/library"]
    assert all({"Anne Hidalgo", "Paris"} <= {e["canonical"] for e in r["entities"]} for r in articles)
    assert len(rows(out, "entities")) >= 4
    m = json.loads((out / "_manifest.json").read_text())
    assert m["status"] == "complete" and m["conservation"]["holds"] and m["counts"]["inputs"] == 2
    # folder scans are counted next to feed polls: in the manifest, the status line and the summary
    assert m["polls"] == 0 and m["scans"] >= 3, m
    assert "scans" in stderr and f"scans: {m['scans']}" in stdout


def live_jobs(out) -> int:
    try:
        return json.loads((out / "_manifest.json").read_text()).get("jobs", 0)
    except (OSError, ValueError):
        return 0


def test_pubsub_source_is_built_into_the_streaming_graph(tmp_path):
    """Pub/Sub needs Google Cloud to run; here the graph is built and its read step checked."""
    import apache_beam as beam

    from pipeline import graph
    from pipeline.options import NewsbeamOptions

    options = NewsbeamOptions(["--streaming", "--pubsub-subscription", "projects/my-project/subscriptions/news",
                               "--output", str(tmp_path)])  # default options: entities on
    p = beam.Pipeline(options=options)
    graph.build_streaming(p, options, str(tmp_path), str(tmp_path / "_state"), start=time.time())
    proto = p.to_runner_api()
    urns = {t.spec.urn for t in proto.components.transforms.values()}
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert "beam:transform:pubsub_read:v1" in urns
    assert {"StreamingDedup", "WriteArticles", "WriteDuplicates", "EventTime", "Entities/NER"} <= names
