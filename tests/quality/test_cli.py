"""`newsbeam validate` and `newsbeam inspect` on outputs, and the end-of-run quality step."""
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.cli import main
from tests.conftest import REPO
from tests.quality.conftest import read_json, write_manifest
from tests.quality.test_report import _words


def test_validate_passes_a_fresh_output(output, capsys):
    assert main(["validate", output]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "OK: " in out and "article ids unique" in out


def test_validate_fails_a_corrupted_copy_naming_both_expectations(output, tmp_path, capsys):
    bad = str(tmp_path / "bad")
    shutil.copytree(output, bad)
    path = os.path.join(bad, "articles/dt=2024-03-12/lang=en/part-00000.parquet")
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows.append(dict(rows[0], text=""))  # an empty text under an id that is already there
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    assert main(["validate", bad]) == 1
    captured = capsys.readouterr()
    assert "FAIL  articles    article ids unique" in captured.out
    assert "FAIL  articles    text non-empty" in captured.out
    assert "articles/dt=2024-03-12/lang=en: article ids unique (2 unexpected" in captured.err
    assert "articles/dt=2024-03-12/lang=en: text non-empty (1 unexpected" in captured.err


def test_validate_report_takes_the_run_from_the_manifest(output, tmp_path, capsys):
    write_manifest(output, options={"input": ["in/*.jsonl"], "feeds": None, "runner": None},
                   versions={"python": "3.11", "newsbeam": "0.1.0", "apache-beam": "2.77.0"})
    page = tmp_path / "report.html"
    assert main(["validate", output, "--report", str(page)]) == 0
    text = _words(page.read_text(encoding="utf-8"))
    assert "run batch; start and end not recorded in _manifest.json" in text
    assert "input --input in/*.jsonl" in text and "newsbeam 0.1.0 · Apache Beam 2.77.0" in text
    assert "schema version 1.0.0" in text


def test_the_quality_step_without_run_details_still_names_versions_and_schema(tmp_path):
    from pipeline.run.common import quality_step
    from pipeline.records import SCHEMA_VERSION
    from tests.quality.conftest import sample_datasets, write_output

    root = write_output(tmp_path / "out", sample_datasets(), manifest=False)  # streaming, before a live manifest
    quality, _failed = quality_step(root, True)
    text = _words((tmp_path / "out" / quality["report"]).read_text(encoding="utf-8"))
    assert "run mode not recorded; start and end not recorded input not recorded" in text
    assert f"Apache Beam {version('apache-beam')}" in text and f"schema version {SCHEMA_VERSION}" in text


def test_validate_and_inspect_explain_a_wrong_directory(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert main(["inspect", str(tmp_path)]) == 2
    assert "--output directory of a 'newsbeam run'" in capsys.readouterr().err


def test_inspect_summarises_partitions_counts_and_top_names(output, capsys):
    assert main(["inspect", output]) == 0
    out = capsys.readouterr().out
    assert "articles        2           2" in out
    assert "example.com" in out and "Maria Lopez (PERSON)" in out and "read: empty input file" in out
    assert "articles/dt=2024-03-13/lang=fr" in out


def test_run_checks_quality_and_a_failed_check_marks_the_manifest_degraded(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"url": "https://example.com/a", "text": "The council voted to build the bridge.", '
                    '"published_at": "2024-03-12T10:00:00Z"}\n')
    # 60,000 words: over the suite's plausible word count (a future date no longer fails a check: the
    # clean stage drops it with a warning, tests/test_hostile.py)
    runaway = tmp_path / "runaway.jsonl"
    words = " ".join(["The council will vote on the bridge."] * 8_600)
    runaway.write_text(json.dumps({"url": "https://example.com/b", "text": words,
                                   "published_at": "2024-05-01T10:00:00Z"}) + "\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def run(inp, out):
        return subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", str(inp), "--output",
                               str(out), "--no-entities", "--runner=FnApiRunner"], capture_output=True,
                              text=True, env=env, timeout=300)

    ok = run(good, tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    manifest = read_json(tmp_path / "ok/_manifest.json")
    assert manifest["status"] == "ok" and manifest["quality"]["status"] == "passed"
    assert (tmp_path / "ok/_quality/report.html").exists() and (tmp_path / "ok/_quality/results.json").exists()
    text = _words((tmp_path / "ok/_quality/report.html").read_text(encoding="utf-8"))
    assert re.search(r"run batch[^;]*; started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, finished [0-9:]+ UTC, took ", text)
    assert f"input --input {good} versions newsbeam {version('newsbeam')} · Apache Beam {version('apache-beam')}" in text
    assert f"schema version {manifest['schema_version']}" in text
    assert main(["validate", str(tmp_path / "ok")]) == 0  # the manifest written matches its schema

    degraded = run(runaway, tmp_path / "degraded")
    assert degraded.returncode == 4
    assert "word_count plausible" in degraded.stderr
    manifest = read_json(tmp_path / "degraded/_manifest.json")
    assert manifest["status"] == "degraded"
    assert manifest["quality"]["failed"] == [
        "articles/dt=2024-05-01/lang=en: word_count plausible (1 unexpected, e.g. 60200)"]
