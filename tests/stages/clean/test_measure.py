"""Words in every script: pipeline.stages.clean.measure and the rules, stages and record field
that use it, on the multilingual pages of tests/stages/clean/multilingual.py."""
import unicodedata

import pytest

from pipeline.stages.clean import clean_text, to_clean_article
from pipeline.stages.clean.measure import (
    CJK_CHARS_PER_WORD,
    SEA_CHARS_PER_WORD,
    count_words,
    has_spaceless,
)
from pipeline.stages.identify import identify
from pipeline.stages.language import detect_language
from pipeline.stages.sitelines import MAX_WORDS, line_key, votes
from tests.stages.clean.multilingual import STORIES, pages, truth

JA = next(s for s in STORIES if s.lang == "ja")
ZH = next(s for s in STORIES if s.lang == "zh")
TH = next(s for s in STORIES if s.lang == "th")


@pytest.mark.parametrize("text, n", [
    ("", 0),
    ("The council voted on Tuesday.", 5),
    ("Don't stop — the U.S. e-mail | costs $10,000 •", 7),  # "—", "|", "•" are not words
    ("Москва — столица России", 3),
    ("İstanbul'da yeni köprü trafiğe açıldı", 5),
    ("افتتاح أكبر محطة للطاقة", 4),
    ("हिन्दी भाषा", 2),  # vowel signs do not split a word
    ("東京都", 1),  # 3 characters // 2 per word
    ("東京都庁", 2),
    ("東京でiPhoneを発売", 3),  # 東京で (1) + iPhone (1) + を発売 (1)
    ("대통령은 오늘 발표했다", 3),  # Korean: one word per eojeol
    ("대통령은오늘발표했다", 2),  # ...and one per 4 syllables without spaces
    ("สวัสดีครับ", 2),  # 10 code points // 4 per word
])
def test_count_words(text, n):
    assert count_words(text) == n


def test_cjk_articles_measure_like_their_length():
    ja = truth(JA)
    assert len(ja.split()) < 10  # what a whitespace count sees: a few "words"
    assert count_words(ja) == pytest.approx(len(ja.replace("\n", "")) / CJK_CHARS_PER_WORD, rel=0.1)
    th = "".join(TH.paragraphs)
    assert count_words(th) == pytest.approx(len(th.replace(" ", "")) / SEA_CHARS_PER_WORD, rel=0.1)
    assert has_spaceless(ja) and has_spaceless(th) and not has_spaceless("Москва — столица")


@pytest.mark.parametrize("page_id, story, template, html", list(pages()), ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_every_multilingual_page_is_an_article_without_its_navigation(page_id, story, template, html):
    article = to_clean_article({"html": html, "format": "html", "input_uri": page_id})
    text = unicodedata.normalize("NFKC", article["text"])
    for paragraph in story.paragraphs:  # (ftfy makes full-width punctuation half-width)
        assert unicodedata.normalize("NFKC", paragraph) in text
    text_lines = article["text"].split("\n\n")
    for item in (story.nav[0], *story.footer[:2]):
        assert item not in text_lines
    assert article["title"] == story.title


def test_edge_nav_still_drops_short_cjk_navigation_lines():
    lines = [*JA.nav[:1], *JA.paragraphs, *JA.footer]
    out = clean_text("\n".join(lines))
    assert out.text.split("\n\n") == list(JA.paragraphs)
    assert out.removed == {"edge_nav": 4}
    # a short Chinese line that ends a sentence is kept (it is text, not a menu)
    out = clean_text("\n".join([*ZH.paragraphs, "记者王小明报道。"]))
    assert out.text.split("\n\n")[-1] == "记者王小明报道。"


def test_record_word_count_and_language_in_scripts_without_spaces():
    article = identify({"text": truth(JA), "provenance": {}})
    assert article["word_count"] == count_words(truth(JA)) > 100
    assert identify({"text": "Don't stop — now.", "provenance": {}})["word_count"] == 3
    assert detect_language(truth(JA))[0] == "ja"
    assert detect_language(truth(ZH))[0] == "zh"


def test_site_lines_never_count_a_long_cjk_paragraph_as_chrome():
    article = {"source": "example.jp", "title": JA.title, "text": truth(JA)}
    # paragraphs of more than MAX_WORDS word equivalents are never candidates (as \w+ runs,
    # every one of these paragraphs was a handful of "words", so every one was)
    long = [p for p in JA.paragraphs if count_words(p) > MAX_WORDS]
    assert long and all(len(p.split("、")) < MAX_WORDS for p in long)
    counted = {key for (_, key), _ in votes(article)}
    assert counted == {line_key(p) for p in JA.paragraphs if p not in long}
    short = dict(article, text="\n\n".join([*JA.nav, *JA.paragraphs]))
    assert len(list(votes(short))) == len(JA.nav) + len(counted)


@pytest.mark.parametrize("story", STORIES, ids=lambda s: s.lang)
def test_multilingual_pages_keep_the_time_and_offset_they_state(story):
    for template in ("semantic", "divs"):
        from tests.stages.clean.multilingual import page
        article = to_clean_article({"html": page(story, template), "format": "html"})
        assert (article["published_at"], article["published_precision"]) == (story.published_utc, "second")
