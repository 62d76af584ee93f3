"""Batch runs commit to Iceberg tables (issue 20, batch part): A then B into one OUT holds both, B's
copies of A's articles are duplicates of A's ids, rerunning B adds nothing, replace-partitions and
overwrite, a SIGKILL during the commit, two runs at once, nothing outside OUT touched.

Each run is a ``newsbeam run`` process (``--no-entities --no-quality``, FnApiRunner); the tables
are read back through the catalog (``pipeline.output.tables.read_table``).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from pipeline.output import tables
from tests.conftest import table_rows
from tests.test_hostile import GOOD

ARGS = ["--no-entities", "--no-quality", "--runner=FnApiRunner"]


#: English words to build distinct texts from (so near dedup keeps every article apart)
WORDS = sorted({w.strip(".,").lower() for _title, text in GOOD.values() for w in text.split() if w.isalpha()})


def line(variant: str, i: int, day: int, text_of: str | None = None, url: str | None = None) -> str:
    """One article; its text is a shuffle of English words seeded by ``text_of`` (default its own
    name): the same ``text_of`` gives the same text."""
    source = text_of or f"{variant}{i}"
    words = random.Random(source).choices(WORDS, k=160)
    sentences = [" ".join(words[k:k + 16]).capitalize() + "." for k in range(0, len(words), 16)]
    return json.dumps({
        "url": url or f"https://news.example/{variant}/{i}",
        "title": f"Report {source}",
        "text": " ".join(sentences),
        "published": f"2024-04-{day:02d}T09:00:00Z"})


def write(path, lines) -> None:
    path.write_text("\n".join(lines) + "\n")


def inputs(tmp_path):
    """A: 9 articles on April 1-3 and a bad line. B: 5 new articles on April 2-4, an exact copy of
    A's a1 (same URL and text) and A's a2's text at another URL, and a bad line."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write(a, [line("a", i, 1 + i % 3) for i in range(9)] + ["{garbage a"])
    write(b, [line("b", i, 2 + i % 3) for i in range(5)]
          + [line("a", 1, 2), line("b", 9, 3, text_of="a2", url="https://mirror.example/a2")]
          + ["{garbage b"])
    return a, b


def start(inp, out, *extra, pause=None, args=ARGS) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("NEWSBEAM_TEST_PAUSE", None)
    if pause:
        env["NEWSBEAM_TEST_PAUSE"] = pause
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--input", str(inp), "--output", str(out),
                             *args, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run(inp, out, *extra, code=0, args=ARGS) -> subprocess.CompletedProcess:
    proc = start(inp, out, *extra, args=args)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == code, stderr[-4000:]
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def manifest(out) -> dict:
    return json.loads((out / "_manifest.json").read_text())


def urls(out, dataset="articles", as_of=None) -> list[str]:
    return sorted(r["url"] for r in table_rows(out, dataset, as_of=as_of))


