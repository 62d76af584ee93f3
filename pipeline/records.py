"""Record types that flow between stages, and their (de)serialisation.

Records are plain dicts (cheap to pickle, orjson-serialisable, what the JSON Schemas in
``schemas/`` describe).  The TypedDicts below document their shape; nothing enforces them
at run time except the ``validate`` stage.

Flow::

    reader  -> Item        one input article as found (text or html plus metadata)
    clean   -> Article     cleaned text, identity (id, content_hash), dates, provenance
    dedup   -> Article     canonical copies      + Duplicate (Article + duplicate_of, kind, similarity)
    entities-> Article     with ``entities``     + EntityRow per (article, canonical, label)
    any     -> Reject      stage, reason, input_uri, the raw input in full
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Optional, TypedDict

import orjson

SCHEMA_VERSION = "2.1.0"

#: The ``dt`` partition of rows without any known date (``dt=undated``; README: Dates).  Not
#: Hive's NULL partition: pyarrow infers dictionary-typed partition keys and then cannot combine
#: a NULL one with the others (``pandas.read_parquet(OUT/articles)`` fails with "Cannot yet unify
#: dictionaries with nulls"), so every reader reads ``dt`` as a string, ``undated`` included.
UNDATED_PARTITION = "undated"
NULL_PARTITION = UNDATED_PARTITION  # the name stages use for it

#: Where schema 1.x outputs kept undated rows (Hive's NULL partition); still read as undated.
HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
UNDATED_PARTITIONS = frozenset({UNDATED_PARTITION, HIVE_NULL_PARTITION})

#: Language code for text whose language could not be determined (ISO 639-2 "undetermined").
UNDETERMINED_LANG = "und"


class Item(TypedDict, total=False):
    """One input article as a reader found it, before any cleaning."""

    input_uri: str  # file the item came from
    offset: int  # line number (1-based) for JSONL, 0 for one-article files
    format: str  # txt | html | json | jsonl
    url: Optional[str]
    title: Optional[str]
    text: Optional[str]  # plain text, when the input had text
    html: Optional[str]  # raw HTML, when the input had markup
    published_at: Optional[str]  # as given by the input; parsed by the clean stage
    authors: list
    source: Optional[str]
    # set by feed, WARC and HTTP sources (absent or None for plain files)
    fetched_at: Optional[str]  # ISO 8601 UTC, when the bytes were fetched (WARC-Date, HTTP fetch)
    entry_id: Optional[str]  # feed entry guid/id, else its link
    feed_url: Optional[str]  # the feed an entry came from
    warnings: list  # parser warnings kept with the item (e.g. feedparser's bozo exception)
    update_of: Optional[str]  # content hash of the version of this feed entry ingested before
    summary_only: bool  # a feed entry with only a summary (no full content)
    # carried onto the article by the clean stage (see CARRIED_FIELDS); absent: the defaults
    text_kind: str  # TEXT_FULL | TEXT_SUMMARY, decided by the field the text came from
    canonical_url: Optional[str]  # the page's own canonical link, when ``url`` is where it was fetched
    declared_lang: Optional[str]  # ISO 639-1 code the feed / API record declares (a prior for short texts)


#: ``text_kind``: the whole article, or only a feed's description / an API's abstract or excerpt.
TEXT_FULL = "full"
TEXT_SUMMARY = "summary"
TEXT_KINDS = (TEXT_FULL, TEXT_SUMMARY)

#: Item fields the clean stage copies onto the article unchanged (the reader decides them, no
#: later stage could): see :func:`carried_fields`.
CARRIED_FIELDS = ("text_kind", "canonical_url", "declared_lang")


def carried_fields(item: dict) -> dict:
    """The :data:`CARRIED_FIELDS` an item has (not None), for the clean stage to copy onto its
    article; the identify stage fills in the defaults and moves ``declared_lang`` into provenance."""
    return {key: item[key] for key in CARRIED_FIELDS if item.get(key) is not None}


class Skip(TypedDict):
    """An input item deliberately not processed (a WARC request record, a 304 feed, ...).

    Counted per reason in the manifest; inputs = articles + duplicates + rejects + skipped."""

    skipped: str  # the reason
    input_uri: str
    offset: int


def is_skip(record: dict) -> bool:
    return "skipped" in record


def make_skip(reason: str, input_uri: str, offset: int = 0) -> Skip:
    return Skip(skipped=reason, input_uri=input_uri, offset=offset)


class Mention(TypedDict):
    start: int
    end: int
    text: str
    label: str
    canonical: str
    country_code: Optional[str]  # ISO 3166-1 alpha-2 of a place (GPE/LOC), else None


class EntitySummary(TypedDict):
    text: str  # first surface form seen
    label: str
    canonical: str
    count: int
    first_offset: int
    country_code: Optional[str]


class Article(TypedDict, total=False):
    id: str
    url: Optional[str]
    source: Optional[str]
    title: Optional[str]
    text: str
    text_kind: str  # TEXT_FULL (default) | TEXT_SUMMARY
    canonical_url: Optional[str]  # the page's canonical link when it differs from where it was fetched
    lang: str
    published_at: Optional[str]  # ISO 8601, UTC, seconds precision ("2023-10-17T00:00:00Z")
    published_precision: Optional[str]  # "day" | "minute" | "second": what the source stated
    fetched_at: Optional[str]
    authors: list
    word_count: int
    content_hash: str
    story_id: str
    entities: list  # EntitySummary
    mentions: list  # Mention; carried between stages, not written to the articles dataset
    provenance: dict
    schema_version: str


class Reject(TypedDict):
    stage: str
    reason: str
    input_uri: str
    offset: int
    raw: str
    raw_encoding: str  # "utf-8" | "base64" | "json" (the record as the stage received it)
    dt: str


def stable_hash(value: str, length: int = 16) -> str:
    """Hex digest used for ids: stable across runs, machines and Python versions."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]


def dumps(record: Any) -> bytes:
    """Deterministic JSON: sorted keys, so identical records give identical bytes.

    Values JSON cannot express (dates, struct_time, sets...) are written as their ``str``,
    so a reject can always carry the record that caused it."""
    return orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def raw_field(raw: bytes | str | dict) -> tuple[str, str]:
    """Represent any raw input losslessly as (text, encoding) for the rejects dataset."""
    if isinstance(raw, dict):
        return dumps(raw).decode("utf-8"), "json"
    if isinstance(raw, str):
        return raw, "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def _as_str(value) -> str:
    return value if isinstance(value, str) else ""


def _as_int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def make_reject(stage: str, reason: str, raw: bytes | str | dict, input_uri: str = "",
                offset: int = 0, dt: str = NULL_PARTITION) -> Reject:
    """A rejects-dataset row. ``raw`` is the input in full: bytes/str from a reader, or the
    record (dict) as the failing stage received it."""
    if isinstance(raw, dict):  # a record: take its location from it, defensively
        prov = raw.get("provenance") if isinstance(raw.get("provenance"), dict) else {}
        input_uri = input_uri or _as_str(raw.get("input_uri")) or _as_str(prov.get("input_uri"))
        offset = offset or _as_int(raw.get("offset")) or _as_int(prov.get("offset"))
        if dt == NULL_PARTITION and isinstance(raw.get("dt"), str) and raw["dt"]:
            dt = raw["dt"]
    text, encoding = raw_field(raw)
    return Reject(stage=stage, reason=reason, input_uri=input_uri, offset=_as_int(offset),
                  raw=text, raw_encoding=encoding, dt=dt)
