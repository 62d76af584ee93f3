"""Readers for input files: txt, html, json, jsonl, feed documents (RSS/Atom/RDF/CDF) and
WARC archives (any of them gzip-compressed).

Two layers, as for every stage (see ``pipeline/stages/base.py``):

* :func:`read_file` is a pure function ``(path, bytes) -> Item | Reject | Skip dicts``.  It
  never raises: everything it cannot turn into an article becomes a reject with a reason a
  person can act on and the raw input in full, and everything deliberately not processed (a
  WARC request record, a feed without entries) is a skip with a reason, so the conservation
  invariant holds from the start (every input item ends in exactly one of articles,
  duplicates, rejects, skipped).
* :class:`ReadArticleParts` is the Beam transform: it expands the globs when the pipeline is
  built (a typo fails before anything runs), spreads the files over workers, reads each
  one with :func:`read_file` and returns the items of one-item files where they were read,
  the items of many-item files spread again, rejects and skips; :class:`ReadArticles`
  returns ``(items, rejects, skipped)``.

Formats are detected from the file name and checked against the content, because real
dumps lie: gzip is recognised by its magic bytes, a WARC by ``WARC/1.x`` at the start (of
its first gzip member), a feed by its root element (``<rss>``, ``<feed>``, ``<rdf:RDF>``,
``<channel>``) even as ``.txt``, an HTML page named ``.xml`` stays HTML, a ``.txt`` that
holds a web page is read as HTML, a ``.json`` with one object per line is read as JSONL
(and vice versa).  Feeds are parsed by :mod:`pipeline.io.feeds` (one item per entry),
WARCs by :mod:`pipeline.io.warc` (one item per archived HTML page).
"""
from __future__ import annotations

import codecs
import datetime as _dt
import glob
import gzip
import html as _html
import io
import os
import re
import zlib
from typing import Any, Iterable, Iterator, Optional

import apache_beam as beam
import charset_normalizer
import orjson
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import limits as _limits
from pipeline.io import feeds, warc
from pipeline.limits import Limits
from pipeline.records import Item, is_skip, make_reject

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "NoInputError",
    "ReadArticleParts",
    "ReadArticles",
    "ReadFileFn",
    "decode_html",
    "decode_text",
    "expand_inputs",
    "is_reject",
    "is_skip",
    "read_file",
]

STAGE = "read"

#: Largest decompressed size accepted from one gzip file (and from one WARC record's
#: payload).  Guards workers against gzip bombs and runaway dumps; a bigger input should be
#: split into several files.
MAX_DECOMPRESSED_BYTES = _limits.MAX_FILE_BYTES  # the default of --max-file-bytes

_GZIP_MAGIC = b"\x1f\x8b"
_COMPRESSED_SUFFIXES = (".gz", ".gzip")

_EXTENSION_FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
}

#: Names of feed documents (also when gzipped): read as feeds when the content agrees.
FEED_EXTENSIONS = frozenset({".xml", ".rss", ".atom", ".rdf", ".cdf"})

# Field names accepted from JSON objects, in order of preference (news-please, newspaper3k,
# NewsAPI, schema.org and common scraper dumps).
URL_FIELDS = ("url", "link", "canonical_url")
TITLE_FIELDS = ("title", "headline")
TEXT_FIELDS = ("text", "content", "body", "article", "maintext")
HTML_FIELDS = ("html", "raw_html")
DATE_FIELDS = ("published", "published_at", "date", "date_publish", "pubDate", "datePublished")
AUTHOR_FIELDS = ("authors", "author", "byline")
SOURCE_FIELDS = ("source", "source_domain", "site_name", "publisher")

REASON_EMPTY = "empty input file"
REASON_NOT_TEXT = "not text: could not decode as UTF-8 or detect a charset"
REASON_TOO_BIG = f"decompressed size exceeds {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MiB limit"
REASON_TRUNCATED_GZIP = ("gzip stream truncated: the file ends before the end-of-stream marker "
                         "(an interrupted download or copy); fetch the file again")
