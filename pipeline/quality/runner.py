"""Run every check over an output directory, one partition at a time.

Checks per partition: the dataset's GE suite, and every row against the dataset's JSON Schema
(the same compiled validator the pipeline uses, so a file edited or written by another tool
is held to the same contract). Checks of the output as a whole (``newsbeam validate`` only,
since the run writes the manifest after them): the manifest against ``manifest.schema.json``,
and every file against the sha256 the manifest lists.

Memory stays bounded by ``CHECK_CHUNK_BYTES`` (or the largest partition, when it is larger):
partitions are read and checked a chunk at a time, and the cross-dataset references (``$ids``)
come from a first pass that reads only the id columns.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from pipeline.records import UNDATED_PARTITIONS, loads
from pipeline.quality import suites

DATASETS = ("articles", "duplicates", "entities", "rejects")
QUALITY_DIR = "_quality"
RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"

#: the column each dataset's ids live in (for ``{"$ids": dataset}``)
ID_COLUMNS = {"articles": "id", "duplicates": "id"}

#: schema errors kept per partition
ERROR_EXAMPLES = 5

#: partitions are read and validated together up to this many bytes of Arrow data at a time
CHECK_CHUNK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Partition:
    dataset: str
    path: str  # relative to the output root, e.g. "articles/dt=2024-03-12/lang=en"
    files: tuple[str, ...]  # relative paths (none for a partition read from a table)
    rows: Any = field(default=None, compare=False, repr=False)  # a table's rows of this partition

    @property
    def values(self) -> dict:
        """Partition column -> value (None for the undated partition: ``dt=undated``, or Hive's
        NULL partition in outputs of schema 1.x)."""
        out = {}
        for part in self.path.split("/")[1:]:
            key, _, value = part.partition("=")
            out[key] = None if key == "dt" and value in UNDATED_PARTITIONS else value
        return out


def discover(root: str, datasets: Iterable[str] = DATASETS, as_of=None) -> list[Partition]:
    """Every partition of an output: of its Iceberg tables (``_catalog.db``; ``as_of`` a snapshot
    id or run id), else every partition directory with data files (Parquet read when both formats
    exist)."""
    from pipeline.output import tables

    if tables.has_tables(root):
        return table_partitions(root, datasets, as_of)
    if as_of is not None:
        raise ValueError(f"{root} holds dataset folders, not tables: --as-of needs tables")
    found = []
    for dataset in datasets:
        base = os.path.join(root, dataset)
        for dirpath, dirs, files in os.walk(base):
            dirs.sort()
            parquet = sorted(f for f in files if f.endswith(".parquet"))
            jsonl = sorted(f for f in files if f.endswith(".jsonl.gz"))
            chosen = parquet or jsonl
            if not chosen:
                continue
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            found.append(Partition(dataset, rel, tuple(f"{rel}/{f}" for f in chosen)))
    return sorted(found, key=lambda p: (DATASETS.index(p.dataset), p.path))


#: the columns a table's partition folder is derived from (:func:`_partition_keys`)
PARTITION_SOURCES = {"articles": ("published_at", "lang"), "duplicates": ("published_at",)}


def _partition_keys(dataset: str, rows) -> list[str]:
    """Each row's partition folder (as the folder layout names it: ``dt=YYYY-MM-DD|undated``,
    then ``lang=xx`` for articles)."""
    import pyarrow as pa

    from pipeline.records import UNDATED_PARTITION

    source = PARTITION_SOURCES[dataset][0] if dataset in PARTITION_SOURCES else "dt"
    if source in rows.column_names:
        days = rows.column(source)
        if pa.types.is_timestamp(days.type):
            days = days.cast(pa.date32())
        days = [UNDATED_PARTITION if d is None else d.isoformat() for d in days.to_pylist()]
    else:
        days = [UNDATED_PARTITION] * rows.num_rows
    keys = [f"dt={d}" for d in days]
    if dataset == "articles":
        langs = rows.column("lang").to_pylist() if "lang" in rows.column_names else [None] * rows.num_rows
        keys = [f"{k}/lang={lang or UNDATED_PARTITION}" for k, lang in zip(keys, langs)]
    return keys


def table_partitions(root: str, datasets: Iterable[str] = DATASETS, as_of=None) -> list[Partition]:
    """The rows of each table (now, or ``as_of`` a snapshot id or run id), split by partition:
    the same partitions a folder output has, so every check and count reads them alike."""

    from pipeline.output import tables

    as_of = _as_of(as_of)
    if isinstance(as_of, int):  # a snapshot id is one table's: every table as that snapshot's run left it
        as_of = run_of_snapshot(root, as_of)
    found = []
    for dataset in datasets:
        try:
            rows = tables.read_table(root, dataset, as_of=as_of)
        except LookupError:
            continue  # the table has no snapshot of that run: it did not exist yet
        except Exception as e:  # a table no run created yet
            if type(e).__name__ == "NoSuchTableError":
                continue
            raise
        found += _split_by_partition(dataset, rows)
    return found


def _split_by_partition(dataset: str, rows) -> list[Partition]:
    """A table's rows as one :class:`Partition` per partition key, in key order. One take puts
    the rows in key order, then each partition is a zero-copy slice: a take per partition on the
    table as read (a chunk per data file) cost partitions x files, minutes for 1,500 days."""
    import pyarrow as pa

    keys = _partition_keys(dataset, rows)
    order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: rows keep their order in a key
    if order != list(range(len(keys))):
        rows = rows.take(pa.array(order, type=pa.int64()))
    rows = rows.combine_chunks()
    found, start = [], 0
    for end in range(1, len(order) + 1):
        if end == len(order) or keys[order[end]] != keys[order[start]]:
            found.append(Partition(dataset, f"{dataset}/{keys[order[start]]}", (),
                                   rows=rows.slice(start, end - start)))
            start = end
    return found


def run_of_snapshot(root: str, snapshot_id: int) -> str:
    """The run id of the snapshot ``snapshot_id`` of any of newsbeam's tables (LookupError if none)."""
    from pipeline.output import tables

    catalog = tables.open_catalog(root)
    for dataset in DATASETS:
        try:
            snap = catalog.load_table(tables.identifier(dataset)).snapshot_by_id(snapshot_id)
        except Exception:  # a table not created yet
            continue
        if snap is not None and snap.summary is not None and snap.summary.get(tables.RUN_ID):
            return snap.summary.get(tables.RUN_ID)
    raise LookupError(f"no table in {root} has a snapshot {snapshot_id} made by a newsbeam run")


