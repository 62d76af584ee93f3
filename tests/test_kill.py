"""SIGKILL a batch run while it writes and while it publishes (issue 11, acceptance 2).

The output directory must then hold the previous complete output (its manifest and files
unchanged) or no complete output at all (no manifest, never a half-written partition), and
the next run must clean up and give files byte-identical to a clean run.

The moment of the kill is made reliable with the test-only hook of ``pipeline/io/sinks.py``:
``NEWSBEAM_TEST_PAUSE=write:S`` sleeps S seconds after each staged file, ``publish:S`` between
two dataset swaps.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from pipeline.io.ownership import MARKER
from pipeline.io.sinks import DATASETS, JOURNAL, MANIFEST
from tests.test_hostile import GOOD

ARGS = ["--no-entities", "--no-quality", "--runner=FnApiRunner"]


def make_input(path, variant: str, n: int = 120) -> None:
    """``n`` distinct articles over a few days (so there are several partitions)."""
    names = list(GOOD)
    lines = []
    for i in range(n):
        title, text = GOOD[names[i % len(names)]]
        lines.append(json.dumps({
            "url": f"https://news.example/{variant}/{i}",
            "title": f"{title} ({variant} {i})",
            "text": f"{text} This is report {i} of series {variant}, filed by desk {i * 7 % 13}. "
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


def files_on_disk(out) -> dict[str, str]:
    """Every dataset file under ``out`` -> its sha256."""
    found = {}
    for dataset in DATASETS:
        for path in sorted((out / dataset).rglob("*")):
            if path.is_file():
                found[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def manifest_files(manifest: dict) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in manifest["files"]}


def of(files: dict[str, str], dataset: str) -> dict[str, str]:
    return {p: h for p, h in files.items() if p.startswith(dataset + "/")}


def test_killed_runs_leave_no_partial_dataset_and_a_rerun_matches_a_clean_run(tmp_path):
    old_input, new_input = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    make_input(old_input, "a")
    make_input(new_input, "b")
    clean, out = tmp_path / "clean", tmp_path / "out"

    run(new_input, clean)
    clean_files = manifest_files(json.loads((clean / MANIFEST).read_text()))
    assert files_on_disk(clean) == clean_files and len(clean_files) >= 6

    # 1. first run into an empty directory, killed while writing: nothing is visible
    proc = start(new_input, out, pause="write:3")
    kill_when(proc, lambda: staged_files(out))
    assert [p.name for p in out.iterdir() if not p.name.startswith(".staging-")] == [MARKER]

    # 2. a complete earlier output, then a run killed while writing: the earlier output stays whole
    run(old_input, out)
    previous = json.loads((out / MANIFEST).read_text())
    old_files = manifest_files(previous)
    assert not list(out.glob(".staging-*")), "the killed run's staging dir was not removed"
    proc = start(new_input, out, pause="write:3")
    kill_when(proc, lambda: staged_files(out))
    assert json.loads((out / MANIFEST).read_text()) == previous
    assert files_on_disk(out) == old_files

    # 3. killed between two dataset swaps: no manifest (no complete output claimed), a journal,
    #    and every dataset is wholly the old one or wholly the new one, never a partial mix
    proc = start(new_input, out, pause="publish:3")
    kill_when(proc, lambda: (out / JOURNAL).exists() and (out / "articles").exists()
              and of(files_on_disk(out), "articles") == of(clean_files, "articles"))
    assert not (out / MANIFEST).exists()
    on_disk = files_on_disk(out)
    kinds = []
    for dataset in DATASETS:
        got = of(on_disk, dataset)
        kinds.append("new" if got == of(clean_files, dataset) else "old" if got == of(old_files, dataset)
                     else "absent" if not (out / dataset).exists() else f"PARTIAL {dataset}")
    assert kinds[0] == "new" and "old" in kinds and not any(k.startswith("PARTIAL") for k in kinds), kinds
    check = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 1 and "killed while publishing" in check.stderr

    # 4. the next run cleans up and gives byte-identical files to the clean run
    rerun = run(new_input, out)
    assert "left in" in rerun.stderr and "killed while publishing" in rerun.stderr
    assert files_on_disk(out) == clean_files
    assert manifest_files(json.loads((out / MANIFEST).read_text())) == clean_files
    assert not (out / JOURNAL).exists()
    assert not [p for p in out.iterdir() if p.name.startswith((".staging-", ".old-"))]