REASON_NO_TEXT = "no article text: expected one of the fields text, content, body, html"
REASON_NOT_FEED = ("not a feed: a feed file name, but the content has no rss, feed, RDF or "
                   "channel root element and is not a web page")


class NoInputError(ValueError):
    """An input pattern matched no file.  Raised while the pipeline is built, not at run time."""

    def __init__(self, pattern: str, detail: str = ""):
        self.pattern = pattern
        message = detail or (
            f"no files match {pattern!r}; check the path, and quote the pattern so your shell "
            f"does not expand it (e.g. 'data/**/*.jsonl.gz')"
        )
        super().__init__(message)


# --------------------------------------------------------------------------------------
# Globs
# --------------------------------------------------------------------------------------

def expand_inputs(patterns: Iterable[str]) -> list[str]:
    """Expand globs (``**`` is recursive) into a sorted, de-duplicated list of file paths.

    Local paths are expanded with :func:`glob.glob` and returned as glob spells them (relative
    patterns give relative paths), so ``input_uri`` in every record is what the user typed.
    ``file://`` patterns are local paths.  Remote schemes (``gs://``, ``s3://`` ...) go through
    Beam's ``FileSystems.match`` (which needs the matching Beam extra, e.g. ``apache-beam[gcp]``,
    and says so).  Directories are skipped.  Sorting makes runs deterministic.

    Raises :class:`NoInputError` for a pattern that matches no file, so a typo fails at once
    instead of producing an empty, "successful" run.
    """
    found: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("file://"):
            pattern = pattern[len("file://"):]
        if "://" in pattern:
            paths = _match_remote(pattern)
        else:
            expanded = os.path.expanduser(pattern)
            paths = [p for p in glob.glob(expanded, recursive=True) if not os.path.isdir(p)]
            if not paths and os.path.isdir(expanded):
                hint = os.path.join(pattern.rstrip("/\\") or pattern, "**", "*")
                raise NoInputError(pattern, f"{pattern!r} is a directory, not a file; to read "
                                            f"every file in it use the pattern {hint!r} (quoted)")
        if not paths:
            raise NoInputError(pattern)
        found.update(paths)
    return sorted(found)


def _match_remote(pattern: str) -> list[str]:
    results = FileSystems.match([pattern])
    return [m.path for r in results for m in r.metadata_list if not m.path.endswith("/")]


# --------------------------------------------------------------------------------------
# read_file: bytes -> items and rejects
# --------------------------------------------------------------------------------------

def is_reject(record: dict) -> bool:
    """Rejects carry a ``stage`` key; items never do."""
    return "stage" in record


def _reject(path: str, reason: str, raw: bytes | str, offset: int = 0) -> dict:
    # raw is always bytes/str here, never a dict: make_reject's dict path reads
    # "offset"/"provenance" out of the record, which an arbitrary input object may misuse.
    return dict(make_reject(stage=STAGE, reason=reason, raw=raw, input_uri=path, offset=offset))


def read_file(path: str, data: bytes, limits: Optional[Limits] = None) -> Iterator[dict]:
    """Yield one Item dict per article found in ``data`` and one Reject dict per unusable part.

    ``path`` only names the input (``input_uri``) and hints at the format; nothing is read from
    disk.  Every failure is a reject; this generator does not raise.  ``limits`` (default
    :data:`pipeline.limits.DEFAULT`): an item whose page is over ``max_page_bytes`` or whose
    raw line is over ``max_item_bytes`` is a reject naming the limit.
    """
    limits = limits or _limits.DEFAULT
    try:
        for record in _read_file(path, data, limits):
            yield _check_page_size(record, limits)
    except Exception as exc:  # pragma: no cover - a bug; keep the record, do not kill the worker
        yield _reject(path, f"unexpected error {exc!r}; this is a newsbeam bug, please report "
                            f"it with this file", data)


