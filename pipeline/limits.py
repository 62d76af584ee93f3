"""Resource limits for hostile input, with defaults, flags and the reasons a person reads.

Real inputs are hostile: gzip bombs, giant pages, feeds with a million entries, HTML that
takes the extractor minutes.  Every limit is a named default and a ``newsbeam run`` flag; an
item over a limit becomes a reject whose reason names the limit and the flag to raise, so a
run keeps going, accounts for every item and keeps its memory bounded.

A rejected-for-size item keeps only the first :data:`RAW_PREVIEW_BYTES` of its raw input (the
rejects dataset would otherwise hold the 60 MB page the limit was there to keep out); the
reason says so.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Decompressed bytes read from one input file (a gzip bomb stops here, not at the end of RAM).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Bytes of one item: a JSONL line, a WARC record's payload, a whole html/txt file.
MAX_ITEM_BYTES = 32 * 1024 * 1024
#: Bytes of HTML or text handed to the extractor (trafilatura/lxml hold several copies of it).
MAX_PAGE_BYTES = 10 * 1024 * 1024
#: Seconds the clean stage may spend extracting one item.
EXTRACT_TIMEOUT = 30.0
#: Entries read from one feed document; the rest of the feed is one reject.
MAX_FEED_ENTRIES = 10_000
#: Characters of one article's text that NER reads (cut at a paragraph break); the rest of the text
#: is kept but not annotated, and ``provenance.entities`` says so. ~33,000 words, ~3 s of NER on
#: one core: long-form features run 10-20k words.  0: no limit.
MAX_NER_CHARS = 200_000
#: Raw bytes kept in a reject for an item over a size limit.
RAW_PREVIEW_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits of one run (picklable: it travels to the workers with the DoFns)."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_item_bytes: int = MAX_ITEM_BYTES
    max_page_bytes: int = MAX_PAGE_BYTES
    extract_timeout: float = EXTRACT_TIMEOUT
    max_feed_entries: int = MAX_FEED_ENTRIES
    max_ner_chars: int = MAX_NER_CHARS


DEFAULT = Limits()


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def over(what: str, size: int, name: str, limit: int, unit: str = "bytes") -> str:
    """'page is 62,914,560 bytes, over --max-page-bytes 10,485,760; raise the limit to process it'."""
    return (f"{what} is {size:,} {unit}, over {flag(name)} {limit:,}; "
            f"raise the limit to process it")


def preview(raw: bytes | str) -> bytes | str:
    """The first RAW_PREVIEW_BYTES of a raw input (what a reject over a size limit keeps)."""
    return raw[:RAW_PREVIEW_BYTES]


PREVIEW_NOTE = f" (the reject keeps the first {RAW_PREVIEW_BYTES:,} bytes of the input)"


def utf8_size(text: str, limit: int) -> int:
    """The UTF-8 size of ``text``, computed only when it could exceed ``limit`` (else a bound)."""
    if len(text) * 4 <= limit:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))
