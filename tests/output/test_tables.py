"""Iceberg tables (pipeline/output/tables.py): one run's staged Parquet files -> one commit per table.

Everything runs on small tables the tests build, in a SQLite catalog inside tmp_path (no server,
no network). Staged files are laid out as newsbeam writes them: ``DATASET/dt=DAY/lang=xx/part-N``,
partition columns in the folder names only, ``dt=undated`` for rows without a date.
"""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.output import tables

UTC = dt.timezone.utc
TS = pa.timestamp("us", tz="UTC")

#: an articles-like schema: required id, nested list/struct columns, a timestamp; ``lang`` lives in paths
ARTICLES = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("title", pa.string()),
    pa.field("published_at", TS),
    pa.field("authors", pa.list_(pa.string()), nullable=False),
    pa.field("provenance", pa.struct([pa.field("input_uri", pa.string(), nullable=False),
                                      pa.field("decisions", pa.list_(pa.string()), nullable=False)]),
             nullable=False),
])
#: a rejects-like schema: no timestamp, its day in the ``dt`` folder
REJECTS = pa.schema([pa.field("stage", pa.string(), nullable=False), pa.field("reason", pa.string(), nullable=False)])
SCHEMAS = {"articles": ARTICLES, "rejects": REJECTS}


def article(id_, day, lang="en", hour=9):
    """One article row; ``day`` is a day of January 2024, or None for undated."""
    published = None if day is None else dt.datetime(2024, 1, day, hour, 30, tzinfo=UTC)
    return {"id": id_, "title": f"title {id_}", "published_at": published, "authors": ["A. Writer"],
            "provenance": {"input_uri": f"in/{id_}.html", "decisions": ["kept"]}, "lang": lang}