def _check_page_size(record: dict, limits: Limits) -> dict:
    """An item whose html/text is over --max-page-bytes becomes a reject (checked here, before
    the page crosses a worker boundary, so a giant page costs one read and no copies)."""
    if is_reject(record) or is_skip(record):
        return record
    for field in ("html", "text"):
        value = record.get(field)
        if isinstance(value, str) and _limits.utf8_size(value, limits.max_page_bytes) > limits.max_page_bytes:
            size = len(value.encode("utf-8", "surrogatepass"))
            reason = _limits.over("page", size, "max_page_bytes", limits.max_page_bytes) + _limits.PREVIEW_NOTE
            return _reject(record.get("input_uri") or "", reason, _limits.preview(value),
                           record.get("offset") or 0)
    return record


def _read_file(path: str, data: bytes, limits: Limits = _limits.DEFAULT) -> Iterator[dict]:
    name = path
    lowered = path.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if lowered.endswith(suffix):
            name = path[: -len(suffix)]
            break
    # WARC before gunzip: a .warc.gz is one gzip member per record, which warcio reads itself.
    if warc.is_warc_name(path) or warc.looks_like_warc(data):
        yield from warc.read_warc(path, data)
        return
    truncated = False
    if data[:2] == _GZIP_MAGIC:
        payload, error = _gunzip(data, limits.max_file_bytes)
        if error == REASON_TRUNCATED_GZIP and _EXTENSION_FORMATS.get(os.path.splitext(name)[1].lower()) == "jsonl":
            truncated = True  # JSON lines: keep every complete line, reject the cut one
        elif error is not None:
            yield _reject(path, error, _limits.preview(data) if "--max-file-bytes" in error else data)
            return
        data = payload
    if truncated:
        yield from _read_truncated_jsonl(path, data, limits)
        return
    if not data.strip():
        yield _reject(path, REASON_EMPTY, data)
        return

    ext = os.path.splitext(name)[1].lower()
    feed_named = ext in FEED_EXTENSIONS
    # Feeds go to feedparser as bytes (it honours the XML declaration and BOM), but only when
    # the content is a feed: feedparser reads almost anything and would find no entries.
    if feeds.looks_like_feed(data) if feed_named else feeds.feed_root(data) in feeds.FEED_ROOTS:
        yield from feeds.parse_feed(data, feed_url=path, max_entries=limits.max_feed_entries)
        return

    text = decode_text(data)
    if text is None and _EXTENSION_FORMATS.get(ext) == "jsonl" and not feed_named:
        # one binary or mis-encoded line must not cost the file's good lines
        yield from _read_jsonl_bytes(path, data, limits)
        return
    if text is None:
        yield _reject(path, REASON_NOT_TEXT, data)
        return
    if not text.strip():
        yield _reject(path, REASON_EMPTY, data)
        return

    fmt = detect_format(name, text) if not feed_named else _feed_named_format(data, text)
    if fmt is None:
        yield _reject(path, REASON_NOT_FEED, data)
    elif fmt == "html":
        yield _item(path, 0, "html", html=text, url=_html_canonical_url(text))
    elif fmt == "json":
        yield from _read_json(path, text)
    elif fmt == "jsonl":
        yield from _read_jsonl(path, text, limits)
    else:
        title, body = split_headline(text)
        yield _item(path, 0, "txt", title=title, text=body)


_HTML_ROOTS = frozenset({"html", "head", "body"})
_DOCTYPE_HTML = re.compile(r"\s*<!doctype\s+html\b", re.IGNORECASE)


def _feed_named_format(data: bytes, text: str) -> Optional[str]:
    """The format of a file named like a feed whose content is not a feed: ``html`` for a web
    page (an html/head/body root, or an HTML doctype: not just any markup, since XML that is
    not a feed has ``<title>`` and ``<p>`` elements too), ``json``/``jsonl`` when it parses
    as such, else None (a reject: other XML, plain text)."""
    if feeds.feed_root(data) in _HTML_ROOTS or _DOCTYPE_HTML.match(text):
        return "html"
    fmt = detect_format("", text)
    return fmt if fmt in ("json", "jsonl") else None


