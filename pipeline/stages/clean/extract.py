"""Text and metadata out of HTML: an article page with trafilatura (precision-oriented, with a
fallback to its default extraction; metadata as trafilatura reads it, without the fields no
dataset keeps), and a feed entry's HTML fragment with lxml. trafilatura, htmldate and lxml are
imported lazily.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

from pipeline.stages.base import Rejected
from pipeline.stages.clean.dates import Stated, choose_published, stated_date
from pipeline.stages.clean.measure import count_words, has_spaceless
from pipeline.stages.clean.names import AGENCIES, join_last_first
from pipeline.stages.clean.unicode import normalise_unicode

REJECT_NO_HTML_TEXT = (
    "no article text found in HTML (trafilatura extracted nothing); "
    "the page may be a list, a paywall or not an article"
)


class Extracted(NamedTuple):
    text: str  # paragraphs separated by blank lines
    title: Optional[str]
    published_at: Optional[str]  # ISO 8601 UTC, see parse_date
    published_precision: Optional[str]  # "day" | "minute" | "second" (None without a date)
    authors: list
    url: Optional[str]  # the page's own canonical URL, as declared in its metadata
    site_name: Optional[str]


_I = re.IGNORECASE

#: htmldate settings for trafilatura: metadata only.  ``extensive_search`` was measured to
#: turn any "(c) 2023" footer into "2023-01-01"; without it the date comes from meta tags,
#: JSON-LD and <time> elements, and plain-text dates are left to find_date_in_text.
_DATE_PARAMS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}
#: Fewer words than this extracted from a page is navigation, not an article.
MIN_HTML_WORDS = 10
_AUTHOR_SPLIT_RE = re.compile(r"\s*;\s*|\s*\|\s*")
_BYLINE_PREFIX_RE = re.compile(r"^(?:by|par|von|por|di|av)\s+", _I)


def split_authors(value) -> list[str]:
    """Author names from a metadata value (a list, or names separated by ";" or "|"), normalised,
    without a "By" prefix, each once."""
    if not value:
        return []
    parts = value if isinstance(value, (list, tuple)) else _AUTHOR_SPLIT_RE.split(str(value))
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            continue
        name = _BYLINE_PREFIX_RE.sub("", " ".join(normalise_unicode(part).split()))
        if name and name not in out:
            out.append(name)
    return out


def clean_title(title) -> Optional[str]:
    """A title normalised to one line of single spaces; None when there is none."""
    if not title or not isinstance(title, str):
        return None
    title = " ".join(normalise_unicode(title).split())
    return title or None


#: A precision-oriented extraction shorter than this is checked against trafilatura's default
#: (balanced) extraction, which is used when it finds FALLBACK_RATIO times as many words.
#: Precision mode sometimes keeps only a fragment of the article (a reprint notice, or nothing);
#: on short articles the default mostly adds chrome (measurements: bench/README.md, extraction).
FALLBACK_BELOW_WORDS = 200
FALLBACK_RATIO = 3


def _parse_page(html):
    """The page as an lxml tree, parsed once (trafilatura's own loader: encoding repair, the
    "is this HTML at all" check). Metadata and both text extractions read this tree."""
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)
    except Exception as exc:  # lxml parse failures are a property of the input
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    if tree is None:
        raise Rejected(REJECT_NO_HTML_TEXT)
    return tree


def _page_metadata(tree, url: Optional[str]):
    """trafilatura's ``extract_metadata`` without what newsbeam does not keep (categories,
    tags, licence: ~10% of the extraction time on the 181-page benchmark, for fields no
    dataset has). Same functions and order as trafilatura 2.x, so the same title, author,
    URL, date and site name."""
    from htmldate import find_date
    from trafilatura import metadata as tm

    doc = tm.examine_meta(tree)
    if doc.author and " " not in doc.author and not _one_word_author(doc.author):
        doc.author = None  # (a handle or a site name; not a CJK name nor a news agency)
    try:
        doc = tm.extract_meta_json(tree, doc)
    except Exception:  # trafilatura's own guard: bugs in its JSON-LD parsing
        pass
    if not doc.title:
        doc.title = tm.extract_title(tree)
    if not doc.author:
        doc.author = tm.extract_author(tree)
    if not doc.url:
        doc.url = tm.extract_url(tree, url)
    doc.date = find_date(tree, **dict(_DATE_PARAMS, url=doc.url))
    if not doc.sitename:
        doc.sitename = tm.extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
        if doc.sitename and "." not in doc.sitename and not doc.sitename[0].isupper():
            doc.sitename = doc.sitename.title()
    elif doc.url:
        match = tm.META_URL.match(doc.url)
        if match:
            doc.sitename = match[1]
    doc.clean_and_trim()
    return doc


#: <meta> tags that state the publication time (property, name or itemprop), most specific first
_DATE_META = (
    "article:published_time", "og:article:published_time", "og:published_time", "datepublished",
    "publishdate", "pubdate", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "dc.date", "dcterms.date", "date",
)


def _json_ld_dates(node, out: list) -> None:
    if isinstance(node, dict):
        value = node.get("datePublished")
        if isinstance(value, str):
            out.append(value)
        for child in node.values():
            if isinstance(child, (dict, list)):
                _json_ld_dates(child, out)
    elif isinstance(node, list):
        for child in node:
            _json_ld_dates(child, out)


def page_dates(tree) -> list[str]:
    """Publication times a page states, as written: JSON-LD ``datePublished``, then the
    publication-time <meta> tags, then ``<time datetime>`` (a ``pubdate`` or ``datePublished``
    one first). :func:`choose_published` refines htmldate's date with them: htmldate decides
    the day, but drops the time of a JSON-LD value without seconds and the offset of one
    written "2023-10-17 08:30:00 +0200", and keeps no record of whether a time was stated."""
    import json

    out: list[str] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            _json_ld_dates(json.loads(script.text or ""), out)
        except (ValueError, RecursionError):
            continue
    metas = {}
    for meta in tree.xpath("//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _DATE_META and key not in metas:
            metas[key] = meta.get("content")
    out.extend(metas[key] for key in _DATE_META if key in metas)
    times = tree.xpath("//time[@datetime]")
    first = [t for t in times if t.get("pubdate") is not None or (t.get("itemprop") or "").lower() == "datepublished"]
    out.extend(t.get("datetime") for t in first + [t for t in times if t not in first])
    return [value for value in out if value and value.strip()]


def _one_word_author(name: str) -> bool:
    """A one-word author worth keeping: a name in a script without spaces, or a news agency."""
    return has_spaceless(name) or re.sub(r"[\W_]+", " ", name.casefold()).strip() in AGENCIES


def _author_strings(tree) -> list[str]:
    """Author values as the page writes them (<meta> tags, JSON-LD ``author.name``)."""
    import json

    out = [m.get("content") for m in tree.xpath(
        '//meta[@name="author" or @property="article:author" or @name="parsely-author" or @name="byl"][@content]')]
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        for node in data if isinstance(data, list) else [data]:
            author = node.get("author") if isinstance(node, dict) else None
            for a in author if isinstance(author, list) else [author]:
                name = a.get("name") if isinstance(a, dict) else a
                if isinstance(name, str):
                    out.append(name)
    return [s for s in out if isinstance(s, str)]


def _page_authors(value, raw: list[str]) -> list[str]:
    """trafilatura's authors, "Last, First" joined again (see names.join_last_first), and a name
    whose last combining marks trafilatura cut ("สมชาย ใจดี" -> "สมชาย ใจด") restored from the page."""
    import unicodedata

    names = []
    for name in join_last_first(split_authors(value), raw):
        for r in raw:
            r = " ".join(normalise_unicode(r).split())
            if r.startswith(name) and len(r) > len(name) and all(
                    unicodedata.category(c).startswith("M") for c in r[len(name):]):
                name = r
                break
        names.append(name)
    return names


def _htmldate_stated(value) -> Optional[Stated]:
    """htmldate's date (our ``_DATE_PARAMS`` format): it writes a date-only value as midnight
    without an offset, so that is a day; otherwise what the string states."""
    stated = stated_date(value)
    if stated and isinstance(value, str) and value.endswith("T00:00:00"):
        return stated._replace(precision="day")
    return stated


def _trafilatura_text(tree, url: Optional[str], favor_precision: bool) -> list[str]:
    """The main text of ``tree`` as paragraphs (trafilatura works on its own copy)."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            favor_precision=favor_precision,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
            with_metadata=False,
            fast=True,
        )
    except Exception as exc:  # lxml/trafilatura failures are a property of the input
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    return _paragraphs(doc)


