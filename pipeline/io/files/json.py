"""JSON and JSON-lines files -> one Item per article object, one Reject per bad document,
element or line (offset = 1-based element index or line number).

:func:`map_fields` maps an article object onto Item fields, accepting the field names of
common dumps (news-please, newspaper3k, NewsAPI, schema.org, scrapers).
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterator, Optional

import orjson

from pipeline import limits as _limits
from pipeline.io.files.decode import REASON_NOT_TEXT, REASON_TRUNCATED_GZIP, decode_text, looks_like_text
from pipeline.io.files.detect import looks_like_html
from pipeline.io.feeds.language import declared_language
from pipeline.io.files.items import make_item, reject
from pipeline.limits import Limits
from pipeline.records import TEXT_FULL, TEXT_SUMMARY

__all__ = ["AUTHOR_FIELDS", "DATE_FIELDS", "ENVELOPES", "FIELD_MAP_TARGETS", "HTML_FIELDS", "LANGUAGE_FIELDS",
           "REASON_LINK_ONLY", "REASON_NO_TEXT", "SOURCE_FIELDS", "SUMMARY_FIELDS", "TEXT_FIELDS", "TITLE_FIELDS", "URL_FIELDS",
           "FieldMap", "map_fields", "parse_field_map", "read_json", "read_jsonl", "read_jsonl_bytes",
           "read_truncated_jsonl"]

# Field names accepted from JSON objects, in order of preference (news-please, newspaper3k,
# NewsAPI, NYT, GDELT, schema.org and common scraper dumps).
URL_FIELDS = ("url", "link", "web_url", "canonical_url")
TITLE_FIELDS = ("title", "headline")
TEXT_FIELDS = ("text", "content", "body", "article", "maintext", "articleBody")
#: Fields that hold only a summary of the article (text_kind "summary"): a feed's or API's
#: description, NYT's abstract / lead paragraph / snippet.  The longest one present is the text.
SUMMARY_FIELDS = ("description", "abstract", "lead_paragraph", "summary", "snippet", "excerpt", "teaser")
HTML_FIELDS = ("html", "raw_html")
DATE_FIELDS = ("published", "published_at", "publishedAt", "published_date", "pub_date", "date",
               "date_publish", "pubDate", "datePublished", "seendate")
AUTHOR_FIELDS = ("authors", "author", "byline", "creator")
SOURCE_FIELDS = ("source", "source_domain", "site_name", "publisher", "domain")
LANGUAGE_FIELDS = ("language", "lang", "inLanguage")

#: Where news APIs put their articles in a response: NewsAPI and GDELT ``articles``, NYT Top
#: Stories ``results``, NYT Article Search ``response.docs``.
ENVELOPES = (("articles",), ("results",), ("response", "docs"))

#: --field-map targets: the item field -> what it becomes (``summary``: a text that is a summary).
FIELD_MAP_TARGETS = ("url", "canonical_url", "title", "text", "summary", "html", "published_at", "authors",
                     "source", "language")

REASON_NO_TEXT = ("no article text: expected one of the fields text, content, body, html, or a summary "
                  "(description, abstract, lead_paragraph); map other names with --field-map text=FIELD")

REASON_LINK_ONLY = ("no article text: a link-only record (a url and a title but no text, description or "
                    "abstract, as GDELT's article lists have); its page must be fetched to be read")

#: NewsAPI cuts ``content`` to ~200 characters and says so: "... [+3087 chars]".
_TRUNCATED_RE = re.compile(r"\s*(?:…|\.\.\.)?\s*\[\+\d+ chars\]\s*$")
_MARKUP_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})T?(\d{2})(\d{2})(\d{2})Z?$")

FieldMap = tuple  # ((target, (key, key, ...)), ...): hashable, picklable, frozen


def parse_field_map(spec: Optional[str]) -> FieldMap:
    """``--field-map text=body,published_at=meta.date`` -> ``(("text", ("body",)), ("published_at",
    ("meta", "date")))``.  A dotted path walks into objects (a number indexes a list).  Raises
    ValueError naming the problem for a malformed map (the command line exits 2)."""
    if spec is None or not str(spec).strip():
        return ()
    out: dict = {}
    for part in str(spec).split(","):
        if not part.strip():
            continue
        target, sep, path = part.partition("=")
        target, path = target.strip(), path.strip()
        if not sep or not target or not path:
            raise ValueError(f"--field-map: {part.strip()!r} is not FIELD=PATH (e.g. --field-map "
                             f"text=body,published_at=meta.date)")
        if target not in FIELD_MAP_TARGETS:
            raise ValueError(f"--field-map: unknown field {target!r}; map one of {', '.join(FIELD_MAP_TARGETS)}")
        keys = tuple(k.strip() for k in path.split("."))
        if any(not k for k in keys):
            raise ValueError(f"--field-map: {target}={path!r} has an empty key in its path")
        if target in out:
            raise ValueError(f"--field-map: {target!r} is mapped twice")
        out[target] = keys
    return tuple(out.items())


def _at(obj: Any, keys: tuple) -> Any:
    for key in keys:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
    return obj


def _envelope(doc: dict, field_map: FieldMap) -> Optional[list]:
    """The article list of a news API response (:data:`ENVELOPES`), when ``doc`` is not an article."""
    fields = map_fields(doc, field_map)
    if fields["text"] is not None or fields["html"] is not None:
        return None
    for keys in ENVELOPES:
        found = _at(doc, keys)
        if isinstance(found, list) and found and all(isinstance(e, dict) for e in found):
            return found
    return None


def read_json(path: str, text: str, field_map: FieldMap = ()) -> Iterator[dict]:
    """One object is one article (offset 0); an array holds one article per element
    (offset = 1-based index), and so does a news API response (NewsAPI / GDELT ``articles``,
    NYT ``results`` or ``response.docs``)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield reject(path, f"invalid JSON: {exc}", text)
        return
    if isinstance(doc, dict):
        listed = _envelope(doc, field_map)
        if listed is None:
            yield _object_to_record(path, 0, "json", doc, text, field_map)
            return
        doc = listed
    if isinstance(doc, list):
        if not doc:
            yield reject(path, "empty JSON array: no articles", text)
        for index, element in enumerate(doc, start=1):
            raw = orjson.dumps(element).decode("utf-8")
            if isinstance(element, dict):
                yield _object_to_record(path, index, "json", element, raw, field_map)
            else:
                yield reject(path, f"array element {index} is not a JSON object", raw, index)
    else:
        yield reject(path, "JSON document is not an object or an array of objects", text)


