"""SIGKILL a batch run while it writes its staged files (issue 11, acceptance 2; issue 20).

The output directory must then hold the previous complete output (its tables at their last commit
and its manifest unchanged) or nothing at all, and the next run must clean up and give the same
rows as a clean run. A kill during the commit itself: tests/test_table_runs.py.

The moment of the kill is made reliable with the test-only hook of ``pipeline/output/files.py``:
``NEWSBEAM_TEST_PAUSE=write:S`` sleeps S seconds after each staged file.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from pipeline.io.ownership import MARKER
from pipeline.io.sinks import DATASETS, MANIFEST
from tests.conftest import table_rows
from tests.test_hostile import GOOD

ARGS = ["--no-entities", "--no-quality", "--runner=FnApiRunner"]


def make_input(path, variant: str, n: int = 120) -> None:
    """``n`` distinct articles over a few days (so there are several partitions); each text is its
    own shuffle of a real paragraph's words, so no two are near copies, in one run or across runs."""
    import random

    names = list(GOOD)
    lines = []
    for i in range(n):
        title, text = GOOD[names[i % len(names)]]
        words = text.split()
        random.Random(f"{variant}-{i}").shuffle(words)
        lines.append(json.dumps({
            "url": f"https://news.example/{variant}/{i}",
            "title": f"{title} ({variant} {i})",
            "text": " ".join(words) + f" This is report {i} of series {variant}, filed by desk {i * 7 % 13}. "
                    + " ".join(f"w{variant}{i}x{j}" for j in range(40)),
            "published": f"2024-04-{1 + i % 5:02d}T09:00:00Z"}))
    lines.append("{garbage line")  # a reject too
    path.write_text("\n".join(lines) + "\n")


def start(inp, out, pause: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("NEWSBEAM_TEST_PAUSE", None)
    if pause:
        env["NEWSBEAM_TEST_PAUSE"] = pause
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--input", str(inp),
                             "--output", str(out), *ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run(inp, out) -> subprocess.CompletedProcess:
    proc = start(inp, out)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-4000:]
    return subprocess.CompletedProcess(proc.args, 0, stdout, stderr)


def kill_when(proc: subprocess.Popen, condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"run ended before the kill point: {proc.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def staged_files(out) -> list:
    return [p for p in out.glob(".staging-*/**/part-*") if p.is_file()]


def tables_now(out) -> dict[str, list[str]]:
    """Every table's rows (as sorted JSON) as the catalog shows them now."""
    return {d: sorted(json.dumps(r, sort_keys=True) for r in table_rows(out, d)) for d in DATASETS}


def test_killed_runs_leave_the_last_commit_and_a_rerun_matches_a_clean_run(tmp_path):
    old_input, new_input = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    make_input(old_input, "a")
    make_input(new_input, "b")
    clean, out = tmp_path / "clean", tmp_path / "out"

    run(old_input, clean)
    run(new_input, clean)
    clean_tables = tables_now(clean)
    assert len(clean_tables["articles"]) >= 10 and len(clean_tables["rejects"]) == 2

    # 1. first run into an empty directory, killed while writing: nothing is visible
    proc = start(new_input, out, pause="write:3")
    kill_when(proc, lambda: staged_files(out))
    assert [p.name for p in out.iterdir() if not p.name.startswith(".staging-")] == [MARKER]

    # 2. a complete earlier output, then a run killed while writing: the earlier output stays whole
    run(old_input, out)
    previous = (out / MANIFEST).read_text()
    before = tables_now(out)
    assert not list(out.glob(".staging-*")), "the killed run's staging dir was not removed"
    proc = start(new_input, out, pause="write:3")
    kill_when(proc, lambda: staged_files(out))
    assert (out / MANIFEST).read_text() == previous
    assert tables_now(out) == before

    # 3. the next run cleans up and gives the same rows as the clean runs
    rerun = run(new_input, out)
    assert "left in" in rerun.stderr
    assert tables_now(out) == clean_tables
    assert not [p for p in out.iterdir() if p.name.startswith((".staging-", ".old-"))]
