"""Tests for pipeline.io.feeds and feed documents read as input files (pipeline.io.sources).

Every fixture is built here; only the optional corpus test reads ../shared (skipped when absent).
"""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from pipeline.io.feeds import entry_fingerprint, feed_root, looks_like_feed, parse_feed
from pipeline.io.sources import is_reject, read_file
from pipeline.records import NULL_PARTITION, is_skip, loads

FEED_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "feeds" / "feedparser-tests"

RSS2_FULL = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title>
  <link>https://news.example.com/</link>
  <item>
    <title>Council approves bridge</title>
    <link>https://news.example.com/2024/03/12/bridge</link>
    <guid isPermaLink="false">urn:example:bridge-1</guid>
    <pubDate>Tue, 12 Mar 2024 19:30:00 +0100</pubDate>
    <dc:creator>Maria Lopez</dc:creator>
    <description>The council voted on Tuesday.</description>
    <content:encoded><![CDATA[<p>The council voted on Tuesday to build a bridge.</p><p>The mayor welcomed the vote.</p>]]></content:encoded>
  </item>
  <item>
    <title>Second story</title>
    <link>https://news.example.com/2024/03/13/second</link>
    <pubDate>Wed, 13 Mar 2024 08:00:00 GMT</pubDate>
    <description>Short teaser.</description>
    <content:encoded><![CDATA[<p>The full second story, with <b>markup</b>.</p>]]></content:encoded>
  </item>
</channel>
</rss>
"""

RSS2_SUMMARY_ONLY = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Teasers</title>
  <item>
    <title>Only a teaser</title>
    <link>https://ex.com/teaser</link>
    <guid>https://ex.com/teaser</guid>
    <description>&lt;p&gt;A teaser with &lt;em&gt;markup&lt;/em&gt;.&lt;/p&gt;</description>
    <author>jane@example.com (Jane Doe)</author>
  </item>
</channel></rss>
"""

ATOM1 = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom News</title>
  <id>urn:uuid:feed</id>
  <updated>2024-03-12T18:30:00Z</updated>
  <entry>
    <title type="html">Bridge &lt;em&gt;approved&lt;/em&gt;</title>
    <id>tag:news.example.com,2024:bridge</id>
    <link rel="alternate" type="text/html" href="https://news.example.com/bridge"/>
    <published>2024-03-12T20:30:00+02:00</published>
    <updated>2024-03-13T09:00:00Z</updated>
    <author><name>Maria Lopez</name></author>
    <author><name>John Roe</name></author>
    <summary>Council votes.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>The council voted on Tuesday to build a bridge.</p><p>Second paragraph.</p></div></content>
  </entry>
  <entry>
    <title>Updated only</title>
    <id>tag:news.example.com,2024:updated</id>
    <link href="https://news.example.com/updated"/>
    <updated>2024-03-14T10:00:00-05:00</updated>
    <content type="text">Plain text content of the second entry.</content>
  </entry>
</feed>
"""

RSS1_RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://ex.com/rss">
    <title>RDF News</title><link>https://ex.com/</link><description>d</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://ex.com/rdf-1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://ex.com/rdf-1">
    <title>An RSS 1.0 item</title>
    <link>https://ex.com/rdf-1</link>
    <description>Description of the RDF item.</description>
    <dc:date>2024-03-12T18:30:00+01:00</dc:date>
    <dc:creator>Ola Nordmann</dc:creator>
  </item>
</rdf:RDF>
"""

ATOM03 = """<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title>Old Atom</title>
  <modified>2003-12-13T18:30:02Z</modified>
  <entry>
    <title>Atom-Powered Robots Run Amok</title>
    <link rel="alternate" type="text/html" href="http://example.org/2003/12/13/atom03"/>
    <id>tag:example.org,2003:3.2397</id>
    <issued>2003-12-13T08:29:29-04:00</issued>
    <modified>2003-12-13T18:30:02Z</modified>
    <author><name>John Doe</name></author>
    <content type="text/html" mode="escaped">&lt;p&gt;Robots ran amok in the lab.&lt;/p&gt;</content>
  </entry>
</feed>
"""

