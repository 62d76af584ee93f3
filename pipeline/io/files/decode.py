"""Bytes -> text: gzip, with a size limit, and character sets.

* :func:`gunzip` decompresses every gzip member, at most ``--max-file-bytes`` (a gzip bomb
  stops there);
* :func:`decode_text` decodes an input file (UTF-8, UTF-16 with a BOM, else a detected
  charset), :func:`decode_html` a web page as browsers do (BOM, HTTP charset, ``<meta
  charset>``, then :func:`decode_text`).  Both return None for binary data.
"""
from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
from typing import Optional

import charset_normalizer

from pipeline import limits as _limits

__all__ = ["GZIP_MAGIC", "MAX_DECOMPRESSED_BYTES", "REASON_NOT_TEXT", "REASON_TOO_BIG", "REASON_TRUNCATED_GZIP",
           "decode_html", "decode_text", "gunzip", "looks_like_text", "too_big_reason", "utf8_looks_like_text"]

#: Largest decompressed size accepted from one gzip file (and from one WARC record's
#: payload).  Guards workers against gzip bombs and runaway dumps; a bigger input should be
#: split into several files.
MAX_DECOMPRESSED_BYTES = _limits.MAX_FILE_BYTES  # the default of --max-file-bytes

GZIP_MAGIC = b"\x1f\x8b"

REASON_NOT_TEXT = "not text: could not decode as UTF-8 or detect a charset"
REASON_TOO_BIG = f"decompressed size exceeds {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MiB limit"
REASON_TRUNCATED_GZIP = ("gzip stream truncated: the file ends before the end-of-stream marker "
                         "(an interrupted download or copy); fetch the file again")


# --------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------

def gunzip(data: bytes, limit: Optional[int] = None) -> tuple[bytes, Optional[str]]:
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
            return text if utf8_looks_like_text(data, len(text)) else None
    return text if looks_like_text(text) else None


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
            if utf8_looks_like_text(data, len(text)) if codec == "utf-8" else looks_like_text(text):
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


def looks_like_text(text: str) -> bool:
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


def utf8_looks_like_text(data: bytes, length: int) -> bool:
    """:func:`looks_like_text` of valid UTF-8 ``data`` that decodes to ``length`` characters,
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