def stage(root: Path, rows: list[dict], dataset="articles", schema=ARTICLES) -> list[str]:
    """Write rows as newsbeam stages them: one file per (dt, lang) folder, without those columns."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if dataset == "articles":
            day = row["published_at"].date().isoformat() if row["published_at"] else "undated"
            key = (f"dt={day}", f"lang={row['lang']}")
        else:
            key = (f"dt={row.get('dt') or 'undated'}",)
        groups.setdefault(key, []).append({k: v for k, v in row.items() if k in schema.names})
    paths = []
    for key, group in sorted(groups.items()):
        folder = root.joinpath(dataset, *key)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{len(list(folder.iterdir()))}.parquet"
        pq.write_table(pa.Table.from_pylist(group, schema=schema), path)
        paths.append(str(path))
    return paths


def commit(out: Path, rows: list[dict], mode="append", run_id=None, rejects=None, **kwargs):
    staging = out.parent / f"staging-{run_id or time.monotonic_ns()}"
    staged = {"articles": stage(staging, rows)}
    if rejects is not None:
        staged["rejects"] = stage(staging, rejects, "rejects", REJECTS)
    catalog = tables.open_catalog(out)
    return tables.commit_run(catalog, staged, mode, run_id=run_id, schemas=SCHEMAS, **kwargs)


def ids(table: pa.Table) -> list[str]:
    return sorted(table.column("id").to_pylist())


def load(out: Path, dataset="articles"):
    return tables.open_catalog(out).load_table(tables.identifier(dataset))


A = [article("a1", 1), article("a2", 1, "de"), article("a3", 2), article("a4", None)]
B = [article("b1", 1), article("b2", 3), article("b3", None, "de")]


# --------------------------------------------------------------------------- schema and layout

def test_embedded_catalog_lives_inside_out(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="r1")
    assert (out / "_catalog.db").is_file()
    files = sorted(p.relative_to(out).as_posix() for p in (out / "warehouse").rglob("*.parquet"))
    folders = sorted({f.rsplit("/", 1)[0] for f in files})
    assert folders == ["warehouse/newsbeam/articles/data/dt=2024-01-01/lang=de",
                       "warehouse/newsbeam/articles/data/dt=2024-01-01/lang=en",
                       "warehouse/newsbeam/articles/data/dt=2024-01-02/lang=en",
                       "warehouse/newsbeam/articles/data/dt=null/lang=en"]


def test_rows_read_back_typed_with_path_columns(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="r1")
    table = tables.read_table(out, "articles")
    assert table.schema.field("published_at").type == TS
    # pyiceberg reads strings and lists as their large Arrow variants
    assert table.schema.field("authors").type == pa.large_list(pa.large_string())
    assert table.schema.field("lang").type == pa.large_string()
    rows = sorted(table.to_pylist(), key=lambda r: r["id"])
    assert rows == sorted(A, key=lambda r: r["id"])  # lang came from the lang=xx folders
    iceberg = str(load(out).schema())
    assert "published_at: optional timestamptz" in iceberg
    assert "authors: required list<string>" in iceberg
    spec = load(out).spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [("dt", "day"), ("lang", "identity")]


@pytest.mark.parametrize("dataset", ["articles", "duplicates", "entities", "rejects"])
def test_tables_from_the_dataset_schemas(tmp_path, dataset):
    """Every dataset's own Arrow schema (nested lists, structs, maps) makes a table; date-time
    columns typed as timestamp[us, UTC], as the typed-tables branch does, become timestamptz."""
    from pipeline.schemas import arrow_schema

    schema = arrow_schema(dataset)
    for name in ("published_at", "fetched_at"):
        if name in schema.names:
            index = schema.get_field_index(name)
            schema = schema.set(index, schema.field(name).with_type(TS))
    table = tables.ensure_table(tables.open_catalog(tmp_path / "out"), dataset, schema)
    iceberg = table.schema()
    assert set(iceberg.as_arrow().names) == set(schema.names) | {p.source for p in tables.PARTITIONING[dataset]}
    if "published_at" in schema.names:
        assert str(iceberg.find_field("published_at").field_type) == "timestamptz"
    assert [f.name for f in table.spec().fields] == [p.name for p in tables.PARTITIONING[dataset]]


def test_a_newer_schema_adds_optional_columns_and_keeps_the_stored_rows(tmp_path):
    """A newer newsbeam adds a top-level field and a nested one: the existing table gains them as
    optional columns (the stored rows read them as null), new rows carry them, nothing is lost."""
    out = tmp_path / "out"
    commit(out, A[:2])
    newer = pa.schema(list(ARTICLES) + [pa.field("word_count", pa.int64(), nullable=False)])
    provenance = newer.field("provenance")
    newer = newer.set(newer.get_field_index("provenance"), pa.field(
        "provenance", pa.struct(list(provenance.type) + [pa.field("warnings", pa.list_(pa.string()))]),
        nullable=False))
    catalog = tables.open_catalog(out)
    table = tables.ensure_table(catalog, "articles", newer)
    stored = table.schema().as_arrow()
    assert stored.field("word_count").nullable and stored.field("id").nullable is False
    assert "warnings" in [f.name for f in stored.field("provenance").type]
    row = dict(article("c1", 5), word_count=42)
    row["provenance"] = dict(row["provenance"], warnings=["short"])
    staged = {"articles": stage(tmp_path / "staging-new", [row], schema=newer)}
    tables.commit_run(catalog, staged, "append", schemas={"articles": newer})
    rows = {r["id"]: r for r in tables.read_table(out, "articles").to_pylist()}
    assert sorted(rows) == ["a1", "a2", "c1"]
    assert rows["a1"]["word_count"] is None and rows["c1"]["word_count"] == 42
    assert rows["c1"]["provenance"]["warnings"] == ["short"] and rows["a1"]["provenance"]["warnings"] is None
    # the same schema again changes nothing
    before = load(out).schema().schema_id
    tables.ensure_table(catalog, "articles", newer)
    assert load(out).schema().schema_id == before


def test_several_staged_files_of_one_partition_keep_every_row(tmp_path):
    """A stream segment stages one file per bundle: two files of the same day and language in
    one commit must become two data files, not one written over the other."""
    out = tmp_path / "out"
    staging = tmp_path / "staging"
    first = stage(staging, [article("s1", 7)])
    second = stage(staging, [article("s2", 7)])
    assert first != second and Path(first[0]).parent == Path(second[0]).parent
    catalog = tables.open_catalog(out)
    tables.commit_run(catalog, {"articles": first + second}, "append", schemas=SCHEMAS)
    assert ids(tables.read_table(out, "articles")) == ["s1", "s2"]
    files = [task.file.file_path for task in load(out).scan().plan_files()]
    assert len(set(files)) == 2 and all(os.path.exists(f.removeprefix("file://")) for f in files)


def test_day_partition_needs_a_timestamp_column(tmp_path):
    schema = ARTICLES.set(2, pa.field("published_at", pa.string()))
    with pytest.raises(ValueError, match="day of published_at needs a timestamp"):
        tables.ensure_table(tables.open_catalog(tmp_path / "out"), "articles", schema)


# --------------------------------------------------------------------------- modes

def test_append_a_then_b_holds_both(tmp_path):
    out = tmp_path / "out"
    first = commit(out, A, run_id="rA")
    second = commit(out, B, run_id="rB")
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(A + B))
    table = load(out)
    assert [s.snapshot_id for s in table.snapshots()] == [first["articles"], second["articles"]]


def test_replace_partitions_replaces_only_the_days_given(tmp_path):
    out = tmp_path / "out"
    commit(out, A + [article("a5", 5)], run_id="rA")
    # B covers day 1 (en only: day 1's German row goes too), day 3 (new) and the undated partition
    commit(out, B, mode="replace-partitions", run_id="rB")
    assert ids(tables.read_table(out, "articles")) == ["a3", "a5", "b1", "b2", "b3"]
    # without undated rows, the undated partition is kept
    commit(out, [article("c1", 2)], mode="replace-partitions", run_id="rC")
    assert ids(tables.read_table(out, "articles")) == ["a5", "b1", "b2", "b3", "c1"]


def test_replace_partitions_on_consecutive_and_separate_days(tmp_path):
    out = tmp_path / "out"
    commit(out, [article(f"a{d}", d, hour=h) for d in range(1, 8) for h in (0, 23)], run_id="rA")
    commit(out, [article("b2", 2), article("b3", 3), article("b6", 6)], mode="replace-partitions", run_id="rB")
    assert ids(tables.read_table(out, "articles")) == sorted(
        ["a1", "a1", "a4", "a4", "a5", "a5", "a7", "a7", "b2", "b3", "b6"])


def test_replace_partitions_of_a_date_column_table(tmp_path):
    out = tmp_path / "out"
    rejects = [{"stage": "clean", "reason": "empty", "dt": "2024-01-01"},
               {"stage": "clean", "reason": "empty", "dt": "2024-01-02"}, {"stage": "read", "reason": "bad"}]
    commit(out, [], rejects=rejects, run_id="rA")
    commit(out, [], rejects=[{"stage": "dedup", "reason": "x", "dt": "2024-01-02"}],
           mode="replace-partitions", run_id="rB")
    rows = tables.read_table(out, "rejects").to_pylist()
    assert sorted((r["stage"], r["dt"] and r["dt"].isoformat()) for r in rows) == [
        ("clean", "2024-01-01"), ("dedup", "2024-01-02"), ("read", None)]


def test_overwrite_keeps_only_the_new_rows(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    commit(out, B, mode="overwrite", run_id="rB")
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(B))


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode 'merge'"):
        commit(tmp_path / "out", A, mode="merge")


# --------------------------------------------------------------------------- snapshots

def test_every_table_of_a_run_carries_its_run_id_and_summary(tmp_path):
    out = tmp_path / "out"
    summary = {"options": {"dedup_threshold": 0.8, "entities": False}, "input-fingerprint": "sha256:ab12"}
    snapshot_ids = commit(out, A, run_id="run-42", summary=summary,
                          rejects=[{"stage": "clean", "reason": "empty", "dt": "2024-01-01"}])
    assert set(snapshot_ids) == {"articles", "rejects"}
    for dataset, snapshot_id in snapshot_ids.items():
        snap = load(out, dataset).snapshot_by_id(snapshot_id)
        assert snap.summary["newsbeam.run-id"] == "run-42"
        assert snap.summary["newsbeam.mode"] == "append"
        assert json.loads(snap.summary["newsbeam.options"]) == summary["options"]
        assert snap.summary["newsbeam.input-fingerprint"] == "sha256:ab12"


def test_replace_is_one_commit_whose_snapshots_all_carry_the_run_id(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    before = len(load(out).metadata.metadata_log)
    result = commit(out, B, mode="replace-partitions", run_id="rB")
    table = load(out)
    assert len(table.metadata.metadata_log) == before + 1  # one new metadata file: readers see both or neither
    mine = [s for s in table.snapshots() if s.summary.get("newsbeam.run-id") == "rB"]
    assert [s.summary.operation.value for s in mine] == ["delete", "append"]
    assert result["articles"] == mine[-1].snapshot_id == table.current_snapshot().snapshot_id


def test_time_travel_returns_the_earlier_rows(tmp_path):
    out = tmp_path / "out"
    first = commit(out, A, run_id="rA")["articles"]
    moment = dt.datetime.now(UTC)
    commit(out, B, mode="overwrite", run_id="rB")
    expected = ids(pa.Table.from_pylist(A))
    assert ids(tables.read_table(out, "articles", as_of=first)) == expected
    assert ids(tables.read_table(out, "articles", as_of="rA")) == expected
    assert ids(tables.read_table(out, "articles", as_of=moment)) == expected
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(B))
    with pytest.raises(LookupError, match="no snapshot of run nope"):
        tables.read_table(out, "articles", as_of="nope")


def test_reading_an_output_without_tables_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no newsbeam tables"):
        tables.read_table(tmp_path / "none", "articles")
    assert not (tmp_path / "none").exists()


def test_same_run_id_again_commits_nothing_new(tmp_path):
    out = tmp_path / "out"
    first = commit(out, A, run_id="rA")
    again = commit(out, A, run_id="rA")
    assert again == first
    assert len(load(out).snapshots()) == 1
    assert len(tables.read_table(out, "articles")) == len(A)


def test_a_failed_table_says_what_committed_and_a_retry_finishes_the_run(tmp_path):
    out = tmp_path / "out"
    staging = tmp_path / "staging"
    good = stage(staging, A)
    bad = staging / "articles" / "dt=2024-01-09" / "lang=en" / "part-9.parquet"
    bad.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["x"], "authors": [["w"]], "provenance": [{"input_uri": "u", "decisions": []}],
                             "published_at": ["not a time"]}), bad)
    rejects = stage(staging, [{"stage": "clean", "reason": "empty", "dt": "2024-01-01"}], "rejects", REJECTS)
    catalog = tables.open_catalog(out)
    with pytest.raises(tables.CommitError, match="committed: rejects; not committed: articles") as err:
        tables.commit_run(catalog, {"articles": good + [str(bad)], "rejects": rejects}, run_id="r1", schemas=SCHEMAS)
    assert list(err.value.committed) == ["rejects"] and err.value.pending == ["articles"]
    assert len(tables.read_table(out, "articles")) == 0  # the table exists, with no rows of the run
    result = tables.commit_run(catalog, {"articles": good, "rejects": rejects}, run_id="r1", schemas=SCHEMAS)
    assert result["rejects"] == err.value.committed["rejects"]  # not committed twice
    assert len(tables.read_table(out, "rejects")) == 1
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(A))


def test_keep_files_adds_the_staged_files_in_place(tmp_path):
    """add_files: no copy; the table points at newsbeam's own files (with every column in them)."""
    out = tmp_path / "out"
    catalog = tables.open_catalog(out)
    table = tables.ensure_table(catalog, "articles", ARTICLES)
    full = table.schema().as_arrow()
    location = Path(table.location().removeprefix("file://")) / "data"
    paths = stage(location, A, dataset="articles", schema=full)
    paths = [str(Path(p)) for p in paths]
    snapshot = tables.commit_run(catalog, {"articles": paths}, run_id="r1", keep_files=True, schemas=SCHEMAS)
    table = load(out)
    assert sorted(t.file.file_path for t in table.scan().plan_files()) == sorted(paths)
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(A))
    assert table.snapshot_by_id(snapshot["articles"]).summary["newsbeam.run-id"] == "r1"