# "&nbsp;" is not an XML entity and the second item is never closed: feedparser falls back to
# its loose parser, still finds both entries, and flags the document (bozo).
ILL_FORMED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken</title>
  <item><title>First&nbsp;entry</title><link>https://ex.com/1</link>
    <description>First body.</description></item>
  <item><title>Second entry</title><link>https://ex.com/2</link>
    <description>Second body.</description>
</channel></rss>
"""

EMPTY_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Nothing yet</title><link>https://ex.com/</link></channel></rss>
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A page</title>
<link rel="canonical" href="https://ex.com/page"></head>
<body><article><p>This is a web page saved with an .xml name.</p></article></body></html>
"""


def read(path: str, data: bytes | str) -> list[dict]:
    return list(read_file(path, data.encode("utf-8") if isinstance(data, str) else data))


def one(path: str, data: bytes | str) -> dict:
    records = read(path, data)
    assert len(records) == 1, records
    return records[0]


# ---------------------------------------------------------------------------- dialects

def test_rss2_with_content_encoded_gives_full_content():
    first, second = read("feeds/news.rss", RSS2_FULL)
    assert first == {
        "input_uri": "feeds/news.rss",
        "offset": 1,
        "format": "feed",
        "url": "https://news.example.com/2024/03/12/bridge",
        "title": "Council approves bridge",
        "text": None,
        "html": "<p>The council voted on Tuesday to build a bridge.</p><p>The mayor welcomed the vote.</p>",
        "published_at": "2024-03-12T18:30:00Z",  # +01:00 -> UTC
        "authors": ["Maria Lopez"],
        "source": None,
        "fetched_at": None,
        "entry_id": "urn:example:bridge-1",  # the guid
        "feed_url": "feeds/news.rss",
        "warnings": [],
        "summary_only": False,
        "text_kind": "full",
        "declared_lang": None,  # the feed declares no language
    }
    assert second["offset"] == 2
    assert second["html"] == "<p>The full second story, with <b>markup</b>.</p>"
    assert second["entry_id"] == "https://news.example.com/2024/03/13/second"  # no guid: the link
    assert second["published_at"] == "2024-03-13T08:00:00Z"
    assert second["summary_only"] is False


def test_rss2_with_only_a_description_is_summary_only():
    item = one("teasers.xml", RSS2_SUMMARY_ONLY)
    assert item["summary_only"] is True
    assert item["text_kind"] == "summary"
    assert item["html"] == "<p>A teaser with <em>markup</em>.</p>"
    assert item["text"] is None
    assert item["title"] == "Only a teaser"
    assert item["entry_id"] == "https://ex.com/teaser"
    assert item["published_at"] is None
    assert item["authors"] == ["Jane Doe"]  # feedparser splits "email (name)"


def test_atom1_xhtml_content_authors_and_dates():
    first, second = read("atom.atom", ATOM1)
    assert first["format"] == "feed"
    assert first["title"] == "Bridge approved"  # type="html" title: markup removed
    assert first["url"] == "https://news.example.com/bridge"
    assert first["entry_id"] == "tag:news.example.com,2024:bridge"
    assert first["authors"] == ["Maria Lopez", "John Roe"]
    assert first["published_at"] == "2024-03-12T18:30:00Z"  # published wins over updated
    assert "<p>The council voted on Tuesday to build a bridge.</p>" in first["html"]
    assert "Second paragraph." in first["html"]
    assert first["text"] is None and first["summary_only"] is False
    # only <updated>, text content
    assert second["published_at"] == "2024-03-14T15:00:00Z"
    assert second["text"] == "Plain text content of the second entry."
    assert second["html"] is None
    assert second["authors"] == []


