"""Iceberg tables: one run's staged Parquet files -> one Iceberg commit per table (pyiceberg).

Not wired into the CLI yet (issue 20). What a run calls after its Beam job has written the staged
files:

    catalog = open_catalog(out)                      # OUT/_catalog.db + OUT/warehouse, no server
    ids = commit_run(catalog, {"articles": [...], "rejects": [...]}, mode="append",
                     run_id=run_id, summary={"options": {...}, "input-fingerprint": "..."})
    read_table(out, "articles", as_of=ids["articles"])  # inspect / validate / tests

Facts this module relies on (pyiceberg 0.12, measured; docs/tables.md has the numbers):

- A day (or month/hour) partition transform needs the ``pyiceberg-core`` extra to *write*
  (``NotInstalledError`` without it); identity partitions do not.
- Partition fields are named ``dt`` and ``lang``, so pyiceberg writes data files under Hive-style
  paths ``data/dt=YYYY-MM-DD/lang=xx/``; undated rows go to the null partition (``dt=null``).
- ``Transaction.commit_transaction`` already retries a ``CommitFailedException`` (table property
  ``commit.retry.num-retries``, default 4, re-reading the table and re-validating). What still
  fails after that (``CommitFailedException`` or a ``ValidationException`` from a conflicting
  overwrite) is retried here from a freshly loaded table, a bounded number of times.
- An overwrite with a filter is one metadata commit holding two snapshots (delete, then append),
  both carrying this run's summary properties.
- Tables are committed one at a time (pyiceberg has no multi-table commit for these catalogs), in
  :data:`COMMIT_ORDER`, articles last: a reader who sees a run's articles sees all its tables.
  A table that already holds a snapshot with this run id is not committed again, so calling
  :func:`commit_run` again with the same run id after a partial failure finishes the run.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

if TYPE_CHECKING:  # pyiceberg and pyarrow are imported when used: importing this module is cheap
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

#: namespace of newsbeam's tables in any catalog
NAMESPACE = "newsbeam"
#: the embedded catalog and warehouse inside the output directory
CATALOG_FILE = "_catalog.db"
WAREHOUSE_DIR = "warehouse"
CATALOG_NAME = "newsbeam"

#: snapshot summary key of the run that made a snapshot; other summary keys get the same prefix
RUN_ID = "newsbeam.run-id"
MODE = "newsbeam.mode"
SUMMARY_PREFIX = "newsbeam."

MODES = ("append", "replace-partitions", "overwrite")

#: datasets are committed in this order (then any other, by name): articles last, so a reader who
#: sees a run's articles sees its story and near-duplicate indexes too
COMMIT_ORDER = ("rejects", "duplicates", "entities", "story_index", "near_index", "articles")

#: commits retried here after pyiceberg's own retries gave up (each from a freshly loaded table)
DEFAULT_RETRIES = 3

#: Hive path values that mean "no value" (newsbeam's ``dt=undated``, Hive's and pyiceberg's names)
NULL_PATH_VALUES = frozenset({"undated", "__HIVE_DEFAULT_PARTITION__", "null"})


@dataclass(frozen=True)
class PartitionBy:
    """One partition field: ``transform`` ("day" or "identity") of ``source`` column, named ``name``.

    A source column that the dataset's Arrow schema lacks (``lang`` of articles, ``dt`` of entities
    and rejects: newsbeam keeps them in the directory names) is added to the table as an optional
    column of ``column_type`` ("string" or "date"); commit_run fills it from the staged file's path.
    """

    source: str
    transform: str
    name: str
    column_type: str = "string"


#: dataset -> partition fields. Day of publication (+ language for articles); entities and rejects
#: carry no timestamp of their own, so their day is a ``dt`` date column (the article's day).
PARTITIONING: dict[str, tuple[PartitionBy, ...]] = {
    "articles": (PartitionBy("published_at", "day", "dt"), PartitionBy("lang", "identity", "lang")),
    "duplicates": (PartitionBy("published_at", "day", "dt"),),
    "entities": (PartitionBy("dt", "identity", "dt", "date"),),
    "rejects": (PartitionBy("dt", "identity", "dt", "date"),),
    "story_index": (PartitionBy("published_at", "day", "dt"),),
    "near_index": (PartitionBy("published_at", "day", "dt"),),
}


class CommitError(RuntimeError):
    """A run's commit stopped at ``dataset``. ``committed`` holds the tables that did commit
    (dataset -> snapshot id), ``pending`` the ones that did not (``dataset`` first). Calling
    :func:`commit_run` again with the same ``run_id`` commits only the pending ones."""

    def __init__(self, message: str, *, dataset: str, run_id: str,
                 committed: dict[str, int], pending: list[str]):
        super().__init__(message)
        self.dataset = dataset
        self.run_id = run_id
        self.committed = committed
        self.pending = pending


# --------------------------------------------------------------------------- catalog and tables

def open_catalog(output_dir, catalog_options: Optional[Mapping[str, str]] = None) -> "Catalog":
    """The catalog of a run's tables, with newsbeam's namespace in it.

    Without options: an embedded SQLite catalog ``OUT/_catalog.db`` whose warehouse is
    ``OUT/warehouse`` (no server). With options: any pyiceberg catalog, as
    ``pyiceberg.catalog.load_catalog(name, **options)`` takes them (``type`` = rest, glue, hive,
    sql, ...; ``uri``, ``warehouse``, credentials); ``name`` defaults to "newsbeam".
    """
    from pyiceberg.catalog import load_catalog

    if catalog_options:
        options = dict(catalog_options)
        name = options.pop("name", CATALOG_NAME)
        catalog = load_catalog(name, **options)
    else:
        from pyiceberg.catalog.sql import SqlCatalog

        out = Path(output_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        (out / WAREHOUSE_DIR).mkdir(exist_ok=True)
        catalog = SqlCatalog(CATALOG_NAME, uri=f"sqlite:///{out / CATALOG_FILE}",
                             warehouse=(out / WAREHOUSE_DIR).as_uri())
    catalog.create_namespace_if_not_exists(NAMESPACE)
    return catalog


def identifier(dataset: str) -> tuple[str, str]:
    return (NAMESPACE, dataset)


def iceberg_arrow_schema(dataset: str, arrow_schema: "Optional[pa.Schema]" = None) -> "pa.Schema":
    """The Arrow schema a dataset's table is created from: the dataset's schema
    (``pipeline.schemas.arrow_schema``) plus the partition source columns it keeps in paths."""
    import pyarrow as pa

    if arrow_schema is None:
        from pipeline.schemas import arrow_schema as dataset_schema

        arrow_schema = dataset_schema(dataset)
    types = {"string": pa.string(), "date": pa.date32()}
    for part in PARTITIONING.get(dataset, ()):
        if part.source not in arrow_schema.names:
            arrow_schema = arrow_schema.append(pa.field(part.source, types[part.column_type]))
    return arrow_schema


def ensure_table(catalog: "Catalog", dataset: str, arrow_schema: "Optional[pa.Schema]" = None) -> "Table":
    """The dataset's table, created (schema and partition spec in one commit) if missing.

    ``arrow_schema`` defaults to the dataset's schema from ``pipeline.schemas``; a day partition
    needs its source column to be a timestamp (``timestamp[us, UTC]`` -> Iceberg ``timestamptz``).
    Two processes creating the same table at once: the second loads the first's. An existing
    table gains the columns a newer schema adds (:func:`evolve_schema`).
    """
    import pyarrow as pa
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
    from pyiceberg.transforms import DayTransform, IdentityTransform

    ident = identifier(dataset)
    schema = iceberg_arrow_schema(dataset, arrow_schema)
    try:
        return evolve_schema(catalog.load_table(ident), schema)
    except NoSuchTableError:
        pass
    for part in PARTITIONING.get(dataset, ()):
        kind = schema.field(part.source).type
        if part.transform == "day" and not pa.types.is_timestamp(kind):
            raise ValueError(f"table {dataset}: partition by day of {part.source} needs a timestamp "
                             f"column, the schema has {kind}")
    transforms = {"day": DayTransform, "identity": IdentityTransform}
    try:
        with catalog.create_table_transaction(ident, schema=schema) as tx:
            parts = PARTITIONING.get(dataset, ())
            if parts:
                with tx.update_spec() as spec:
                    for part in parts:
                        spec.add_field(part.source, transforms[part.transform](), part.name)
    except TableAlreadyExistsError:
        pass
    return catalog.load_table(ident)


def _evolution_target(desired: "pa.DataType", existing: "pa.DataType") -> "pa.DataType":
    """``desired`` with each field the table already has at the table's nullability, and each
    field it lacks optional (rows written before the field existed have no value for it)."""
    import pyarrow as pa

    if pa.types.is_struct(desired) and pa.types.is_struct(existing):
        have = {f.name: f for f in existing}
        fields = []
        for f in desired:
            if f.name in have:
                old = have[f.name]
                fields.append(pa.field(f.name, _evolution_target(f.type, old.type), old.nullable, f.metadata))
            else:
                fields.append(f.with_nullable(True))
        return pa.struct(fields)
    if pa.types.is_list(desired) and pa.types.is_list(existing):
        value = _evolution_target(desired.value_type, existing.value_type)
        return pa.list_(pa.field(desired.value_field.name, value, existing.value_field.nullable))
    if pa.types.is_map(desired) and pa.types.is_map(existing):
        return pa.map_(desired.key_type, _evolution_target(desired.item_type, existing.item_type))
    return desired


def evolve_schema(table: "Table", arrow_schema: "pa.Schema") -> "Table":
    """Add to ``table`` the columns of ``arrow_schema`` it lacks, as optional columns (schema
    evolution: a newer newsbeam adds fields; the rows already stored read them as null). Columns
    are never removed or narrowed here. Returns the table (reloaded if it changed)."""
    import pyarrow as pa

    current = table.schema().as_arrow()
    target_type = _evolution_target(pa.struct(list(arrow_schema)), pa.struct(list(current)))
    target = pa.schema(list(target_type))
    if _names(target) <= _names(current):
        return table
    with table.update_schema() as update:
        update.union_by_name(target)
    return table.refresh()


def _names(schema_or_type, prefix: str = "") -> set[str]:
    """Every column path of a schema, nested fields included ("provenance.warnings")."""
    import pyarrow as pa

    names: set[str] = set()
    fields = list(schema_or_type)
    for f in fields:
        path = prefix + f.name
        names.add(path)
        kind = f.type
        while pa.types.is_list(kind) or pa.types.is_map(kind):
            kind = kind.value_type if pa.types.is_list(kind) else kind.item_type
        if pa.types.is_struct(kind):
            names |= _names(kind, path + ".")
    return names


# --------------------------------------------------------------------------- staged files -> rows

_HIVE_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def path_partition_values(path) -> dict[str, Optional[str]]:
    """``.../dt=2024-01-01/lang=en/part-0.parquet`` -> ``{"dt": "2024-01-01", "lang": "en"}``;
    ``undated`` and Hive's default partition are None."""
    values: dict[str, Optional[str]] = {}
    for segment in Path(str(path).removeprefix("file://")).parent.parts:
        match = _HIVE_SEGMENT.match(segment)
        if match:
            key, value = match.groups()
            values[key] = None if value in NULL_PATH_VALUES else value
    return values