def _gunzip(data: bytes, limit: Optional[int] = None) -> tuple[bytes, Optional[str]]:
    """Decompress every gzip member, at most ``limit`` bytes (--max-file-bytes: a gzip bomb
    stops there).  Returns (bytes, error); a truncated stream returns what it holds and
    REASON_TRUNCATED_GZIP."""
    limit = MAX_DECOMPRESSED_BYTES if limit is None else limit
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(limit + 1)
    except EOFError:
        decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            partial = decomp.decompress(data, limit + 1)
        except zlib.error as exc:
            return b"", f"corrupt gzip stream: {exc}"
        return partial[:limit], REASON_TRUNCATED_GZIP
    except (OSError, zlib.error) as exc:
        return b"", f"corrupt gzip stream: {exc}"
    if len(out) > limit:
        return b"", too_big_reason(limit)
    return out, None


def too_big_reason(limit: int) -> str:
    return (f"decompressed size is over --max-file-bytes {limit:,} (a gzip bomb, or a dump to split "
            f"into smaller files); raise the limit to process it{_limits.PREVIEW_NOTE}")


def _read_truncated_jsonl(path: str, data: bytes, limits: Limits) -> Iterator[dict]:
    """A cut .jsonl.gz: its complete lines are read as usual, the cut last line is a reject."""
    head, _, tail = data.rpartition(b"\n")
    if head:
        text = decode_text(head + b"\n")
        if text is None:
            yield _reject(path, REASON_NOT_TEXT + " (in a truncated gzip stream)", _limits.preview(data))
            return
        yield from _read_jsonl(path, text, limits)
    line = head.count(b"\n") + 2 if head else 1
    yield _reject(path, f"{REASON_TRUNCATED_GZIP}; line {line} is incomplete and was not read, "
                        f"the lines before it were", tail, line)


def _item(path: str, offset: int, fmt: str, *, url=None, title=None, text=None, html=None,
          published_at=None, authors=None, source=None) -> dict:
    """Every item has all ten keys (None / [] when unknown), so downstream code never guesses."""
    return dict(Item(input_uri=path, offset=offset, format=fmt, url=url, title=title, text=text,
                     html=html, published_at=published_at, authors=list(authors or []),
                     source=source))


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------

#: C0/C1 control characters other than tab, newlines, vertical tab and form feed.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: Share of control characters above which decoded "text" is taken for binary data.
_MAX_CONTROL_SHARE = 0.01
#: charset_normalizer ranks near-ties poorly on short western texts (it picks mac_latin2 for
#: plain French Latin-1).  Windows-1252 is the web's most common legacy encoding (WHATWG maps
#: "latin-1" to it), so it wins whenever it is at most this much more "chaotic" than the best.
_CP1252_TOLERANCE = 0.02


def decode_text(data: bytes) -> Optional[str]:
    """Decode bytes as UTF-8 (BOM stripped), else UTF-16 with BOM, else charset_normalizer's
    guess (it honours a page's ``<meta charset>``; Windows-1252 wins a near-tie).  None for
    binary data: NUL bytes, no plausible charset, or more than 1% control characters."""
    text: Optional[str] = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if b"\x00" in data:
                return None
            text = _guess_charset(data)
            if text is None:
                return None
        else:
            return text if _utf8_looks_like_text(data, len(text)) else None
    return text if _looks_like_text(text) else None


#: Labels that browsers decode as Windows-1252 (WHATWG Encoding Standard).
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii",
                        "ascii", "iso_8859-1", "windows-1252", "cp1252", "x-cp1252"})
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""",
                           re.IGNORECASE)


def _codec(label: Optional[str], from_meta: bool = False) -> Optional[str]:
    """A Python codec name for a declared charset label, or None when unknown.  Latin-1 and
    ASCII labels mean Windows-1252, as in browsers; a ``<meta>`` cannot declare UTF-16/32
    (it was readable as ASCII), so such a meta label is ignored."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return None
    return name


def _meta_charset(data: bytes) -> Optional[str]:
    match = _META_CHARSET.search(data, 0, 4096)
    return match.group(1).decode("ascii") if match else None