# --------------------------------------------------------------------------- readers

@pytest.mark.filterwarnings("ignore:Iceberg scan planning with the polars_iceberg plugin")  # planned by pyiceberg
def test_pandas_polars_duckdb_pyarrow_read_the_same_rows(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    commit(out, B, run_id="rB")
    table = load(out)
    expected = len(A) + len(B)
    undated = sum(r["published_at"] is None for r in A + B)

    arrow = table.scan().to_arrow()
    assert (len(arrow), arrow.column("published_at").null_count) == (expected, undated)
    assert arrow.schema.field("published_at").type == TS

    frame = table.scan().to_pandas()
    assert (len(frame), int(frame["published_at"].isna().sum())) == (expected, undated)
    assert str(frame["published_at"].dtype.tz) == "UTC"

    import polars as pl

    lazy = pl.scan_iceberg(table)
    polars_frame = lazy.collect()
    assert (polars_frame.height, polars_frame["published_at"].null_count()) == (expected, undated)
    assert polars_frame.schema["published_at"] == pl.Datetime("us", "UTC")

    con = table.scan().to_duckdb("articles")
    count, dated, kind = con.execute(
        "select count(*), count(published_at), typeof(any_value(published_at)) from articles").fetchone()
    assert (count, count - dated, kind) == (expected, undated, "TIMESTAMP WITH TIME ZONE")


# --------------------------------------------------------------------------- concurrency and kills

def _writer(out: str, name: str, rounds: int, barrier, results):
    outcomes = []
    for i in range(rounds):
        rows = [article(f"{name}{i}-{k}", 1 + (i + k) % 3) for k in range(3)]
        barrier.wait(timeout=60)
        try:
            commit(Path(out), rows, run_id=f"{name}-{i}")
            outcomes.append(("ok", f"{name}-{i}"))
        except tables.CommitError as exc:
            outcomes.append(("failed", f"{name}-{i}", exc.pending))
    results.put((name, outcomes))


def test_two_processes_committing_at_once(tmp_path):
    """Each commit either lands whole (pyiceberg retries from the re-read table) or fails with a
    CommitError naming what did not commit; the table holds exactly the landed runs' rows."""
    out = tmp_path / "out"
    tables.ensure_table(tables.open_catalog(out), "articles", ARTICLES)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(out), name, 4, barrier, results)) for name in ("p", "q")]
    for proc in procs:
        proc.start()
    outcomes = dict(results.get(timeout=240) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    landed = [o[1] for name in outcomes for o in outcomes[name] if o[0] == "ok"]
    failed = [o for name in outcomes for o in outcomes[name] if o[0] == "failed"]
    assert all(o[2] == ["articles"] for o in failed)
    table = load(out)
    runs = [s.summary["newsbeam.run-id"] for s in table.snapshots()]
    assert sorted(runs) == sorted(landed)  # every landed run once, no failed run
    rows = tables.read_table(out, "articles")
    assert len(rows) == 3 * len(landed)
    assert {i.rsplit("-", 1)[0] for i in rows.column("id").to_pylist()} == {r.replace("-", "") for r in landed}


def _commit_between(monkeypatch, out: Path, rows: list[dict], run_id: str):
    """Make another writer commit ``rows`` after commit_run has read the table and before it commits."""
    original = tables._commit_table
    done = []

    def racing(table, *args, **kwargs):
        if not done:
            done.append(run_id)
            commit(out, rows, run_id=run_id)
        return original(table, *args, **kwargs)

    monkeypatch.setattr(tables, "_commit_table", racing)
    return done


def test_a_commit_that_loses_a_race_is_retried_on_the_new_table(tmp_path, monkeypatch):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    _commit_between(monkeypatch, out, [article("w1", 2)], "winner")
    commit(out, B, run_id="loser")
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(A + B + [article("w1", 2)]))
    assert [s.summary["newsbeam.run-id"] for s in load(out).snapshots()] == ["rA", "winner", "loser"]


