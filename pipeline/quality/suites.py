"""Expectation suites (``schemas/expectations/*.json``) and running them with Great Expectations.

The suite files are GE expectation-suite configs (``name``, ``expectations`` of ``type``,
``kwargs``, ``meta``) so they read like any GE suite; ``meta.name`` is the name a person sees in
results. A few kwargs values are placeholders resolved at check time, because the value depends
on the output being checked (cross-dataset references) or on the clock:

- ``{"$ids": "articles"}``: every id of that dataset in the output;
  with ``"other_partitions": true`` only the ids outside the partition checked (so uniqueness
  holds across partitions without loading the whole dataset into one frame);
- ``{"$now_plus_hours": H}``: the time of the check plus H hours (UTC);
- ``{"$schema_versions": true}``: the schema versions this newsbeam reads.

Results are plain dicts without timestamps or GE's run ids, so the same output gives the same
results file.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from pipeline.schemas import schema_dir

#: datasets that have a suite, in the order they are checked and shown
SUITES = ("articles", "duplicates", "entities", "rejects")


#: unexpected values shown per failed expectation
EXAMPLES = 5


def suite_dir() -> str:
    return str(schema_dir() / "expectations")


@functools.lru_cache(maxsize=None)
def load_suite(name: str) -> dict:
    with open(os.path.join(suite_dir(), f"{name}.json"), encoding="utf-8") as f:
        suite = json.load(f)
    names = [e["meta"]["name"] for e in suite["expectations"]]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}.json: every expectation needs a distinct meta.name, got {names}")
    return suite


def load_suites() -> dict[str, dict]:
    return {name: load_suite(name) for name in SUITES}


@dataclass
class Refs:
    """What placeholders resolve to: ids per dataset and partition, the clock, known versions."""

    ids: dict[str, dict[str, set]] = field(default_factory=dict)  # dataset -> partition -> ids
    now: Optional[_dt.datetime] = None
    schema_versions: tuple[str, ...] = ()

    def all_ids(self, dataset: str, except_partition=None) -> list:
        """Every id of ``dataset``, but those of ``except_partition`` (one partition path, or
        a set of them when several partitions are checked as one frame)."""
        skip = {except_partition} if isinstance(except_partition, str) else set(except_partition or ())
        out: set = set()
        for partition, ids in self.ids.get(dataset, {}).items():
            if partition not in skip:
                out |= ids
        return sorted(out)


def resolve(value, refs: Refs, partition):
    """A kwargs value with its placeholder replaced (pure). ``partition``: the partition path
    checked, or a set of paths checked together as one frame."""
    if not isinstance(value, dict):
        return value
    if "$ids" in value:
        return refs.all_ids(value["$ids"], partition if value.get("other_partitions") else None)
    if "$now_plus_hours" in value:
        now = refs.now or _dt.datetime.now(_dt.timezone.utc)
        return now + _dt.timedelta(hours=float(value["$now_plus_hours"]))
    if "$schema_versions" in value:
        return sorted(refs.schema_versions)
    return value


def resolved_kwargs(expectation: dict, refs: Refs, partition) -> dict:
    return {k: resolve(v, refs, partition) for k, v in expectation["kwargs"].items()}


@functools.lru_cache(maxsize=1)
def datetime_columns() -> tuple[str, ...]:
    """Columns that hold timestamps in any dataset (``"format": "date-time"`` in its JSON Schema)."""
    from pipeline.schemas import SCHEMA_FILES, datetime_columns as of_dataset

    return tuple(dict.fromkeys(c for dataset in SCHEMA_FILES for c in of_dataset(dataset)))


def prepare_frame(frame):
    """Timestamps as datetimes, so ``not in the future`` compares times, not strings (Parquet
    columns are typed already; JSON lines and outputs of schema 1.x hold ISO strings)."""
    import pandas as pd

    for column in datetime_columns():
        if column in frame.columns and not isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="%Y-%m-%dT%H:%M:%SZ",
                                           errors="coerce")
    return frame


# --------------------------------------------------------------------------- Great Expectations


class _Ge:
    """One ephemeral GE context per process: no files, no analytics, no progress bars."""

    def __init__(self):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig)

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.gx = gx
        config = DataContextConfig(  # no temporary Data Docs site: our report replaces it
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.batches = (self.context.data_sources.add_pandas("newsbeam")
                        .add_dataframe_asset("partition")
                        .add_batch_definition_whole_dataframe("whole"))

    def validate(self, frame, configs: list[dict]):
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        suite = self.gx.ExpectationSuite(
            name="newsbeam", expectations=[ExpectationConfiguration(**c).to_domain_obj() for c in configs])
        batch = self.batches.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                    "partial_unexpected_count": EXAMPLES})


@functools.lru_cache(maxsize=1)
def ge() -> _Ge:
    return _Ge()


def _plain(value):
    """A JSON-safe, stable rendering of an unexpected value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _describe_kwargs(kwargs: dict) -> dict:
    """The kwargs as written in the suite, with long value sets summarised."""
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, list) and len(v) > 12:
            out[k] = f"{len(v)} values"
        else:
            out[k] = v
    return out


def run_suite(name: str, frame, refs: Refs, partition,
              validate: Optional[Callable] = None) -> list[dict]:
    """Every expectation of suite ``name`` over one partition's frame (or several partitions'
    frames concatenated, ``partition`` then being the set of their paths), as result dicts."""
    suite = load_suite(name)
    configs = [{"type": e["type"], "kwargs": resolved_kwargs(e, refs, partition), "meta": e["meta"]}
               for e in suite["expectations"]]
    validation = (validate or ge().validate)(prepare_frame(frame), configs)
    by_name = {r.expectation_config.meta["name"]: r for r in validation.results}
    results = []
    for e in suite["expectations"]:
        r = by_name[e["meta"]["name"]]
        info = r.result or {}
        error = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            error = r.exception_info.get("exception_message")
        else:  # GE reports per-metric exceptions keyed by metric id
            for v in (r.exception_info or {}).values():
                if isinstance(v, dict) and v.get("raised_exception"):
                    error = v.get("exception_message")
                    break
        examples = sorted({json.dumps(_plain(v), ensure_ascii=False)
                           for v in info.get("partial_unexpected_list") or []})[:EXAMPLES]
        results.append({
            "expectation": e["meta"]["name"],
            "type": e["type"],
            "kwargs": _describe_kwargs(e["kwargs"]),
            "success": bool(r.success) and error is None,
            "element_count": info.get("element_count", len(frame)),
            "unexpected_count": info.get("unexpected_count", 0 if r.success else None),
            "examples": [json.loads(x) for x in examples],
            **({"error": error} if error else {}),
        })
    return results
