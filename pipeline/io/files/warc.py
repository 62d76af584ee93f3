"""WARC archives (``.warc``, ``.warc.gz``) -> one Item per archived HTML page.

Web archives hold many kinds of records; only a ``response`` record of an http(s) URL with a
2xx status and an HTML payload (``text/html`` or ``application/xhtml+xml``; sniffed when the
Content-Type is missing) is an article.  Every other record is a Skip with a reason per kind
(``warc request record``, ``warc response status 404``, ``warc response not HTML
(image/png)`` ...), so the manifest can count them and ``inputs = items + rejects + skips``.

warcio parses the archive.  A ``.warc.gz`` is a multi-member gzip (one member per record):
it gets the raw bytes and decompresses member by member, so offsets are the records' byte
offsets in the file, as ``warcio index`` / CDX files give them.  A WARC gzipped as a single
stream (``gzip file.warc``), which warcio refuses, is decompressed first (offsets are then in
the decompressed stream).

Broken archives do not stop reading: a truncated record, a record whose payload exceeds
:data:`pipeline.io.files.decode.MAX_DECOMPRESSED_BYTES`, an undecodable page is a Reject with the
record's bytes (as stored in the file: gzip-compressed for a ``.warc.gz``).  Where warcio
cannot parse a record at all, the damaged bytes up to the next record start (the next gzip
member that opens with ``WARC/1.x``; a ``WARC/1.x`` line in an uncompressed file) are one
Reject and reading resumes there; with no next record, the rest of the file is the Reject.
Records before the damage are always kept, and every record ends in exactly one output.
"""
from __future__ import annotations

import datetime as _dt
import io
import re
import zlib
from typing import Iterator, Optional

from pipeline.io.files import decode, detect, items

__all__ = ["HTML_TYPES", "WARC_SUFFIXES", "is_warc_name", "looks_like_warc", "read_warc",
           "warc_date_iso"]

WARC_SUFFIXES = (".warc", ".warc.gz", ".warc.gzip")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

_GZIP_MAGIC = b"\x1f\x8b"
_WARC_MAGIC = (b"WARC/1.", b"WARC/0.")
_CHUNK = 1 << 20
_DRAIN = 1 << 16
#: Bytes of payload read to sniff a response without Content-Type.
_SNIFF_BYTES = 4096
_UNSAFE = re.compile(r"[^\w.+/;=:-]")


def is_warc_name(path: str) -> bool:
    return path.lower().endswith(WARC_SUFFIXES)


def looks_like_warc(data: bytes) -> bool:
    """``WARC/1.x`` at the start of the file, or of its first gzip member."""
    if data[:2] == _GZIP_MAGIC:
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:65536], 16)
        except zlib.error:
            return False
    return data.startswith(_WARC_MAGIC)


