"""Partitioned dataset writers, the publish step and the manifest.

Layout (Hive style; partition columns live in the path only, never inside the files)::

    OUT/articles/dt=YYYY-MM-DD/lang=xx/part-00000.parquet
    OUT/duplicates/dt=YYYY-MM-DD/part-00000.parquet
    OUT/entities/dt=YYYY-MM-DD/part-00000.parquet
    OUT/rejects/dt=YYYY-MM-DD/part-00000.jsonl.gz
    OUT/_manifest.json

Determinism: each partition is one GroupByKey group, its rows are sorted by a total order
before writing, Parquet is written with fixed settings and gzip with ``mtime=0``, so the same
input gives byte-identical files. The pipeline writes into a staging directory; ``publish``
moves the datasets into place after the job succeeded (replacing, never appending) and writes
the manifest last.

Atomic output, and what a reader may rely on (issue 11).  Each dataset directory is swapped
by one ``rename``, so no partition is ever half-written.  Four renames are not one atomic
step, so the manifest is the commit point: ``publish`` first writes ``_publishing.json`` (a
journal) and removes the old ``_manifest.json``; :func:`write_manifest` removes the journal.
A run killed at any moment therefore leaves either the previous output with its manifest, or
no manifest (and a journal): "nothing complete", which ``newsbeam validate`` reports.  Readers
(DuckDB, pyarrow on ``OUT/articles/**``) should read only while ``_manifest.json`` exists,
like Hadoop's ``_SUCCESS``.  The next run removes what a killed run left (its ``.staging-*``
directory, see :func:`clean_leftovers`) and replaces every dataset.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import shutil
from typing import Callable, Iterable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import NULL_PARTITION, dumps
from pipeline.stages.validate import load_schema, SCHEMA_FILES

DATASETS = ("articles", "duplicates", "entities", "rejects")

#: partition columns per dataset (taken from each record's internal keys, written in the path)
PARTITIONS = {
    "articles": ("dt", "lang"),
    "duplicates": ("dt",),
    "entities": ("dt",),
    "rejects": ("dt",),
}

#: total order of rows inside a file (then the full JSON of the row)
SORT_FIELDS = {
    "articles": ("id",),
    "duplicates": ("duplicate_of", "id"),
    "entities": ("article_id", "label", "canonical"),
    "rejects": ("input_uri", "offset", "stage"),
}

PARQUET_OPTIONS = dict(compression="zstd", use_dictionary=True, write_statistics=True)
MANIFEST = "_manifest.json"
#: Written before the first dataset is swapped, removed once the manifest is written.
JOURNAL = "_publishing.json"
STAGING_PREFIX = ".staging-"
INPUTS_FILE = "_inputs.json"
SKIPPED_FILE = "_skipped.json"


# --------------------------------------------------------------------------- Arrow schemas


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref")
    if not ref:
        return node
    doc, _, pointer = ref.partition("#")
    target = root
    if doc:
        name = doc.rsplit("/", 1)[-1]
        target = load_schema(name)
    for part in pointer.strip("/").split("/") if pointer else ():
        target = target[part]
    return _resolve(target, target if doc else root) if "$ref" in target else target


def _arrow_type(node: dict, root: dict):
    import pyarrow as pa

    node = _resolve(node, root)
    types = node.get("type")
    if isinstance(types, list):
        types = [t for t in types if t != "null"][0]
    if types is None and ("const" in node or "enum" in node):
        types = "string"
    if types == "string":
        return pa.string()
    if types == "integer":
        return pa.int64()
    if types == "number":
        return pa.float64()
    if types == "boolean":
        return pa.bool_()
    if types == "array":
        return pa.list_(_arrow_type(node["items"], root))
    if types == "object":
        if "properties" in node:
            return pa.struct([_arrow_field(k, v, k in node.get("required", ()), root)
                              for k, v in node["properties"].items()])
        return pa.map_(pa.string(), _arrow_type(node["additionalProperties"], root))
    raise ValueError(f"no Arrow type for JSON Schema node {node!r}")


def _nullable(node: dict, root: dict, required: bool) -> bool:
    node = _resolve(node, root)
    types = node.get("type")
    return not required or (isinstance(types, list) and "null" in types)


def _arrow_field(name: str, node: dict, required: bool, root: dict):
    import pyarrow as pa

    return pa.field(name, _arrow_type(node, root), nullable=_nullable(node, root, required))


def _top_level_properties(schema: dict) -> tuple[dict, set]:
    """Properties and required names of a dataset schema, following its root $ref."""
    props, required = {}, set()
    base = schema
    if "$ref" in schema:
        base = _resolve(schema, schema)
    props.update(base.get("properties", {}))
    required.update(base.get("required", ()))
    if base is not schema:
        props.update(schema.get("properties", {}))
        required.update(schema.get("required", ()))
    return props, required


def arrow_schema(dataset: str):
    """The Parquet schema of a dataset, derived from its JSON Schema (one source of truth).

    Partition columns are left out: they live in the directory names.
    """
    import pyarrow as pa

    schema = load_schema(SCHEMA_FILES[dataset])
    props, required = _top_level_properties(schema)
    root = schema if "$ref" not in schema or schema["$ref"].startswith("#") else load_schema("article.schema.json")
    fields = [_arrow_field(name, node, name in required, root)
              for name, node in props.items() if name not in PARTITIONS[dataset]]
    return pa.schema(fields)


# --------------------------------------------------------------------------- partitions and files


def partition_path(dataset: str, record: dict) -> str:
    parts = [dataset]
    for column in PARTITIONS[dataset]:
        value = record.get(column) or NULL_PARTITION
        parts.append(f"{column}={value}")
    return "/".join(parts)


def file_rows(dataset: str, records: Iterable[dict]) -> list[dict]:
    """Rows in their total order, without partition columns or internal keys."""
    def key(r):
        return tuple(str(r.get(f, "")) if not isinstance(r.get(f), int) else f"{r.get(f):020d}"
                     for f in SORT_FIELDS[dataset]) + (dumps(r),)
    drop = set(PARTITIONS[dataset]) | {"dt"}
    rows = [{k: v for k, v in r.items() if k not in drop} for r in records]
    return sorted(rows, key=key)


def _prepare_for_arrow(row: dict) -> dict:
    """Maps (dict-valued fields like provenance.clean.removed) in sorted key order."""
    prov = row.get("provenance")
    if isinstance(prov, dict) and isinstance(prov.get("clean"), dict):
        removed = prov["clean"].get("removed") or {}
        prov = dict(prov, clean=dict(prov["clean"], removed=sorted(removed.items())))
        row = dict(row, provenance=prov)
    return row


def parquet_bytes(dataset: str, rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(dataset)
    table = pa.Table.from_pylist([_prepare_for_arrow(r) for r in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


def jsonl_gz_bytes(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0, filename="") as gz:
        for row in rows:
            gz.write(dumps(row))
            gz.write(b"\n")
    return sink.getvalue()


def _write_bytes(path: str, data: bytes) -> None:
    from apache_beam.io.filesystems import FileSystems

    if "://" not in path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return
    with FileSystems.create(path) as f:
        f.write(data)


def _join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel


def file_encoders(dataset: str, formats: tuple[str, ...]) -> list[tuple[str, Callable[[list], bytes]]]:
    """``(extension, encode(rows) -> bytes)`` for each file a partition gets, in a fixed order
    (rejects are always gzip JSON lines); the batch and the streaming writers share it."""
    if dataset == "rejects":
        return [("jsonl.gz", jsonl_gz_bytes)]
    encoders: list = []
    if "parquet" in formats:
        encoders.append(("parquet", functools.partial(parquet_bytes, dataset)))
    if "jsonl" in formats:
        encoders.append(("jsonl.gz", jsonl_gz_bytes))
    return encoders


class _WritePartitionFn(beam.DoFn):
    def __init__(self, root: str, formats: tuple[str, ...]):
        self.root = root
        self.formats = formats
        self.files = Metrics.counter("write", "files")

    def process(self, keyed):
        (dataset, rel), records = keyed
        rows = file_rows(dataset, records)
        Metrics.counter("write", f"{dataset}_rows").inc(len(rows))
        for ext, encode in file_encoders(dataset, self.formats):
            path = _join(self.root, f"{rel}/part-00000.{ext}")
            _write_bytes(path, encode(rows))
            _test_pause("write")
            self.files.inc()
            yield path


def _keyed_by_partition(record: dict, dataset: str):
    return (dataset, partition_path(dataset, record)), record


class WriteDataset(beam.PTransform):
    """One dataset -> one sorted file per partition under ``root``."""

    def __init__(self, dataset: str, root: str, formats: tuple[str, ...] = ("parquet",)):
        super().__init__()
        self.dataset = dataset
        self.root = root
        self.formats = formats

    def expand(self, records):
        return (records
                | "KeyByPartition" >> beam.Map(_keyed_by_partition, self.dataset)
                | "GroupByPartition" >> beam.GroupByKey()
                | "WriteFiles" >> beam.ParDo(_WritePartitionFn(self.root, self.formats)))


def _skip_reason(skip: dict) -> str:
    """The reason without its time ("rate limited until T" counts under "rate limited")."""
    return skip["skipped"].split(" until ")[0]


def _write_skip_counts(pairs: list, path: str) -> None:
    _write_bytes(path, json.dumps(dict(sorted(pairs)), sort_keys=True).encode())


class WriteSkipCounts(beam.PTransform):
    """Skipped input items, counted per reason (they are accounted for, not stored)."""

    def __init__(self, root: str):
        super().__init__()
        self.root = root

    def expand(self, skipped):
        return (skipped
                | "Reason" >> beam.Map(_skip_reason)
                | "CountPerReason" >> beam.combiners.Count.PerElement()
                | "All" >> beam.combiners.ToList()
                | "Write" >> beam.Map(_write_skip_counts, _join(self.root, SKIPPED_FILE)))


def _write_count(count: int, path: str) -> None:
    _write_bytes(path, json.dumps({"inputs": count}).encode())


def _one(_record) -> int:
    return 1


class WriteInputCount(beam.PTransform):
    """Counts input items in the pipeline itself (runner-independent, unlike metrics).

    Takes a PCollection or a tuple of them (items, rejects, skipped). Each part becomes ones
    where it is produced and only the ones are flattened: a Flatten of the parts themselves
    makes the runner copy every item, raw HTML pages included (measured on the FnApiRunner:
    ~1.2 ms per 180 KB page, ~1.8 s per 1,500 pages)."""

    def __init__(self, root: str):
        super().__init__()
        self.root = root

    def expand(self, parts):
        if isinstance(parts, beam.pvalue.PCollection):
            parts = (parts,)
        ones = [part | f"One{i}" >> beam.Map(_one) for i, part in enumerate(parts)]
        return (ones
                | "AllInputs" >> beam.Flatten()
                | "Count" >> beam.CombineGlobally(sum)
                | "Write" >> beam.Map(_write_count, _join(self.root, INPUTS_FILE)))


# --------------------------------------------------------------------------- publish and manifest


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def count_rows(path: str) -> int:
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with gzip.open(path, "rb") as f:
        return sum(1 for _ in f)


def list_dataset_files(root: str, dataset: str) -> list[str]:
    base = os.path.join(root, dataset)
    found = []
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith((".parquet", ".jsonl.gz")):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def dataset_counts(root: str) -> tuple[dict, list[dict]]:
    """Rows per dataset (counted once, from Parquet when present) and every file with its sha256."""
    counts, files = {}, []
    for dataset in DATASETS:
        paths = list_dataset_files(root, dataset)
        has_parquet = any(p.endswith(".parquet") for p in paths)
        total = 0
        for rel in paths:
            full = os.path.join(root, rel)
            rows = count_rows(full)
            if rel.endswith(".parquet") or not has_parquet:
                total += rows
            files.append({"path": rel, "rows": rows, "bytes": os.path.getsize(full), "sha256": sha256_file(full)})
        counts[dataset] = total
    return counts, files


def _test_pause(point: str) -> None:
    """Test-only hook: ``NEWSBEAM_TEST_PAUSE=point:seconds`` sleeps at ``point`` ("write": after
    each staged partition file, "publish": between two dataset swaps), so tests/test_kill.py
    can SIGKILL a run at a known moment.  Unset (always, outside that test) it costs one lookup."""
    value = os.environ.get("NEWSBEAM_TEST_PAUSE")
    if value and value.partition(":")[0] == point:
        import time

        time.sleep(float(value.partition(":")[2] or 1))


def staging_dir(output: str) -> str:
    """A new staging directory for this run, named after its process id (so a later run can
    tell a dead run's leftovers from a live concurrent run's)."""
    import tempfile

    os.makedirs(output, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=output)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(output: str) -> list[str]:
    """Remove what killed runs left in ``output``: staging directories of processes that are
    gone (and unnamed ones from older versions), ``.old-*`` datasets.  Returns what was removed."""
    removed = []
    if not os.path.isdir(output):
        return removed
    for name in sorted(os.listdir(output)):
        path = os.path.join(output, name)
        if name.startswith(STAGING_PREFIX) and os.path.isdir(path):
            pid = name[len(STAGING_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid))):
                continue  # a run in progress (ours, or a concurrent one)
        elif not (name.startswith(".old-") and os.path.isdir(path)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def interrupted_publish(output: str) -> bool:
    """True when a run was killed while publishing: some datasets may be new, some old."""
    return os.path.exists(os.path.join(output, JOURNAL))


def publish(staging: str, output: str) -> None:
    """Replace the datasets in ``output`` by the staged ones (old ones are removed, never merged).

    Writes the journal and removes the old manifest first (see the module docstring); each
    dataset is then swapped by renames, the old one moved into ``staging`` (removed with it)."""
    os.makedirs(output, exist_ok=True)
    _write_bytes(os.path.join(output, JOURNAL),
                 json.dumps({"staging": os.path.basename(staging), "pid": os.getpid()}).encode())
    manifest = os.path.join(output, MANIFEST)
    if os.path.exists(manifest):
        os.remove(manifest)
    for i, dataset in enumerate(DATASETS):
        if i:
            _test_pause("publish")
        staged = os.path.join(staging, dataset)
        target = os.path.join(output, dataset)
        old = os.path.join(staging, f".old-{dataset}")
        if os.path.exists(old):
            shutil.rmtree(old)
        if not os.path.exists(staged):
            os.makedirs(staged)  # an empty dataset is an empty directory, not a stale one
        if os.path.exists(target):
            os.replace(target, old)
        os.replace(staged, target)
        if os.path.exists(old):
            shutil.rmtree(old)


def read_input_count(staging: str) -> int:
    path = os.path.join(staging, INPUTS_FILE)
    if not os.path.exists(path):
        return 0  # Count.Globally of nothing still writes 0; absent means no inputs at all
    with open(path, encoding="utf-8") as f:
        return int(json.load(f)["inputs"])


def read_skip_counts(staging: str) -> dict[str, int]:
    path = os.path.join(staging, SKIPPED_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {reason: int(n) for reason, n in json.load(f).items()}


def write_manifest(output: str, manifest: dict) -> str:
    path = os.path.join(output, MANIFEST)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    journal = os.path.join(output, JOURNAL)
    if os.path.exists(journal):  # the manifest is the commit point: the publish is complete
        os.remove(journal)
    return path


def library_versions(model: Optional[str] = None) -> dict:
    from importlib import metadata
    import platform

    names = ["newsbeam", "apache-beam", "trafilatura", "spacy", "pyarrow", "rensa", "py3langid",
             "jsonschema-rs", "ftfy", "courlan", "orjson"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    if model:
        try:
            versions[f"model:{model}"] = metadata.version(model.replace("_", "-"))
        except metadata.PackageNotFoundError:
            versions[f"model:{model}"] = None
    return versions