def test_rss1_rdf():
    item = one("news.rdf", RSS1_RDF)
    assert (item["title"], item["url"], item["entry_id"]) == (
        "An RSS 1.0 item", "https://ex.com/rdf-1", "https://ex.com/rdf-1")
    assert item["published_at"] == "2024-03-12T17:30:00Z"
    assert item["authors"] == ["Ola Nordmann"]
    assert "Description of the RDF item." in (item["html"] or item["text"])
    assert item["summary_only"] is True


def test_atom03():
    item = one("old.xml", ATOM03)
    assert item["title"] == "Atom-Powered Robots Run Amok"
    assert item["url"] == "http://example.org/2003/12/13/atom03"
    assert item["entry_id"] == "tag:example.org,2003:3.2397"
    assert item["published_at"] == "2003-12-13T12:29:29Z"  # <issued>, to UTC
    assert item["html"] == "<p>Robots ran amok in the lab.</p>"
    assert item["summary_only"] is False
    assert item["authors"] == ["John Doe"]


def test_cdf_channel_root_is_a_feed():
    cdf = ('<?xml version="1.0"?><CHANNEL HREF="http://ex.com/"><TITLE>CDF</TITLE>'
           '<ITEM HREF="http://ex.com/cdf-1"><TITLE>CDF item</TITLE><ABSTRACT>Abstract text.</ABSTRACT></ITEM>'
           '</CHANNEL>')
    item = one("old.cdf", cdf)
    assert item["format"] == "feed"
    assert item["url"] == "http://ex.com/cdf-1"
    assert "Abstract text." in (item["html"] or item["text"])


# ---------------------------------------------------------------------------- broken and empty

def test_ill_formed_feed_keeps_entries_with_the_warning():
    records = read("broken.xml", ILL_FORMED)
    assert [r["title"] for r in records] == ["First entry", "Second entry"]  # nbsp normalised
    for record in records:
        assert not is_reject(record)
        [warning] = record["warnings"]
        assert warning.startswith("feed parser warning: SAXParseException: ")


def test_non_feed_xml_is_one_reject():
    data = '<?xml version="1.0"?><catalog><book><title>A book</title><p>text</p></book></catalog>'
    record = one("catalog.xml", data)
    assert is_reject(record)
    assert record["reason"].startswith("not a feed: ")
    assert record["raw"] == data


def test_broken_feed_without_entries_is_one_reject():
    data = '<?xml version="1.0"?><rss version="2.0"><channel><title>Cut off</title><<<'
    record = one("cut.rss", data)
    assert is_reject(record)
    assert record["stage"] == "read"
    assert record["reason"].startswith("not a readable feed: no entries and feed parser warning: ")
    assert record["raw"] == data


def test_empty_well_formed_feed_is_one_skip():
    record = one("empty.xml", EMPTY_FEED)
    assert is_skip(record)
    assert record == {"skipped": "feed has no entries", "input_uri": "empty.xml", "offset": 0}


def test_entry_without_content_or_summary_is_rejected_with_the_entry():
    data = ('<rss version="2.0"><channel><title>t</title>'
            '<item><title>Title only</title><link>https://ex.com/t</link><dt>../../evil</dt></item>'
            '<item><title>Fine</title><description>Body.</description></item></channel></rss>')
    bad, good = read("f.xml", data)
    assert is_reject(bad) and not is_reject(good)
    assert (bad["reason"], bad["offset"], bad["raw_encoding"]) == (
        "feed entry has neither content nor summary", 1, "json")
    assert bad["dt"] == NULL_PARTITION  # an entry's <dt> element does not pose as the partition
    raw = loads(bad["raw"])
    assert raw["feed_url"] == "f.xml"
    assert raw["entry"]["title"] == "Title only"
    assert good["offset"] == 2


# ---------------------------------------------------------------------------- encodings, names

