"""Every table of a real batch `newsbeam run` (default options: entities on), and of a local
streaming run (which commits to the same tables), reads in one line with pandas, polars, DuckDB and
pyarrow through the Iceberg catalog: the same rows in each, timestamps typed as UTC timestamps,
undated rows included, and every row, turned back into JSON, valid against its JSON Schema.

The input is written here: a dated and an undated article, an exact copy of each, a line that is
not JSON (a reject) and a WARC response (an article with a fetch time)."""
import io
import json
import subprocess
import sys
import time

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from pipeline.records import UNDATED_PARTITION
from pipeline.schemas import datetime_columns, json_record, validation_errors
from tests.conftest import REPO
from tests.test_cli import newsbeam

DATASETS = ("articles", "duplicates", "entities", "rejects")

DATED = {"url": "https://wire.example/2024/03/12/bridge", "title": "Council approves the river bridge",
         "published_at": "2024-03-12T18:30:00Z", "authors": ["Maria Lopez"],
         "text": "Mayor Anne Hidalgo said on Tuesday that the city council in Paris had approved the new "
                 "bridge over the Seine after two years of debate.\n\nConstruction will begin in the "
                 "spring and the bridge should open to cyclists and pedestrians in 2026, the mayor said."}
UNDATED = {"url": "https://post.example/library-hours", "title": "Libraries open on Sundays",
           "text": "Angela Merkel opened the new reading room of the Berlin state library, which will "
                   "from now on stay open on Sunday afternoons after a survey of four thousand readers.\n\n"
                   "The pilot will run for a year before the library board decides whether to keep it."}
PAGE = ("<html><head><title>Harbour ferry terminal approved</title>"
        '<meta property="article:published_time" content="2024-04-01T09:00:00Z"></head><body><article>'
        "<h1>Harbour ferry terminal approved</h1>"
        "<p>The harbour authority in Hamburg approved a new ferry terminal on Monday after three years of "
        "planning, ending a long dispute with residents of the old port district.</p>"
        "<p>Construction of the terminal, which will serve two new electric ferries, is expected to begin "
        "in June and to take eighteen months, according to the authority's director Jens Kerstan.</p>"
        "</article></body></html>")


def write_inputs(folder):
    """articles.jsonl (dated, undated, a copy of each, a line that is not JSON) and news.warc."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(DATED), json.dumps(UNDATED),
             json.dumps(dict(DATED, url="https://copy.example/bridge")),
             json.dumps(dict(UNDATED, url="https://copy.example/library")),
             "this line is not JSON {"]
    (folder / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=UTF-8")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        "https://harbour.example/ferry", "response", payload=io.BytesIO(PAGE.encode("utf-8")),
        http_headers=http, warc_headers_dict={"WARC-Date": "2024-04-02T07:15:00Z"}))
    (folder / "news.warc").write_bytes(buf.getvalue())


# --------------------------------------------------------------------------- the four readers, one line each


def read_pandas(out, dataset):
    frame = pd.read_parquet(out / dataset)
    types = {c: str(frame[c].dtype) for c in frame.columns}
    return frame.to_dict("records"), types


def read_polars(out, dataset):
    frame = pl.read_parquet(f"{out}/{dataset}/**/*.parquet", hive_partitioning=True)
    return frame.to_dicts(), {c: str(t) for c, t in frame.schema.items()}


def read_duckdb(out, dataset):
    rel = duckdb.sql(f"select * from read_parquet('{out}/{dataset}/**/*.parquet', hive_partitioning=true)")
    types = {c: str(t) for c, t in zip(rel.columns, rel.types)}
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()], types


def read_pyarrow(out, dataset):
    table = pads.dataset(out / dataset, partitioning="hive").to_table()
    return table.to_pylist(), {f.name: str(f.type) for f in table.schema}


READERS = {"pandas": read_pandas, "polars": read_polars, "duckdb": read_duckdb, "pyarrow": read_pyarrow}


def iceberg_table(out, dataset):
    """The table as README shows it: pyiceberg's SQL catalog on OUT/_catalog.db."""
    from pyiceberg.catalog import load_catalog

    return load_catalog("newsbeam", type="sql", uri=f"sqlite:///{out}/_catalog.db").load_table(f"newsbeam.{dataset}")


