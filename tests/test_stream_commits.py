"""A local stream commits each segment to the tables (issue 20), and its feed/watch state
advances only with the rows it covers (issue 23): a rerun adds, never deletes; a kill -9 at any
moment loses nothing and ingests nothing twice."""
from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, table_rows
from tests.test_hostile import GOOD

ARGS = ["--no-quality", "--watch-interval", "1", "--segment-seconds", "3"]


def drop_files(inbox, first: int, count: int) -> list[str]:
    """``count`` distinct articles as one JSON file each (names numbered from ``first``)."""
    names = list(GOOD)
    paths = []
    for i in range(first, first + count):
        title, text = GOOD[names[i % len(names)]]
        path = inbox / f"item-{i:03d}.json"
        path.write_text(json.dumps({
            "url": f"https://news.example/stream/{i}", "title": f"{title} ({i})",
            "text": f"{text} Report {i}. " + " ".join(f"s{i}x{j}" for j in range(40)),
            "published": f"2024-04-{1 + i % 5:02d}T09:00:00Z"}))
        paths.append(str(path))
    return paths


def stream(inbox, out, stop_after: float, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--watch",
                             str(inbox / "*"), "--output", str(out), "--stop-after", str(stop_after),
                             *ARGS, *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def finish(proc: subprocess.Popen) -> str:
    _stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-4000:]
    return stderr


def ingested(out) -> collections.Counter:
    """How many rows (articles, duplicates, rejects) each input file has in the tables."""
    seen: collections.Counter = collections.Counter()
    for dataset in ("articles", "duplicates"):
        for row in table_rows(out, dataset):
            seen[row["provenance"]["input_uri"]] += 1
    for row in table_rows(out, "rejects"):
        seen[row["input_uri"]] += 1
    return seen


def test_a_rerun_keeps_the_first_runs_rows_and_adds_only_new_files(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    first = drop_files(inbox, 0, 4)
    finish(stream(inbox, out, 6, "--no-entities"))
    assert sorted(ingested(out)) == sorted(first)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["layout"] == "tables" and manifest["commit"]["segments"] >= 1
    # the same command again, with two new files: nothing of the first run is lost or re-ingested
    second = drop_files(inbox, 4, 2)
    finish(stream(inbox, out, 6, "--no-entities"))
    counts = ingested(out)
    assert sorted(counts) == sorted(first + second)
    assert set(counts.values()) == {1}
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["counts"]["inputs"] == 2 and manifest["conservation"]["holds"]


def test_kill_9_at_random_points_of_a_growing_folder_ingests_every_file_exactly_once(tmp_path):
    """SIGKILL of the driver and its jobs (the whole process group) at 20 random moments, while
    files keep arriving; then a run to the end: every file has exactly one row."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    rng = random.Random(20)
    dropped = drop_files(inbox, 0, 5)
    kills = 0
    for point in range(20):
        proc = stream(inbox, out, 120, "--no-entities")
        time.sleep(rng.uniform(1.0, 9.0))
        dropped += drop_files(inbox, len(dropped), rng.randint(0, 2))
        time.sleep(rng.uniform(0.0, 2.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    assert kills == 20
    finish(stream(inbox, out, 12, "--no-entities"))
    counts = ingested(out)
    assert sorted(counts) == sorted(dropped), "a file was lost"
    assert {uri: n for uri, n in counts.items() if n != 1} == {}, "a file was ingested twice"
    assert not [p for p in out.iterdir() if p.name.startswith(".staging-")]
