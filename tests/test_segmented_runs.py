"""A local batch run over more than ``--segment-items`` runs one job per segment (issue 20: memory
bounded whatever the input's size): each segment its own commit, deduplicated against the ones
before it, the whole run one manifest and one quality report; a stop keeps the committed
segments and the rerun finishes the rest. Default options (entities and quality on) but the
segment size.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from pipeline.output import tables
from tests.conftest import table_rows
from tests.test_table_runs import line, manifest, start, write

DEFAULT = ["--runner=FnApiRunner"]


def big_input(tmp_path):
    """12 lines: 9 articles over April 1-3, an exact copy of a1 and a2's text at another URL
    (both after their originals, in a later segment of 4), and a bad line."""
    path = tmp_path / "big.jsonl"
    write(path, [line("a", i, 1 + i % 3) for i in range(9)]
          + ["{garbage", line("a", 1, 2), line("b", 9, 3, text_of="a2", url="https://mirror.example/a2")])
    return path


def run(inp, out, *extra, code=0):
    proc = start(inp, out, *extra, args=DEFAULT)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == code, stderr[-4000:]
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def rows(out, dataset, *fields):
    return sorted(tuple(r[f] for f in fields) for r in table_rows(out, dataset))


def test_a_run_in_segments_commits_each_and_gives_the_rows_of_one_job(tmp_path):
    inp = big_input(tmp_path)
    one, cut = tmp_path / "one", tmp_path / "cut"
    run(inp, one, "--segment-items", "0")
    done = run(inp, cut, "--segment-items", "4")

    assert "segment 3 of 3" in done.stderr
    m = manifest(cut)
    assert m["counts"] == {"inputs": 12, "articles": 9, "duplicates": 2, "rejects": 1, "skipped": 0}
    assert m["conservation"]["holds"] and m["commit"]["segments"] == 3
    assert m["quality"]["status"] == "passed"
    articles = tables.open_catalog(cut).load_table(tables.identifier("articles"))
    assert len([s for s in articles.snapshots() if s.summary.get(tables.RUN_ID)]) == 3  # a commit per segment

    # the copies in the last segment are duplicates of the stored originals, as in one job
    by_url = {r["url"]: r["id"] for r in table_rows(cut, "articles")}
    assert sorted(r["duplicate_of"] for r in table_rows(cut, "duplicates")) == sorted(
        [by_url["https://news.example/a/1"], by_url["https://news.example/a/2"]])
    for dataset, fields in (("articles", ("id", "story_id", "text", "word_count")),
                            ("duplicates", ("id", "duplicate_of", "kind")),
                            ("entities", ("article_id", "text", "label")),
                            ("rejects", ("stage", "reason"))):
        assert rows(cut, dataset, *fields) == rows(one, dataset, *fields), dataset

    again = run(inp, cut, "--segment-items", "4")
    assert manifest(cut)["counts"]["skipped"] == 12, again.stdout  # every item already ingested
    assert len(table_rows(cut, "articles")) == 9


def test_a_stop_between_segments_keeps_the_committed_ones_and_the_rerun_finishes(tmp_path):
    inp = big_input(tmp_path)
    out, whole = tmp_path / "out", tmp_path / "whole"
    proc = start(inp, out, "--segment-items", "4", args=DEFAULT)
    deadline = time.monotonic() + 600
    while True:  # the first segment's commit: then stop, in the second segment
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the first segment never committed"
        if (out / tables.CATALOG_FILE).exists():
            try:
                if tables.open_catalog(out).load_table(tables.identifier("articles")).current_snapshot():
                    break
            except Exception:  # the catalog is being created
                pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr[-3000:]
    assert "are committed" in stderr and "Rerun the same command" in stderr
    assert 0 < len(table_rows(out, "articles")) < 9

    run(inp, out, "--segment-items", "4")
    run(inp, whole, "--segment-items", "4")
    for dataset, fields in (("articles", ("id", "story_id")), ("duplicates", ("id", "duplicate_of", "kind")),
                            ("rejects", ("stage", "reason"))):
        assert rows(out, dataset, *fields) == rows(whole, dataset, *fields), dataset
    check = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