def _as_of(value):
    """``--as-of``: a snapshot id (digits) or a run id."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else text


# --------------------------------------------------------------------------- reading


def conform(table, schema):
    """A table in the current schema: columns an older writer did not have come back as nulls.

    This is what makes adding an optional field backward compatible for readers; columns the
    current schema does not know (a newer writer) are kept at the end."""
    import pyarrow as pa

    columns, fields = [], []
    for f in schema:
        if f.name in table.column_names:
            column = table.column(f.name)
            try:
                column = column.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
                pass  # nested types that gained a field: keep as written, the row check decides
            columns.append(column)
            fields.append(pa.field(f.name, column.type, nullable=True))
        else:
            columns.append(pa.nulls(table.num_rows, type=f.type))
            fields.append(pa.field(f.name, f.type, nullable=True))
    for name in table.column_names:
        if name not in schema.names:
            columns.append(table.column(name))
            fields.append(pa.field(name, table.column(name).type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def read_partition(root: str, part: Partition, columns: Optional[list[str]] = None):
    """One partition as an Arrow table in the current schema, with its partition columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.schemas import arrow_schema

    schema = arrow_schema(part.dataset)
    if part.rows is not None:  # read from a table: its columns, in the dataset's schema
        names = [c for c in part.rows.column_names if c in schema.names and (columns is None or c in columns)]
        # via Python values: pyiceberg reads large_string/large_list, and pyarrow 25 cannot cast a
        # map nested in a struct from them ("Map array keys array should have no nulls")
        rows = pa.Table.from_pylist(part.rows.select(names).to_pylist(),
                                    schema=pa.schema([schema.field(n) for n in names]))
        table = conform(rows, schema)
        for key, value in part.values.items():
            table = table.append_column(key, pa.array([value] * table.num_rows, type=pa.string()))
        return table.select([c for c in columns if c in table.column_names]) if columns is not None else table
    tables = []
    for rel in part.files:
        path = os.path.join(root, rel)
        if rel.endswith(".parquet"):
            tables.append(conform(pq.read_table(path), schema))
        else:
            with gzip.open(path, "rb") as f:
                rows = [loads(line) for line in f if line.strip()]
            names = list(dict.fromkeys(schema.names + [k for r in rows for k in r]))
            table = pa.Table.from_pylist([{k: r.get(k) for k in names} for r in rows]) if rows else \
                schema.empty_table()
            tables.append(conform(table, schema) if rows else table)
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    for key, value in part.values.items():
        if key not in table.column_names:
            table = table.append_column(key, pa.array([value] * table.num_rows, type=pa.string()))
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return table