def decode_html(data: bytes, charset: Optional[str] = None) -> Optional[str]:
    """Decode a web page as browsers do: a byte-order mark, else the charset declared by HTTP
    (``charset``), else the ``<meta charset>`` in the first 4 KiB, else :func:`decode_text`
    (UTF-8, then charset detection).  A declared charset the bytes do not decode with is
    passed over.  None for binary data."""
    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        for codec in (_codec(charset), _codec(_meta_charset(data), from_meta=True)):
            if codec is None:
                continue
            try:
                text = data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
            if _utf8_looks_like_text(data, len(text)) if codec == "utf-8" else _looks_like_text(text):
                return text
    return decode_text(data)


def _guess_charset(data: bytes) -> Optional[str]:
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + _CP1252_TOLERANCE:
            return str(match)
    return str(best)


def _looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    limit = _MAX_CONTROL_SHARE * len(text)
    controls = 0
    for _ in _CONTROL_CHARS.finditer(text):
        controls += 1
        if controls > limit:
            return False
    return True


_ASCII_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
_UTF8_C1_CONTROL = re.compile(rb"\xc2[\x80-\x9f]")


def _utf8_looks_like_text(data: bytes, length: int) -> bool:
    """:func:`_looks_like_text` of valid UTF-8 ``data`` that decodes to ``length`` characters,
    counted on the bytes: a C0 control or DEL is its own byte in UTF-8, a C1 control is
    ``\xc2`` + ``\x80-\x9f``. Same answer, a quarter of the time (a regex over the decoded
    string cost ~0.7 ms per 180 KB page)."""
    if b"\x00" in data:
        return False
    limit = _MAX_CONTROL_SHARE * length
    controls = len(data) - len(data.translate(None, _ASCII_CONTROL_BYTES))
    if controls > limit:
        return False
    if b"\xc2" in data:
        controls += len(_UTF8_C1_CONTROL.findall(data))
    return controls <= limit


# --------------------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------------------

_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|head|body|p|div|article|section|main|span|br|h[1-6]|a|ul|ol|li|"
    r"table|img|meta|title|figure|blockquote|em|strong|b|i)\b", re.IGNORECASE)


def looks_like_html(value: str) -> bool:
    """Markup, not prose: starts with ``<`` and has at least one common HTML tag early on."""
    head = value.lstrip()[:4096]
    return head.startswith("<") and _HTML_TAG.search(head) is not None


def detect_format(name: str, text: str) -> str:
    """``txt | html | json | jsonl`` from the file name (without ``.gz``), checked on the content.

    * ``.html``/``.htm``: html.
    * ``.json`` whose whole text is not JSON but whose first line is an object: jsonl;
      ``.jsonl`` whose first line is not JSON but whose whole text is: json (pretty-printed).
    * ``.txt``, unknown or no extension: html if it starts with markup, json/jsonl if it
      parses as such, else txt.
    """
    ext = os.path.splitext(name)[1].lower()
    declared = _EXTENSION_FORMATS.get(ext)
    if declared == "html":
        return "html"
    if declared == "json":
        if not _parses(text) and _first_line_is_object(text):
            return "jsonl"
        return "json"
    if declared == "jsonl":
        if not _first_line_parses(text) and _parses(text):
            return "json"
        return "jsonl"
    if looks_like_html(text):
        return "html"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        parsed = _parse(text)
        if isinstance(parsed, dict) or (isinstance(parsed, list) and parsed
                                        and all(isinstance(x, dict) for x in parsed)):
            return "json"
        if _first_line_is_object(text):
            return "jsonl"
    return "txt"


_INVALID = object()


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


def _parses(text: str) -> bool:
    return _parse(text) is not _INVALID


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line
    return ""


def _first_line_parses(text: str) -> bool:
    return _parses(_first_line(text))


def _first_line_is_object(text: str) -> bool:
    return isinstance(_parse(_first_line(text)), dict)


# --------------------------------------------------------------------------------------
# JSON and JSONL
# --------------------------------------------------------------------------------------

