"""Tests for pipeline.stages.clean.article: to_clean_article and explain_clean_article."""
from __future__ import annotations

import copy

import pytest

from pipeline.stages.base import Rejected
from pipeline.stages.clean.article import REJECT_EMPTY, REJECT_NO_INPUT, explain_clean_article, to_clean_article
from pipeline.stages.clean.extract import REJECT_NO_HTML_TEXT
from pipeline.stages.clean.rules import clean_text
from tests.conftest import SEEDS
from tests.stages.clean.samples import ARTICLE_HTML, P1, P2, P3, doc, item, paragraphs


OUTPUT_KEYS = {"url", "source", "site_name", "title", "text", "published_at", "published_precision",
               "fetched_at", "authors", "provenance"}


def test_text_item_to_article():
    text = doc("News", "Quake hits coastal city", P1, "Share on facebook", P2,
               "Rescue workers search the rubble, Tuesday, Oct. 17, 2023. (AP Photo/Jane Doe)", P3)
    src = item(text=text, url="https://www.Example.com/quake?utm_source=x#top", source="Example News",
               authors=["By Jane Doe", "Jane Doe"])
    before = copy.deepcopy(src)
    art = to_clean_article(src)
    assert src == before  # the input is not mutated
    assert set(art) == OUTPUT_KEYS
    assert art["url"] == "https://www.example.com/quake"
    assert art["source"] == "example.com"
    assert art["title"] == "Quake hits coastal city"  # headline-like first line of a text
    assert paragraphs(art["text"]) == [P1, P2, P3]
    assert art["published_at"] == "2023-10-17T00:00:00Z"  # found in the (removed) caption
    assert art["published_precision"] == "day"  # ...which states no time of day
    assert art["fetched_at"] is None
    assert art["authors"] == ["Jane Doe"]
    assert art["site_name"] == "Example News"  # the source the input named, kept as the site's name
    assert art["provenance"] == {
        "input_uri": "file:///in/a.txt", "offset": 0, "format": "txt",
        "clean": {"removed": {"edge_nav": 1, "photo_caption": 1, "share": 1, "title_line": 1}},
        "date_source": "text",
    }
    assert to_clean_article(src) == art  # deterministic


def test_item_title_and_metadata_win():
    art = to_clean_article(item(text=doc("Quake Hits Coastal City", P1, P2), title=" Quake hits  coastal city ",
                                published_at="Tue, 17 Oct 2023 10:00:00 -0400", source="Example News"))
    assert art["title"] == "Quake hits coastal city"
    assert paragraphs(art["text"]) == [P1, P2]
    assert art["provenance"]["clean"]["removed"] == {"title_line": 1}
    assert art["published_at"] == "2023-10-17T14:00:00Z"
    assert art["url"] is None and art["source"] == "example news"  # no URL: the item's source, lower-cased


def test_html_item_uses_extraction_and_item_metadata_wins():
    art = to_clean_article(item(format="html", html=ARTICLE_HTML, title="Item title wins",
                                authors=["Item Author"], url="https://news.example.co.uk/a?utm_medium=x"))
    assert art["title"] == "Item title wins"
    assert art["authors"] == ["Item Author"]
    assert art["url"] == "https://news.example.co.uk/a"
    assert art["source"] == "example.co.uk"
    assert art["published_at"] == "2023-10-17T06:30:00Z"  # from the page metadata
    assert paragraphs(art["text"]) == [P1, P2, P3]
    assert art["provenance"]["clean"]["removed"]["share"] == 1


def test_html_item_extracted_metadata_fills_gaps():
    art = to_clean_article(item(format="json", html=ARTICLE_HTML))
    assert art["title"] == "Quake hits coastal city"
    assert art["authors"] == ["Jane Doe", "John Roe"]
    assert art["url"] == "https://www.example.com/world/quake-hits-city"
    assert art["source"] == "example.com"
    assert art["provenance"]["clean"]["removed"].get("title_line") == 1
    assert paragraphs(art["text"]) == [P1, P2, P3]


def test_json_item_with_unusable_html_falls_back_to_text():
    art = to_clean_article(item(format="json", html="<html><body><nav>Home</nav></body></html>", text=doc(P1, P2)))
    assert paragraphs(art["text"]) == [P1, P2]


def test_unparseable_item_date_falls_back_to_text():
    art = to_clean_article(item(text=doc("Posted October 17, 2023", P1, P2), published_at="yesterday"))
    assert art["published_at"] == "2023-10-17T00:00:00Z"


@pytest.mark.parametrize("fields,reason", [
    ({"text": None, "html": None}, REJECT_NO_INPUT),
    ({"text": "   \n  "}, REJECT_NO_INPUT),
    ({"text": doc("Share on facebook", "Subscribe", "Read more")}, REJECT_EMPTY),
    ({"format": "html", "html": "<html><body><nav><a href='/'>Home</a></nav></body></html>"},
     "no article text found in HTML"),
    ({"format": "html", "html": "<html><body></body></html>"}, REJECT_NO_HTML_TEXT),
])
def test_rejects(fields, reason):
    with pytest.raises(Rejected) as err:
        to_clean_article(item(**fields))
    assert err.value.reason.startswith(reason)