def test_utf16_feed():
    data = RSS2_FULL.replace('encoding="utf-8"', 'encoding="utf-16"').replace(
        "Council approves bridge", "Rådet godkjenner brua").encode("utf-16")
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    first, _ = read("utf16.xml", data)
    assert first["title"] == "Rådet godkjenner brua"
    assert first["warnings"] == []


def test_latin1_feed_declared_in_the_xml_declaration():
    data = RSS2_SUMMARY_ONLY.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="iso-8859-1"?>')
    item = one("l1.rss", data.replace("Only a teaser", "Grève à Paris").encode("latin-1"))
    assert item["title"] == "Grève à Paris"


@pytest.mark.parametrize("name", ["saved-feed.txt", "feed", "feed.html", "download.bin"])
def test_feed_with_a_lying_name_is_detected_by_content(name):
    first, second = read(name, RSS2_FULL)
    assert first["format"] == second["format"] == "feed"
    assert first["feed_url"] == first["input_uri"] == name


def test_gzipped_feed():
    records = read("news.rss.gz", gzip.compress(RSS2_FULL.encode()))
    assert [r["format"] for r in records] == ["feed", "feed"]
    assert records[0]["input_uri"] == "news.rss.gz"


def test_html_page_named_xml_is_still_html():
    record = one("page.xml", HTML_PAGE)
    assert record["format"] == "html"
    assert record["html"] == HTML_PAGE
    assert record["url"] == "https://ex.com/page"


def test_html_page_mentioning_feed_tags_is_html():
    page = ("<html><head><title>How to write RSS</title></head><body><pre>&lt;rss&gt;</pre>"
            "<p>Put <rss version='2.0'> at the top.</p></body></html>")
    assert one("howto.rss", page)["format"] == "html"
    assert one("howto.txt", page)["format"] == "html"


def test_plain_text_named_rss_is_rejected_and_json_named_xml_is_json():
    assert one("notes.rss", "Just some notes, not a feed.")["reason"].startswith("not a feed: ")
    record = one("data.xml", '{"title": "T", "text": "Body."}')
    assert (record["format"], record["text"]) == ("json", "Body.")


def test_text_mentioning_a_feed_tag_is_not_a_feed():
    record = one("story.txt", "Headline about feeds here\n\nEditors now put <rss> and <feed> in pages.\n")
    assert record["format"] == "txt"


# ---------------------------------------------------------------------------- looks_like_feed