def _read_json(path: str, text: str) -> Iterator[dict]:
    """One object is one article (offset 0); an array holds one article per element
    (offset = 1-based index)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield _reject(path, f"invalid JSON: {exc}", text)
        return
    if isinstance(doc, dict):
        yield _object_to_record(path, 0, "json", doc, text)
    elif isinstance(doc, list):
        if not doc:
            yield _reject(path, "empty JSON array: no articles", text)
        for index, element in enumerate(doc, start=1):
            raw = orjson.dumps(element).decode("utf-8")
            if isinstance(element, dict):
                yield _object_to_record(path, index, "json", element, raw)
            else:
                yield _reject(path, f"array element {index} is not a JSON object", raw, index)
    else:
        yield _reject(path, "JSON document is not an object or an array of objects", text)


def _read_jsonl_bytes(path: str, data: bytes, limits: Limits) -> Iterator[dict]:
    """JSON lines whose file does not decode as a whole: each line is decoded on its own and a
    line that is not text is a reject (offset = its 1-based line number)."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
            if not _looks_like_text(line):
                line = None
        except UnicodeDecodeError:
            line = decode_text(raw)
        if line is None:
            yield _reject(path, f"line {number} is not text (binary or undecodable bytes)",
                          _limits.preview(raw), number)
            continue
        yield from _read_jsonl(path, line, limits, first_line=number)


def _read_jsonl(path: str, text: str, limits: Limits = _limits.DEFAULT, first_line: int = 1) -> Iterator[dict]:
    """One object per line, offset = 1-based line number.  Blank lines are skipped; a bad line
    is rejected on its own and reading goes on.  Splits on ``\\n`` only, because JSON strings
    may hold raw U+2028 characters that ``str.splitlines`` would cut."""
    for number, line in enumerate(text.split("\n"), start=first_line):
        line = line.removesuffix("\r")  # CRLF files: the CR is part of the line end
        if not line.strip():
            continue
        if _limits.utf8_size(line, limits.max_item_bytes) > limits.max_item_bytes:
            size = len(line.encode("utf-8", "surrogatepass"))
            yield _reject(path, _limits.over(f"line {number}", size, "max_item_bytes", limits.max_item_bytes)
                          + _limits.PREVIEW_NOTE, _limits.preview(line), number)
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _reject(path, f"invalid JSON on line {number}: {exc}", line, number)
            continue
        if not isinstance(obj, dict):
            yield _reject(path, f"invalid JSON on line {number}: expected an object, "
                                f"got {type(obj).__name__}", line, number)
            continue
        yield _object_to_record(path, number, "jsonl", obj, line)


def _object_to_record(path: str, offset: int, fmt: str, obj: dict, raw: str) -> dict:
    try:
        fields = map_fields(obj)
    except Exception as exc:  # pragma: no cover - a bug; keep the record
        return _reject(path, f"unexpected error {exc!r} while mapping fields; this is a newsbeam "
                             f"bug, please report it with this record", raw, offset)
    if fields["text"] is None and fields["html"] is None:
        return _reject(path, REASON_NO_TEXT, raw, offset)
    return _item(path, offset, fmt, **fields)


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


# --------------------------------------------------------------------------------------
# HTML: the canonical URL only (extraction is the clean stage's job)
# --------------------------------------------------------------------------------------

_TAG = re.compile(r"<(link|meta)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _html_canonical_url(page: str) -> Optional[str]:
    """``<link rel="canonical">`` or ``<meta property="og:url">`` from the first 64 KiB, when
    it is an absolute http(s) URL: cheap, and it gives the article a stable id."""
    for match in _TAG.finditer(page, 0, 65536):
        attrs = {m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or "")
                 for m in _ATTR.finditer(match.group(2))}
        if match.group(1).lower() == "link" and "canonical" in attrs.get("rel", "").lower().split():
            candidate = attrs.get("href", "")
        elif match.group(1).lower() == "meta" and attrs.get("property", attrs.get("name", "")).lower() == "og:url":
            candidate = attrs.get("content", "")
        else:
            continue
        candidate = _html.unescape(candidate).strip()
        if candidate.lower().startswith(("http://", "https://")):
            return candidate
    return None


# --------------------------------------------------------------------------------------
# Plain text: headline detection
# --------------------------------------------------------------------------------------