def read_jsonl_bytes(path: str, data: bytes, limits: Limits, field_map: FieldMap = (),
                     first_line: int = 1) -> Iterator[dict]:
    """JSON lines whose file does not decode as a whole (or a line range of a file, whose first
    line is ``first_line``): each line is decoded on its own and a line that is not text is a
    reject (offset = its 1-based line number)."""
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
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
        yield from read_jsonl(path, line, limits, first_line=number, field_map=field_map)


def read_jsonl(path: str, text: str, limits: Limits = _limits.DEFAULT, first_line: int = 1,
               field_map: FieldMap = ()) -> Iterator[dict]:
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
        yield _object_to_record(path, number, "jsonl", obj, line, field_map)


def _object_to_record(path: str, offset: int, fmt: str, obj: dict, raw: str, field_map: FieldMap = ()) -> dict:
    try:
        fields = map_fields(obj, field_map)
    except Exception as exc:  # pragma: no cover - a bug; keep the record
        return reject(path, f"unexpected error {exc!r} while mapping fields; this is a newsbeam "
                            f"bug, please report it with this record", raw, offset)
    if fields["text"] is None and fields["html"] is None:
        return reject(path, REASON_LINK_ONLY if fields["url"] else REASON_NO_TEXT, raw, offset)
    return make_item(path, offset, fmt, **fields)


