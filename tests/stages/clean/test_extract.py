"""Tests for pipeline.stages.clean.extract: extract_html (trafilatura)."""
from __future__ import annotations

import types

import pytest
import trafilatura

from pipeline.stages.base import Rejected
from pipeline.stages.clean import extract
from pipeline.stages.clean.dates import parse_date
from pipeline.stages.clean.extract import extract_html
from tests.stages.clean.samples import ARTICLE_HTML, BODY, P1, P2, P3, doc, paragraphs


def test_extract_html_drops_chrome_and_keeps_metadata():
    ex = extract_html(ARTICLE_HTML, None)
    paras = paragraphs(ex.text)
    for p in (P1, P2, P3):
        assert p in paras
    for chrome in ("Home", "Sport", "Privacy policy", "Sign up for our newsletter"):
        assert chrome not in ex.text
    assert ex.title == "Quake hits coastal city"
    assert ex.published_at == "2023-10-17T06:30:00Z"
    assert ex.authors == ["Jane Doe", "John Roe"]
    assert ex.url.startswith("https://www.example.com/world/quake-hits-city")
    assert ex.site_name == "Example News"


def test_extract_html_rejects_a_page_without_article():
    html = "<html><body><nav><a href='/'>Home</a><a href='/x'>World</a></nav></body></html>"
    with pytest.raises(Rejected, match="no article text found in HTML"):
        extract_html(html, "https://example.com/")


def test_extract_html_falls_back_when_precision_mode_finds_too_little(monkeypatch):
    calls = []

    def fake(texts):
        def _trafilatura_text(tree, url, favor_precision):
            calls.append(favor_precision)
            return extract._paragraphs(types.SimpleNamespace(text=texts[favor_precision]))
        return _trafilatura_text

    reprint = "This copy is for your personal, non-commercial use only."
    article = "\n".join(BODY)
    monkeypatch.setattr(extract, "_trafilatura_text", fake({True: reprint, False: article}))
    assert paragraphs(extract_html(ARTICLE_HTML).text) == BODY and calls == [True, False]
    # nothing at all in precision mode: the default extraction is used
    calls.clear()
    monkeypatch.setattr(extract, "_trafilatura_text", fake({True: None, False: article}))
    assert paragraphs(extract_html(ARTICLE_HTML).text) == BODY
    # a short article that the default only pads with chrome: the precise one is kept
    calls.clear()
    monkeypatch.setattr(extract, "_trafilatura_text", fake({True: doc(P1, P2), False: doc(P1, P2, P3)}))
    assert paragraphs(extract_html(ARTICLE_HTML).text) == [P1, P2] and calls == [True, False]
    # a long precise extraction: no second run
    calls.clear()
    long_text = "\n".join(BODY * 3)
    monkeypatch.setattr(extract, "_trafilatura_text", fake({True: long_text, False: None}))
    assert len(paragraphs(extract_html(ARTICLE_HTML).text)) == 12 and calls == [True]


def test_extract_html_reads_metadata_once_from_the_parsed_page():
    """Title, date, author and site name come from the page (one parse, trafilatura's metadata
    functions without categories, tags or licence)."""
    got = extract_html(ARTICLE_HTML)
    expected = trafilatura.bare_extraction(ARTICLE_HTML, with_metadata=True, favor_precision=True,
                                           date_extraction_params=dict(extract._DATE_PARAMS))
    assert got.title == extract.clean_title(expected.title)
    assert got.published_at == parse_date(expected.date)
    assert got.site_name == (expected.sitename or None)
    assert got.authors == extract.split_authors(expected.author) and got.url == expected.url


def test_extract_html_keeps_tables():
    html = ARTICLE_HTML.replace(
        "<p>Share this article</p>",
        "<table><tr><th>City</th><th>Magnitude</th></tr><tr><td>Portville</td><td>6.1</td></tr></table>")
    text = extract_html(html).text
    assert "Portville" in text and "Magnitude" in text
    for p in (P1, P2, P3):
        assert p in paragraphs(text)


_BODY = "<p>" + ("The council voted on Tuesday to build a new bridge over the river, ending a long "
                 "debate that had divided the town. ") * 4 + "</p>"


def _page(head: str = "", body: str = "") -> str:
    return (f"<html><head><title>Bridge vote</title>{head}</head><body><article><h1>Bridge vote</h1>"
            f"{body}{_BODY}</article></body></html>")


@pytest.mark.parametrize("head, body, at, precision", [
    # JSON-LD with an offset and without seconds (htmldate gave midnight)
    ('<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2023-10-17T08:30+02:00"}'
     "</script>", "", "2023-10-17T06:30:00Z", "minute"),
    # JSON-LD with a space before the offset (htmldate gave the wall time as UTC)
    ('<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle",'
     '"datePublished":"2023-10-17 08:30:00 +0200"}]}</script>', "", "2023-10-17T06:30:00Z", "second"),
    ('<meta property="article:published_time" content="2023-10-17T08:30:00+02:00">', "",
     "2023-10-17T06:30:00Z", "second"),
    ("", '<time datetime="2023-10-17T23:30:00-05:00">Oct 17</time>', "2023-10-18T04:30:00Z", "second"),
    # the day in one place, the time in another: the time is kept
    ('<meta name="date" content="2023-10-17">', '<time datetime="2023-10-17T08:30+02:00">8:30</time>',
     "2023-10-17T06:30:00Z", "minute"),
    ('<meta property="article:published_time" content="2023-10-17">', "", "2023-10-17T00:00:00Z", "day"),
    ("", "", None, None),
])
def test_extract_html_publication_time_in_utc_with_its_precision(head, body, at, precision):
    extracted = extract_html(_page(head, body))
    assert (extracted.published_at, extracted.published_precision) == (at, precision)
