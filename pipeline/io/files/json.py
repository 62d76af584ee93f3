"""JSON and JSON-lines files -> one Item per article object, one Reject per bad document,
element or line (offset = 1-based element index or line number).

:func:`map_fields` maps an article object onto Item fields, accepting the field names of
common dumps (news-please, newspaper3k, NewsAPI, schema.org, scrapers).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterator, Optional

import orjson

from pipeline import limits as _limits
from pipeline.io.files.decode import REASON_NOT_TEXT, REASON_TRUNCATED_GZIP, decode_text, looks_like_text
from pipeline.io.files.detect import looks_like_html
from pipeline.io.files.items import make_item, reject
from pipeline.limits import Limits

__all__ = ["AUTHOR_FIELDS", "DATE_FIELDS", "HTML_FIELDS", "REASON_NO_TEXT", "SOURCE_FIELDS", "TEXT_FIELDS",
           "TITLE_FIELDS", "URL_FIELDS", "map_fields", "read_json", "read_jsonl", "read_jsonl_bytes",
           "read_truncated_jsonl"]

# Field names accepted from JSON objects, in order of preference (news-please, newspaper3k,
# NewsAPI, schema.org and common scraper dumps).
URL_FIELDS = ("url", "link", "canonical_url")
TITLE_FIELDS = ("title", "headline")
TEXT_FIELDS = ("text", "content", "body", "article", "maintext")
HTML_FIELDS = ("html", "raw_html")
DATE_FIELDS = ("published", "published_at", "date", "date_publish", "pubDate", "datePublished")
AUTHOR_FIELDS = ("authors", "author", "byline")
SOURCE_FIELDS = ("source", "source_domain", "site_name", "publisher")

REASON_NO_TEXT = "no article text: expected one of the fields text, content, body, html"


def read_json(path: str, text: str) -> Iterator[dict]:
    """One object is one article (offset 0); an array holds one article per element
    (offset = 1-based index)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield reject(path, f"invalid JSON: {exc}", text)
        return
    if isinstance(doc, dict):
        yield _object_to_record(path, 0, "json", doc, text)
    elif isinstance(doc, list):
        if not doc:
            yield reject(path, "empty JSON array: no articles", text)
        for index, element in enumerate(doc, start=1):
            raw = orjson.dumps(element).decode("utf-8")
            if isinstance(element, dict):
                yield _object_to_record(path, index, "json", element, raw)
            else:
                yield reject(path, f"array element {index} is not a JSON object", raw, index)
    else:
        yield reject(path, "JSON document is not an object or an array of objects", text)