def warc_date_iso(value: Optional[str]) -> Optional[str]:
    """WARC-Date (``2024-01-02T03:04:05Z``, WARC/1.1 may add fractions) -> ``YYYY-MM-DDTHH:MM:SSZ``
    in UTC; None when missing or unparseable (a date without zone is taken as UTC)."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _limit_text(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit} bytes"


def _clean(value: str, width: int = 60) -> str:
    """A header value made safe and short for a skip reason (counted by reason)."""
    return _UNSAFE.sub("?", value.strip())[:width] or "?"


# --------------------------------------------------------------------------------------
# gzip: per-record members (warcio) or one stream (decompress first)
# --------------------------------------------------------------------------------------

def _first_member(data: bytes, limit: int) -> tuple[str, bytes]:
    """Decompress the first gzip member.  Returns (kind, decompressed):

    * ``"multi"``: more members follow (the per-record WARC.gz layout) - warcio reads it;
    * ``"single"``: the whole file is one member (decompressed bytes returned);
    * ``"truncated"``: the data ends inside the first member (what could be decompressed);
    * ``"other"``: corrupt, or bigger than ``limit`` - warcio reads it and reports.
    """
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    view = memoryview(data)
    parts: list[bytes] = []
    size = 0
    pos = 0
    try:
        while pos < len(data) and not decomp.eof:
            chunk = view[pos:pos + _CHUNK]
            pos += len(chunk)
            out = decomp.decompress(chunk)
            size += len(out)
            if size > limit:
                return "other", b""
            parts.append(out)
        if not decomp.eof:
            parts.append(decomp.flush())
            return "truncated", b"".join(parts)
    except zlib.error:
        return "other", b""
    end = pos - len(decomp.unused_data)
    if data[end:].strip(b"\x00\r\n\t "):
        return "multi", b""
    return "single", b"".join(parts)


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------

class _Outcome:
    """What one record becomes; its offset and bytes are known only after it is consumed."""

    __slots__ = ("kind", "reason", "html", "url", "fetched_at", "warnings")

    def __init__(self, kind: str, reason: str = "", html: Optional[str] = None,
                 url: Optional[str] = None, fetched_at: Optional[str] = None,
                 warnings: Optional[list] = None):
        self.kind = kind  # item | skip | reject
        self.reason = reason
        self.html = html
        self.url = url
        self.fetched_at = fetched_at
        self.warnings = warnings or []


def _skip(reason: str) -> _Outcome:
    return _Outcome("skip", reason)


def _bad(reason: str) -> _Outcome:
    return _Outcome("reject", reason)


def _media_type(content_type: Optional[str]) -> tuple[str, Optional[str]]:
    """(media type lower-cased, charset parameter or None) of a Content-Type value."""
    if not content_type:
        return "", None
    parts = content_type.split(";")
    charset = None
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return parts[0].strip().lower(), charset


def _classify(record, limit: int) -> _Outcome:
    """Read what is needed of ``record`` and decide what it becomes."""
    from warcio.statusandheaders import StatusAndHeadersParser

    rec_type = (record.rec_type or "").strip().lower()
    if rec_type != "response":
        return _skip(f"warc {_clean(rec_type, 30) if rec_type else 'untyped'} record")
    headers = record.rec_headers
    uri = (headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    if not uri.lower().startswith(("http://", "https://")):
        scheme = uri.split(":", 1)[0] if ":" in uri else "no URI"
        return _skip(f"warc response not HTTP ({_clean(scheme, 20)})")
    if not record.length:
        return _skip("warc response empty")
    try:
        http = StatusAndHeadersParser([], verify=False).parse(record.raw_stream)
    except EOFError:
        return _bad("warc response without HTTP headers (record ends early)")
    code = http.get_statuscode() or ""
    if not (len(code) == 3 and code.isdigit()):
        return _bad(f"warc response with an invalid HTTP status line {http.protocol!r} {code!r}"[:200])
    if not code.startswith("2"):
        return _skip(f"warc response status {code}")
    media, charset = _media_type(http.get_header("Content-Type"))
    if media and media not in HTML_TYPES:
        return _skip(f"warc response not HTML ({_clean(media)})")

    record.http_headers = http  # content_stream() then undoes chunking and Content-Encoding
    payload = record.content_stream().read(limit + 1)
    if len(payload) > limit:
        return _bad(f"warc record payload exceeds {_limit_text(limit)} limit")
    if not payload.strip():
        return _skip("warc response empty")
    if not media:
        head = decode.decode_text(payload[:_SNIFF_BYTES]) or ""
        if not detect.looks_like_html(head):
            return _skip("warc response not HTML (no Content-Type)")
    text = decode.decode_html(payload, charset)
    if text is None:
        return _bad("warc response HTML is not text: could not decode it with the HTTP or "
                    "meta charset, as UTF-8, or with a detected charset")
    raw_date = headers.get_header("WARC-Date")
    fetched_at = warc_date_iso(raw_date)
    warnings = [] if fetched_at or not raw_date else [f"unparseable WARC-Date {raw_date[:60]!r}"]
    return _Outcome("item", html=text, url=uri, fetched_at=fetched_at, warnings=warnings)


def _drain(record) -> int:
    """Read the rest of the record; return how many bytes its Content-Length promised
    but the data did not hold (0 for a complete record)."""
    stream = record.raw_stream
    while stream.read(_DRAIN):
        pass
    return max(0, getattr(stream, "limit", 0) or 0)


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _describe(exc: BaseException) -> str:
    """An exception as one short printable line (warcio quotes the bytes it choked on)."""
    text = _UNPRINTABLE.sub("?", " ".join(str(exc).split()))[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------------------
# read_warc
# --------------------------------------------------------------------------------------

def read_warc(path: str, data: bytes) -> Iterator[dict]:
    """Yield an Item, Skip or Reject dict per WARC record in ``data`` (see module docstring).

    ``offset`` of every output is the record's offset as warcio reports it.  Never raises,
    and yields at least one record (an empty or record-less file is one reject)."""
    limit = decode.MAX_DECOMPRESSED_BYTES
    stream_data = data
    kind = "plain"
    if data[:2] == _GZIP_MAGIC:
        kind, whole = _first_member(data, limit)
        if kind in ("single", "truncated"):
            stream_data = whole
    if not stream_data.strip():
        empty = not data.strip() or kind == "single"
        yield items.reject(path, items.REASON_EMPTY if empty
                           else "corrupt gzip stream: no WARC data in it", data)
        return
    if not looks_like_warc(stream_data):
        yield items.reject(path, "not a WARC file: it does not start with a WARC/1.0 or WARC/1.1 "
                                 "record (ARC files are not supported)", data)
        return
    gz = stream_data[:2] == _GZIP_MAGIC
    begin: Optional[int] = 0
    while begin is not None and begin < len(stream_data):
        begin = yield from _segment(path, stream_data, limit, begin, gz)


_PLAIN_RECORD_START = re.compile(rb"\nWARC/(?:1\.[01]|0\.1[78])\r?\n")
_GZIP_MEMBER_START = b"\x1f\x8b\x08"


def _find_next_record(data: bytes, pos: int, gz: bool) -> Optional[int]:
    """Where the next WARC record starts after ``pos``: a gzip member that opens with
    ``WARC/1.x``, or a ``WARC/1.x`` line in an uncompressed file."""
    if not gz:
        match = _PLAIN_RECORD_START.search(data, pos)
        return match.start() + 1 if match else None
    while True:
        pos = data.find(_GZIP_MEMBER_START, pos)
        if pos < 0:
            return None
        if looks_like_warc(data[pos:pos + 65536]):
            return pos
        pos += 1


def _resync(path: str, data: bytes, bad: int, reason: str, gz: bool):
    """Reject the damaged bytes from ``bad`` up to the next record; return where to go on."""
    resume = _find_next_record(data, bad + 1, gz)
    if resume is None:
        yield items.reject(path, f"{reason}; the rest of the file is not read", data[bad:], bad)
    else:
        yield items.reject(path, f"{reason}; {resume - bad} bytes skipped to the next record",
                           data[bad:resume], bad)
    return resume


def _segment(path: str, data: bytes, limit: int, begin: int, gz: bool):
    """Read records from ``begin`` until the end or until warcio cannot go on; returns the
    offset to resume reading at after damage, or None when done."""
    from warcio.archiveiterator import ArchiveIterator

    from pipeline.records import make_skip

    handle = io.BytesIO(data)
    handle.seek(begin)  # warcio starts counting offsets at the handle's position
    iterator = ArchiveIterator(handle, no_record_parse=True)
    end = begin  # end of the last record read completely
    next_start = begin
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            break
        except Exception as exc:  # ArchiveLoadFailed, zlib.error, a header warcio cannot parse
            return (yield from _resync(path, data, next_start, f"corrupt WARC data: {_describe(exc)}", gz))
        start = iterator.offset
        if record.format != "warc":  # warcio falls back to ARC for what is not a WARC header
            return (yield from _resync(path, data, start, "corrupt WARC data: no WARC record header", gz))
        if record.length is None:  # no Content-Length: the record's end is unknown
            return (yield from _resync(path, data, start, "corrupt WARC record: no valid Content-Length "
                                                          "(truncated header?)", gz))
        try:
            outcome = _classify(record, limit)
        except Exception as exc:  # a payload warcio cannot decode: reject this record only
            outcome = _bad(f"unreadable WARC record: {_describe(exc)}")
        try:
            missing = _drain(record)
            offset = iterator.get_record_offset()
            length = iterator.get_record_length()
        except Exception as exc:
            return (yield from _resync(path, data, start, f"corrupt WARC record: {_describe(exc)}", gz))
        raw = data[offset:offset + length]
        end = offset + length
        next_start = iterator.offset
        if missing:
            promised = record.length
            yield items.reject(path, f"truncated WARC record: Content-Length {promised} but only "
                                     f"{promised - missing} bytes present", raw, offset)
        elif outcome.kind == "item":
            item = items.make_item(path, offset, "html", html=outcome.html, url=outcome.url)
            item["fetched_at"] = outcome.fetched_at
            item["warnings"] = outcome.warnings
            yield item
        elif outcome.kind == "skip":
            yield dict(make_skip(outcome.reason, path, offset))
        else:
            yield items.reject(path, outcome.reason, raw, offset)
    if data[end:].strip(b"\x00\r\n\t "):
        # warcio stops quietly at a gzip member cut short, or at bytes that are not a record
        return (yield from _resync(path, data, end, "truncated or corrupt WARC data after the last "
                                                    "complete record", gz))
    return None