def test_explain_clean_article_is_the_same_article_plus_removed_lines():
    src = item(text=doc("News", "Quake hits coastal city", P1, "Share on facebook", P2, P3))
    article, lines = explain_clean_article(src)
    assert article == to_clean_article(src)
    assert ("title_line", "Quake hits coastal city") in lines
    assert sorted(rule for rule, _ in lines) == sorted(
        rule for rule, n in article["provenance"]["clean"]["removed"].items() for _ in range(n))


@pytest.mark.parametrize("title", ["Quake hits coastal city - Example News", "Example News | Quake hits coastal city",
                                   "Quake hits coastal city | Example News"])
def test_title_line_with_a_site_name(title):
    art = to_clean_article(item(text=doc("Quake hits coastal city", P1, P2), title=title))
    assert paragraphs(art["text"]) == [P1, P2]
    assert art["provenance"]["clean"]["removed"] == {"title_line": 1}


@pytest.mark.skipif(not SEEDS.exists(), reason="shared seed corpus not available")
def test_seed_articles():
    def cleaned(prefix: str) -> dict:
        (path,) = SEEDS.glob(f"{prefix}_*.txt")
        return to_clean_article(item(text=path.read_text(encoding="utf-8"), input_uri=str(path)))

    a002 = cleaned("002")
    assert "Photo via AP" not in a002["text"] and "(AP Photo" not in a002["text"]
    assert a002["title"].startswith("Putin begins visit in China")
    assert a002["text"].startswith("TAIPEI, Taiwan (AP)")
    source_002 = next(SEEDS.glob("002_*.txt")).read_text(encoding="utf-8")
    gabuev = [line for line in source_002.splitlines() if "Gabuev" in line]
    assert len(gabuev) == 3 and all(line in paragraphs(a002["text"]) for line in gabuev)
    assert a002["published_at"] == "2023-10-17T00:00:00Z"
    assert a002["provenance"]["clean"]["removed"]["photo_caption"] >= 55

    a000 = cleaned("000")
    assert "Les mer" not in a000["text"] and "Similar News" not in a000["text"]
    assert "Norge Siste Nytt" not in a000["text"]
    assert len(paragraphs(a000["text"])) == 6
    assert a000["text"].endswith("more complicated,\" he added.")
    assert a000["published_at"] == "2023-10-17T00:00:00Z"

    a004 = cleaned("004")
    assert "Share on" not in a004["text"] and "Donate" not in a004["text"]
    assert a004["text"].startswith("BEIJING — Russian President Vladimir Putin concluded")
    assert "Don't Miss" not in a004["text"] and "intuitive" not in a004["text"]
    assert a004["provenance"]["clean"]["removed"]["share"] == 9

    for prefix in ("000", "001", "002", "003", "004"):
        text = cleaned(prefix)["text"]
        assert clean_text(text).text == text


def test_markup_without_words_is_rejected_as_such():
    from pipeline.stages.clean.article import REJECT_NO_WORDS

    item = {"format": "feed", "html": '<img src="http://x.example/a.jpg" /><table></table>',
            "input_uri": "f.xml", "offset": 1}
    with pytest.raises(Rejected) as info:
        to_clean_article(item)
    assert info.value.reason == REJECT_NO_WORDS


def test_feed_entry_html_keeps_its_paragraphs():
    item = {"format": "feed", "input_uri": "f.xml", "offset": 2, "title": "Bridge vote",
            "html": "<p>The council voted to build the bridge on Tuesday.</p><p>The mayor welcomed it.</p>"
                    "<script>track()</script>", "entry_id": "g1", "feed_url": "f.xml",
            "warnings": ["feed parser warning: x"]}
    article = to_clean_article(item)
    assert article["text"] == "The council voted to build the bridge on Tuesday.\n\nThe mayor welcomed it."
    assert article["provenance"]["entry_id"] == "g1" and article["provenance"]["warnings"] == ["feed parser warning: x"]


def test_date_source_and_site_name_from_metadata():
    art = to_clean_article(item(text=doc("Quake Hits Coastal City", P1, P2), published_at="2023-10-17",
                                source="example.com"))
    assert art["provenance"]["date_source"] == "metadata"
    assert art["site_name"] is None and art["source"] == "example.com"  # a domain is not a site name
    undated = to_clean_article(item(text=doc(P1, P2)))
    assert undated["published_at"] is None and undated["provenance"]["date_source"] is None


@pytest.mark.parametrize("fetched", [None, "2024-03-12T18:30:00Z"])
def test_a_future_publication_date_is_flagged_and_the_article_kept_undated(fetched):
    """One record dated 2099 must not put the article in a 2099 partition, nor fail the run's checks."""
    art = to_clean_article(item(text=doc(P1, "", P2, "", P3), published_at="2099-01-01T00:00:00Z", fetched_at=fetched))
    assert art["text"] and art["published_at"] is None and art["published_precision"] is None
    warning, = art["provenance"]["warnings"]
    assert "2099-01-01T00:00:00Z" in warning and "not kept" in warning
    assert (fetched or "the time of the run") in warning
