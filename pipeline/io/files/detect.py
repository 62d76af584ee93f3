"""Which format a file holds: from its name, checked against its content, because real
dumps lie.

:func:`detect_format` gives ``txt | html | json | jsonl``; :func:`feed_named_format` what a
file named like a feed holds when its content is not a feed.  Feed documents are recognised
by :func:`pipeline.io.feeds.parse.looks_like_feed`, WARCs by :mod:`pipeline.io.files.warc`.
"""
from __future__ import annotations

import os
import re
from typing import Any, Optional

import orjson

from pipeline.io.feeds.parse import feed_root

__all__ = ["EXTENSION_FORMATS", "FEED_EXTENSIONS", "detect_format", "feed_named_format", "looks_like_html"]

EXTENSION_FORMATS = {
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
    declared = EXTENSION_FORMATS.get(ext)
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


_HTML_ROOTS = frozenset({"html", "head", "body"})
_DOCTYPE_HTML = re.compile(r"\s*<!doctype\s+html\b", re.IGNORECASE)


def feed_named_format(data: bytes, text: str) -> Optional[str]:
    """The format of a file named like a feed whose content is not a feed: ``html`` for a web
    page (an html/head/body root, or an HTML doctype: not just any markup, since XML that is
    not a feed has ``<title>`` and ``<p>`` elements too), ``json``/``jsonl`` when it parses
    as such, else None (a reject: other XML, plain text)."""
    if feed_root(data) in _HTML_ROOTS or _DOCTYPE_HTML.match(text):
        return "html"
    fmt = detect_format("", text)
    return fmt if fmt in ("json", "jsonl") else None