def map_fields(obj: dict, field_map: FieldMap = ()) -> dict:
    """Map a JSON article object onto Item fields, accepting the common field names, then the
    ``field_map`` (``--field-map``: a mapped field that is present wins over the common names).

    Text that is really markup (``"content": "<div><p>..."``) goes to ``html`` so the clean
    stage extracts it.  Without a full text (``text``, ``content``, ``body`` ...), the longest
    summary (``description``, ``abstract``, ``lead_paragraph`` ..., or NewsAPI's truncated
    ``content``) is the text and ``text_kind`` is "summary".  A numeric date is a Unix timestamp
    (seconds; milliseconds from 13 digits on; a 12-digit number is
    ambiguous and read as no date) and becomes ISO 8601 UTC, as does GDELT's compact
    ``20240312T183000Z``; another string date is kept as given for the clean stage.
    """
    mapped = dict(field_map)
    text = html = None
    summaries: list[str] = []
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
        elif _TRUNCATED_RE.search(value):
            summaries.append(_TRUNCATED_RE.sub("", value))
        elif text is None:
            text = value
    for key in SUMMARY_FIELDS:
        value = _text_value(obj.get(key))
        if value is not None:
            summaries.append(value)
    if "html" in mapped:
        html = _string(_at(obj, mapped["html"])) or html
    if "text" in mapped:
        value = _text_value(_at(obj, mapped["text"]))
        if value is not None and looks_like_html(value):
            html, text = value, None
        elif value is not None:
            text = value
    if "summary" in mapped:
        value = _text_value(_at(obj, mapped["summary"]))
        if value is not None:
            summaries.insert(0, value)
    kind = TEXT_FULL
    if text is None and html is None and summaries:
        text, kind = max((_plain(s) for s in summaries), key=len), TEXT_SUMMARY

    def pick(target: str, keys: tuple, convert):
        if target in mapped:
            value = convert(_at(obj, mapped[target]))
            if value is not None:
                return value
        return _first(obj, keys, convert)

    language = pick("language", LANGUAGE_FIELDS, _string)
    return {
        "url": pick("url", URL_FIELDS, _url),
        "title": pick("title", TITLE_FIELDS, _title),
        "text": text,
        "html": html,
        "published_at": pick("published_at", DATE_FIELDS, _date),
        "authors": _authors(pick("authors", AUTHOR_FIELDS, lambda v: v if v not in (None, "", [], {}) else None)),
        "source": pick("source", SOURCE_FIELDS, _source),
        "text_kind": kind if kind == TEXT_SUMMARY else None,  # None: full, the default
        "declared_lang": declared_language(language) if language else None,
        "canonical_url": _url(_at(obj, mapped["canonical_url"])) if "canonical_url" in mapped else None,
    }


def _plain(value: str) -> str:
    """A summary as plain text (an API description may carry markup: ``Only a <b>teaser</b>``)."""
    if not _MARKUP_RE.search(value):
        return value
    import lxml.html

    try:
        return " ".join(lxml.html.fragment_fromstring(value, create_parent="div").text_content().split())
    except Exception:  # not markup after all
        return value


def _url(value: Any) -> Optional[str]:
    value = _string(value)
    return value if value is not None and "\n" not in value else None


def _title(value: Any) -> Optional[str]:
    """A title, or NYT's headline object (``{"main": ..., "print_headline": ...}``)."""
    if isinstance(value, dict):
        return _scalar_string(value.get("main")) or _scalar_string(value.get("print_headline"))
    return _scalar_string(value)


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
    if isinstance(value, str):
        compact = _COMPACT_DATE_RE.match(value.strip())
        if compact:  # GDELT's seendate: 20240312T183000Z (UTC)
            y, mo, d, h, mi, sec = compact.groups()
            return f"{y}-{mo}-{d}T{h}:{mi}:{sec}Z"
    if isinstance(value, (int, float)):
        if 1e11 <= abs(value) < 1e12:
            return str(value)  # 12 digits: seconds after year 5138 or milliseconds before 2001-09-09: neither
        seconds = value / 1000 if abs(value) >= 1e12 else value
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
        if isinstance(entry, dict):  # {"name": ...}, or NYT's byline {"original": "By ...", "person": [...]}
            entry = entry.get("name") or entry.get("original")
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


def read_truncated_jsonl(path: str, data: bytes, limits: Limits, field_map: FieldMap = ()) -> Iterator[dict]:
    """A cut .jsonl.gz: its complete lines are read as usual, the cut last line is a reject."""
    head, _, tail = data.rpartition(b"\n")
    if head:
        text = decode_text(head + b"\n")
        if text is None:
            yield reject(path, REASON_NOT_TEXT + " (in a truncated gzip stream)", _limits.preview(data))
            return
        yield from read_jsonl(path, text, limits, field_map=field_map)
    line = head.count(b"\n") + 2 if head else 1
    yield reject(path, f"{REASON_TRUNCATED_GZIP}; line {line} is incomplete and was not read, "
                       f"the lines before it were", tail, line)
