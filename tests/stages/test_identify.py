"""Tests for pipeline.stages.identify: normalisation, content hash, word count, id and partition."""
import random
import re
import unicodedata

import pytest

from pipeline.records import NULL_PARTITION
from pipeline.stages.base import Rejected
from pipeline.stages.identify import (
    ASSIGNED_END,
    PLANE_14,
    article_id,
    content_hash,
    identify,
    normalise_for_hash,
    word_count,
)
from tests.stages.dedup.samples import article


_W = re.compile(r"\w+")


def reference_normalise(text: str) -> str:
    return " ".join(_W.findall(unicodedata.normalize("NFKC", text).casefold()))


def test_content_hash_ignores_case_punctuation_and_layout():
    assert content_hash("Hello, World!\n\nIt’s here.") == content_hash("hello world  it s here")
    assert content_hash("Hello world") != content_hash("Hello there world")


@pytest.mark.parametrize("text", [
    "", " ,. ", "plain ascii words", "Straße ǅemal İstanbul ΣΑΣ", "ﬁne ½ Ⅻ ① ｆｕｌｌ",
    "caf\u00e9 cafe\u0301", "non\u00a0breaking\u2026ellipsis", "한국어 \u1100\u1161\u11a8 ㅏ ᄀㅏ",
    "e\u0345 \u0345", "𝐁𝐨𝐥𝐝 math 𝟙𝟚", "日本語のテキスト、句読点。", "tab\tand\nnewline",
    "emoji 🎉 and 𠀀 astral", "lone \ud800 surrogate",
])
def test_fast_normalisation_and_word_count_match_the_regex_definitions(text):
    assert normalise_for_hash(text) == reference_normalise(text)
    assert word_count(text) == len(_W.findall(text))


def test_fast_normalisation_matches_on_random_unicode():
    rnd = random.Random(7)
    ranges = [(0x20, 0x7F), (0xA0, 0x250), (0x300, 0x370), (0x370, 0x530), (0x1100, 0x1200),
              (0x2000, 0x2C00), (0x3000, 0x3400), (0xAC00, 0xAD00), (0xF900, 0x10000),
              (0x1D400, 0x1D800), (0x20000, 0x20100), (0xE0000, 0xE0200), (0, 0x32400)]
    for _ in range(20000):
        s = "".join(chr(rnd.randrange(*rnd.choice(ranges))) if rnd.random() < 0.6 else rnd.choice(" abXY.,")
                    for _ in range(rnd.randint(0, 12)))
        if any(0xD800 <= ord(c) < 0xE000 for c in s):
            continue
        assert normalise_for_hash(s) == reference_normalise(s), ascii(s)
        assert word_count(s) == len(_W.findall(s)), ascii(s)


def test_code_points_the_table_skips_have_nothing_to_map():
    # identify._build_fold_table only looks at code points below ASSIGNED_END and in plane 14
    rest = "".join(chr(c) for c in range(ASSIGNED_END, 0x110000) if c not in PLANE_14)
    assert not _W.search(rest)
    assert unicodedata.normalize("NFKC", rest) == rest and rest.casefold() == rest


def test_id_prefers_url_and_is_stable():
    assert article_id("https://a.example/x", "one") == article_id("https://a.example/x", "two")
    assert article_id(None, "Same text.") == article_id(None, "same   TEXT")
    assert len(article_id(None, "x")) == 16


def test_identify_sets_contract_fields_and_partition():
    a = article("Three little words here", published_at="2023-10-17T08:00:00Z")
    assert a["word_count"] == 4 and a["dt"] == "2023-10-17" and a["story_id"] == a["id"]
    assert a["provenance"]["decisions"] == [] and a["schema_version"] == "2.1.0"
    assert a["content_hash"] == content_hash("three little words here")
    assert article("No date here")["dt"] == NULL_PARTITION


def test_identify_rejects_text_without_words():
    with pytest.raises(Rejected, match="no words"):
        identify({"text": " — … ", "provenance": {}})


# --------------------------------------------------------------------------- what the reader decided

def _through_clean(item: dict) -> dict:
    """An item through the clean stage and the fields it carries onto the article (the clean stage's
    hook: ``{**to_clean_article(item), **carried_fields(item)}``), then identify."""
    from pipeline.records import carried_fields
    from pipeline.stages.clean import to_clean_article

    cleaned = {**to_clean_article(item), **carried_fields(item), "lang": "en"}
    cleaned["provenance"] = dict(cleaned["provenance"], lang_confidence=0.99)
    return identify(cleaned)


def test_text_kind_defaults_to_full_and_keeps_what_the_reader_said():
    assert identify(article("Some words here for a text."))["text_kind"] == "full"
    assert identify(dict(article("Some words here."), text_kind="summary"))["text_kind"] == "summary"
    assert identify(dict(article("Some words here."), text_kind="bogus"))["text_kind"] == "full"


def test_a_feed_description_is_a_summary_its_content_encoded_a_full_text():
    from pipeline.io.feeds import parse_feed
    from pipeline.schemas import validator

    feed = (b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            b'<title>t</title><item><title>Teaser</title><link>https://ex.com/a</link>'
            b'<description>Officials met on Monday to discuss the budget for next year.</description></item>'
            b'<item><title>Full</title><link>https://ex.com/b</link><description>Short.</description>'
            b'<content:encoded><![CDATA[<p>Officials met on Monday to discuss the budget.</p>'
            b'<p>They agreed on most points.</p>]]></content:encoded></item></channel></rss>')
    teaser, full = (_through_clean(item) for item in parse_feed(feed, "f.rss"))
    assert (teaser["text_kind"], full["text_kind"]) == ("summary", "full")
    for row in (teaser, full):
        row = {k: v for k, v in row.items() if k not in ("dt", "mentions")} | {"mentions": []}
        assert list(validator("articles").iter_errors(row)) == []


def test_a_short_feed_item_takes_the_language_its_feed_declares():
    from pipeline.io.feeds import parse_feed
    from pipeline.stages.language import add_language

    feed = (b'<rss version="2.0"><channel><title>t</title><language>en-gb</language>'
            b'<item><title>Storm</title><link>https://ex.com/s</link><description>Storm hits coast</description></item>'
            b'<item><title>Vote</title><link>https://ex.com/v</link><description>Der Stadtrat hat am Dienstag '
            b'den Bau der neuen Br\xc3\xbccke beschlossen, teilte die Stadt mit.</description></item>'
            b'</channel></rss>')
    from pipeline.records import carried_fields
    from pipeline.stages.clean import to_clean_article

    short, german = (identify(add_language({**to_clean_article(item), **carried_fields(item)}))
                     for item in parse_feed(feed, "f.rss"))
    # three words: detection says "und"; the feed's <language> decides, and provenance says so
    assert short["lang"] == "en"
    assert (short["provenance"]["lang_source"], short["provenance"]["declared_lang"]) == ("declared", "en")
    # a text long enough to detect keeps its own language even in a feed that declares another
    assert german["lang"] == "de"
    assert (german["provenance"]["lang_source"], german["provenance"]["declared_lang"]) == ("detected", "en")
    assert "declared_lang" not in short and "declared_lang" not in german
    from pipeline.schemas import validator

    for row in (short, german):
        row = {k: v for k, v in row.items() if k != "dt"}
        assert list(validator("articles").iter_errors(row)) == []


def test_without_a_declared_language_provenance_is_as_before():
    out = identify(dict(article("Short."), lang="und"))
    assert out["lang"] == "und"
    assert "lang_source" not in out["provenance"] and "declared_lang" not in out["provenance"]
