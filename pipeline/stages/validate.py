"""Per-record validation against the JSON Schemas in ``schemas/``.

jsonschema-rs is used because it enforces Draft 2020-12 (``unevaluatedProperties``, which the
duplicate schema relies on) and is ~100x faster than jsonschema (see NOTES.md); fastjsonschema
silently ignores 2020-12 keywords.  Validators are compiled once per process.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import apache_beam as beam

from pipeline.stages.base import ApplyStage, Rejected

STAGE = "validate"

#: dataset name -> schema file
SCHEMA_FILES = {
    "articles": "article.schema.json",
    "duplicates": "duplicate.schema.json",
    "entities": "entity.schema.json",
    "rejects": "reject.schema.json",
}

#: keys records carry between stages that are not part of any dataset's contents
INTERNAL_KEYS = frozenset({"dt"})

MANIFEST_SCHEMA = "manifest.schema.json"


def schema_dir() -> Path:
    return Path(str(resources.files("pipeline") / "schemas"))


@functools.lru_cache(maxsize=None)
def load_schema(filename: str) -> dict:
    with open(schema_dir() / filename, encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def validator(dataset: str):
    import jsonschema_rs

    registry = jsonschema_rs.Registry([(load_schema(f)["$id"], load_schema(f)) for f in SCHEMA_FILES.values()])
    return jsonschema_rs.validator_for(load_schema(SCHEMA_FILES[dataset]), registry=registry)


@functools.lru_cache(maxsize=None)
def manifest_validator():
    import jsonschema_rs

    return jsonschema_rs.validator_for(load_schema(MANIFEST_SCHEMA))


def readable_versions() -> tuple[str, ...]:
    """Schema versions this newsbeam reads: what the article schema's schema_version accepts."""
    node = load_schema(SCHEMA_FILES["articles"])["$defs"]["fields"]["properties"]["schema_version"]
    return tuple(node["enum"]) if "enum" in node else (node["const"],)


def public_view(record: dict) -> dict:
    """The record as the dataset stores it (without internal keys)."""
    if not INTERNAL_KEYS.intersection(record):
        return record
    return {k: v for k, v in record.items() if k not in INTERNAL_KEYS}


def _errors(compiled, instance) -> list[str]:
    if compiled.is_valid(instance):  # the common case; collecting errors costs more
        return []
    errors = []
    for error in compiled.iter_errors(instance):
        pointer = "/" + "/".join(str(p) for p in error.instance_path)
        errors.append(f"{pointer}: {error.message}")
    return sorted(errors)


def validation_errors(record: dict, dataset: str) -> list[str]:
    """Every schema violation as 'JSON pointer: message' (empty when valid)."""
    return _errors(validator(dataset), public_view(record))


def manifest_errors(manifest: dict) -> list[str]:
    """Violations of ``manifest.schema.json`` as 'JSON pointer: message'."""
    return _errors(manifest_validator(), manifest)


def check(record: dict, dataset: str) -> dict:
    """The stage function: the record unchanged, or Rejected naming the schema and pointers."""
    errors = validation_errors(record, dataset)
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise Rejected(f"does not match {SCHEMA_FILES[dataset]}: {shown}")
    return record


class _Check:
    def __init__(self, dataset: str):
        self.dataset = dataset

    def __call__(self, record: dict) -> dict:
        return check(record, self.dataset)


class ValidateRecords(beam.PTransform):
    """Validate every record of a dataset; returns ``(valid, rejects)``."""

    def __init__(self, dataset: str):
        super().__init__()
        self.dataset = dataset

    def expand(self, records):
        return records | ApplyStage(STAGE, _Check(self.dataset))
