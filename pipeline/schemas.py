"""The one definition of every dataset's schema: the JSON Schemas in ``schemas/`` (loaded once per
process), the validators compiled from them, and the Arrow schemas derived from them, so JSON
Schema, Parquet and every reader agree.

jsonschema-rs is used because it enforces Draft 2020-12 (``unevaluatedProperties``, which the
duplicate schema relies on) and is ~100x faster than jsonschema; fastjsonschema silently ignores
2020-12 keywords. Validators are compiled once per process.
"""
from __future__ import annotations

import datetime as _dt
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
    "story_index": "story_index.schema.json",
    "near_index": "near_index.schema.json",
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
    "story_index": ("dt",),
    "near_index": ("dt",),
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


#: the Arrow type of a JSON Schema string with ``"format": "date-time"`` (ISO 8601 UTC in JSON)
TIMESTAMP_UNIT, TIMESTAMP_TZ = "us", "UTC"


def _json_type(node: dict):
    """The node's one non-null JSON type (``const``/``enum`` nodes are strings)."""
    types = node.get("type")
    if isinstance(types, list):
        types = [t for t in types if t != "null"][0]
    if types is None and ("const" in node or "enum" in node):
        types = "string"
    return types


def _arrow_type(node: dict, root: dict):
    import pyarrow as pa

    node = resolve(node, root)
    types = _json_type(node)
    if types == "string" and node.get("format") == "date-time":
        return pa.timestamp(TIMESTAMP_UNIT, tz=TIMESTAMP_TZ)
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


def allows_null(node: dict, root: dict) -> bool:
    node = resolve(node, root)
    types = node.get("type")
    return types == "null" or (isinstance(types, list) and "null" in types) or None in node.get("enum", [1])


def _nullable(node: dict, root: dict, required: bool) -> bool:
    return not required or allows_null(node, root)


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


@functools.lru_cache(maxsize=None)
def dataset_node(dataset: str) -> tuple[dict, dict]:
    """A single object node (properties, required) for a dataset's rows, and its $ref root."""
    schema = load_schema(SCHEMA_FILES[dataset])
    props, required = top_level_properties(schema)
    external = "$ref" in schema and not schema["$ref"].startswith("#")
    root = load_schema("article.schema.json") if external else schema
    return {"type": "object", "properties": props, "required": sorted(required)}, root


@functools.lru_cache(maxsize=None)
def arrow_schema(dataset: str):
    """The Parquet schema of a dataset, derived from its JSON Schema (one source of truth).

    Partition columns are left out: they live in the directory names. A string with
    ``"format": "date-time"`` is ``timestamp[us, tz=UTC]``; an object with only
    ``additionalProperties`` a map; a field is nullable unless it is required and not null-able.
    """
    import pyarrow as pa

    node, root = dataset_node(dataset)
    fields = [_arrow_field(name, child, name in node["required"], root)
              for name, child in node["properties"].items() if name not in PARTITIONS[dataset]]
    return pa.schema(fields)


def datetime_columns(dataset: str) -> tuple[str, ...]:
    """Top-level columns of a dataset that hold timestamps (``"format": "date-time"``)."""
    node, root = dataset_node(dataset)
    return tuple(name for name, child in node["properties"].items()
                 if resolve(child, root).get("format") == "date-time")


# --------------------------------------------------------------------------- JSON <-> Arrow values
#
# A record as the JSON Schema describes it and a row as Parquet stores it differ in three ways,
# all decided by the schema: a ``date-time`` string is a timestamp; a map (an object with only
# ``additionalProperties``) is a list of (key, value) pairs in key order; and Parquet has no
# "absent", so an optional field that may not be null is written as its schema ``default``.
# ``arrow_row`` goes one way (the writers), ``json_record`` the other (readers, quality checks).

def parse_datetime(value: str) -> _dt.datetime:
    """``2024-03-12T18:30:00Z`` (what the schemas' date-time pattern allows) -> aware datetime."""
    return _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)


def format_datetime(value) -> str:
    """An aware (or naive UTC) datetime, pandas/numpy timestamp included -> ``...Z`` string."""
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _default(node: dict):
    import copy

    return copy.deepcopy(node["default"]) if "default" in node else None


_CHANGES: dict[int, bool] = {}


