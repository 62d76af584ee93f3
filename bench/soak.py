"""Streaming soak: a local feed that publishes a new item every second, polled for N minutes.

Usage (from the repository root, virtualenv active)::

    python bench/soak.py [--minutes 10] [--poll-interval 2] [--json OUT]

A feed server on 127.0.0.1 keeps the newest 50 items of a feed that gains one item per second
(every tenth item re-posts an earlier one with a word changed, so dedup has work), and answers
304 to a matching ETag. ``newsbeam run --streaming --feeds ... --stop-after`` runs as a child
process; its resident memory (VmRSS from /proc) is sampled every 5 s. Reported: RSS after the
warm-up (first minute) and at the end, the slope over the run after warm-up, items published
and what the final manifest accounts for.
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


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--poll-interval", type=float, default=2.0)
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
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    while proc.poll() is None:
        try:
            samples.append((round(time.time() - started, 1), rss_kib(proc.pid)))
        except OSError:
            break
        time.sleep(5)
    stdout, stderr = proc.communicate()
    published = feed.count()
    httpd.shutdown()
    manifest = json.loads((work / "out" / "_manifest.json").read_text()) if proc.returncode == 0 else {}
    published_by_stop = int(seconds) + 1  # items the feed had published when the sources stopped
    seen = set()
    if proc.returncode == 0:
        import duckdb

        for dataset in ("articles", "duplicates"):
            if list((work / "out" / dataset).glob("**/*.parquet")):
                seen |= {int(u.rsplit("/", 1)[1]) for (u,) in duckdb.sql(
                    f"select url from read_parquet('{work}/out/{dataset}/**/*.parquet')").fetchall()}
    missed = sorted(set(range(max(seen) + 1 if seen else 0)) - seen)
    warm = [kib for t, kib in samples if 60 <= t <= 90]
    tail = [kib for t, kib in samples if t >= seconds - 30 and t <= seconds]
    after = [(t, kib) for t, kib in samples if t >= 60]
    slope = None
    if len(after) >= 2:
        ts, ks = zip(*after)
        mt, mk = statistics.fmean(ts), statistics.fmean(ks)
        slope = sum((t - mt) * (k - mk) for t, k in after) / max(1e-9, sum((t - mt) ** 2 for t in ts))
    result = {
        "minutes": args.minutes, "poll_interval": args.poll_interval, "entities": args.entities,
        "exit_code": proc.returncode, "items_published_by_stop": published_by_stop,
        "items_published_by_exit": published, "items_ingested": len(seen),
        "items_missed_before_the_last_one_ingested": len(missed), "missed_examples": missed[:20],
        "jobs": manifest.get("jobs"),
        "counts": manifest.get("counts"), "conservation": manifest.get("conservation"),
        "polls": manifest.get("polls"), "skipped_by_reason": manifest.get("skipped_by_reason"),
        "rss_mib_after_warmup": round(statistics.median(warm) / 1024, 1) if warm else None,
        "rss_mib_at_end": round(statistics.median(tail) / 1024, 1) if tail else None,
        "rss_mib_max": round(max(k for _t, k in samples) / 1024, 1) if samples else None,
        "rss_slope_kib_per_minute_after_warmup": round(slope * 60, 1) if slope is not None else None,
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