def outside(tmp_path, out) -> dict:
    """Every path under tmp_path outside OUT, with its size and mtime."""
    found = {}
    for path in sorted(tmp_path.rglob("*")):
        if out in path.parents or path == out:
            continue
        stat = path.stat()
        found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def test_a_then_b_holds_both_b_copies_are_duplicates_of_a_and_rerunning_b_adds_nothing(tmp_path):
    a, b = inputs(tmp_path)
    out = tmp_path / "out"
    before = outside(tmp_path, out)

    run(a, out)
    first = manifest(out)
    a_ids = {r["url"]: r["id"] for r in table_rows(out, "articles")}
    assert len(a_ids) == 9 and first["commit"]["mode"] == "append"
    assert first["tables"]["articles"]["added_rows"] == 9 and first["tables"]["rejects"]["added_rows"] == 1

    run(b, out)
    second = manifest(out)
    assert len(urls(out)) == 14 and set(a_ids) <= set(urls(out))
    dups = {r["url"]: r for r in table_rows(out, "duplicates")}
    assert set(dups) == {"https://news.example/a/1", "https://mirror.example/a2"}
    assert dups["https://news.example/a/1"]["duplicate_of"] == a_ids["https://news.example/a/1"]
    assert dups["https://mirror.example/a2"]["duplicate_of"] == a_ids["https://news.example/a/2"]
    assert {d["kind"] for d in dups.values()} == {"exact"}
    assert second["datasets"]["duplicates"]["rows"] == 2 and second["tables"]["articles"]["total_rows"] == 14
    assert len(table_rows(out, "rejects")) == 2

    # rerunning B: every item is already stored from the same input, nothing new is committed
    rerun = run(b, out)
    third = manifest(out)
    assert third["counts"] == {"inputs": 8, "articles": 0, "duplicates": 0, "rejects": 0, "skipped": 8}
    assert third["skipped_by_reason"] == {"already ingested": 8}
    assert {name: t["added_rows"] for name, t in third["tables"].items()} == dict.fromkeys(third["tables"], 0)
    assert third["tables"]["articles"]["total_rows"] == 14 and len(table_rows(out, "duplicates")) == 2
    assert "skipped 8" in rerun.stdout

    # every snapshot says which run, mode, options and input made it
    table = tables.open_catalog(out).load_table(tables.identifier("articles"))
    summary = table.snapshot_by_id(second["tables"]["articles"]["snapshot_id"]).summary
    assert summary.get(tables.RUN_ID) == second["commit"]["run_id"]
    assert summary.get("newsbeam.mode") == "append"
    assert summary.get("newsbeam.input-fingerprint") == second["commit"]["input_fingerprint"]
    assert json.loads(summary.get("newsbeam.options"))["mode"] == "append"
    assert first["commit"]["input_fingerprint"] != second["commit"]["input_fingerprint"]
    assert third["commit"]["input_fingerprint"] == second["commit"]["input_fingerprint"]

    # time travel: as of A's run, or A's articles snapshot, the table holds A's articles only
    assert urls(out, as_of=first["commit"]["run_id"]) == sorted(a_ids)
    for as_of in (first["commit"]["run_id"], str(first["tables"]["articles"]["snapshot_id"])):
        shown = subprocess.run([sys.executable, "-m", "pipeline.cli", "inspect", str(out), "--as-of", as_of,
                                "--json", "-"], capture_output=True, text=True, timeout=300)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["rows"]["articles"] == 9
    check = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]

    assert outside(tmp_path, out) == before  # nothing outside OUT was touched
    assert sorted(p.name for p in out.iterdir()) == [".newsbeam", "_catalog.db", "_catalog.lock",
                                                    "_manifest.json", "warehouse"]  # --no-quality


def days_of(out) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in table_rows(out, "articles"):
        found.setdefault(row["published_at"][:10], []).append(row["url"])
    return {day: sorted(v) for day, v in sorted(found.items())}


def test_replace_partitions_replaces_only_the_days_of_its_input_and_overwrite_everything(tmp_path):
    a, _b = inputs(tmp_path)
    c = tmp_path / "c.jsonl"
    write(c, [line("c", i, 2) for i in range(2)])  # two articles, both on April 2
    out = tmp_path / "out"
    run(a, out)
    before = days_of(out)
    assert sorted(before) == ["2024-04-01", "2024-04-02", "2024-04-03"]

    run(c, out, "--mode", "replace-partitions")
    after = days_of(out)
    assert after["2024-04-01"] == before["2024-04-01"] and after["2024-04-03"] == before["2024-04-03"]
    assert after["2024-04-02"] == ["https://news.example/c/0", "https://news.example/c/1"]
    assert manifest(out)["commit"]["mode"] == "replace-partitions"

    config = tmp_path / "overwrite.toml"
    config.write_text("mode = 'overwrite'\n")
    run(c, out, "--config", str(config))
    assert days_of(out) == {"2024-04-02": ["https://news.example/c/0", "https://news.example/c/1"]}
    assert table_rows(out, "rejects") == []
    assert manifest(out)["commit"]["mode"] == "overwrite"


def test_sigkill_during_the_commit_leaves_the_last_commit_and_the_next_run_finishes_it(tmp_path):
    a, b = inputs(tmp_path)
    out = tmp_path / "out"
    run(a, out)
    last = manifest(out)
    rejects = tables.open_catalog(out).load_table(tables.identifier("rejects"))
    snapshots_before = len(rejects.snapshots())

    # the pause comes between two tables' commits: rejects (first) is committed, articles not
    proc = start(b, out, pause="commit:30")
    deadline = time.monotonic() + 300
    while len(tables.open_catalog(out).load_table(tables.identifier("rejects")).snapshots()) == snapshots_before:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "commit never reached"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    catalog = tables.open_catalog(out)
    articles = catalog.load_table(tables.identifier("articles"))
    assert articles.current_snapshot().snapshot_id == last["tables"]["articles"]["snapshot_id"]
    assert len(urls(out)) == 9  # whole: the last commit's rows, every file present
    for task in articles.scan().plan_files():
        assert os.path.exists(task.file.file_path.removeprefix("file://"))

    killed_run = tables.open_catalog(out).load_table(tables.identifier("rejects")).current_snapshot() \
        .summary[tables.RUN_ID]
    rerun = run(b, out)
    # the rerun first finishes the killed run's commit (same run id: its articles join its rejects
    # and copies), then finds every item of b already ingested
    assert f"finished the commit of run {killed_run}" in rerun.stderr
    articles = tables.open_catalog(out).load_table(tables.identifier("articles"))
    assert tables.run_snapshot(articles, killed_run) is not None
    assert len(urls(out)) == 14
    assert len(table_rows(out, "rejects")) == 2
    assert len(table_rows(out, "duplicates")) == 2
    assert manifest(out)["counts"]["skipped"] == manifest(out)["counts"]["inputs"]
    check = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]


