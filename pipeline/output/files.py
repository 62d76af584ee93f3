"""Dataset files: partition paths, the total order of rows in a file, Parquet and gzip JSON-lines
encodings with fixed settings (same rows, same bytes), atomic writes, and counting what is on disk.
Batch writers (``output/datasets.py``), the publish step (``output/publish.py``) and the streaming
writers (``output/live.py``) share them.

Layout (Hive style; partition columns live in the path only, never inside the files)::

    OUT/articles/dt=YYYY-MM-DD/lang=xx/part-00000.parquet
    OUT/duplicates/dt=YYYY-MM-DD/part-00000.parquet
    OUT/entities/dt=YYYY-MM-DD/part-00000.parquet
    OUT/rejects/dt=YYYY-MM-DD/part-00000.parquet

Rows without a date go to ``dt=undated`` (``records.UNDATED_PARTITION``). Parquet columns have the
Arrow types derived from the JSON Schemas (``schemas.arrow_schema``: timestamps are
``timestamp[us, tz=UTC]``); ``--format jsonl`` writes ``.jsonl.gz`` files of the JSON records instead.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
from typing import Callable, Iterable

from pipeline.records import UNDATED_PARTITION, dumps
from pipeline.schemas import PARTITIONS, arrow_row, arrow_schema

DATASETS = ("articles", "duplicates", "entities", "rejects")
#: datasets a batch run also stages and commits that hold no input item (outside conservation):
#: the compact story index (``story_index``: story features of each new story's leader, no text) and
#: the near-duplicate index (``near_index``: sketch and candidate keys of each stored article, no text)
INDEX_DATASETS = ("story_index", "near_index")

#: total order of rows inside a file (then the full JSON of the row)
SORT_FIELDS = {
    "articles": ("id",),
    "duplicates": ("duplicate_of", "id"),
    "entities": ("article_id", "label", "canonical"),
    "rejects": ("input_uri", "offset", "stage"),
    "story_index": ("id",),
    "near_index": ("id",),
}

PARQUET_OPTIONS = dict(compression="zstd", use_dictionary=True, write_statistics=True)


def partition_path(dataset: str, record: dict) -> str:
    parts = [dataset]
    for column in PARTITIONS[dataset]:
        value = record.get(column) or UNDATED_PARTITION
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


def parquet_bytes(dataset: str, rows: list[dict]) -> bytes:
    """Rows (JSON records) as one Parquet file in the dataset's Arrow schema (``schemas.arrow_row``:
    timestamps typed, maps as sorted pairs, schema defaults for absent optional fields)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(dataset)
    table = pa.Table.from_pylist([arrow_row(r, dataset) for r in rows], schema=schema)
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


def write_bytes(path: str, data: bytes) -> None:
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


def join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel


def file_encoders(dataset: str, formats: tuple[str, ...]) -> list[tuple[str, Callable[[list], bytes]]]:
    """``(extension, encode(rows) -> bytes)`` for each file a partition gets, in a fixed order
    (the same for every dataset, rejects included); the batch and the streaming writers share it."""
    encoders: list = []
    if "parquet" in formats:
        encoders.append(("parquet", functools.partial(parquet_bytes, dataset)))
    if "jsonl" in formats:
        encoders.append(("jsonl.gz", jsonl_gz_bytes))
    return encoders


def skip_reason(skip: dict) -> str:
    """The reason without its time ("rate limited until T" counts under "rate limited")."""
    return skip["skipped"].split(" until ")[0]


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


def pause_for_tests(point: str) -> None:
    """Test-only hook: ``NEWSBEAM_TEST_PAUSE=point:seconds`` sleeps at ``point`` ("write": after
    each staged partition file, "publish": between two dataset swaps), so tests/test_kill.py
    can SIGKILL a run at a known moment.  Unset (always, outside that test) it costs one lookup."""
    value = os.environ.get("NEWSBEAM_TEST_PAUSE")
    if value and value.partition(":")[0] == point:
        import time

        time.sleep(float(value.partition(":")[2] or 1))
