"""Partitioned writers, Arrow schemas derived from the JSON Schemas, publish and counts."""
import gzip
import json
import os

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.io import sinks
from pipeline.records import NULL_PARTITION, make_reject
from pipeline.stages.dedup import as_duplicate
from pipeline.stages.validate import load_schema
from tests.conftest import make_article


def test_arrow_schema_follows_json_schema_without_partition_columns():
    schema = sinks.arrow_schema("articles")
    json_props = load_schema("article.schema.json")["$defs"]["fields"]["properties"]
    assert schema.names == [p for p in json_props if p != "lang"]
    assert str(schema.field("word_count").type) == "int64"
    assert not schema.field("id").nullable and schema.field("title").nullable
    assert str(schema.field("entities").type).startswith("list<item: struct<text: string")
    dup = sinks.arrow_schema("duplicates")
    assert {"duplicate_of", "kind", "similarity", "lang"} <= set(dup.names)


def test_partition_paths_are_hive_style_with_a_null_partition():
    a = make_article()
    assert sinks.partition_path("articles", a) == "articles/dt=2024-03-12/lang=en"
    undated = make_article(published_at=None)
    assert sinks.partition_path("entities", undated) == f"entities/dt={NULL_PARTITION}"


def test_files_are_byte_identical_whatever_the_row_order():
    rows = [make_article(url=f"https://e.example/{i}", text=f"Story number {i} about a bridge.") for i in range(5)]
    first = sinks.parquet_bytes("articles", sinks.file_rows("articles", rows))
    again = sinks.parquet_bytes("articles", sinks.file_rows("articles", rows[::-1]))
    assert first == again
    rejects = [make_reject("read", "bad", b"\xff\x00", "x.txt"), make_reject("read", "bad", b"ok", "a.txt")]
    assert sinks.jsonl_gz_bytes(sinks.file_rows("rejects", rejects)) == \
        sinks.jsonl_gz_bytes(sinks.file_rows("rejects", rejects[::-1]))


def _write(tmp_path, datasets):
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        for name, rows in datasets.items():
            p | f"Create{name}" >> beam.Create(rows) | f"Write{name}" >> sinks.WriteDataset(name, str(tmp_path))


def test_written_datasets_read_back_with_duckdb_and_pyarrow(tmp_path):
    a = make_article()
    b = make_article(url="https://other.example/b", lang="fr", published_at=None, text="Le conseil a voté.")
    dup = as_duplicate(make_article(url="https://copy.example/a"), a["id"], "exact", 1.0)
    _write(tmp_path, {"articles": [a, b], "duplicates": [dup], "rejects": [make_reject("read", "empty input file", b"", "e.txt")]})
    assert sinks.list_dataset_files(str(tmp_path), "articles") == sorted([
        "articles/dt=2024-03-12/lang=en/part-00000.parquet",
        f"articles/dt={NULL_PARTITION}/lang=fr/part-00000.parquet"])
    rows = duckdb.sql(f"select id, lang, dt, text from read_parquet('{tmp_path}/articles/**/*.parquet', "
                      "hive_partitioning=true) order by id").fetchall()
    assert {(r[0], r[1], str(r[2]) if r[2] else None) for r in rows} == {
        (a["id"], "en", "2024-03-12"), (b["id"], "fr", None)}
    file = pq.read_table(tmp_path / "articles/dt=2024-03-12/lang=en/part-00000.parquet")
    assert "lang" not in file.column_names and "dt" not in file.column_names
    assert file.column("provenance")[0].as_py()["clean"]["removed"] == [("share", 2)]
    dups = pq.read_table(tmp_path / "duplicates/dt=2024-03-12/part-00000.parquet").to_pylist()
    assert dups[0]["duplicate_of"] == a["id"] and dups[0]["lang"] == "en"
    with gzip.open(tmp_path / f"rejects/dt={NULL_PARTITION}/part-00000.jsonl.gz") as f:
        rej = [json.loads(line) for line in f]
    assert rej[0]["reason"] == "empty input file" and "dt" not in rej[0]
    counts, files = sinks.dataset_counts(str(tmp_path))
    assert counts == {"articles": 2, "duplicates": 1, "entities": 0, "rejects": 1}
    assert all(len(f["sha256"]) == 64 for f in files)


def test_publish_replaces_instead_of_appending(tmp_path):
    out = tmp_path / "out"
    for run, n in ((1, 3), (2, 1)):
        staging = tmp_path / f"staging{run}"
        rows = [make_article(url=f"https://e.example/{run}/{i}", published_at=f"2024-03-1{i}T00:00:00Z")
                for i in range(n)]
        _write(staging, {"articles": rows})
        sinks.publish(str(staging), str(out))
        if run == 1:
            sinks.write_manifest(str(out), {"run": 1})
    counts, files = sinks.dataset_counts(str(out))
    assert counts["articles"] == 1 and len(files) == 1
    # the old manifest is gone and the journal says a publish is under way ...
    assert sorted(os.listdir(out)) == ["_publishing.json", "articles", "duplicates", "entities", "rejects"]
    assert sinks.interrupted_publish(str(out))
    # ... until the new manifest, the commit point, is written
    sinks.write_manifest(str(out), {"run": 2})
    assert sorted(os.listdir(out)) == ["_manifest.json", "articles", "duplicates", "entities", "rejects"]
    assert not sinks.interrupted_publish(str(out))


def test_clean_leftovers_removes_dead_runs_staging_but_not_live_ones(tmp_path):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f".staging-{dead.pid}-abc" / "articles").mkdir(parents=True)
    (tmp_path / ".staging-legacy").mkdir()
    (tmp_path / ".old-articles").mkdir()
    live = tmp_path / f".staging-{os.getppid()}-xyz"
    live.mkdir()
    (tmp_path / "articles").mkdir()
    removed = sinks.clean_leftovers(str(tmp_path))
    assert sorted(removed) == sorted([f".staging-{dead.pid}-abc", ".staging-legacy", ".old-articles"])
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "articles"])
    mine = sinks.staging_dir(str(tmp_path))
    assert os.path.basename(mine).startswith(f".staging-{os.getpid()}-")
    assert mine not in [os.path.join(str(tmp_path), r) for r in sinks.clean_leftovers(str(tmp_path))]
    assert os.path.isdir(mine)