# --------------------------------------------------------------------------- row checks


def _json_row(value, node: dict, root: dict):
    """An Arrow row (to_pylist) back to the JSON record the schema describes (see
    ``schemas.json_record``: timestamps as ISO strings, maps as objects, absent optional fields)."""
    from pipeline.schemas import json_value

    return json_value(value, node, root)


def _dataset_node(dataset: str) -> tuple[dict, dict]:
    from pipeline.schemas import dataset_node

    return dataset_node(dataset)


def row_check(table, dataset: str, partition_columns: Iterable[str]) -> dict:
    """Every row against the dataset's JSON Schema, as one result entry."""
    from pipeline.schemas import SCHEMA_FILES, validation_errors

    from pipeline.schemas import json_record

    node, _root = _dataset_node(dataset)
    keep = set(node["properties"])
    drop = [c for c in partition_columns if c not in keep]
    rows = table.drop_columns([c for c in drop if c in table.column_names]).to_pylist()
    bad, examples = 0, []
    for i, row in enumerate(rows):
        errors = validation_errors(json_record(row, dataset), dataset)
        if errors:
            bad += 1
            if len(examples) < ERROR_EXAMPLES:
                examples.append(f"row {i}: {errors[0]}")
    return {"expectation": f"rows match {SCHEMA_FILES[dataset]}", "type": "newsbeam:json_schema",
            "kwargs": {"schema": SCHEMA_FILES[dataset]}, "success": bad == 0,
            "element_count": len(rows), "unexpected_count": bad, "examples": examples}


# --------------------------------------------------------------------------- output checks


def manifest_checks(root: str) -> list[dict]:
    """The manifest against its schema, and every data file against the sha256 it lists."""
    from pipeline.output import files, publish
    from pipeline.schemas import manifest_errors

    path = os.path.join(root, publish.MANIFEST)
    if not os.path.exists(path):
        return [{"expectation": "manifest present", "type": "newsbeam:manifest", "kwargs": {},
                 "success": False, "element_count": 0, "unexpected_count": 1,
                 "examples": [f"no {publish.MANIFEST}: was the output written by 'newsbeam run'?"]}]
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:  # garbage, truncated, not UTF-8: a finding, not a traceback
        return [{"expectation": "manifest readable", "type": "newsbeam:manifest", "kwargs": {},
                 "success": False, "element_count": 1, "unexpected_count": 1,
                 "examples": [f"{publish.MANIFEST} is not a JSON document ({type(e).__name__}: {str(e)[:200]}); "
                              "rerun 'newsbeam run' to write it again"]}]
    if not isinstance(manifest, dict):
        manifest = {"_": manifest}  # the schema check says what is wrong with it
    errors = manifest_errors(manifest)
    results = [{"expectation": "manifest matches manifest.schema.json", "type": "newsbeam:json_schema",
                "kwargs": {"schema": "manifest.schema.json"}, "success": not errors,
                "element_count": 1, "unexpected_count": len(errors), "examples": errors[:ERROR_EXAMPLES]}]
    results.append(quality_files_check(root, manifest))
    if "tables" in manifest:
        return results + [table_file_check(root, manifest)]
    listed = {f["path"]: f for f in manifest.get("files", []) if isinstance(f, dict) and "path" in f}
    present = set()
    for dataset in DATASETS:
        present.update(files.list_dataset_files(root, dataset))
    problems = []
    for rel in sorted(present | set(listed)):
        if rel not in listed:
            problems.append(f"{rel}: not in the manifest")
        elif rel not in present:
            problems.append(f"{rel}: listed but missing")
        elif files.sha256_file(os.path.join(root, rel)) != listed[rel].get("sha256"):
            problems.append(f"{rel}: sha256 differs from the manifest (file changed after the run)")
    results.append({"expectation": "files match the manifest (sha256)", "type": "newsbeam:files",
                    "kwargs": {}, "success": not problems, "element_count": len(present | set(listed)),
                    "unexpected_count": len(problems), "examples": problems[:ERROR_EXAMPLES]})
    return results


