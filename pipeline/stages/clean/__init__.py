"""Clean stage: one reader ``Item`` -> one cleaned article dict (no identity fields yet).

Everything here is a pure, deterministic function of its arguments.  Heavy libraries
(trafilatura, tldextract, ftfy, dateutil) are imported lazily so that importing this package
is cheap; the only process-level state is the lazily built, read-only tldextract extractor
(offline: bundled public-suffix snapshot, never the network) and the tables derived from
ftfy's own to decide which lines ftfy could change (with a cache of those decisions).

Pipeline for one item::

    html  -> extract_html (trafilatura) -> normalise_unicode -> clean_text
    text  ->                               normalise_unicode -> clean_text

Modules, each importing only those above it:

``unicode``    normalise_unicode: mojibake repair (ftfy, run only where it could change a line),
               NFC, control characters, whitespace.
``measure``    count_words: length in words in every script (CJK by character, Thai/Lao/Khmer by
               a code-point ratio), used by every word threshold and the record's word_count.
``dates``      parse_date (metadata strings), find_date_in_text (full dates in plain text),
               stated_date / choose_published (a publication time with its precision).
``urls``       canonical_url, registered_domain.
``rules``      clean_text: the named boilerplate rules (share rows, teasers, captions, appeals ...).
``names``      normalise_title / normalise_authors (site suffixes, organisations, prefixes ...).
``extract``    extract_html (trafilatura) and fragment_text (a feed entry's HTML).
``article``    to_clean_article / explain_clean_article: the stage function.
``limited``    LimitedClean: the stage function under the run's limits (page size, timeout).
``transform``  Clean: the Beam transform.
"""
from __future__ import annotations

from pipeline.stages.clean.article import (
    REJECT_EMPTY,
    REJECT_NO_INPUT,
    REJECT_NO_WORDS,
    explain_clean_article,
    to_clean_article,
)
from pipeline.stages.clean.dates import find_date_in_text, parse_date
from pipeline.stages.clean.extract import REJECT_NO_HTML_TEXT, Extracted, extract_html, fragment_text
from pipeline.stages.clean.limited import MAX_HTML_DEPTH, LimitedClean, html_depth
from pipeline.stages.clean.rules import Cleaned, Explained, clean_text
from pipeline.stages.clean.transform import Clean
from pipeline.stages.clean.unicode import normalise_unicode
from pipeline.stages.clean.urls import canonical_url, registered_domain

__all__ = [
    "Cleaned",
    "Explained",
    "Extracted",
    "Clean",
    "LimitedClean",
    "normalise_unicode",
    "clean_text",
    "extract_html",
    "fragment_text",
    "parse_date",
    "find_date_in_text",
    "canonical_url",
    "registered_domain",
    "to_clean_article",
    "explain_clean_article",
    "html_depth",
    "MAX_HTML_DEPTH",
    "REJECT_NO_INPUT",
    "REJECT_EMPTY",
    "REJECT_NO_WORDS",
    "REJECT_NO_HTML_TEXT",
]