def _path_column(value: Optional[str], kind: "pa.DataType", rows: int, column: str, path) -> "pa.Array":
    import pyarrow as pa

    if value is None:
        return pa.nulls(rows, kind)
    if pa.types.is_date(kind):
        try:
            value = _dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{path}: partition folder {column}={value} is not a date") from None
    return pa.array([value] * rows, kind)


def _conform(data: "pa.Table", target: "pa.Schema", path, dataset: str) -> "pa.Table":
    """Rows of a staged file in the table's column order and types; partition columns missing
    from the file come from its path; a missing optional column is null."""
    import pyarrow as pa

    extra = set(data.column_names) - set(target.names) - {"dt"}
    if extra:
        raise ValueError(f"{path}: columns {sorted(extra)} are not in table {dataset}")
    from_path = path_partition_values(path)
    columns = []
    for field in target:
        if field.name in data.column_names:
            column = data.column(field.name)
            if column.type != field.type:
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise ValueError(f"{path}: column {field.name} is {column.type}, table {dataset} "
                                     f"has {field.type}: {exc}") from None
        elif field.name in from_path:
            column = _path_column(from_path[field.name], field.type, data.num_rows, field.name, path)
        elif field.nullable:
            column = pa.nulls(data.num_rows, field.type)
        else:
            raise ValueError(f"{path}: required column {field.name} of table {dataset} is missing")
        if not field.nullable and column.null_count:
            raise ValueError(f"{path}: required column {field.name} of table {dataset} has "
                             f"{column.null_count} null values")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def read_staged(table: "Table", dataset: str, paths: Iterable) -> "pa.Table":
    """All rows of a dataset's staged Parquet files, as the table stores them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = table.schema().as_arrow()
    parts = [_conform(pq.read_table(str(p).removeprefix("file://")), target, p, dataset) for p in paths]
    return pa.concat_tables(parts) if parts else target.empty_table()


# --------------------------------------------------------------------------- which partitions a run covers

def _day_ranges(days: list[_dt.date]) -> list[tuple[_dt.date, _dt.date]]:
    """Sorted distinct days -> [first, last] runs of consecutive days."""
    ranges: list[tuple[_dt.date, _dt.date]] = []
    for day in days:
        if ranges and day == ranges[-1][1] + _dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def covered_days_filter(dataset: str, rows: "pa.Table"):
    """An Iceberg filter matching every row of the days (the day partition) that ``rows`` cover,
    the null (undated) partition included if a row has no day; None when rows cover no day.

    Every language of a covered day is replaced: a reprocessed day keeps no stale rows in a
    language its new input no longer has.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyiceberg.expressions import And, GreaterThanOrEqual, In, IsNull, LessThan, Or

    day_parts = [p for p in PARTITIONING.get(dataset, ()) if p.name == "dt"]
    if not day_parts:
        raise ValueError(f"table {dataset} has no day partition to replace")
    part = day_parts[0]
    column = rows.column(part.source)
    days = column if part.transform == "identity" else pc.cast(column, pa.date32())
    values = pc.unique(days.drop_null()).to_pylist() if len(days) else []
    terms = []
    if part.transform == "identity":
        if values:
            terms.append(In(part.source, {d.isoformat() for d in values}))
    else:
        for first, last in _day_ranges(sorted(values)):
            end = last + _dt.timedelta(days=1)
            terms.append(And(GreaterThanOrEqual(part.source, f"{first.isoformat()}T00:00:00+00:00"),
                             LessThan(part.source, f"{end.isoformat()}T00:00:00+00:00")))
    if days.null_count:
        terms.append(IsNull(part.source))
    if not terms:
        return None
    result = terms[0]
    for term in terms[1:]:
        result = Or(result, term)
    return result


