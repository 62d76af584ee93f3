"""Running every check over an output: what passes, what fails, and how failures are named."""
import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.quality import runner
from pipeline.records import make_reject
from pipeline.stages.dedup import as_duplicate
from tests.conftest import make_article
from tests.quality.conftest import sample_datasets, write_output

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def failed_names(results):
    return {(p["dataset"], r["expectation"]) for p in results["partitions"] for r in p["results"]
            if not r["success"]} | {("output", r["expectation"]) for r in results["output"] if not r["success"]}


def test_a_fresh_output_passes_every_check_including_manifest_and_checksums(output):
    results = runner.check_output(output, with_manifest=True, now=NOW)
    assert failed_names(results) == set()
    assert results["success"]
    assert [p["partition"] for p in results["partitions"]] == [
        "articles/dt=2024-03-12/lang=en", "articles/dt=2024-03-13/lang=fr", "duplicates/dt=2024-03-12",
        "entities/dt=2024-03-12", "rejects/dt=undated"]
    checked = {r["expectation"] for p in results["partitions"] for r in p["results"]}
    assert {"article ids unique", "duplicate_of points at an existing article", "entity label known",
            "stage known", "rows match article.schema.json"} <= checked


def test_dangling_references_and_unknown_labels_fail_by_name(tmp_path):
    data = sample_datasets()
    data["duplicates"].append(as_duplicate(make_article(url="https://x.example/1"), "0" * 16, "near", 0.9))
    data["entities"].append(dict(data["entities"][0], canonical="Moon", label="PLANET"))
    data["rejects"].append(make_reject("teleport", "", b"x", "in/x"))
    root = write_output(tmp_path / "out", data)
    failed = failed_names(runner.check_output(root, now=NOW))
    assert ("duplicates", "duplicate_of points at an existing article") in failed
    assert ("entities", "entity label known") in failed
    assert ("rejects", "stage known") in failed and ("rejects", "reason present") in failed
    assert ("articles", "article ids unique") not in failed


def test_an_id_in_two_partitions_fails_uniqueness_across_partitions(tmp_path):
    data = sample_datasets()
    a = data["articles"][0]
    data["articles"].append(dict(a, lang="de", dt="2024-03-14", story_id=a["id"]))
    failed = failed_names(runner.check_output(write_output(tmp_path / "out", data), now=NOW))
    assert ("articles", "article ids unique across partitions") in failed
    assert ("articles", "article ids unique") not in failed  # each partition alone is fine


def test_published_at_in_the_future_fails_but_a_day_of_slack_passes(tmp_path):
    data = sample_datasets()
    data["articles"].append(make_article(url="https://news.example.com/soon", published_at="2025-01-01T20:00:00Z"))
    data["articles"].append(make_article(url="https://news.example.com/later", published_at="2025-01-03T00:00:00Z"))
    results = runner.check_output(write_output(tmp_path / "out", data), now=NOW)
    bad = [p["partition"] for p in results["partitions"] for r in p["results"]
           if r["expectation"] == "published_at not in the future" and not r["success"]]
    assert bad == ["articles/dt=2025-01-03/lang=en"]


def test_a_row_edited_by_another_tool_is_held_to_the_json_schema(output):
    path = os.path.join(output, "articles/dt=2024-03-12/lang=en/part-00000.parquet")
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["content_hash"] = "not-a-hash"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    results = runner.check_output(output, with_manifest=True, now=NOW)
    failed = failed_names(results)
    assert failed == {("articles", "rows match article.schema.json"), ("output", "files match the manifest (sha256)")}
    assert any("/content_hash" in line for line in runner.failures(results))


def test_results_are_deterministic_and_carry_no_timestamp(output, tmp_path):
    first = runner.write_results(output, runner.check_output(output, now=NOW))
    with open(first, "rb") as f:
        before = f.read()
    runner.write_results(output, runner.check_output(output, now=NOW + dt.timedelta(days=3)))
    with open(first, "rb") as f:
        assert f.read() == before
    assert b"2025-01" not in before


def test_the_table_puts_failures_first_and_shows_an_example(tmp_path):
    data = sample_datasets()
    data["articles"].append(dict(data["articles"][0], text=""))
    text = runner.format_table(runner.check_output(write_output(tmp_path / "out", data), now=NOW))
    lines = text.splitlines()
    assert lines[2].startswith("FAIL  articles") and '""' in text
    assert sum(line.startswith("FAIL") for line in lines) == 3  # ids unique, text non-empty, rows match schema


def test_a_passing_dataset_is_validated_once_with_the_same_results_as_per_partition(output, monkeypatch):
    """Archives have a partition per day: the suites run once per dataset when everything holds,
    and say exactly what the per-partition runs would have said."""
    from pipeline.quality import suites

    calls = []

    def counted(frame, configs):
        calls.append(len(frame))
        return suites.ge().validate(frame, configs)

    fast = runner.check_output(output, with_manifest=True, now=NOW, validate=counted)
    assert calls == [2, 1, 1, 1]  # articles (2 partitions, one GE run), duplicates, entities, rejects
    monkeypatch.setattr(runner, "_passes_as_one", lambda *args: None)
    calls.clear()
    slow = runner.check_output(output, with_manifest=True, now=NOW, validate=counted)
    assert calls == [1, 1, 1, 1, 1]
    assert fast == slow and fast["success"]


def test_partitions_are_checked_a_bounded_chunk_at_a_time(output, monkeypatch):
    """Memory stays bounded: past CHECK_CHUNK_BYTES the partitions go to GE in separate runs,
    with the same results."""
    from pipeline.quality import suites

    calls = []

    def counted(frame, configs):
        calls.append(len(frame))
        return suites.ge().validate(frame, configs)

    whole = runner.check_output(output, with_manifest=True, now=NOW, validate=counted)
    monkeypatch.setattr(runner, "CHECK_CHUNK_BYTES", 1)
    calls.clear()
    chunked = runner.check_output(output, with_manifest=True, now=NOW, validate=counted)
    assert calls == [1, 1, 1, 1, 1]  # each partition its own chunk
    assert chunked == whole