#: How pyiceberg names the data files it writes (``00000-0-<uuid>.parquet``): an unreferenced one
#: is what a commit interrupted after writing its files leaves (readers never see it).
_ICEBERG_DATA_FILE = re.compile(r"^\d{5}-\d+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-\d+)?\.parquet$")
_METADATA_FILE = re.compile(r"(?:\.metadata\.json|\.avro)$")


def _referenced_data_files(table) -> dict[str, dict]:
    """path -> {file_size_in_bytes, record_count} of every data file any snapshot references (read
    from the manifests: ``inspect.all_data_files()`` fails on a snapshot without files)."""
    out: dict[str, dict] = {}
    seen_manifests = set()
    for snap in table.snapshots():
        for manifest in snap.manifests(table.io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                data = entry.data_file
                out[data.file_path.removeprefix("file://")] = {"file_size_in_bytes": data.file_size_in_bytes,
                                                               "record_count": data.record_count}
    return out


def _count_problems(manifest: dict) -> list[str]:
    """The manifest's counts agree with each other: a dataset's rows are the rows its snapshot
    added, each count of ``counts`` is its dataset's rows, and the inputs add up."""
    problems = []
    tables_, datasets_, counts, commit = (manifest.get(k) if isinstance(manifest.get(k), dict) else {}
                                          for k in ("tables", "datasets", "counts", "commit"))
    one_commit = commit.get("segments", 1) == 1  # a stream's datasets count every segment, its tables the last
    for name in DATASETS:
        added = (tables_.get(name) or {}).get("added_rows") if isinstance(tables_.get(name), dict) else None
        rows = (datasets_.get(name) or {}).get("rows") if isinstance(datasets_.get(name), dict) else None
        if one_commit and added is not None and rows is not None and added != rows:
            problems.append(f"manifest: datasets.{name}.rows {rows} but its snapshot added {added}")
        if name != "entities" and name in counts and rows is not None and counts[name] != rows:
            problems.append(f"manifest: counts.{name} {counts[name]} but datasets.{name}.rows {rows}")
    parts = [counts.get(k) for k in ("articles", "duplicates", "rejects", "skipped")]
    settled = manifest.get("status") != "running"  # a running stream has inputs in flight
    if settled and "inputs" in counts and all(isinstance(v, int) for v in parts) and counts["inputs"] != sum(parts):
        problems.append(f"manifest: counts.inputs {counts['inputs']} is not articles + duplicates + rejects "
                        f"+ skipped ({sum(parts)})")
    return problems


def quality_files_check(root: str, manifest: dict) -> dict:
    """The run's quality results and report are the files it wrote: their sha256 as the manifest
    records them (manifests of runs before it recorded them: nothing to compare)."""
    from pipeline.output.files import sha256_file

    quality = manifest.get("quality") if isinstance(manifest.get("quality"), dict) else {}
    problems, checked = [], 0
    for key in ("results", "report"):
        rel, said = quality.get(key), quality.get(f"{key}_sha256")
        if not isinstance(rel, str) or not isinstance(said, str):
            continue
        checked += 1
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            problems.append(f"{rel}: missing (the run wrote it); 'newsbeam validate --report FILE' writes a new report")
        elif sha256_file(path) != said:
            problems.append(f"{rel}: changed after the run (sha256 differs from the manifest's); the checks "
                            "above are recomputed from the tables, trust those")
    return {"expectation": "quality results and report as the run wrote them (sha256)", "type": "newsbeam:files",
            "kwargs": {}, "success": not problems, "element_count": checked, "unexpected_count": len(problems),
            "examples": problems[:ERROR_EXAMPLES]}


def table_file_check(root: str, manifest: dict) -> dict:
    """A tables output, checked against the tables' own metadata (it replaces the sha256 list):

    - every snapshot the manifest names is in its table, with the rows the manifest says it added
      and the table total it says it left;
    - every data file any snapshot references exists, with the size and row count recorded for it
      (a truncated, replaced or edited file shows here);
    - every file under a table's folder is its metadata or a data file a snapshot references:
      a ``.bak``, a ``.csv``, a renamed copy is reported. Unreferenced files named as pyiceberg
      names data files are left by an interrupted commit: counted, not failed (no reader sees them)."""
    import pyarrow.parquet as pq

    from pipeline.output import tables

    problems, checked, leftovers = [], 0, 0
    catalog = tables.open_catalog(root)
    for dataset, entry in sorted((manifest.get("tables") or {}).items()):
        if not isinstance(entry, dict):
            problems.append(f"{dataset}: the manifest's entry is not an object")
            continue
        try:
            table = catalog.load_table(tables.identifier(dataset))
        except Exception as e:  # NoSuchTableError, unreadable metadata
            problems.append(f"{dataset}: the table cannot be loaded ({type(e).__name__}: {str(e)[:200]})")
            continue
        snap = table.snapshot_by_id(entry.get("snapshot_id"))
        if snap is None:
            problems.append(f"{dataset}: snapshot {entry.get('snapshot_id')} of the manifest is not in the table")
        else:
            summary = snap.summary if snap.summary is not None else {}
            for key, field_name in (("added-records", "added_rows"), ("total-records", "total_rows")):
                said = summary.get(key) or 0
                if field_name in entry and str(entry[field_name]) != str(said):
                    problems.append(f"{dataset}: the manifest says {field_name} {entry[field_name]}, "
                                    f"snapshot {snap.snapshot_id} says {said}")
        referenced = _referenced_data_files(table)
        for path, row in sorted(referenced.items()):
            checked += 1
            if "://" in path:
                continue  # an object store: its own checksums
            if not os.path.exists(path):
                problems.append(f"{dataset}: data file {path} is missing")
                continue
            size = os.path.getsize(path)
            if size != row["file_size_in_bytes"]:
                problems.append(f"{dataset}: data file {path} is {size} bytes, the table recorded "
                                f"{row['file_size_in_bytes']} (changed after its commit)")
                continue
            try:
                rows = pq.ParquetFile(path).metadata.num_rows
            except Exception as e:
                problems.append(f"{dataset}: data file {path} is not readable Parquet ({type(e).__name__})")
                continue
            if rows != row["record_count"]:
                problems.append(f"{dataset}: data file {path} holds {rows} rows, the table recorded "
                                f"{row['record_count']}")
        location = table.location().removeprefix("file://")
        if "://" in location or not os.path.isdir(location):
            continue
        for folder, _dirs, names in os.walk(location):
            for name in names:
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, location)
                if rel.startswith("metadata" + os.sep) and _METADATA_FILE.search(name):
                    continue
                if path in referenced:
                    continue
                if rel.startswith("data" + os.sep) and _ICEBERG_DATA_FILE.match(name):
                    leftovers += 1
                    continue
                problems.append(f"{dataset}: {rel} is in the table's folder but no snapshot references it "
                                "(readers through the catalog ignore it; a folder reader would not)")
    problems += _count_problems(manifest)
    examples = problems[:ERROR_EXAMPLES]
    if leftovers:
        examples.append(f"note: {leftovers} unreferenced data file(s) left by interrupted commits (never read)")
    return {"expectation": "tables hold the manifest's snapshots and exactly their data files", "type": "newsbeam:tables",
            "kwargs": {}, "success": not problems, "element_count": checked,
            "unexpected_count": len(problems), "examples": examples}


