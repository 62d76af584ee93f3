"""The one definition of every dataset's schema: the JSON Schemas in ``schemas/`` (loaded once per
process), the validators compiled from them, and the Arrow schemas derived from them, so JSON
Schema, Parquet and every reader agree.

jsonschema-rs is used because it enforces Draft 2020-12 (``unevaluatedProperties``, which the
duplicate schema relies on) and is ~100x faster than jsonschema; fastjsonschema silently ignores
2020-12 keywords. Validators are compiled once per process.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

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


#: partition columns per dataset (taken from each record's internal keys, written in the path)
PARTITIONS = {
    "articles": ("dt", "lang"),
    "duplicates": ("dt",),
    "entities": ("dt",),
    "rejects": ("dt",),
}


def resolve(node: dict, root: dict) -> dict:
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
    return resolve(target, target if doc else root) if "$ref" in target else target


def _arrow_type(node: dict, root: dict):
    import pyarrow as pa

    node = resolve(node, root)
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
    node = resolve(node, root)
    types = node.get("type")
    return not required or (isinstance(types, list) and "null" in types)


def _arrow_field(name: str, node: dict, required: bool, root: dict):
    import pyarrow as pa

    return pa.field(name, _arrow_type(node, root), nullable=_nullable(node, root, required))


def top_level_properties(schema: dict) -> tuple[dict, set]:
    """Properties and required names of a dataset schema, following its root $ref."""
    props, required = {}, set()
    base = schema
    if "$ref" in schema:
        base = resolve(schema, schema)
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
    props, required = top_level_properties(schema)
    root = schema if "$ref" not in schema or schema["$ref"].startswith("#") else load_schema("article.schema.json")
    fields = [_arrow_field(name, node, name in required, root)
              for name, node in props.items() if name not in PARTITIONS[dataset]]
    return pa.schema(fields)