def test_two_runs_at_once_both_commit_or_one_fails_cleanly(tmp_path):
    a, b = inputs(tmp_path)
    out = tmp_path / "out"
    first, second = start(a, out), start(b, out)
    results = [(p, *p.communicate(timeout=600)) for p in (first, second)]
    codes = [p.returncode for p, _out, _err in results]
    assert set(codes) <= {0, 1} and 0 in codes, [err[-2000:] for _p, _o, err in results]
    for (proc, _stdout, stderr), inp in zip(results, (a, b)):
        if proc.returncode == 1:
            assert "another run committed" in stderr and "NOTHING of it was committed" in stderr
            assert not list(out.glob(".staging-*"))
    if codes == [0, 0]:  # the second started after the first committed: it deduplicated against it
        assert len(urls(out)) == 14
    else:  # only the winner's rows: A alone has 9 articles, B alone 7 (its copies of A are articles)
        winner = (a, b)[codes.index(0)]
        assert len(urls(out)) == {"a.jsonl": 9, "b.jsonl": 7}[winner.name]
    # a failed run reruns cleanly on top of the other's commit
    for (proc, _o, _e), inp in zip(results, (a, b)):
        if proc.returncode == 1:
            run(inp, out)
    assert len(urls(out)) == 14


def test_validate_catches_what_was_changed_after_the_commit(tmp_path, capsys):
    """Issue 23: on 34b91f7 a ``.bak`` or ``.csv`` beside the data, a truncated data file, edited
    manifest counts and a garbage manifest went unnoticed or ended in a traceback. Each is now a
    finding and exit 1; putting things back gives exit 0 again."""
    from pipeline.cli import main

    def _validate(out):
        code = main(["validate", str(out)])
        captured = capsys.readouterr()
        return subprocess.CompletedProcess([], code, captured.out, captured.err)

    a, _b = inputs(tmp_path)
    out = tmp_path / "out"
    run(a, out)
    assert _validate(out).returncode == 0
    data = sorted((out / "warehouse").rglob("articles/data/*/*/*.parquet"))[0]
    original, saved_manifest = data.read_bytes(), (out / "_manifest.json").read_text()

    def finding(expected: str) -> None:
        check = _validate(out)
        assert check.returncode == 1 and "Traceback" not in check.stderr, check.stderr[-2000:]
        assert expected in check.stdout + check.stderr, (check.stdout + check.stderr)[-2000:]

    for stray in (data.parent / "part-00000.parquet.bak", data.parent / "extra.csv"):
        stray.write_bytes(original)
        finding(f"{stray.name} is in the table's folder but no snapshot references it")
        stray.unlink()
    data.write_bytes(original[:len(original) // 2])
    finding("the table recorded")
    data.write_bytes(original)
    edited = json.loads(saved_manifest)
    edited["counts"]["articles"] += 1
    (out / "_manifest.json").write_text(json.dumps(edited))
    finding("counts.articles 10 but datasets.articles.rows 9")
    (out / "_manifest.json").write_text("{not json")
    finding("_manifest.json is not a JSON document")
    (out / "_manifest.json").write_text(saved_manifest)
    assert _validate(out).returncode == 0


def test_validate_finds_an_edited_quality_report_or_results_file(tmp_path):
    """Issue 23: an edited ``_quality/report.html`` went unnoticed. The manifest records the sha256
    of the results and the report the run wrote (default options: quality and entities on)."""
    a, _b = inputs(tmp_path)
    out = tmp_path / "out"
    run(a, out, args=["--runner=FnApiRunner"])

    def validate():
        return subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(out)],
                              capture_output=True, text=True, timeout=300)

    assert validate().returncode == 0
    for name in ("report.html", "results.json"):
        path = out / "_quality" / name
        saved = path.read_bytes()
        path.write_bytes(saved.replace(b"passed", b"passeD", 1) if b"passed" in saved else saved + b" ")
        check = validate()
        assert check.returncode == 1, check.stdout[-2000:]
        assert f"_quality/{name}: changed after the run" in check.stdout + check.stderr
        path.write_bytes(saved)
        assert validate().returncode == 0
