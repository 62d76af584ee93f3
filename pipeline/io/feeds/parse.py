"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF, CDF) -> one input item per entry.

feedparser does the parsing (it copes with every dialect and most breakage). The bytes are
fetched by newsbeam itself (files, or ``pipeline.io.http`` for live feeds) and handed over
with the response headers, as feedparser's maintainers recommend now that its own HTTP
options are being removed.

A malformed feed that still yields entries keeps them, with the parser's warning in each
item's ``warnings`` (and so in provenance). A malformed feed without entries is a reject; a
well-formed feed without entries is a skip.

Public API (used by the file readers and by the live-feed poller; keep it stable):
:func:`looks_like_feed`, :func:`parse_feed`, :func:`entry_fingerprint`.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import hashlib
import io
import re
from typing import NamedTuple, Optional

from pipeline.io.feeds.language import declared_language
from pipeline.records import TEXT_FULL, TEXT_SUMMARY, dumps, make_reject, make_skip

STAGE = "read"

#: Local names of the root element of every feed dialect feedparser reads (CDF's is <CHANNEL>).
FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})

REASON_NO_ENTRIES = "feed has no entries"
REASON_EMPTY_ENTRY = "feed entry has neither content nor summary"
REASON_ONLY_CAPTION = ("feed entry has neither content nor description, only a Media RSS caption "
                       "(media:description / media:text describes a photo or video, not the article)")

# Fallback when the root element cannot be found in the first bytes (junk before it, a huge
# comment...): a feed root tag anywhere early on, and no <html.
_FEED_ROOT_RE = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF|channel)[\s>/]", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# What may come before the root element: XML declaration and processing instructions,
# comments, a DOCTYPE (with an internal subset), whitespace.
_PROLOG_RE = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>)", re.IGNORECASE | re.DOTALL)
_ROOT_RE = re.compile(rb"\s*<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)[\s>/]")
_SAMPLE_BYTES = 4096


def _ascii_sample(head: bytes) -> bytes:
    sample = head[:_SAMPLE_BYTES]
    if b"\x00" in sample[:64]:  # UTF-16/32: markup is ASCII, so dropping NULs reveals it
        sample = sample.replace(b"\x00", b"")
    for bom in _BOMS:
        if sample.startswith(bom):
            return sample[len(bom):]
    return sample


