"""Partitioned writers, Arrow schemas derived from the JSON Schemas, publish and counts."""
import datetime
import os

import apache_beam as beam
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.io import sinks
from pipeline.records import UNDATED_PARTITION, make_reject
from pipeline.schemas import arrow_row, datetime_columns, json_record, validation_errors
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


def test_date_time_strings_are_utc_timestamps_in_arrow_for_every_dataset_that_has_them():
    utc = pa.timestamp("us", tz="UTC")
    for dataset in ("articles", "duplicates"):
        schema = sinks.arrow_schema(dataset)
        assert schema.field("published_at").type == utc and schema.field("fetched_at").type == utc
        assert datetime_columns(dataset) == ("published_at", "fetched_at")
    for dataset in ("entities", "rejects"):
        assert not any(pa.types.is_timestamp(f.type) for f in sinks.arrow_schema(dataset))
        assert datetime_columns(dataset) == ()


def test_every_optional_field_parquet_must_store_is_nullable_or_has_a_default():
    """Parquet cannot leave a field out: an optional field that JSON may not set to null needs a
    schema default, or a row read back from Parquet would not validate (provenance.warnings: null)."""
    from pipeline.schemas import SCHEMA_FILES, allows_null, dataset_node, resolve

    def walk(node, root, path):
        node = resolve(node, root)
        props = node.get("properties", {})
        for key, child in props.items():
            target = resolve(child, root)
            if key not in node.get("required", ()):
                assert allows_null(target, root) or "default" in target, f"{path}/{key}"
            walk(target, root, f"{path}/{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], root, f"{path}/items")

    for dataset in SCHEMA_FILES:
        node, root = dataset_node(dataset)
        walk(node, root, dataset)


def test_rows_go_to_arrow_and_back_to_the_same_valid_json_record():
    a = make_article(fetched_at="2024-03-13T06:00:00Z")
    a["provenance"].pop("warnings", None)
    row = arrow_row(sinks.file_rows("articles", [a])[0], "articles")
    assert row["published_at"] == datetime.datetime(2024, 3, 12, 18, 30, tzinfo=datetime.timezone.utc)
    assert row["provenance"]["warnings"] == [] and row["provenance"]["clean"]["removed"] == [("share", 2)]
    table = pa.Table.from_pylist([row], schema=sinks.arrow_schema("articles"))
    back = json_record(dict(table.to_pylist()[0], lang="en", dt="2024-03-12"), "articles")
    assert back["published_at"] == "2024-03-12T18:30:00Z" and back["fetched_at"] == "2024-03-13T06:00:00Z"
    assert back["provenance"]["clean"] == {"removed": {"share": 2}} and "dt" not in back
    assert validation_errors(back, "articles") == []
    # the same record, but for what Parquet cannot leave out: absent nullable fields come back null
    assert {k: v for k, v in back["provenance"].items() if v is not None} == dict(a["provenance"], warnings=[])
    assert dict(back, provenance=None) == dict({k: v for k, v in a.items() if k != "dt"}, provenance=None)


def test_partition_paths_are_hive_style_with_a_null_partition():
    a = make_article()
    assert sinks.partition_path("articles", a) == "articles/dt=2024-03-12/lang=en"
    undated = make_article(published_at=None)
    assert sinks.partition_path("entities", undated) == f"entities/dt={UNDATED_PARTITION}" == "entities/dt=undated"


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
        "articles/dt=undated/lang=fr/part-00000.parquet"])
    rows = duckdb.sql(f"select id, lang, dt, published_at from read_parquet('{tmp_path}/articles/**/*.parquet', "
                      "hive_partitioning=true) order by id").fetchall()
    assert {(r[0], r[1], str(r[2]), r[3] and r[3].astimezone(datetime.timezone.utc).isoformat()) for r in rows} == {
        (a["id"], "en", "2024-03-12", "2024-03-12T18:30:00+00:00"), (b["id"], "fr", "undated", None)}
    assert len(pd.read_parquet(tmp_path / "articles")) == 2  # Hive's NULL partition broke this
    file = pq.read_table(tmp_path / "articles/dt=2024-03-12/lang=en/part-00000.parquet")
    assert "lang" not in file.column_names and "dt" not in file.column_names
    assert file.column("provenance")[0].as_py()["clean"]["removed"] == [("share", 2)]
    dups = pq.read_table(tmp_path / "duplicates/dt=2024-03-12/part-00000.parquet").to_pylist()
    assert dups[0]["duplicate_of"] == a["id"] and dups[0]["lang"] == "en"
    rej = pq.read_table(tmp_path / "rejects/dt=undated/part-00000.parquet").to_pylist()
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
    from pipeline.output.ownership import STAGING_MARKER

    (tmp_path / f".staging-{dead.pid}-abc" / "articles").mkdir(parents=True)
    (tmp_path / f".staging-{dead.pid}-abc" / STAGING_MARKER).write_text("{}")
    (tmp_path / ".staging-notes").mkdir()  # named like a staging dir, but nobody's run made it
    (tmp_path / ".staging-notes" / "keep.txt").write_text("mine")
    (tmp_path / ".old-articles" / "dt=2024-03-12").mkdir(parents=True)
    (tmp_path / ".old-articles" / "dt=2024-03-12" / "part-00000.parquet").write_bytes(b"PAR1")
    (tmp_path / ".old-photos").mkdir()
    live = tmp_path / f".staging-{os.getppid()}-xyz"
    live.mkdir()
    (live / STAGING_MARKER).write_text("{}")
    (tmp_path / "articles").mkdir()
    removed = sinks.clean_leftovers(str(tmp_path))
    assert sorted(removed) == sorted([f".staging-{dead.pid}-abc", ".old-articles"])
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "articles", ".staging-notes", ".old-photos"])
    assert (tmp_path / ".staging-notes" / "keep.txt").read_text() == "mine"
    mine = sinks.staging_dir(str(tmp_path))
    assert os.path.basename(mine).startswith(f".staging-{os.getpid()}-")
    assert mine not in [os.path.join(str(tmp_path), r) for r in sinks.clean_leftovers(str(tmp_path))]
    assert os.path.isdir(mine)