def read_jsonl_bytes(path: str, data: bytes, limits: Limits) -> Iterator[dict]:
    """JSON lines whose file does not decode as a whole: each line is decoded on its own and a
    line that is not text is a reject (offset = its 1-based line number)."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
            if not looks_like_text(line):
                line = None
        except UnicodeDecodeError:
            line = decode_text(raw)
        if line is None:
            yield reject(path, f"line {number} is not text (binary or undecodable bytes)",
                         _limits.preview(raw), number)
            continue
        yield from read_jsonl(path, line, limits, first_line=number)


def read_jsonl(path: str, text: str, limits: Limits = _limits.DEFAULT, first_line: int = 1) -> Iterator[dict]:
    """One object per line, offset = 1-based line number.  Blank lines are skipped; a bad line
    is rejected on its own and reading goes on.  Splits on ``\\n`` only, because JSON strings
    may hold raw U+2028 characters that ``str.splitlines`` would cut."""
    for number, line in enumerate(text.split("\n"), start=first_line):
        line = line.removesuffix("\r")  # CRLF files: the CR is part of the line end
        if not line.strip():
            continue
        if _limits.utf8_size(line, limits.max_item_bytes) > limits.max_item_bytes:
            size = len(line.encode("utf-8", "surrogatepass"))
            yield reject(path, _limits.over(f"line {number}", size, "max_item_bytes", limits.max_item_bytes)
                         + _limits.PREVIEW_NOTE, _limits.preview(line), number)
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield reject(path, f"invalid JSON on line {number}: {exc}", line, number)
            continue
        if not isinstance(obj, dict):
            yield reject(path, f"invalid JSON on line {number}: expected an object, "
                               f"got {type(obj).__name__}", line, number)
            continue
        yield _object_to_record(path, number, "jsonl", obj, line)


def _object_to_record(path: str, offset: int, fmt: str, obj: dict, raw: str) -> dict:
    try:
        fields = map_fields(obj)
    except Exception as exc:  # pragma: no cover - a bug; keep the record
        return reject(path, f"unexpected error {exc!r} while mapping fields; this is a newsbeam "
                            f"bug, please report it with this record", raw, offset)
    if fields["text"] is None and fields["html"] is None:
        return reject(path, REASON_NO_TEXT, raw, offset)
    return make_item(path, offset, fmt, **fields)


def map_fields(obj: dict) -> dict:
    """Map a JSON article object onto Item fields, accepting the common field names.

    Text that is really markup (``"content": "<div><p>..."``) goes to ``html`` so the clean
    stage extracts it.  A numeric date is a Unix timestamp (seconds; milliseconds when above
    1e11) and becomes ISO 8601 UTC; a string date is kept as given for the clean stage.
    """
    text = html = None
    for key in HTML_FIELDS:
        html = _string(obj.get(key))
        if html is not None:
            break
    for key in TEXT_FIELDS:
        value = _text_value(obj.get(key))
        if value is None:
            continue
        if looks_like_html(value):
            html = html or value
        elif text is None:
            text = value
    return {
        "url": _first(obj, URL_FIELDS, _string),
        "title": _first(obj, TITLE_FIELDS, _scalar_string),
        "text": text,
        "html": html,
        "published_at": _first(obj, DATE_FIELDS, _date),
        "authors": _authors(_first(obj, AUTHOR_FIELDS, lambda v: v if v not in (None, "", []) else None)),
        "source": _first(obj, SOURCE_FIELDS, _source),
    }


def _first(obj: dict, keys: tuple[str, ...], convert) -> Any:
    for key in keys:
        value = convert(obj.get(key))
        if value is not None:
            return value
    return None


def _string(value: Any) -> Optional[str]:
    if isinstance(value, str) and value.strip():
        return value.strip() if len(value) < 2048 and "\n" not in value else value
    return None


def _scalar_string(value: Any) -> Optional[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _string(value)


def _text_value(value: Any) -> Optional[str]:
    """A body is a string, or a list of paragraph strings (joined by blank lines)."""
    if isinstance(value, list) and value and all(isinstance(p, str) for p in value):
        value = "\n\n".join(p for p in value if p.strip())
    if isinstance(value, str) and value.strip():
        return value
    return None


def _date(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            moment = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return str(value)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _string(value)


def _authors(value: Any) -> list:
    """A list of names; a single string is kept whole (splitting "A and B" is the clean
    stage's business, and "Smith, John" must not become two people)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for entry in items:
        if isinstance(entry, dict):
            entry = entry.get("name")
        if isinstance(entry, str) and entry.strip():
            out.append(entry.strip())
    return out


def _source(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        for key in ("name", "domain", "url"):
            found = _string(value.get(key))
            if found is not None:
                return found
        return None
    return _string(value)


def read_truncated_jsonl(path: str, data: bytes, limits: Limits) -> Iterator[dict]:
    """A cut .jsonl.gz: its complete lines are read as usual, the cut last line is a reject."""
    head, _, tail = data.rpartition(b"\n")
    if head:
        text = decode_text(head + b"\n")
        if text is None:
            yield reject(path, REASON_NOT_TEXT + " (in a truncated gzip stream)", _limits.preview(data))
            return
        yield from read_jsonl(path, text, limits)
    line = head.count(b"\n") + 2 if head else 1
    yield reject(path, f"{REASON_TRUNCATED_GZIP}; line {line} is incomplete and was not read, "
                       f"the lines before it were", tail, line)