@pytest.mark.parametrize("head,expected", [
    (b'<?xml version="1.0"?><rss version="2.0">', True),
    (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- comment with <html> -->\n<feed xmlns='x'>", True),
    (b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "http://x/rss.dtd"><rss version="0.91">', True),
    (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;"> <!ENTITY x "<y>">]>\n<rss>', True),
    (b'<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?><rdf:RDF xmlns:rdf="r">', True),
    (b"<CHANNEL HREF='x'>", True),
    ('<?xml version="1.0" encoding="utf-16"?><rss>'.encode("utf-16"), True),
    (b"junk before the root <rss version='2.0'><channel>", True),  # no root found: fallback
    (b"<!DOCTYPE html><html><head><title>x</title>", False),
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><rss>', False),
    (b'<?xml version="1.0"?><urlset xmlns="s"><url><loc>x</loc></url></urlset>', False),
    (b"plain text", False),
    (b"", False),
])
def test_looks_like_feed(head, expected):
    assert looks_like_feed(head) is expected


def test_feed_root():
    assert feed_root(b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="x">') == "rdf"
    assert feed_root(b"<!-- only a comment -->") is None


# ---------------------------------------------------------------------------- parse_feed API

def test_parse_feed_never_opens_local_files(tmp_path):
    """feedparser.parse(bytes) tries the bytes as a file name first: parse_feed must not."""
    target = tmp_path / "local.xml"
    target.write_text(RSS2_FULL)
    records = parse_feed(str(target).encode(), feed_url="https://ex.com/feed")
    assert len(records) == 1
    assert is_reject(records[0]) or is_skip(records[0])


def test_parse_feed_with_http_headers_and_fetch_time():
    data = RSS2_SUMMARY_ONLY.replace("https://ex.com/teaser", "/teaser").replace(
        "Only a teaser", "Grève").encode("latin-1")
    [item] = parse_feed(data, "https://ex.com/feed.xml",
                        headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1",
                                 "content-type": "application/xml"},  # a default added later
                        fetched_at="2024-03-12T18:30:00Z")
    assert item["title"] == "Grève"  # charset from the (capitalised) Content-Type header
    assert item["url"] == "https://ex.com/teaser"  # relative link resolved against the feed URL
    assert item["fetched_at"] == "2024-03-12T18:30:00Z"
    assert item["feed_url"] == item["input_uri"] == "https://ex.com/feed.xml"
    assert item["warnings"] == []


def test_entry_fingerprint_is_stable_and_content_based():
    first, second = parse_feed(RSS2_FULL.encode(), "f")
    again = parse_feed(RSS2_FULL.encode(), "other-url")[0]
    assert entry_fingerprint(first) == entry_fingerprint(again)
    assert entry_fingerprint(first) != entry_fingerprint(second)
    assert entry_fingerprint(dict(first, html="<p>changed</p>")) != entry_fingerprint(first)
    assert len(entry_fingerprint(first)) == 16


# ---------------------------------------------------------------------------- corpus

@pytest.mark.skipif(not FEED_CORPUS.is_dir(), reason="../shared/corpus/feeds/feedparser-tests not present")
def test_feedparser_corpus_every_entry_is_accounted_for():
    import feedparser

    files = sorted(FEED_CORPUS.rglob("*.xml"))
    assert files
    wrong = []
    totals = {"entries": 0, "no_entries": 0, "items": 0, "rejects": 0, "skips": 0}
    for path in files:
        data = path.read_bytes()
        entries = len(feedparser.parse(io.BytesIO(data)).entries)
        records = list(read_file(str(path), data))  # read_file never raises
        totals["entries"] += entries
        totals["no_entries"] += entries == 0
        for record in records:
            kind = "rejects" if is_reject(record) else "skips" if is_skip(record) else "items"
            totals[kind] += 1
        if len(records) != max(1, entries):
            wrong.append((path.name, entries, len(records)))
        elif entries == 0 and not (is_reject(records[0]) or is_skip(records[0])):
            wrong.append((path.name, entries, records[0].get("format")))
    assert wrong == []
    outputs = totals["items"] + totals["rejects"] + totals["skips"]
    assert outputs == totals["entries"] + totals["no_entries"]


# ---------------------------------------------------------------------------- which text an entry gets

# Modelled on a New York Times RSS item: a real <description> and a photo's <media:description>,
# which feedparser 6 maps onto the entry's description too (into ``content`` when the item has a
# <description>, into ``summary`` when not).
NYT_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/" version="2.0">
  <channel>
    <title>Paper &gt; World</title><link>https://paper.example/world</link><language>en-us</language>
    <item>
      <title>Talks resume as ceasefire holds</title>
      <link>https://paper.example/2026/12/01/world/talks.html</link>
      <description>Negotiators met again on Monday, a day after the truce took effect.</description>
      <dc:creator>Jane Doe</dc:creator>
      <pubDate>Tue, 01 Dec 2026 10:00:04 +0000</pubDate>
      <media:content medium="image" url="https://img.paper.example/x.jpg"/>
      <media:credit>Mark Smith for the Paper</media:credit>
      <media:description>Delegates arriving at the conference hall in Geneva on Monday.</media:description>
    </item>
    <item>
      <title>A full story</title>
      <link>https://paper.example/2026/12/01/world/full.html</link>
      <description>The teaser.</description>
      <content:encoded><![CDATA[<p>The whole story, first paragraph.</p><p>Second paragraph.</p>]]></content:encoded>
      <media:content medium="image" url="https://img.paper.example/y.jpg">
        <media:description type="html">&lt;b&gt;A caption&lt;/b&gt; with markup.</media:description>
      </media:content>
    </item>
    <item>
      <title>Only a photo</title>
      <link>https://paper.example/2026/12/01/world/photo.html</link>
      <media:content medium="image" url="https://img.paper.example/z.jpg"/>
      <media:description>A photo caption, not an article.</media:description>
    </item>
  </channel>
</rss>
"""


def test_a_media_description_caption_is_never_the_text():
    teaser, full, photo = read("paper.rss", NYT_STYLE)
    assert teaser["html"] == "Negotiators met again on Monday, a day after the truce took effect."
    assert teaser["summary_only"] is True
    assert "Delegates" not in (teaser["html"] or "") + (teaser["text"] or "")
    # content:encoded > description > nothing, whatever captions the item carries
    assert full["html"] == "<p>The whole story, first paragraph.</p><p>Second paragraph.</p>"
    assert full["summary_only"] is False
    # only a caption: nothing to read, said so
    assert is_reject(photo)
    assert "only a Media RSS caption" in photo["reason"]
    assert photo["offset"] == 3


def test_a_description_that_equals_the_caption_is_still_the_description():
    data = NYT_STYLE.replace("Delegates arriving at the conference hall in Geneva on Monday.",
                             "Negotiators met again on Monday, a day after the truce took effect.")
    teaser = read("paper.rss", data)[0]
    assert teaser["html"] == "Negotiators met again on Monday, a day after the truce took effect."


def test_line_breaks_inside_a_paragraph_are_spaces_paragraphs_stay_apart():
    from pipeline.stages.clean import to_clean_article

    data = ('<rss version="2.0"><channel><title>t</title><item><title>Election</title>'
            '<link>https://ex.com/e</link><description><![CDATA[<p>President-elect Donald\n'
            'Trump said on Monday that the talks\n    would resume next week in Geneva.</p>\n'
            '<p>Officials said the second round would follow.</p><pre>keep\nthis</pre>]]>'
            '</description></item></channel></rss>')
    item = one("f.rss", data)
    assert "Donald Trump said on Monday that the talks would resume" in item["html"]
    assert "<pre>keep\nthis</pre>" in item["html"]
    article = to_clean_article(item)
    assert article["text"].split("\n\n")[:2] == [
        "President-elect Donald Trump said on Monday that the talks would resume next week in Geneva.",
        "Officials said the second round would follow."]


def test_plain_text_line_breaks_are_spaces_blank_lines_are_paragraphs():
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title>'
            '<id>urn:x</id><content type="text">President-elect Donald\nTrump spoke.\n\n'
            'A second\nparagraph.</content></entry></feed>')
    item = one("f.atom", data)
    assert item["text"] == "President-elect Donald Trump spoke.\n\nA second paragraph."


# ---------------------------------------------------------------------------- declared language


@pytest.mark.parametrize("declaration, expected", [
    ("<language>en-us</language>", "en"),
    ('<dc:language xmlns:dc="http://purl.org/dc/elements/1.1/">de-DE</dc:language>', "de"),
    ("<language>klingon</language>", None),
    ("", None),
])
def test_an_rss_feed_declares_its_language(declaration, expected):
    data = (f'<rss version="2.0"><channel><title>t</title>{declaration}'
            f'<item><title>x</title><description>Short.</description></item></channel></rss>')
    assert one("f.rss", data)["declared_lang"] == expected


def test_an_atom_entry_declares_its_own_language_over_the_feed():
    data = ('<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>t</title>'
            '<entry><title>x</title><id>urn:1</id><summary>Court.</summary></entry>'
            '<entry xml:lang="es-ES"><title>y</title><id>urn:2</id><summary>Corto.</summary></entry></feed>')
    assert [item["declared_lang"] for item in read("f.atom", data)] == ["fr", "es"]