#: How many leading non-empty lines may be labels (section names, dates, bylines) before the
#: headline.  Web text dumps put "News", "Trending", a date... above the headline.
HEADLINE_SCAN_LINES = 5
_HEADLINE_MAX_CHARS = 200
_HEADLINE_MAX_WORDS = 25
_HEADLINE_MIN_WORDS = 3
_SENTENCE_END = (".", ":", ";", ",", "…")
_CLOSING_QUOTES = "\"'”’»)]"
_DATE_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs "
    "fri sat sun january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec am pm utc gmt est edt pst pdt cet "
    "cest bst updated published posted on at of the th st nd rd".split())


def _line_kind(line: str) -> str:
    """``label`` (skip it), ``headline`` or ``body`` (stop looking) for a stripped line."""
    words = line.split()
    if len(line) > _HEADLINE_MAX_CHARS or len(words) > _HEADLINE_MAX_WORDS:
        return "body"
    if len(words) < _HEADLINE_MIN_WORDS:
        return "label"  # "News", "Trending", "World | Asia"
    if line.lower().startswith("by "):
        return "label"  # byline
    if any(ch.isdigit() for ch in line) and all(
            w.lower() in _DATE_WORDS for w in re.findall(r"[A-Za-z]+", line)):
        return "label"  # "Friday, 22 November 2024", "Updated 10:42 AM EDT"
    letters = [ch for ch in line if ch.isalpha()]
    if letters and all(ch.isupper() for ch in letters):
        return "label"  # "ADVERTISEMENT", "SKIP TO MAIN CONTENT"
    if line.rstrip(_CLOSING_QUOTES).endswith(_SENTENCE_END):
        return "body"
    return "headline"


def split_headline(content: str) -> tuple[Optional[str], str]:
    """Split a plain-text article into ``(title, text)``.

    The title is the first line that looks like a headline among the first
    ``HEADLINE_SCAN_LINES`` non-empty lines, skipping labels above it (fewer than 3 words,
    dates, bylines, ALL CAPS).  A headline has at most 200 characters and 25 words and does
    not end like a sentence (``. : ; , …``); ``?`` and ``!`` are allowed because headlines
    ask and exclaim.  The first line that reads like body text stops the search: then there
    is no title and the text is the whole content.

    When a title is found, ``text`` is the content without that one line (labels above it are
    kept, the clean stage removes boilerplate), stripped of surrounding blank lines.
    """
    lines = content.splitlines(keepends=True)
    seen = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if seen > HEADLINE_SCAN_LINES:
            break
        kind = _line_kind(stripped)
        if kind == "body":
            break
        if kind == "headline":
            rest = "".join(lines[:index]) + "".join(lines[index + 1:])
            return stripped, rest.strip("\r\n")
    return None, content


# --------------------------------------------------------------------------------------
# Beam
# --------------------------------------------------------------------------------------

class ReadFileFn(beam.DoFn):
    """Read one file and emit its items (main output), rejects (tag ``rejects``) and skips
    (tag ``skipped``).

    The file is opened UNCOMPRESSED: :func:`read_file` recognises gzip by content, which
    Beam's name-based AUTO detection would get wrong for a mislabelled file (and a WARC.gz
    must reach warcio still compressed).  Every record emitted counts once in
    ``read/inputs``, so conservation can be checked from metrics:
    ``inputs = items + rejected + skipped``.

    With ``tag_only_items``, the item of a file that holds only one (an HTML page) goes to the
    tag ``only_item`` and only the items of a file that holds several (JSON lines, a feed, a
    WARC) to the main output: only those need spreading over workers (see
    :class:`ReadArticleParts`). Without it (the default) every item is a main output.
    """

    ONLY_ITEM = "only_item"

    def __init__(self, limits: Optional[Limits] = None, tag_only_items: bool = False):
        super().__init__()
        self.limits = limits or _limits.DEFAULT
        self.tag_only_items = tag_only_items
        self.inputs = Metrics.counter(STAGE, "inputs")
        self.files = Metrics.counter(STAGE, "files")
        self.rejected = Metrics.counter(STAGE, "rejected")
        self.skipped = Metrics.counter(STAGE, "skipped")

    def process(self, path: str):
        self.files.inc()
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                data = f.read(self.limits.max_file_bytes + 1)  # never more than the limit in memory
        except Exception as exc:  # IOError, permission, BeamIOError, object gone since the glob
            records: Iterable[dict] = [_reject(path, f"cannot read file: {exc}", b"")]
        else:
            if len(data) > self.limits.max_file_bytes:
                reason = _limits.over("file", _file_size(path, len(data)), "max_file_bytes",
                                      self.limits.max_file_bytes) + _limits.PREVIEW_NOTE
                records = [_reject(path, reason, _limits.preview(data))]
            else:
                records = read_file(path, data, self.limits)
        first = None  # a file's first item waits until we know whether a second one follows
        many = False
        for record in records:
            self.inputs.inc()
            if is_reject(record):
                self.rejected.inc()
                yield beam.pvalue.TaggedOutput("rejects", record)
            elif is_skip(record):
                self.skipped.inc()
                yield beam.pvalue.TaggedOutput("skipped", record)
            elif many or not self.tag_only_items:
                yield record
            elif first is None:
                first = record
            else:
                many = True
                yield first
                yield record
        if first is not None and not many:
            yield beam.pvalue.TaggedOutput(self.ONLY_ITEM, first)