def test_commit_run_retries_on_its_own_when_pyiceberg_gives_up(tmp_path, monkeypatch):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    with load(out).transaction() as tx:  # pyiceberg raises the first CommitFailedException
        tx.set_properties({"commit.retry.num-retries": "0"})
    _commit_between(monkeypatch, out, [article("w1", 2)], "winner")
    commit(out, B, run_id="loser", retries=1)
    assert [s.summary["newsbeam.run-id"] for s in load(out).snapshots()] == ["rA", "winner", "loser"]
    assert len(tables.read_table(out, "articles")) == len(A) + 1 + len(B)


def test_a_commit_that_keeps_losing_fails_cleanly(tmp_path, monkeypatch):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    with load(out).transaction() as tx:  # no retries inside pyiceberg either
        tx.set_properties({"commit.retry.num-retries": "0"})
    before = {p: set((out / "warehouse").rglob(p)) for p in ("*.parquet", "*.avro", "*.metadata.json")}
    _commit_between(monkeypatch, out, [article("w1", 2)], "winner")
    with pytest.raises(tables.CommitError, match="changed by other writers during 1 attempts") as err:
        commit(out, B, run_id="loser", retries=0)
    assert err.value.pending == ["articles"] and err.value.committed == {}
    table = load(out)
    assert ids(table.scan().to_arrow()) == ids(pa.Table.from_pylist(A + [article("w1", 2)]))
    assert [s.summary["newsbeam.run-id"] for s in table.snapshots()] == ["rA", "winner"]
    # What the loser leaves: pyiceberg removes its manifests, not its data files (one per partition
    # of B), which no snapshot references. The winner added one data file and its metadata.
    after = {p: set((out / "warehouse").rglob(p)) for p in before}
    referenced = {t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()}
    new_data = {str(p) for p in after["*.parquet"] - before["*.parquet"]}
    assert len(new_data - referenced) == len({(r["published_at"] and r["published_at"].date(), r["lang"]) for r in B})
    assert len(after["*.metadata.json"] - before["*.metadata.json"]) == 1
    assert len(after["*.avro"] - before["*.avro"]) == 2  # the winner's manifest and manifest list


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pyiceberg.catalog import MetastoreCatalog
    sys.path.insert(0, sys.argv[3])
    import test_tables as t
    from pipeline.output import tables

    original = MetastoreCatalog._write_metadata
    def stop_after_metadata(metadata, io, metadata_path):
        original(metadata, io, metadata_path)  # data files, manifests and the new metadata are written,
        Path(sys.argv[2]).write_text(metadata_path)  # the catalog does not point at them yet
        while True:
            time.sleep(1)
    MetastoreCatalog._write_metadata = staticmethod(stop_after_metadata)
    t.commit(Path(sys.argv[1]), t.B, run_id="killed")
""")


def test_sigkill_in_the_middle_of_a_commit_leaves_the_last_commit(tmp_path):
    out = tmp_path / "out"
    commit(out, A, run_id="rA")
    before = load(out)
    marker = tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out), str(marker),
                             str(Path(__file__).parent)], cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), f"the writer never reached its commit (exit {proc.poll()})"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    after = load(out)
    assert after.metadata_location == before.metadata_location
    assert ids(after.scan().to_arrow()) == ids(pa.Table.from_pylist(A))
    referenced = {t.file.file_path.removeprefix("file://") for t in after.scan().plan_files()}
    assert all(Path(p).exists() for p in referenced)
    # left behind: the killed run's unreferenced metadata file (and its data files / manifests)
    orphan = marker.read_text().removeprefix("file://")
    assert Path(orphan).exists() and orphan != after.metadata_location.removeprefix("file://")
    on_disk = {str(p) for p in (out / "warehouse").rglob("*.parquet")}
    assert referenced < on_disk
    # and the next run commits on top of the last good commit
    commit(out, [article("n1", 4)], run_id="next")
    assert ids(tables.read_table(out, "articles")) == ids(pa.Table.from_pylist(A + [article("n1", 4)]))
