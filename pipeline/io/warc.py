"""The WARC reader, by its old import path: it lives in :mod:`pipeline.io.files.warc` now."""
from __future__ import annotations

from pipeline.io.files.warc import (HTML_TYPES, WARC_SUFFIXES, is_warc_name, looks_like_warc, read_warc,
                                    warc_date_iso)

__all__ = ["HTML_TYPES", "WARC_SUFFIXES", "is_warc_name", "looks_like_warc", "read_warc",
           "warc_date_iso"]
