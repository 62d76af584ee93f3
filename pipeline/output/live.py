"""Streaming output: files that appear while the job runs, and a manifest refreshed as they land.

Batch writes one sorted file per partition from a GroupByKey and publishes at the end. A stream
never ends, so here every bundle writes what it holds, per partition and event-time window,
straight into the same Hive layout::

    OUT/articles/dt=YYYY-MM-DD/lang=xx/part-w20240312T1800-<sha256 of the bytes, 16>.parquet

Each file is written to a temporary name and renamed (readers never see half a file), and its
name is the hash of its bytes, so a retried bundle overwrites its own file instead of adding a
copy. Input, skip and poll counts go the same way into ``OUT/_stream/*.json`` (one small file
per bundle, named by the hash of what it counted, element timestamps included): the manifest
adds them up, and conservation (inputs = articles + duplicates + rejects + skipped) holds once
the job has drained.
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import time
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow

from pipeline.output.files import (DATASETS, dataset_counts, file_encoders, file_rows, join, partition_path,
                                   skip_reason, write_bytes)
from pipeline.records import dumps

STREAM_DIR = "_stream"


def window_label(window) -> str:
    """``w20240312T180000`` for a window starting then (UTC); ``wall`` for the global window.

    Never raises: a window whose start has no calendar date (near Beam's MIN/MAX_TIMESTAMP, what
    FixedWindows makes of an element stamped at the end of the global window) is labelled by its
    start in microseconds, ``wus<micros>``, rather than crash the writer.
    """
    if isinstance(window, GlobalWindow) or not hasattr(window, "start"):
        return "wall"
    try:
        start = window.start.to_utc_datetime()
        return "w" + start.strftime("%Y%m%dT%H%M%S")
    except (OverflowError, ValueError, OSError, AttributeError):
        micros = getattr(window.start, "micros", None)
        return f"wus{micros}" if isinstance(micros, int) else "wunknown"


class _WriteLiveFn(beam.DoFn):
    """Buffer a bundle's records per (partition, window); write each group in finish_bundle."""

    def __init__(self, dataset: str, root: str, formats: tuple[str, ...]):
        self.dataset = dataset
        self.root = root
        self.formats = formats
        self.files = Metrics.counter("write", "files")
        self.rows = Metrics.counter("write", f"{dataset}_rows")

    def start_bundle(self):
        self._groups: dict = collections.defaultdict(list)

    def process(self, record: dict, window=beam.DoFn.WindowParam):
        self._groups[(partition_path(self.dataset, record), window_label(window))].append(record)

    def finish_bundle(self):
        for (rel, label), records in sorted(self._groups.items()):
            rows = file_rows(self.dataset, records)
            self.rows.inc(len(rows))
            for ext, encode in file_encoders(self.dataset, self.formats):
                data = encode(rows)
                name = f"part-{label}-{hashlib.sha256(data).hexdigest()[:16]}.{ext}"
                write_bytes(join(self.root, f"{rel}/{name}"), data)
                self.files.inc()
        self._groups = collections.defaultdict(list)


class WriteLive(beam.PTransform):
    """One dataset, written bundle by bundle into the Hive layout under ``root``."""

    def __init__(self, dataset: str, root: str, formats: tuple[str, ...] = ("parquet",)):
        super().__init__()
        self.dataset = dataset
        self.root = root
        self.formats = formats

    def expand(self, records):
        return records | "WriteBundles" >> beam.ParDo(_WriteLiveFn(self.dataset, self.root, self.formats))


def _count_key(kind: str, element) -> str:
    if kind == "skipped":
        return skip_reason(element)
    return kind


class _CountLiveFn(beam.DoFn):
    """Count a bundle's elements (per reason for skips) into ``OUT/_stream/<kind>-<hash>.json``."""

    def __init__(self, kind: str, root: str):
        self.kind = kind
        self.root = root

    def start_bundle(self):
        self._counts: collections.Counter = collections.Counter()
        self._digest = hashlib.sha256()

    def process(self, element, timestamp=beam.DoFn.TimestampParam):
        self._counts[_count_key(self.kind, element)] += 1
        self._digest.update(dumps(element))
        self._digest.update(str(timestamp.micros).encode())

    def finish_bundle(self):
        if not self._counts:
            return
        body = json.dumps({"kind": self.kind, "counts": dict(sorted(self._counts.items()))},
                          sort_keys=True).encode()
        name = f"{self.kind}-{self._digest.hexdigest()[:24]}.json"
        write_bytes(join(self.root, f"{STREAM_DIR}/{name}"), body)


class CountLive(beam.PTransform):
    """Per-bundle counts of ``kind`` (inputs, skipped, polls, scans) under ``OUT/_stream/``."""

    def __init__(self, kind: str, root: str):
        super().__init__()
        self.kind = kind
        self.root = root

    def expand(self, elements):
        return elements | "CountBundles" >> beam.ParDo(_CountLiveFn(self.kind, self.root))


# --------------------------------------------------------------------------- manifest


def stream_counts(root: str) -> dict[str, dict[str, int]]:
    """The counts files added up: ``{"inputs": {"inputs": n}, "skipped": {reason: n}, ...}``."""
    totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    base = os.path.join(root, STREAM_DIR)
    if not os.path.isdir(base):
        return {}
    for name in sorted(os.listdir(base)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(base, name), encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue  # being replaced right now: counted on the next refresh
        totals[doc["kind"]].update(doc["counts"])
    return {kind: dict(sorted(c.items())) for kind, c in sorted(totals.items())}


def live_counts(root: str) -> tuple[dict, dict, dict, list]:
    """``(counts row, rows per dataset, skipped by reason, files)`` of a streaming output now."""
    counts, files = dataset_counts(root)
    streamed = stream_counts(root)
    skipped = streamed.get("skipped", {})
    row = {"inputs": sum(streamed.get("inputs", {}).values()),
           "articles": counts["articles"], "duplicates": counts["duplicates"],
           "rejects": counts["rejects"], "skipped": sum(skipped.values()),
           "polls": sum(streamed.get("polls", {}).values()),
           "scans": sum(streamed.get("scans", {}).values())}
    return row, counts, skipped, files


def newest_file_age(files: list, root: str, now: Optional[float] = None) -> Optional[float]:
    """Seconds since the newest dataset file landed (None before the first one)."""
    mtimes = []
    for f in files:
        try:
            mtimes.append(os.path.getmtime(os.path.join(root, f["path"])))
        except OSError:
            continue
    return None if not mtimes else max(0.0, (now or time.time()) - max(mtimes))


__all__ = ["WriteLive", "CountLive", "stream_counts", "live_counts", "window_label", "DATASETS", "STREAM_DIR"]
