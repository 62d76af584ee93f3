"""The file readers, by their old import path: they live in :mod:`pipeline.io.files` now.

This module re-exports every public name it had (``from pipeline.io.sources import
read_file`` keeps working); ``__all__`` is unchanged.
"""
from __future__ import annotations

from pipeline.io.files.decode import (MAX_DECOMPRESSED_BYTES, REASON_NOT_TEXT, REASON_TOO_BIG, REASON_TRUNCATED_GZIP,
                                      decode_html, decode_text, too_big_reason)
from pipeline.io.files.detect import FEED_EXTENSIONS, detect_format, looks_like_html
from pipeline.io.files.inputs import NoInputError, expand_inputs
from pipeline.io.files.items import REASON_EMPTY, STAGE, is_reject
from pipeline.io.files.json import (AUTHOR_FIELDS, DATE_FIELDS, HTML_FIELDS, REASON_NO_TEXT, SOURCE_FIELDS, TEXT_FIELDS,
                                    TITLE_FIELDS, URL_FIELDS, map_fields)
from pipeline.io.files.read import REASON_NOT_FEED, ReadArticleParts, ReadArticles, ReadFileFn, read_file
from pipeline.io.files.text import HEADLINE_SCAN_LINES, split_headline
from pipeline.records import is_skip

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