# --------------------------------------------------------------------------- the whole run


def collect_refs(root: str, parts: list[Partition], now=None) -> suites.Refs:
    from pipeline.schemas import readable_versions

    ids: dict[str, dict[str, set]] = {}
    for part in parts:
        column = ID_COLUMNS.get(part.dataset)
        if column:
            table = read_partition(root, part, columns=[column])
            ids.setdefault(part.dataset, {})[part.path] = {v for v in table.column(column).to_pylist()
                                                           if v is not None}
    return suites.Refs(ids=ids, now=now, schema_versions=readable_versions())


#: the columns whose values must be (or must not be) ids of another dataset: what a ``$ids``
#: placeholder of the suites is checked against
REFERENCE_COLUMNS = {"articles": ("id", "story_id"), "duplicates": ("duplicate_of", "story_id"),
                     "entities": ("article_id",)}


def referenced_ids(root: str, parts: list[Partition]) -> set:
    """Every value of the :data:`REFERENCE_COLUMNS` in ``parts`` (a run's staged rows)."""
    wanted: set = set()
    for part in parts:
        columns = list(REFERENCE_COLUMNS.get(part.dataset, ()))
        if columns:
            table = read_partition(root, part, columns=columns)
            for name in table.column_names:
                wanted.update(v for v in table.column(name).to_pylist() if v is not None)
    return wanted


