"""Web pages and plain-text files as items: a page's canonical URL, a text's headline.

A page is not extracted here (that is the clean stage's job): :func:`html_canonical_url`
only reads ``<link rel="canonical">`` or ``og:url``, which gives the article a stable id.
:func:`split_headline` takes the headline off the top of a plain-text article.
"""
from __future__ import annotations

import html as _html
import re
from typing import Optional

__all__ = ["HEADLINE_SCAN_LINES", "html_canonical_url", "split_headline"]


# --------------------------------------------------------------------------------------
# HTML: the canonical URL only (extraction is the clean stage's job)
# --------------------------------------------------------------------------------------

_TAG = re.compile(r"<(link|meta)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def html_canonical_url(page: str) -> Optional[str]:
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
