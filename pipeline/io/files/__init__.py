"""Input files -> items: txt, html, json, jsonl, feed documents (RSS/Atom/RDF/CDF) and WARC
archives (any of them gzip-compressed).

Formats are detected from the file name and checked against the content, because real
dumps lie: gzip is recognised by its magic bytes, a WARC by ``WARC/1.x`` at the start (of
its first gzip member), a feed by its root element (``<rss>``, ``<feed>``, ``<rdf:RDF>``,
``<channel>``) even as ``.txt``, an HTML page named ``.xml`` stays HTML, a ``.txt`` that
holds a web page is read as HTML, a ``.json`` with one object per line is read as JSONL
(and vice versa).  Feeds are parsed by :mod:`pipeline.io.feeds.parse` (one item per entry),
WARCs by :mod:`pipeline.io.files.warc` (one item per archived HTML page).

Modules, each importing only those before it:

* ``items``: the Item and Reject dicts a reader yields;
* ``decode``: gzip and character sets (bytes -> text);
* ``detect``: which format a file holds;
* ``json``, ``text``, ``warc``: the readers of each format;
* ``inputs``: input globs -> files (:class:`NoInputError`);
* ``read``: :func:`read_file` (one file's bytes -> records) and the Beam transforms
  :class:`ReadFileFn`, :class:`ReadArticleParts`, :class:`ReadArticles`.
"""
from pipeline.io.files.decode import MAX_DECOMPRESSED_BYTES, decode_html, decode_text
from pipeline.io.files.detect import detect_format, looks_like_html
from pipeline.io.files.inputs import NoInputError, expand_inputs
from pipeline.io.files.items import is_reject
from pipeline.io.files.json import map_fields
from pipeline.io.files.read import ReadArticleParts, ReadArticles, ReadFileFn, read_file
from pipeline.io.files.text import split_headline

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "NoInputError",
    "ReadArticleParts",
    "ReadArticles",
    "ReadFileFn",
    "decode_html",
    "decode_text",
    "detect_format",
    "expand_inputs",
    "is_reject",
    "looks_like_html",
    "map_fields",
    "read_file",
    "split_headline",
]
