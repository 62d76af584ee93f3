"""The clean stage function: one reader ``Item`` -> one cleaned article dict (no identity fields
yet): text from HTML or plain text, normalised, boilerplate removed, a title line dropped, then
title, date, URL, source, site name, authors and provenance.
"""
from __future__ import annotations

import re
from typing import Optional

from pipeline.records import carried_fields
from pipeline.stages.base import Rejected
from pipeline.stages.clean.dates import (Stated, choose_published, find_date_in_text, future_warning, parse_date,
                                         plausible_publication, stated_date)
from pipeline.stages.clean.extract import Extracted, clean_title, extract_html, fragment_text, split_authors
from pipeline.stages.clean.names import normalise_authors, normalise_title
from pipeline.stages.clean.rules import ELLIPSIS_RE, clean_text, line_key, words
from pipeline.stages.clean.unicode import normalise_unicode
from pipeline.stages.clean.urls import canonical_url, registered_domain

REJECT_NO_INPUT = "item has neither text nor html: nothing to clean (check the reader's field mapping)"
REJECT_EMPTY = "no article text left after removing boilerplate"
REJECT_NO_WORDS = "the input has no words (empty, or markup only)"

_ALNUM_RE = re.compile(r"[^\W_]")

TITLE_MIN_WORDS = 3
TITLE_MAX_WORDS = 25

#: " | Site", " - Site" ... around a page title
_TITLE_SEP_RE = re.compile(r"\s+(?:[|\-–—·•]{1,2}|/{2}|::)\s+")


def _title_keys(title: str) -> set[str]:
    """Comparison keys of a title, with and without a site name before or after a separator:
    "NASA adds five companies - SpaceNews.com" also matches "NASA adds five companies".
    Only variants of at least TITLE_MIN_WORDS words count."""
    keys = {line_key(title)}
    parts = _TITLE_SEP_RE.split(title)
    if len(parts) > 1:
        for variant in (" ".join(parts[:-1]), " ".join(parts[1:])):
            if words(variant) >= TITLE_MIN_WORDS:
                keys.add(line_key(variant))
    return keys


def _looks_like_headline(line: str) -> bool:
    return (
        TITLE_MIN_WORDS <= words(line) <= TITLE_MAX_WORDS
        and line[-1] not in ".,;:。、，；："
        and not ELLIPSIS_RE.search(line)
    )


def _text_of(value) -> str:
    return value if isinstance(value, str) else ""


def to_clean_article(item: dict) -> dict:
    """The clean stage function: ``Item`` -> cleaned article dict (see module docstring).

    Output keys: url, source, title, text, published_at, fetched_at, authors, provenance
    (input_uri, offset, format, clean.removed).  Raises :class:`Rejected`.
    """
    return _clean_article(item, None)


def explain_clean_article(item: dict) -> tuple[dict, list]:
    """:func:`to_clean_article` plus every line the rules removed, as ``(rule, line)`` pairs
    (``title_line`` included).  For audits and the extraction benchmark; same article."""
    explained: list = []
    return _clean_article(item, explained), explained


def _has_text(value: str) -> bool:
    """``bool(value.strip())`` without copying a whole page (strip copies when the page
    ends with a newline; isspace stops at the first non-space character)."""
    return bool(value) and not value.isspace()


def _clean_article(item: dict, explained: Optional[list]) -> dict:
    html = _text_of(item.get("html"))
    raw_text = _text_of(item.get("text"))
    has_html = _has_text(html)
    if not has_html and not _has_text(raw_text):
        raise Rejected(REJECT_NO_INPUT)

    extracted: Optional[Extracted] = None
    if has_html and item.get("format") == "feed":
        raw_text = fragment_text(html)  # a feed entry's body: no page to extract from
    elif has_html:
        try:
            extracted = extract_html(html, item.get("url") or None)
        except Rejected:
            if not _has_text(raw_text):
                raise
    body = normalise_unicode(extracted.text if extracted else raw_text)
    if not _ALNUM_RE.search(body):
        raise Rejected(REJECT_NO_WORDS)
    cleaned = clean_text(body, explain=explained is not None)
    if explained is not None:
        explained.extend(cleaned.lines)
    removed = dict(cleaned.removed)
    paragraphs = cleaned.text.split("\n\n") if cleaned.text else []

    extracted_title = extracted.title if extracted else None
    title = clean_title(item.get("title")) or extracted_title
    title_keys = {key for t in (title, extracted_title) if t for key in _title_keys(t)}
    title_line = None
    if paragraphs and title and line_key(paragraphs[0]) in title_keys:
        title_line = paragraphs[0]
    elif paragraphs and not title and len(paragraphs) >= 3 and _looks_like_headline(paragraphs[0]):
        # plain text without a title: a headline-like first line is the title
        title = title_line = paragraphs[0]
    if title_line is not None:
        paragraphs = paragraphs[1:]
        removed["title_line"] = removed.get("title_line", 0) + 1
        if explained is not None:
            explained.append(("title_line", title_line))
    if not paragraphs:
        raise Rejected(REJECT_EMPTY)

    from_page = (Stated(extracted.published_at, extracted.published_precision, True, None)
                 if extracted and extracted.published_at else None)
    published = choose_published(stated_date(item.get("published_at")), [from_page] if from_page else [])
    published = published or from_page
    date_source = "metadata" if published else None
    if not published:
        found = find_date_in_text(body)
        published = Stated(found, "day", False, None) if found else None
        date_source = "text" if published else None
    fetched_at = parse_date(item.get("fetched_at"))
    future = published if published and not plausible_publication(published.at, fetched_at) else None
    if future:
        published = date_source = None
    url = canonical_url(item.get("url")) or (canonical_url(extracted.url) if extracted else None)
    source = registered_domain(url)
    named = item["source"].strip() if isinstance(item.get("source"), str) and item["source"].strip() else None
    if not source and named:
        source = named.lower()
    named_site = named if named and (" " in named or "." not in named) else None  # a name, not a domain
    site_name = (extracted.site_name if extracted else None) or named_site
    authors = normalise_authors(split_authors(item.get("authors")) or (extracted.authors if extracted else []),
                                site_name)

    return {
        "url": url,
        "source": source,
        "site_name": site_name,
        "title": normalise_title(title, site_name),
        "text": "\n\n".join(paragraphs),
        "published_at": published.at if published else None,
        "published_precision": published.precision if published else None,
        "fetched_at": fetched_at,
        "authors": authors,
        "provenance": {
            "input_uri": item.get("input_uri"),
            "offset": item.get("offset", 0),
            "format": item.get("format"),
            "clean": {"removed": dict(sorted(removed.items()))},
            "date_source": date_source,
            **_source_provenance(item, [future_warning(future.at, fetched_at)] if future else []),
        },
        **carried_fields(item),  # text_kind, canonical_url, declared_lang: what the readers know
    }


_PROVENANCE_FROM_ITEM = ("entry_id", "feed_url", "update_of")


def _source_provenance(item: dict, more_warnings: list[str]) -> dict:
    """Where a feed/WARC item came from and what its parser (and the cleaning) warned about."""
    out = {key: item[key] for key in _PROVENANCE_FROM_ITEM if item.get(key)}
    warnings = [w for w in item.get("warnings") or () if isinstance(w, str) and w] + more_warnings
    if warnings:
        out["warnings"] = warnings
    return out