def _paragraphs(doc) -> list[str]:
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    return [line.strip() for line in text.split("\n") if line.strip()]


def extract_html(html, url: Optional[str] = None) -> Extracted:
    """Main text and metadata of an article page with trafilatura (precision-oriented).

    ``favor_precision=True``, tables (rows as ``| a | b |`` lines), no comments,
    ``deduplicate=False`` (trafilatura's dedup cache is process-global and non-deterministic),
    metadata from :func:`_page_metadata`.  When the precise extraction has fewer than
    ``FALLBACK_BELOW_WORDS`` words, the default (balanced) extraction is run too and used if it
    has ``FALLBACK_RATIO`` times as many words.  The page is parsed once for all of it.
    Raises :class:`Rejected` when nothing is extracted.
    """
    tree = _parse_page(html)
    try:
        meta = _page_metadata(tree, url)
    except Exception as exc:  # as inside trafilatura: a page its metadata code cannot read
        raise Rejected(f"HTML could not be parsed ({type(exc).__name__}: {exc})") from exc
    target_url = url or meta.url
    paragraphs = _trafilatura_text(tree, target_url, favor_precision=True)
    words = sum(map(count_words, paragraphs))
    if words < FALLBACK_BELOW_WORDS:
        other_paragraphs = _trafilatura_text(tree, target_url, favor_precision=False)
        other_words = sum(map(count_words, other_paragraphs))
        if other_words >= max(FALLBACK_RATIO * words, MIN_HTML_WORDS):
            paragraphs = other_paragraphs
    if not paragraphs:
        raise Rejected(REJECT_NO_HTML_TEXT)
    words = sum(map(count_words, paragraphs))
    if words < MIN_HTML_WORDS:
        raise Rejected(
            f"no article text found in HTML (trafilatura extracted only {words} words); "
            "the page may be a list, a paywall or not an article"
        )
    stated = [s for s in map(stated_date, page_dates(tree)) if s]
    published = _htmldate_stated(meta.date)
    if published:  # htmldate reformats what it found: the source's own statement of that instant
        published = next((s for s in stated if s.at == published.at and s.offset >= published.offset), published)
    published = choose_published(published, stated)
    return Extracted(
        text="\n\n".join(paragraphs),
        title=clean_title(meta.title),
        published_at=published.at if published else None,
        published_precision=published.precision if published else None,
        authors=_page_authors(meta.author, _author_strings(tree)),
        url=meta.url or None,
        site_name=meta.sitename or None,
    )


_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "figure", "figcaption", "header", "footer",
    "aside", "address", "hr",
})


def fragment_text(html: str) -> str:
    """Text of an HTML *fragment* (a feed entry's content), one paragraph per block element.

    A feed entry's content is the article body already, without page chrome, so full-page
    extraction is the wrong tool: trafilatura drops short fragments, and its ``html2txt``
    flattens paragraphs into one line (both measured on feed entries). lxml parses the
    fragment; scripts, styles and comments are dropped.
    """
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # not markup at all: treat as text
        return html
    for bad in root.xpath("//script|//style|//noscript|//comment()"):
        bad.drop_tree()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _BLOCK_TAGS:
            el.text = "\n\n" + (el.text or "")
            el.tail = "\n\n" + (el.tail or "")
    return root.text_content()