def table_pandas(out, dataset):
    frame = iceberg_table(out, dataset).scan().to_pandas()
    return frame.to_dict("records"), {c: str(frame[c].dtype) for c in frame.columns}


def table_polars(out, dataset):
    frame = pl.scan_iceberg(iceberg_table(out, dataset)).collect()
    return frame.to_dicts(), {c: str(t) for c, t in frame.schema.items()}


def table_duckdb(out, dataset):
    arrow = iceberg_table(out, dataset).scan().to_arrow()  # noqa: F841 (read by the query below)
    rel = duckdb.sql("select * from arrow")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()], {c: str(t) for c, t in zip(rel.columns, rel.types)}


def table_pyarrow(out, dataset):
    table = iceberg_table(out, dataset).scan().to_arrow()
    return table.to_pylist(), {f.name: str(f.type) for f in table.schema}


TABLE_READERS = {"pandas": table_pandas, "polars": table_polars, "duckdb": table_duckdb, "pyarrow": table_pyarrow}

#: what each reader calls a UTC timestamp with microseconds
UTC_TIMESTAMP = {"pandas": "datetime64[us, UTC]", "polars": "Datetime(time_unit='us', time_zone='UTC')",
                 "duckdb": "TIMESTAMP WITH TIME ZONE", "pyarrow": str(pa.timestamp("us", tz="UTC"))}


def manifest_rows(out) -> dict:
    return {d: v["rows"] for d, v in json.loads((out / "_manifest.json").read_text())["datasets"].items()}


def _undated(row: dict, dataset: str) -> bool:
    value = row.get("published_at") if dataset in ("articles", "duplicates") else row.get("dt")
    return value is None or bool(pd.isna(value))  # pandas: NaT


def check_table_readers(out, reader: str, dataset: str) -> list[dict]:
    """The checks of one (reader, table): row count, typed timestamps, undated rows, schema."""
    rows, types = TABLE_READERS[reader](out, dataset)
    assert len(rows) == manifest_rows(out)[dataset] > 0, (reader, dataset)
    for column in datetime_columns(dataset):
        assert types[column] == UTC_TIMESTAMP[reader], (reader, dataset, column, types[column])
    assert any(_undated(r, dataset) for r in rows), (reader, dataset)
    records = [json_record({k: v for k, v in r.items() if k != "dt"}, dataset) for r in rows]
    problems = {i: validation_errors(rec, dataset) for i, rec in enumerate(records)}
    assert not any(problems.values()), (reader, dataset, {i: p for i, p in problems.items() if p})
    return records


def check_readers(out, reader: str, dataset: str, undated_expected: bool = True) -> list[dict]:
    """The checks of one (reader, dataset): row count, typed timestamps, undated rows, schema."""
    rows, types = READERS[reader](out, dataset)
    assert len(rows) == manifest_rows(out)[dataset] > 0, (reader, dataset)
    for column in datetime_columns(dataset):
        assert types[column] == UTC_TIMESTAMP[reader], (reader, dataset, column, types[column])
    assert types["dt"] != "null" and all(r["dt"] is not None for r in rows)
    if undated_expected:
        assert any(str(r["dt"]) == UNDATED_PARTITION for r in rows), (reader, dataset)
    records = [json_record(r, dataset) for r in rows]
    problems = {i: validation_errors(rec, dataset) for i, rec in enumerate(records)}
    assert not any(problems.values()), (reader, dataset, {i: p for i, p in problems.items() if p})
    return records


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("readers")
    write_inputs(root / "in")
    out = root / "out"
    result = newsbeam("run", "--input", f"{root}/in/*", "--output", out)  # default options: entities on
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("reader", TABLE_READERS)
def test_each_reader_reads_each_table_typed_and_valid(batch_out, reader, dataset):
    check_table_readers(batch_out, reader, dataset)