def _changes(node: dict, root: dict) -> bool:
    """Whether values under this (resolved) node differ between JSON and Arrow: a date-time, a map
    or a default somewhere below. Cached per node (the loaded schemas live as long as the process)."""
    key = id(node)
    if key not in _CHANGES:
        _CHANGES[key] = True  # a recursive $ref, if one is ever added, is converted, not looped
        kind = _json_type(node)
        if kind == "string":
            found = node.get("format") == "date-time"
        elif kind == "array":
            found = _changes(resolve(node.get("items", {}), root), root)
        elif kind == "object":
            props = node.get("properties")
            found = props is None or any("default" in resolve(c, root) or _changes(resolve(c, root), root)
                                         for c in props.values())
        else:
            found = False
        _CHANGES[key] = found
    return _CHANGES[key]


def _to_arrow(value, node: dict, root: dict):
    node = resolve(node, root)
    if value is None or not _changes(node, root):
        return value
    kind = _json_type(node)
    if kind == "string" and node.get("format") == "date-time" and isinstance(value, str):
        return parse_datetime(value)
    if kind == "array" and isinstance(value, list):
        return [_to_arrow(v, node["items"], root) for v in value]
    if kind == "object" and isinstance(value, dict):
        if "properties" in node:
            return _object_to_arrow(value, node, root)
        extra = node.get("additionalProperties") or {}
        return [(k, _to_arrow(v, extra, root)) for k, v in sorted(value.items())]
    return value


def _object_to_arrow(value: dict, node: dict, root: dict) -> dict:
    props, required = node["properties"], set(node.get("required", ()))
    out = {}
    for key, v in value.items():
        child = props.get(key)
        out[key] = v if child is None else _to_arrow(v, child, root)
    for key, child in props.items():
        if out.get(key) is None and key not in required and not allows_null(child, root):
            default = _default(resolve(child, root))
            if default is not None:
                out[key] = _to_arrow(default, child, root)
    return out


def arrow_row(record: dict, dataset: str) -> dict:
    """A dataset record (JSON form) as the values its Arrow schema takes."""
    node, root = dataset_node(dataset)
    return _object_to_arrow(record, node, root)


def _as_list(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()  # numpy arrays (pandas gives list columns as arrays)
    return value


def _pairs(value) -> list:
    """A map as a reader returns it: pairs (pyarrow, pandas), {key, value} structs (polars) or a
    dict (DuckDB) -> [(key, value), ...]."""
    if isinstance(value, dict):
        return list(value.items())
    out = []
    for item in _as_list(value):
        if isinstance(item, dict) and set(item) == {"key", "value"}:
            out.append((item["key"], item["value"]))
        else:
            out.append(tuple(item))
    return out


def json_value(value, node: dict, root: dict):
    node = resolve(node, root)
    if value is None or type(value).__name__ == "NaTType":
        return None
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and value != value:
        return None  # NaN: pandas' null in a float column
    kind = _json_type(node)
    if kind == "string" and node.get("format") == "date-time" and not isinstance(value, str):
        return format_datetime(value)
    if kind == "object" and "properties" not in node:
        extra = node.get("additionalProperties") or {}
        return {k: json_value(v, extra, root) for k, v in _pairs(value)}
    if kind == "object" and isinstance(value, dict):
        return _object_to_json(value, node, root)
    if kind == "array":
        return [json_value(v, node.get("items", {}), root) for v in _as_list(value)]
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _object_to_json(value: dict, node: dict, root: dict) -> dict:
    props, required = node["properties"], set(node.get("required", ()))
    out = {}
    for key, v in value.items():
        child = props.get(key)
        if child is None:
            out[key] = v
            continue
        converted = json_value(v, child, root)
        if converted is None and key not in required and not allows_null(child, root):
            continue  # absent in JSON (an older writer without the schema default)
        out[key] = converted
    return out


def json_record(row: dict, dataset: str) -> dict:
    """A row as any reader returns it (pyarrow ``to_pylist``, pandas, polars or DuckDB rows, Hive
    partition columns included) -> the JSON record the dataset's JSON Schema describes:
    timestamps as ``...Z`` strings, maps as objects, partition columns that are not fields dropped."""
    node, root = dataset_node(dataset)
    keep = {k: v for k, v in row.items() if k in node["properties"] or k not in PARTITIONS[dataset]}
    return _object_to_json(keep, node, root)