# --------------------------------------------------------------------------- the commit

def summary_properties(run_id: str, mode: str, summary: Optional[Mapping[str, Any]]) -> dict[str, str]:
    """Snapshot summary properties: strings only; keys get the ``newsbeam.`` prefix; a value that
    is not a string is stored as sorted JSON."""
    props = {RUN_ID: run_id, MODE: mode}
    for key, value in (summary or {}).items():
        key = key if key.startswith(SUMMARY_PREFIX) else SUMMARY_PREFIX + key
        if key in (RUN_ID, MODE):
            raise ValueError(f"summary key {key} is set by commit_run")
        props[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return props


def run_snapshot(table: "Table", run_id: str):
    """The last snapshot of ``table`` that run ``run_id`` made, or None."""
    mine = [s for s in table.snapshots() if s.summary is not None and s.summary.get(RUN_ID) == run_id]
    return max(mine, key=lambda s: (s.sequence_number or 0, s.timestamp_ms)) if mine else None


def _day_rows(target: "pa.Schema", dataset: str, paths: Sequence) -> "pa.Table":
    """The day-partition source column of the staged files (read alone, or taken from the path),
    for :func:`covered_days_filter`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    [part] = [p for p in PARTITIONING.get(dataset, ()) if p.name == "dt"]
    kind = target.field(part.source).type
    chunks = []
    for path in paths:
        local = str(path).removeprefix("file://")
        if part.source in pq.read_schema(local).names:
            chunks.append(pq.read_table(local, columns=[part.source]).column(0).cast(kind))
        else:
            rows = pq.read_metadata(local).num_rows
            value = path_partition_values(path).get(part.source)
            chunks.append(pa.chunked_array([_path_column(value, kind, rows, part.source, path)]))
    return pa.table({part.source: pa.chunked_array([c for chunk in chunks for c in chunk.chunks], kind)})


def _append_staged(tx, table: "Table", dataset: str, paths: Sequence, props: dict[str, str]) -> None:
    """One fast append of data files written file by file from the staged files.

    ``Transaction.append`` of all rows at once splits them by filtering the whole Arrow table once
    per partition (pyiceberg 0.12 ``_determine_partitions``): time grows with partitions x rows
    (16.5 s for 126 files / 3,285 rows). A staged file holds one partition, so the split of each
    file is one pass over its own rows, and only one file's rows are in memory at a time.
    """
    import itertools

    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    target = tx.table_metadata.schema().as_arrow()
    # one counter for the whole append: data file names are <counter>-<task>-<write uuid>, so
    # a counter per call would give two staged files of one partition the same name
    counter = itertools.count(0)
    with tx.update_snapshot(snapshot_properties=props).fast_append() as append:
        for path in paths:
            rows = _conform(pq.read_table(str(path).removeprefix("file://")), target, path, dataset)
            if not rows.num_rows:
                continue
            for data_file in _dataframe_to_data_files(table_metadata=tx.table_metadata, df=rows, io=table.io,
                                                      write_uuid=append.commit_uuid, counter=counter):
                append.append_data_file(data_file)


def _commit_table(table: "Table", dataset: str, paths: Sequence, mode: str,
                  props: dict[str, str], keep_files: bool) -> None:
    """One transaction: the run's rows (or files) into the table, as ``mode`` says (overwrite and
    replace-partitions delete first: a delete aligned with partitions rewrites no data file)."""
    from pyiceberg.expressions import AlwaysTrue

    with table.transaction() as tx:
        if mode == "overwrite":
            tx.delete(AlwaysTrue(), snapshot_properties=props)
        elif mode == "replace-partitions" and paths:
            where = covered_days_filter(dataset, _day_rows(tx.table_metadata.schema().as_arrow(), dataset, paths))
            if where is not None:
                tx.delete(where, snapshot_properties=props)
        if keep_files:
            tx.add_files([str(p) for p in paths], snapshot_properties=props)
        else:
            _append_staged(tx, table, dataset, paths, props)


def commit_order(datasets: Iterable[str]) -> list[str]:
    """Datasets not in :data:`COMMIT_ORDER` by name, then those in that order (articles last)."""
    names = set(datasets)
    return sorted(names - set(COMMIT_ORDER)) + [d for d in COMMIT_ORDER if d in names]


def commit_run(catalog: "Catalog", staged: Mapping[str, Sequence], mode: str = "append", *,
               run_id: Optional[str] = None, summary: Optional[Mapping[str, Any]] = None,
               retries: int = DEFAULT_RETRIES, keep_files: bool = False,
               schemas: Optional[Mapping[str, "pa.Schema"]] = None) -> dict[str, int]:
    """Commit one run's staged Parquet files: one commit per table, each with the same run id.

    ``staged``: dataset -> Parquet paths the run wrote (Hive folders ``dt=``/``lang=`` give the
    partition columns the files leave out). ``mode``:

    - ``append``: add the rows;
    - ``replace-partitions``: delete the days (every language) the staged rows cover, the undated
      partition if a row is undated, and add the rows, in one commit;
    - ``overwrite``: the table holds exactly the staged rows afterwards.

    A table listed with no files gets a commit too (an empty append records that the run saw no
    rows; an empty overwrite empties the table). ``keep_files=True`` adds the files as they are
    (``add_files``: no copy; each file must hold every column and one partition, and must stay
    where it is: the table points at it) instead of writing new data files into the table location.

    Returns dataset -> the snapshot id the run made (for replace/overwrite, the append snapshot).
    A conflicting concurrent commit is retried from the freshly read table (``retries`` times,
    after pyiceberg's own retries); then :class:`CommitError` says which tables committed.
    """
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.exceptions import ValidationException

    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    run_id = run_id or uuid.uuid4().hex
    props = summary_properties(run_id, mode, summary)
    order = commit_order(staged)
    committed: dict[str, int] = {}
    for position, dataset in enumerate(order):
        if position:
            from pipeline.output.files import pause_for_tests

            pause_for_tests("commit")  # tests/test_kill: SIGKILL between two tables' commits
        paths = list(staged[dataset])
        last: Optional[BaseException] = None
        for _attempt in range(retries + 1):
            try:
                table = ensure_table(catalog, dataset, (schemas or {}).get(dataset))
                done = run_snapshot(table, run_id)
                if done is None:
                    _commit_table(table, dataset, paths, mode, props, keep_files)
                    table = catalog.load_table(identifier(dataset))
                    done = run_snapshot(table, run_id)
                committed[dataset] = done.snapshot_id
                last = None
                break
            except (CommitFailedException, ValidationException) as exc:
                last = exc
            except Exception as exc:
                raise CommitError(f"run {run_id}: commit of table {dataset} failed: "
                                  f"{type(exc).__name__}: {exc}{_state(committed, order[position:])}",
                                  dataset=dataset, run_id=run_id, committed=dict(committed),
                                  pending=order[position:]) from exc
        if last is not None:
            raise CommitError(f"run {run_id}: table {dataset} was changed by other writers during "
                              f"{retries + 1} attempts to commit ({type(last).__name__}: {last})"
                              f"{_state(committed, order[position:])}",
                              dataset=dataset, run_id=run_id, committed=dict(committed),
                              pending=order[position:]) from last
    return committed


def _state(committed: Mapping[str, int], pending: Sequence[str]) -> str:
    done = ", ".join(committed) or "none"
    return (f"; committed: {done}; not committed: {', '.join(pending)} "
            f"(commit_run again with the same run id commits only those)")


# --------------------------------------------------------------------------- reading

def resolve_snapshot(table: "Table", as_of) -> Optional[int]:
    """``as_of`` -> snapshot id: None (current), a snapshot id, a run id (that run's last
    snapshot) or an aware datetime (the snapshot current at that time)."""
    if as_of is None:
        return None
    if isinstance(as_of, _dt.datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of: give an aware datetime (UTC)")
        snap = table.snapshot_as_of_timestamp(int(as_of.timestamp() * 1000))
        if snap is None:
            raise LookupError(f"table {table.name()} had no snapshot at {as_of.isoformat()}")
        return snap.snapshot_id
    if isinstance(as_of, int):
        if table.snapshot_by_id(as_of) is None:
            raise LookupError(f"table {table.name()} has no snapshot {as_of}")
        return as_of
    snap = run_snapshot(table, str(as_of))
    if snap is None:
        raise LookupError(f"table {table.name()} has no snapshot of run {as_of}")
    return snap.snapshot_id


def has_tables(output_dir) -> bool:
    """True when ``output_dir`` holds newsbeam's embedded catalog."""
    return (Path(output_dir) / CATALOG_FILE).is_file()


def current_snapshots(catalog: "Catalog", datasets: Iterable[str]) -> dict[str, Optional[int]]:
    """dataset -> its table's current snapshot id (None: no table or no snapshot yet)."""
    from pyiceberg.exceptions import NoSuchTableError

    out: dict[str, Optional[int]] = {}
    for dataset in datasets:
        try:
            snap = catalog.load_table(identifier(dataset)).current_snapshot()
        except NoSuchTableError:
            snap = None
        out[dataset] = None if snap is None else snap.snapshot_id
    return out


def snapshot_stats(catalog: "Catalog", committed: Mapping[str, int]) -> dict[str, dict]:
    """What each committed snapshot says about itself: rows and data files added, the table's
    totals after it (from the snapshot summary, no data read)."""
    out = {}
    for dataset, snapshot_id in committed.items():
        table = catalog.load_table(identifier(dataset))
        snap = table.snapshot_by_id(snapshot_id)
        summary = snap.summary if snap is not None else None

        def number(key, summary=summary):
            value = summary.get(key) if summary is not None else None
            return int(value) if value is not None else 0

        out[dataset] = {"snapshot_id": snapshot_id, "added_rows": number("added-records"),
                        "total_rows": number("total-records"), "added_files": number("added-data-files"),
                        "total_files": number("total-data-files")}
    return out


#: columns of the stored keys a run checks its input against (never the article text)
KEY_FIELDS = ("id", "content_hash", "story_id", "provenance.input_uri", "provenance.offset")


def stored_keys(catalog: "Catalog", dataset: str, snapshot_id: Optional[int],
                days: Optional[tuple[_dt.date, _dt.date]] = None) -> "pa.Table":
    """The keys (:data:`KEY_FIELDS`, flattened to id, content_hash, story_id, input_uri, offset) of
    a table's rows as of ``snapshot_id``, with column projection; ``days`` = (first, last) prunes
    to the rows published on those days (by the day partition) plus the undated ones."""
    import pyarrow as pa
    from pyiceberg.expressions import And, GreaterThanOrEqual, IsNull, LessThan

    names = ("id", "content_hash", "story_id", "input_uri", "offset")
    empty = pa.table({n: pa.array([], pa.int64() if n == "offset" else pa.string()) for n in names})
    if snapshot_id is None:
        return empty
    table = catalog.load_table(identifier(dataset))
    filters = [None]
    if days is not None:
        first, last = days
        end = last + _dt.timedelta(days=1)
        # two scans: pyiceberg 0.12 fails planning Or(range, IsNull) over a null partition value
        filters = [And(GreaterThanOrEqual("published_at", f"{first.isoformat()}T00:00:00+00:00"),
                       LessThan("published_at", f"{end.isoformat()}T00:00:00+00:00")),
                   IsNull("published_at")]
    parts = []
    for where in filters:
        kwargs = {"row_filter": where} if where is not None else {}
        rows = table.scan(snapshot_id=snapshot_id, selected_fields=KEY_FIELDS, **kwargs).to_arrow()
        prov = rows.column("provenance").combine_chunks()
        parts.append(pa.table({"id": rows.column("id").cast(pa.string()),
                               "content_hash": rows.column("content_hash").cast(pa.string()),
                               "story_id": rows.column("story_id").cast(pa.string()),
                               "input_uri": prov.field("input_uri").cast(pa.string()),
                               "offset": prov.field("offset").cast(pa.int64())}))
    return pa.concat_tables(parts) if parts else empty


def stored_reject_keys(catalog: "Catalog", snapshot_id: Optional[int],
                       days: Optional[tuple[_dt.date, _dt.date]] = None) -> list[tuple]:
    """(input_uri, offset, stage, reason) of the stored rejects as of ``snapshot_id`` (never the
    raw input), of the days ``days`` = (first, last) plus the undated ones."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, IsNull, LessThanOrEqual

    if snapshot_id is None:
        return []
    table = catalog.load_table(identifier("rejects"))
    filters = [None]
    if days is not None:
        filters = [And(GreaterThanOrEqual("dt", days[0].isoformat()), LessThanOrEqual("dt", days[1].isoformat())),
                   IsNull("dt")]
    keys = []
    for where in filters:
        kwargs = {"row_filter": where} if where is not None else {}
        rows = table.scan(snapshot_id=snapshot_id, selected_fields=("input_uri", "offset", "stage", "reason"),
                          **kwargs).to_arrow()
        keys += zip(*(rows.column(c).to_pylist() for c in ("input_uri", "offset", "stage", "reason")))
    return keys


#: columns of the story index a run reads (all of them: the index holds no text)
STORY_INDEX_FIELDS = ("id", "story_id", "published_at", "date_trusted", "lang", "terms", "entities")


def stored_story_index(catalog: "Catalog", snapshot_id: Optional[int],
                       days: Optional[tuple[_dt.date, _dt.date]] = None) -> list[dict]:
    """The story index rows (stored story leaders) as of ``snapshot_id``, as dicts, published on
    the days ``days`` = (first, last) (day-partition pruning) plus the undated ones; [] when there
    is no snapshot (or no table: an OUT written before the index existed)."""
    return list(iter_stored_index(catalog, "story_index", snapshot_id, days))


#: columns of the near-duplicate index a run reads (all of them: the index holds no text)
NEAR_INDEX_FIELDS = ("id", "story_id", "published_at", "word_count", "shingles", "sketch", "keys")


def stored_near_index(catalog: "Catalog", snapshot_id: Optional[int],
                      days: Optional[tuple[_dt.date, _dt.date]] = None) -> list[dict]:
    """The near-duplicate index rows (stored articles' sketches and keys) as of ``snapshot_id``,
    as :func:`stored_story_index` reads the story index (day-pruned plus undated; [] without a
    snapshot or a table)."""
    return list(iter_stored_index(catalog, "near_index", snapshot_id, days))


def iter_stored_index(catalog: "Catalog", dataset: str, snapshot_id: Optional[int],
                      days: Optional[tuple[_dt.date, _dt.date]] = None):
    """The rows :func:`stored_story_index` / :func:`stored_near_index` return, one record batch of
    dicts at a time: a run's history step builds its lookups without holding every row as a dict
    (a story index row is ~50 KiB as Python dicts, against ~1.7 KiB stored)."""
    from pyiceberg.exceptions import NoSuchTableError

    if snapshot_id is None:
        return
    try:
        table = catalog.load_table(identifier(dataset))
    except NoSuchTableError:
        return
    fields = STORY_INDEX_FIELDS if dataset == "story_index" else NEAR_INDEX_FIELDS
    yield from _index_batches(table, fields, snapshot_id, _day_filters(days))


def _day_filters(days: Optional[tuple[_dt.date, _dt.date]]) -> list:
    """Row filters for the days ``days`` = (first, last) plus the undated rows (two scans: pyiceberg
    0.12 fails planning Or(range, IsNull) over the null partition), or [None] for every row."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, IsNull, LessThan

    if days is None:
        return [None]
    end = days[1] + _dt.timedelta(days=1)
    return [And(GreaterThanOrEqual("published_at", f"{days[0].isoformat()}T00:00:00+00:00"),
                LessThan("published_at", f"{end.isoformat()}T00:00:00+00:00")),
            IsNull("published_at")]


def _index_batches(table, fields: tuple, snapshot_id: int, filters: list):
    for where in filters:
        kwargs = {"row_filter": where} if where is not None else {}
        for batch in table.scan(snapshot_id=snapshot_id, selected_fields=fields, **kwargs).to_arrow_batch_reader():
            yield from batch.to_pylist()


def read_table(output_dir, dataset: str, as_of=None,
               catalog_options: Optional[Mapping[str, str]] = None, columns: Optional[tuple] = None,
               row_filter=None) -> "pa.Table":
    """A table's rows as pyarrow, now or ``as_of`` a snapshot id, run id or datetime (only
    ``columns``, and only rows matching the pyiceberg expression ``row_filter``, when given).
    Reading creates nothing: an output directory without a catalog is a FileNotFoundError."""
    if not catalog_options and not (Path(output_dir) / CATALOG_FILE).is_file():
        raise FileNotFoundError(f"{output_dir} holds no newsbeam tables ({CATALOG_FILE} is missing)")
    catalog = open_catalog(output_dir, catalog_options)
    table = catalog.load_table(identifier(dataset))
    fields = {"selected_fields": tuple(columns)} if columns else {}
    if row_filter is not None:
        fields["row_filter"] = row_filter
    return table.scan(snapshot_id=resolve_snapshot(table, as_of), **fields).to_arrow()