def test_the_readers_agree_row_for_row(batch_out):
    """Not only the counts: the same JSON records from every reader, undated and fetched rows included."""
    for dataset in DATASETS:
        key = {"articles": "id", "duplicates": "url", "entities": "canonical", "rejects": "raw"}[dataset]
        by_reader = {}
        for reader in TABLE_READERS:
            records = check_table_readers(batch_out, reader, dataset)
            by_reader[reader] = sorted(records, key=lambda r: (str(r[key]), json.dumps(r, sort_keys=True)))
        assert all(v == by_reader["pyarrow"] for v in by_reader.values()), dataset
    articles = check_table_readers(batch_out, "pyarrow", "articles")
    assert {a["title"] for a in articles if a["published_at"] is None} == {UNDATED["title"]}
    assert [a["fetched_at"] for a in articles if a["url"] == "https://harbour.example/ferry"] == \
        ["2024-04-02T07:15:00Z"]
    assert any(e["label"] == "PERSON" for a in articles for e in a["entities"]), "entities ran"


def test_table_types_come_from_the_json_schema(batch_out):
    """The table schema is the derived Arrow schema (plus the partition columns newsbeam kept in
    folder names): timestamps, not strings; a warnings list, not null."""
    from pipeline.output import tables

    for dataset in DATASETS:
        stored = iceberg_table(batch_out, dataset).schema().as_arrow()
        expected = tables.iceberg_arrow_schema(dataset)
        assert stored.names == expected.names, dataset
        for field in expected:  # pyiceberg reads strings and lists as their large variants
            def plain(kind):  # pyiceberg: large_string, large_list<element: ...>
                return str(kind).replace("large_", "").replace("<element: ", "<item: ")

            assert plain(stored.field(field.name).type) == plain(field.type), (dataset, field.name)
    table = iceberg_table(batch_out, "articles").scan().to_arrow()
    provenance = table.column("provenance").to_pylist()
    assert all(isinstance(p["warnings"], list) for p in provenance)
    assert table.column("published_at").null_count == 1


def test_a_streaming_output_reads_the_same_way(tmp_path):
    inbox = tmp_path / "inbox"
    write_inputs(inbox)
    out = tmp_path / "live"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--streaming", "--watch", str(inbox / "*"),
         "--watch-interval", "1", "--stop-after", "6", "--output", str(out), "--no-quality"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "_manifest.json").read_text())
    assert m["conservation"]["holds"] and m["counts"]["inputs"] == 6, m["counts"]
    assert m["layout"] == "tables"  # a local stream commits its segments to the same tables as batch
    for dataset in DATASETS:
        for reader in TABLE_READERS:
            check_table_readers(out, reader, dataset)


def test_a_managed_runner_stream_writes_folders_the_readers_read(tmp_path):
    """What a stream on Dataflow or Flink writes: its job straight into the output's dataset
    folders (no segments, no tables), read by the same four readers from the folders."""
    inbox = tmp_path / "inbox"
    write_inputs(inbox)
    out = tmp_path / "folders"
    code = f"""
import time
from pipeline.output.publish import write_manifest
from pipeline.run.streaming import live_manifest, run_job, streaming_options
options = streaming_options(["--watch", {str(inbox / "*")!r}, "--watch-interval", "1",
                             "--output", {str(out)!r}, "--no-quality"])
start = time.time()
run_job(options, {str(out)!r}, {str(out / "_state")!r}, start, start + 4, seed_dedup=False)
write_manifest({str(out)!r}, live_manifest({str(out)!r}, "complete", {{}}, {{}}, "", start)[0])
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (out / "_catalog.db").exists()
    for dataset in DATASETS:
        for reader in READERS:
            check_readers(out, reader, dataset)