def referenced_refs(refs_root: str, wanted: set, now=None) -> suites.Refs:
    """The refs of ``refs_root`` (the committed output) reduced to the ids in ``wanted``: every
    ``$ids`` check is "value in / not in the set", so ids the checked rows never hold cannot change
    a result. Reads only the id and partition columns, so checking a run's rows costs its own size
    plus one column scan of the stored ids, not the stored rows."""
    from pipeline.output import tables
    from pipeline.schemas import readable_versions

    ids: dict[str, dict[str, set]] = {}
    for dataset, column in ID_COLUMNS.items():
        if tables.has_tables(refs_root):
            try:
                rows = tables.read_table(refs_root, dataset, columns=(column, *PARTITION_SOURCES[dataset]))
            except Exception as e:  # a table no run created yet
                if type(e).__name__ == "NoSuchTableError":
                    continue
                raise
            per_partition = zip(_partition_keys(dataset, rows), rows.column(column).to_pylist())
            for key, value in per_partition:
                if value in wanted:
                    ids.setdefault(dataset, {}).setdefault(f"{dataset}/{key}", set()).add(value)
        else:
            for part in discover(refs_root, datasets=(dataset,)):
                values = read_partition(refs_root, part, columns=[column]).column(column).to_pylist()
                ids.setdefault(dataset, {})[part.path] = {v for v in values if v in wanted}
    return suites.Refs(ids=ids, now=now, schema_versions=readable_versions())


def check_output(root: str, *, with_manifest: bool = False, now=None,
                 partitions: Optional[list[Partition]] = None, validate=None, as_of=None,
                 refs_root: Optional[str] = None) -> dict:
    """Every check over ``root`` (or only ``partitions``, e.g. one streaming window's).

    ``now`` fixes the clock for ``not in the future``; ``validate`` replaces GE (tests);
    ``as_of``: a snapshot id or run id of a tables output; ``refs_root``: the output whose ids the
    cross-dataset references resolve against (a batch run checks its staged rows, the commit's new
    rows, against the whole committed tables)."""
    output = manifest_checks(root) if with_manifest else []
    checked: list = []
    try:
        _check_partitions(root, checked, now=now, partitions=partitions, validate=validate, as_of=as_of,
                          refs_root=refs_root)
    except (OSError, ValueError) as e:  # a truncated or replaced data file (pyarrow's errors are ValueErrors)
        output.append({"expectation": "every data file readable", "type": "newsbeam:files", "kwargs": {},
                       "success": False, "element_count": 1, "unexpected_count": 1,
                       "examples": [f"{type(e).__name__}: {str(e)[:300]} (the checks stopped here; see the "
                                    "other findings for the file)"]})
    return {
        "success": all(p["success"] for p in checked) and all(r["success"] for r in output),
        "partitions": checked,
        "output": output,
        "suites": {name: [e["meta"]["name"] for e in suites.load_suite(name)["expectations"]]
                   for name in suites.SUITES},
    }


def _check_partitions(root: str, checked: list, *, now, partitions, validate, as_of, refs_root) -> None:
    parts = partitions if partitions is not None else discover(root, as_of=as_of)
    if refs_root is not None:
        refs = referenced_refs(refs_root, referenced_ids(root, parts), now=now)
    else:
        all_parts = discover(root, as_of=as_of) if partitions is not None else parts
        refs = collect_refs(root, all_parts, now=now)
    for dataset in DATASETS:
        for chunk in _chunks(root, [p for p in parts if p.dataset == dataset]):
            passed = _passes_as_one(dataset, chunk, refs, validate)
            for part, table in chunk:
                results = [row_check(table, part.dataset, part.values)]
                if passed is not None:
                    results += [dict(r, element_count=table.num_rows) for r in passed]
                else:
                    results += suites.run_suite(part.dataset, table.to_pandas(), refs, part.path, validate)
                checked.append({"dataset": part.dataset, "partition": part.path, "rows": table.num_rows,
                                "success": all(r["success"] for r in results), "results": results})


def _chunks(root: str, group: list[Partition]):
    """``[(partition, table), ...]`` lists of consecutive partitions, read lazily, each up to
    ``CHECK_CHUNK_BYTES`` of Arrow data (a larger partition is a chunk of its own)."""
    chunk, size = [], 0
    for part in group:
        table = read_partition(root, part)
        if chunk and size + table.nbytes > CHECK_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append((part, table))
        size += table.nbytes
    if chunk:
        yield chunk


