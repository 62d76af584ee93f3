"""Streaming soak: a local feed that publishes a new item every second, polled for N minutes.

Usage (from the repository root, virtualenv active)::

    python bench/soak.py [--minutes 10] [--poll-interval 2] [--segment-seconds S] [--json OUT]

A feed server on 127.0.0.1 keeps the newest 50 items of a feed that gains one item per second
(every tenth item re-posts an earlier one with a word changed, so dedup has work), and answers
304 to a matching ETag. ``newsbeam run --streaming --feeds ... --stop-after`` runs as a child
process, and so, locally, does each of its segment jobs: the resident memory of the whole
process tree (VmRSS from /proc, summed over the driver and all its descendants) is sampled every
``--sample-seconds``, each sample tagged with the job the manifest says is running. Reported:
RSS after the warm-up (first minute) and at the end, the maximum, the slope over the run after
warm-up, each job's peak and low (after its start-up) with the slopes of both over the jobs after warm-up, the
driver's own RSS, items published and what the final manifest accounts for.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
WORDS = ("harbour ferry council budget storm road school market energy wind court judge police hospital "
         "library bridge station river farmer price solar cable port mayor grant teacher nurse train "
         "museum festival election minister airport tunnel housing rent water flood drought").split()


class Feed:
    """One item per second since ``start``; the newest ``keep`` are in the document."""

    def __init__(self, keep: int = 50, seed: int = 1):
        self.start = time.time()
        self.keep = keep
        self.seed = seed
        self.lock = threading.Lock()

    def item(self, n: int) -> dict:
        rnd = random.Random(self.seed * 1_000_003 + (n - n % 10 if n % 10 == 9 else n))
        words = [rnd.choice(WORDS) for _ in range(120)]
        if n % 10 == 9:  # a re-post of item n - 9 with one word changed, under its own guid
            words[rnd.randrange(len(words))] = "updated"
        text = " ".join(words).capitalize() + "."
        return {"guid": f"item-{n}", "title": f"Story {n}", "link": f"https://soak.example/{n}",
                "content": f"<p>{escape(text)}</p>", "pubDate": formatdate(self.start + n, usegmt=True)}

    def count(self) -> int:
        return int(time.time() - self.start) + 1

    def document(self) -> tuple[bytes, str]:
        n = self.count()
        items = [self.item(i) for i in range(max(0, n - self.keep), n)]
        parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                 'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>soak</title>'
                 '<link>https://soak.example/</link><description>soak</description>']
        for it in reversed(items):
            parts.append(f"<item><guid isPermaLink=\"false\">{it['guid']}</guid><title>{it['title']}</title>"
                         f"<link>{it['link']}</link><pubDate>{it['pubDate']}</pubDate>"
                         f"<content:encoded>{escape(it['content'])}</content:encoded></item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode(), f'W/"n{n}"'


def serve(feed: Feed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):  # noqa: N802
            body, etag = feed.document()
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


WARMUP_SECONDS = 60


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # a zombie has no VmRSS


def parents() -> dict[int, int]:
    """``pid -> parent pid`` of every process now (from /proc/<pid>/stat)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        found[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ')'
    return found


def descendants(root: int, parent_of: dict[int, int]) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_rss_kib(root: int) -> tuple[int, int]:
    """``(RSS of root and all its descendants, RSS of root)`` in KiB."""
    total = 0
    for pid in descendants(root, parents()):
        try:
            total += rss_kib(pid)
        except OSError:
            pass  # ended between the listing and the read
    return total, rss_kib(root)


def running_job(out: Path, last: int) -> int:
    """The job the live manifest says has started last (``last`` while it cannot be read)."""
    try:
        return int(json.loads((out / "_manifest.json").read_text()).get("jobs") or last)
    except (OSError, ValueError):
        return last


def slope_per_minute(points: list[tuple[float, float]]):
    """Least-squares slope of ``(seconds, value)`` points, per minute (None for < 2 points)."""
    if len(points) < 2:
        return None
    ts, vs = zip(*points)
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return None if den == 0 else sum((t - mt) * (v - mv) for t, v in points) / den * 60


STARTUP_SECONDS = 10


def per_job(samples: list[tuple[float, int, int, int]]) -> list[dict]:
    """Each job's first sample time, peak and low of the tree RSS (MiB), from tagged samples.

    The low leaves out the job's first :data:`STARTUP_SECONDS` and its last few seconds (a child
    still importing, or one that has just exited while the manifest, refreshed every 2 s, still
    names its job, would make it a measure of when the sample fell)."""
    jobs: dict[int, list] = {}
    for t, tree, _driver, job in samples:
        if job:
            jobs.setdefault(job, []).append((t, tree))
    summary = []
    for job, rows in sorted(jobs.items()):
        first, last = rows[0][0], rows[-1][0]
        settled = ([k for t, k in rows if first + STARTUP_SECONDS <= t <= last - STARTUP_SECONDS / 2]
                   or [k for _t, k in rows])
        summary.append({"job": job, "start_s": rows[0][0], "samples": len(rows),
                        "peak_mib": round(max(k for _t, k in rows) / 1024, 1),
                        "low_mib": round(min(settled) / 1024, 1)})
    return summary


def memory_summary(samples: list[tuple[float, int, int, int]], seconds: float) -> dict:
    """The memory figures of a soak from its samples ``(t, tree KiB, driver KiB, job)``."""
    def median_mib(values):
        return round(statistics.median(values) / 1024, 1) if values else None

    warm = [tree for t, tree, _d, _j in samples if WARMUP_SECONDS <= t <= WARMUP_SECONDS + 30]
    tail = [tree for t, tree, _d, _j in samples if seconds - 30 <= t <= seconds]
    after = [(t, tree / 1024) for t, tree, _d, _j in samples if t >= WARMUP_SECONDS]
    jobs = per_job(samples)
    # jobs after the warm-up, without one cut short by --stop-after (a few samples of start-up)
    typical = statistics.median(j["samples"] for j in jobs) if jobs else 0
    later = [j for j in jobs if j["start_s"] >= WARMUP_SECONDS and j["samples"] >= typical / 2]
    peak_slope = slope_per_minute([(j["start_s"], j["peak_mib"]) for j in later])
    low_slope = slope_per_minute([(j["start_s"], j["low_mib"]) for j in later])
    overall = slope_per_minute(after)

    def rounded(x):
        return None if x is None else round(x, 2)

    return {
        "rss_mib_after_warmup": median_mib(warm),
        "rss_mib_at_end": median_mib(tail),
        "rss_mib_max": round(max(tree for _t, tree, _d, _j in samples) / 1024, 1) if samples else None,
        "rss_slope_mib_per_minute_after_warmup": rounded(overall),
        "job_peak_slope_mib_per_minute_after_warmup": rounded(peak_slope),
        "job_low_slope_mib_per_minute_after_warmup": rounded(low_slope),
        "driver_rss_mib_after_warmup": median_mib([d for t, _k, d, _j in samples
                                                   if WARMUP_SECONDS <= t <= WARMUP_SECONDS + 30]),
        "driver_rss_mib_at_end": median_mib([d for t, _k, d, _j in samples if seconds - 30 <= t <= seconds]),
        "jobs_memory": jobs,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--poll-interval", type=float, default=2.0)
    ap.add_argument("--segment-seconds", type=float, default=None,
                    help="passed to newsbeam (default: newsbeam's own default)")
    ap.add_argument("--sample-seconds", type=float, default=2.0, help="memory sampling interval")
    ap.add_argument("--entities", action="store_true", help="run NER too (default: --no-entities)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    feed = Feed()
    httpd = serve(feed)
    work = Path(tempfile.mkdtemp(prefix="newsbeam-soak-"))
    feeds = work / "feeds.txt"
    feeds.write_text(f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml\n")
    seconds = args.minutes * 60
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--feeds", str(feeds),
           "--allow-private-hosts", "--host-delay", "0", "--poll-interval", str(args.poll_interval),
           "--stop-after", str(seconds), "--output", str(work / "out"), "--no-quality"]
    if not args.entities:
        cmd.append("--no-entities")
    if args.segment_seconds is not None:
        cmd += ["--segment-seconds", str(args.segment_seconds)]
    started = time.time()
    # to files, not pipes: nobody reads a pipe during the run, and a full one would block newsbeam
    log_out, log_err = open(work / "stdout.txt", "w"), open(work / "stderr.txt", "w")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log_out, stderr=log_err, text=True)
    samples = []  # (seconds since start, tree RSS KiB, driver RSS KiB, job running)
    job = 0
    while proc.poll() is None:
        try:
            tree, driver = tree_rss_kib(proc.pid)
        except OSError:
            break
        job = running_job(work / "out", job)
        samples.append((round(time.time() - started, 1), tree, driver, job))
        time.sleep(args.sample_seconds)
    proc.wait()
    log_out.close()
    log_err.close()
    stderr = (work / "stderr.txt").read_text()
    published = feed.count()
    httpd.shutdown()
    manifest = json.loads((work / "out" / "_manifest.json").read_text()) if proc.returncode == 0 else {}
    published_by_stop = int(seconds) + 1  # items the feed had published when the sources stopped
    seen, rows = set(), 0
    if proc.returncode == 0:
        import duckdb

        for dataset in ("articles", "duplicates"):
            if list((work / "out" / dataset).glob("**/*.parquet")):
                urls = [int(u.rsplit("/", 1)[1]) for (u,) in duckdb.sql(
                    f"select url from read_parquet('{work}/out/{dataset}/**/*.parquet')").fetchall()]
                seen |= set(urls)
                rows += len(urls)
    missed = sorted(set(range(max(seen) + 1 if seen else 0)) - seen)
    result = {
        "minutes": args.minutes, "poll_interval": args.poll_interval, "entities": args.entities,
        "exit_code": proc.returncode, "items_published_by_stop": published_by_stop,
        "items_published_by_exit": published, "items_ingested": len(seen),
        "items_missed_before_the_last_one_ingested": len(missed), "missed_examples": missed[:20],
        "jobs": manifest.get("jobs"),
        "counts": manifest.get("counts"), "conservation": manifest.get("conservation"),
        "polls": manifest.get("polls"), "skipped_by_reason": manifest.get("skipped_by_reason"),
        "items_ingested_more_than_once": rows - len(seen),
        "segment_seconds": args.segment_seconds, "sample_seconds": args.sample_seconds,
        **memory_summary(samples, seconds),
        "samples": samples, "output": str(work / "out"),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    if proc.returncode != 0:
        print(stderr[-3000:], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