def feed_root(head: bytes) -> Optional[str]:
    """The local name of the document's root element, lower-cased (``rss``, ``feed``,
    ``rdf``, ``channel``, ``html`` ...), or None when the first 4 KiB do not show one
    (not markup, or a prolog longer than that)."""
    sample = _ascii_sample(head)
    pos = 0
    while True:
        match = _PROLOG_RE.match(sample, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
    match = _ROOT_RE.match(sample, pos)
    if not match:
        return None
    return match.group(1).decode("ascii").rsplit(":", 1)[-1].lower()


def looks_like_feed(head: bytes) -> bool:
    """Whether the first bytes of a document are a feed (by content, not by name).

    The root element decides (``<rss>``, ``<feed>``, ``<rdf:RDF>``, CDF's ``<CHANNEL>``; an
    ``<html>`` root is a web page).  When no root element shows in the first 4 KiB, a feed
    root tag anywhere in them, without ``<html``, is taken as a (broken) feed."""
    root = feed_root(head)
    if root is not None:
        return root in FEED_ROOTS
    sample = _ascii_sample(head)
    return bool(_FEED_ROOT_RE.search(sample)) and b"<html" not in sample[:512].lower()


def _iso(struct) -> Optional[str]:
    if not struct:
        return None
    try:
        seconds = calendar.timegm(struct)
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _is_html(detail) -> bool:
    kind = (detail or {}).get("type") or ""
    return any(kind.startswith(t) for t in _HTML_TYPES)


#: Media RSS namespaces (with and without the trailing slash seen in the wild).
MEDIA_RSS_NAMESPACES = frozenset({"http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss"})
#: Media RSS elements that describe a photo or video (a caption, a transcript): never an article's text.
_MEDIA_TEXT_TAGS = frozenset({"description", "text"})
_TAGS_RE = re.compile(r"<[^>]*>")
#: A run of HTML whitespace with a line break in it (not ``\s``: U+00A0 is not HTML whitespace).
_HTML_BREAK_RE = re.compile(r"[ \t\r\f]*\n[ \t\n\r\f]*")
_PRE_RE = re.compile(r"(<(pre|textarea)\b.*?</\2\s*>)", re.IGNORECASE | re.DOTALL)
_TEXT_BREAK_RE = re.compile(r"[ \t\r\f]*\n[ \t\r\f]*")
_BLANK_LINE_RE = re.compile(r"\n(?:[ \t\r\f]*\n)+")


def _comparable(value: str) -> str:
    """A text or markup value as words only: how a caption is recognised in what feedparser
    returns (sanitised, entity-decoded) and in the raw document alike."""
    import html as _html

    return " ".join(_html.unescape(_TAGS_RE.sub(" ", value)).split())


class Captions(NamedTuple):
    """The ``media:description`` / ``media:text`` values of a feed document (``media``) and its
    real texts (``description``, ``content:encoded``, Atom ``summary`` / ``content``: ``real``),
    as :func:`_comparable` words."""

    media: frozenset = frozenset()
    real: frozenset = frozenset()

    def is_caption(self, value: str, summary: str = "") -> bool:
        """A caption: a media text that is not a real text of the document, or that feedparser
        put into ``content`` next to the same ``summary`` (a description copied into the
        caption arrives twice)."""
        key = _comparable(value)
        return key in self.media and (key not in self.real or key == _comparable(summary or ""))


def media_captions(data: bytes) -> Captions:
    """The Media RSS captions and real texts of a feed document (:class:`Captions`).

    feedparser 6 maps ``media:description`` onto ``description``: the entry's ``content`` when
    the item has a ``<description>`` too, its ``summary`` when not, with nothing to tell them
    apart.  The document is read again with lxml (recovering, no entities, no network) only
    when it declares the Media RSS namespace."""
    if b"search.yahoo.com/mrss" not in data:
        return Captions()
    from lxml import etree

    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return Captions()
    if root is None:
        return Captions()
    media, real = set(), set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.text is None:
            continue
        qname = etree.QName(el)
        local = qname.localname.lower()
        if qname.namespace in MEDIA_RSS_NAMESPACES:
            if local in _MEDIA_TEXT_TAGS:
                media.add(_comparable(el.text))
        elif local in ("description", "encoded", "summary", "content"):
            real.add(_comparable("".join(el.itertext())))
    return Captions(frozenset(media - {""}), frozenset(real))


def collapse_html_whitespace(html: str) -> str:
    """Line breaks in markup are spaces (as a browser renders them): only block elements and
    ``<br>`` break lines, so "Donald\\nTrump" inside a ``<p>`` stays one line.  ``<pre>`` and
    ``<textarea>`` keep theirs."""
    parts = _PRE_RE.split(html)
    out = []
    for index, part in enumerate(parts):
        kind = index % 3  # split() with two groups: text, whole pre block, tag name
        if kind == 0:
            out.append(_HTML_BREAK_RE.sub(" ", part))
        elif kind == 1:
            out.append(part)
    return "".join(out)


def collapse_text_whitespace(text: str) -> str:
    """Plain feed text: a blank line is a paragraph break, a single line break is a space."""
    paragraphs = _BLANK_LINE_RE.split(text.strip())
    return "\n\n".join(_TEXT_BREAK_RE.sub(" ", p) for p in paragraphs if p.strip())


def _value(value: str, html: bool) -> tuple[Optional[str], Optional[str]]:
    return (None, collapse_html_whitespace(value)) if html else (collapse_text_whitespace(value), None)


def _body(entry, captions: Captions = Captions()) -> tuple[Optional[str], Optional[str], bool]:
    """(text, html, summary_only): ``content:encoded`` / Atom content when present, else the
    ``description`` / summary, else nothing; a Media RSS caption (``captions``, see
    :func:`media_captions`) is never the text."""
    contents = [c for c in entry.get("content") or []
                if isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"].strip()
                and not captions.is_caption(c["value"], entry.get("summary"))]
    if contents:
        best = max(contents, key=lambda c: (len(c.get("value") or ""), _is_html(c)))
        text, html = _value(best["value"], _is_html(best))
        return text, html, False
    summary = entry.get("summary") or ""
    if isinstance(summary, str) and summary.strip() and not captions.is_caption(summary):
        detail = entry.get("summary_detail") or {}
        text, html = _value(summary, _is_html(detail) or not detail)
        return text, html, True
    return None, None, True


def _has_caption(entry, captions: Captions) -> bool:
    values = [c.get("value") for c in entry.get("content") or [] if isinstance(c, dict)] + [entry.get("summary")]
    return any(isinstance(v, str) and captions.is_caption(v) for v in values)


def _entry_language(entry, feed_language: Optional[str]) -> Optional[str]:
    """The language the entry declares (``xml:lang`` on its content, summary or title), else the
    feed's (``<language>``, ``dc:language``, ``xml:lang`` on the feed; an HTTP Content-Language),
    as an ISO 639-1 code."""
    details = [c for c in entry.get("content") or [] if isinstance(c, dict)]
    details += [entry.get("summary_detail") or {}, entry.get("title_detail") or {}]
    for detail in details:
        code = declared_language(detail.get("language"))
        if code:
            return code
    return feed_language


def _authors(entry) -> list[str]:
    names = [a.get("name") for a in entry.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    if not names and entry.get("author"):
        names = [entry["author"]]
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]


def _title(entry) -> Optional[str]:
    title = entry.get("title")
    if not title or not isinstance(title, str):
        return None
    if _is_html(entry.get("title_detail")) and "<" in title:
        import lxml.html

        try:
            title = lxml.html.fragment_fromstring(title, create_parent="span").text_content()
        except Exception:  # a title that is not markup after all
            pass
    return " ".join(title.split()) or None


def _entry_json(entry, feed_url: str) -> dict:
    """The entry as feedparser read it, for the rejects dataset (feedparser keeps no raw XML).

    Wrapped, so element names of the entry (``<dt>``, ``<offset>`` ...) cannot pose as the
    reject's own fields in :func:`make_reject`."""
    return {"feed_url": feed_url, "entry": dict(entry)}


def _headers(headers: Optional[dict], feed_url: str) -> dict:
    """Response headers as feedparser expects them: lower-case names (it looks up
    ``content-type`` case-sensitively).  With headers and an http(s) feed URL but no
    Content-Location, the feed URL is the base for relative links, as when feedparser
    fetched the feed itself.  (No headers at all for files: a headers dict without
    Content-Type makes feedparser flag the feed as NonXMLContentType.)"""
    out: dict = {}
    for name, value in (headers or {}).items():
        if value is not None:
            out.setdefault(str(name).lower(), str(value))  # "Content-Type" and "content-type": first wins
    if out and "content-location" not in out and feed_url.lower().startswith(("http://", "https://")):
        out["content-location"] = feed_url
    return out


_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_ENTITY_DECL_RE = re.compile(rb"<!ENTITY\b", re.IGNORECASE)
REASON_ENTITIES = ("feed declares XML entities in its DOCTYPE (<!ENTITY ...>): refused, because "
                   "entity expansion is how XML bombs (billion laughs) exhaust memory; real feeds "
                   "do not need them, ask the publisher to remove the declarations")


def declares_entities(data: bytes, headers: Optional[dict] = None) -> bool:
    """Whether the document's DOCTYPE declares entities (what defusedxml refuses), checked before
    any parser sees it (feedparser falls back to a loose parser that defusedxml cannot guard).

    Checked on the whole document, not a first block (a DOCTYPE padded past 64 KiB by comments or
    whitespace counts), both as bytes and decoded as feedparser decodes it (``headers``' charset,
    BOM, XML declaration, EBCDIC, UTF-16/32), so a declaration in any encoding is seen. Two
    linear scans; no parser runs."""
    from feedparser.encodings import convert_to_utf8

    try:
        decoded = convert_to_utf8(dict(headers or {}), data, {})  # what the parser will read, as UTF-8
    except Exception:  # an encoding feedparser cannot handle: it will not parse the document either
        decoded = b""
    for text in (data, decoded):
        if b"\x00" in text[:64]:  # UTF-16/32 as raw bytes: markup is ASCII, NULs between
            text = text.replace(b"\x00", b"")
        doctype = _DOCTYPE_RE.search(text)
        if doctype and _ENTITY_DECL_RE.search(text, doctype.end()) is not None:
            return True
    return False


def parse_feed(data: bytes, feed_url: str, headers: Optional[dict] = None,
               fetched_at: Optional[str] = None, max_entries: Optional[int] = None) -> list[dict]:
    """Every entry of a feed document as an Item, Reject or Skip (see ``pipeline.records``).

    * entries -> one Item each (``format`` "feed", ``offset`` = 1-based entry index), or a
      Reject for an entry with neither content nor summary; a parser warning (bozo) is kept in
      every item's ``warnings``;
    * no entries and a parser error -> one Reject with the document;
    * no entries, well-formed -> one Skip ("feed has no entries");
    * entity declarations (an XML bomb) -> one Reject, nothing parsed;
    * more than ``max_entries`` entries (--max-feed-entries) -> the first ``max_entries`` and
      one Reject for the rest, naming the limit.
    """
    import feedparser

    from pipeline import limits as _limits

    if isinstance(data, str):
        data = data.encode("utf-8")
    if declares_entities(data, _headers(headers, feed_url)):
        return [make_reject(STAGE, REASON_ENTITIES, data[:_limits.RAW_PREVIEW_BYTES], feed_url)]
    max_entries = _limits.MAX_FEED_ENTRIES if max_entries is None else max_entries
    try:
        # A file object, never the bytes themselves: feedparser.parse() takes a bytes
        # argument for a file name first and would read that file from the local disk.
        parsed = feedparser.parse(io.BytesIO(data), response_headers=_headers(headers, feed_url),
                                  sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser is robust, but a parser bug must not stop the run
        return [make_reject(STAGE, f"feed could not be parsed ({type(exc).__name__}: {exc})", data, feed_url)]
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"feed parser warning: {type(exc).__name__}: {exc}"
    if not parsed.entries:
        if warning:
            return [make_reject(STAGE, f"not a readable feed: no entries and {warning}", data, feed_url)]
        return [make_skip(REASON_NO_ENTRIES, feed_url)]

    out = []
    entries = parsed.entries
    if len(entries) > max_entries:
        out.append(make_reject(
            STAGE, _limits.over("feed", len(entries), "max_feed_entries", max_entries, unit="entries")
            + f"; entries {max_entries + 1:,} to {len(entries):,} were not read", b"", feed_url, max_entries + 1))
        entries = entries[:max_entries]
    captions = media_captions(data)
    feed_language = declared_language((parsed.get("feed") or {}).get("language"))
    for index, entry in enumerate(entries, start=1):
        text, html, summary_only = _body(entry, captions)
        title = _title(entry)
        link = entry.get("link") or None
        if not text and not html:
            reason = REASON_ONLY_CAPTION if _has_caption(entry, captions) else REASON_EMPTY_ENTRY
            out.append(make_reject(STAGE, reason, _entry_json(entry, feed_url), feed_url, index))
            continue
        raw_date = entry.get("published") or entry.get("updated") or entry.get("created")
        item = {
            "input_uri": feed_url,
            "offset": index,
            "format": "feed",
            "url": link,
            "title": title,
            "text": text,
            "html": html,
            "published_at": _iso(entry.get("published_parsed") or entry.get("updated_parsed")
                                 or entry.get("created_parsed")) or raw_date,
            "authors": _authors(entry),
            "source": None,
            "fetched_at": fetched_at,
            "entry_id": entry.get("id") or link,
            "feed_url": feed_url,
            "warnings": [warning] if warning else [],
            "summary_only": summary_only,
            "text_kind": TEXT_SUMMARY if summary_only else TEXT_FULL,
            "declared_lang": _entry_language(entry, feed_language),
        }
        out.append(item)
    return out


def entry_fingerprint(item: dict) -> str:
    """What 'same content' means for a feed entry across runs: its title and body."""
    return hashlib.sha256(dumps([item.get("title"), item.get("text"), item.get("html")])).hexdigest()[:16]