def _file_size(path: str, at_least: int) -> int:
    try:
        return max(at_least, os.path.getsize(path)) if "://" not in path else at_least
    except OSError:
        return at_least


class ReadArticleParts(beam.PTransform):
    """Read input files matching ``patterns``; ``expand`` returns ``(only_items, spread_items,
    rejects, skipped)``: the items of one-item files (HTML pages), where they were read, and
    the items of many-item files, spread over workers. Clean each part where it is (see
    :func:`pipeline.graph.build`): a runner copies every element that crosses a shuffle or a
    Flatten of two steps, and a raw page costs ~1.2 ms per 180 KB there (FnApiRunner).

    ``skipped`` holds :class:`pipeline.records.Skip` dicts (``skipped`` = the reason,
    ``input_uri``, ``offset``): WARC records that are not HTML pages, feeds without entries.

    The globs are expanded here, while the pipeline is built, so a pattern that matches
    nothing raises :class:`NoInputError` before any worker starts.  A Reshuffle after the
    file list spreads files over workers (one element per file, so its ~30 us per element
    is negligible).
    """

    def __init__(self, patterns: list[str], label: Optional[str] = None, limits: Optional[Limits] = None):
        super().__init__(label)
        if isinstance(patterns, str):
            patterns = [patterns]
        self.patterns = list(patterns)
        self.paths = expand_inputs(self.patterns)
        self.limits = limits

    def expand(self, pbegin):
        # Limits come from the pipeline's options (--max-file-bytes ...) unless given here.
        limits = self.limits or Limits.from_options(pbegin.pipeline.options)
        outputs = (
            pbegin
            | "ListFiles" >> beam.Create(self.paths)
            | "Distribute" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(ReadFileFn(limits, tag_only_items=True)).with_outputs(
                ReadFileFn.ONLY_ITEM, "rejects", "skipped", main="items")
        )
        # One JSONL, feed or WARC file holds many items: spread them too, or every item of a big
        # file is cleaned on the worker that read it (a fusion break, as Beam advises after a
        # high fan-out read; the local multi-process runner splits a stage's input by key only).
        spread = outputs.items | "DistributeItems" >> beam.Reshuffle()
        return outputs[ReadFileFn.ONLY_ITEM], spread, outputs.rejects, outputs.skipped


class ReadArticles(beam.PTransform):
    """:class:`ReadArticleParts` with the items in one PCollection: ``expand`` returns
    ``(items, rejects, skipped)`` (the graph cleans the parts separately instead)."""

    def __init__(self, patterns: list[str], label: Optional[str] = None, limits: Optional[Limits] = None):
        super().__init__(label)
        self.parts = ReadArticleParts(patterns, limits=limits)
        self.paths = self.parts.paths

    def expand(self, pbegin):
        only, spread, rejects, skipped = pbegin | "Parts" >> self.parts
        return (only, spread) | "Items" >> beam.Flatten(), rejects, skipped