def _passes_as_one(dataset: str, chunk: list, refs: suites.Refs, validate):
    """The suite run once over a chunk of a dataset's partitions together: its results when
    every expectation holds, else None (the caller then runs it per partition, to name the
    failing ones). Every expectation is per row or a uniqueness (ids outside the chunk come
    from ``refs``), so what holds for the whole holds for each part; the unexpected counts are
    0 either way. One GE validation costs ~50-100 ms whatever its size, so an archive over
    1,000 days is a few validations instead of 4,000+."""
    import pyarrow as pa

    if len(chunk) < 2:
        return None
    paths = frozenset(part.path for part, _table in chunk)
    whole = pa.concat_tables([table for _part, table in chunk], promote_options="permissive")
    results = suites.run_suite(dataset, whole.to_pandas(), refs, paths, validate)
    if not all(r["success"] and r.get("unexpected_count") in (0, None) for r in results):
        return None
    return results


def failures(results: dict) -> list[str]:
    """'dataset partition: expectation (n unexpected, e.g. ...)' for every failed check."""
    out = []
    for p in results["partitions"]:
        for r in p["results"]:
            if not r["success"]:
                out.append(f"{p['partition']}: {r['expectation']} ({_detail(r)})")
    for r in results["output"]:
        if not r["success"]:
            out.append(f"output: {r['expectation']} ({_detail(r)})")
    return out


def _shown(r: dict, example) -> str:
    """GE examples are values (shown as JSON, so an empty text reads ""); ours are messages."""
    if r["type"].startswith("expect_") or not isinstance(example, str):
        return json.dumps(example, ensure_ascii=False)
    return example


def _detail(r: dict) -> str:
    if r.get("error"):
        return f"error: {r['error']}"
    text = f"{r.get('unexpected_count')} unexpected"
    if r.get("examples"):
        text += ", e.g. " + ", ".join(_shown(r, x) for x in r["examples"][:2])
    return text


def summary(results: dict) -> list[dict]:
    """One line per (dataset, expectation) over all partitions: what a person reads first."""
    lines: dict[tuple, dict] = {}
    for p in results["partitions"]:
        for r in p["results"]:
            key = (p["dataset"], r["expectation"])
            line = lines.setdefault(key, {"dataset": p["dataset"], "expectation": r["expectation"],
                                          "partitions": 0, "failed": [], "unexpected": 0, "examples": []})
            line["partitions"] += 1
            if not r["success"]:
                line["failed"].append(p["partition"])
                line["unexpected"] += r.get("unexpected_count") or 0
                if r.get("error"):
                    line["examples"].append(f"error: {r['error']}")
                line["examples"].extend(_shown(r, x) for x in r.get("examples") or [])
    for r in results["output"]:
        lines[("output", r["expectation"])] = {
            "dataset": "output", "expectation": r["expectation"], "partitions": 1,
            "failed": [] if r["success"] else ["output"], "unexpected": r.get("unexpected_count") or 0,
            "examples": list(r.get("examples") or [])}
    order = {d: i for i, d in enumerate(DATASETS + ("output",))}
    return sorted(lines.values(), key=lambda l: (order[l["dataset"]], bool(not l["failed"]), l["expectation"]))


def format_table(results: dict, width: int = 100) -> str:
    """The summary as a fixed-width terminal table, failures first within each dataset."""
    rows = [("", "dataset", "expectation", "partitions", "unexpected", "example")]
    for line in summary(results):
        ok = not line["failed"]
        checked = line["partitions"]
        parts = f"{checked}" if ok else f"{len(line['failed'])}/{checked} failed"
        example = "" if ok or not line["examples"] else line["examples"][0]
        rows.append(("PASS" if ok else "FAIL", line["dataset"], line["expectation"], parts,
                     "" if ok else str(line["unexpected"]), example))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    room = max(20, width - sum(widths) - 10)
    out = []
    for i, r in enumerate(rows):
        example = r[5] if len(r[5]) <= room else r[5][:room - 1] + "…"
        out.append("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + example)
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * min(room, 20))
    return "\n".join(line.rstrip() for line in out)


def write_results(root: str, results: dict) -> str:
    """``OUT/_quality/results.json`` (sorted keys, no timestamps: same output, same bytes)."""
    directory = os.path.join(root, QUALITY_DIR)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, RESULTS_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        f.write("\n")
    os.replace(tmp, path)
    return path
