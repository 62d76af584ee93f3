"""Tests for pipeline.stages.entities.extract: EntityExtractor and split_spans."""
from __future__ import annotations

import pytest

from pipeline.stages.entities.extract import DEFAULT_LABELS, NUMERIC_LABELS, EntityExtractor, split_spans
from tests.stages.entities.samples import PARAGRAPH, SECOND


def by_text(mentions, text):
    return [m for m in mentions if m["text"] == text]


def test_paragraph_mentions(extractor):
    mentions = extractor.extract(PARAGRAPH)
    for m in mentions:
        assert PARAGRAPH[m["start"]:m["end"]] == m["text"]
        assert m["label"] in DEFAULT_LABELS
    assert set(m.keys()) == {"start", "end", "text", "label", "canonical", "country_code"}

    full, bare = by_text(mentions, "Vladimir Putin"), by_text(mentions, "Putin")
    assert [(m["start"], m["label"], m["canonical"]) for m in full] == [(18, "PERSON", "Vladimir Putin")]
    assert [(m["label"], m["canonical"]) for m in bare] == [("PERSON", "Vladimir Putin")]
    assert bare[0]["start"] == PARAGRAPH.index("Putin met")

    xi = by_text(mentions, "Xi")  # "Xi’s": spaCy's span is "Xi", the possessive is its own token
    assert [(m["start"], m["canonical"], m["label"]) for m in xi] == [
        (PARAGRAPH.index("Xi\u2019s"), "Xi Jinping", "PERSON")]

    gabuev = by_text(mentions, "Gabuev")
    assert [(m["start"], m["canonical"], m["label"]) for m in gabuev] == [
        (PARAGRAPH.index("Gabuev told"), "Alexander Gabuev", "PERSON")]

    beijing = by_text(mentions, "Beijing")
    assert [(m["start"], m["label"]) for m in beijing] == [
        (PARAGRAPH.index("Beijing on"), "GPE"), (PARAGRAPH.index("Beijing more"), "GPE")]

    carnegie = [m for m in mentions if "Carnegie" in m["text"]]
    assert [(m["label"], m["canonical"]) for m in carnegie] == [("ORG", "Carnegie Russia Eurasia Center")]
    ap = by_text(mentions, "Associated Press")  # the span is the name, without "The"
    assert [(m["label"], m["canonical"], PARAGRAPH[m["start"] - 4:m["start"]]) for m in ap] == [
        ("ORG", "Associated Press", "The ")]
    assert [(m["text"], m["country_code"]) for m in by_text(mentions, "Beijing")] == [("Beijing", "CN")] * 2
    assert [m["country_code"] for m in by_text(mentions, "Vladimir Putin")] == [None]

    assert not [m for m in mentions if m["label"] in NUMERIC_LABELS]  # "Tuesday", "two-day"


def test_labels_none_keeps_numeric_labels():
    ex = EntityExtractor(labels=None)
    labels = {m["label"] for m in ex.extract(PARAGRAPH)}
    assert "DATE" in labels and "PERSON" in labels


def test_second_paragraph_kirby_and_harbin(extractor):
    mentions = extractor.extract(SECOND)
    kirby = [(m["text"], m["canonical"], m["label"]) for m in mentions if "Kirby" in m["text"]]
    assert kirby == [("John Kirby", "John Kirby", "PERSON"), ("Kirby", "John Kirby", "PERSON")]
    assert ("Harbin", "GPE") in {(m["text"], m["label"]) for m in mentions}
    # no full name in this article: the bare surname stays as it is (resolution is per article)
    assert [(m["canonical"], m["label"]) for m in by_text(mentions, "Putin")] == [("Putin", "PERSON")]


def test_empty_and_whitespace_texts(extractor):
    assert extractor.extract_many(["", "   \n\n  ", PARAGRAPH[:32]])[:2] == [[], []]


def test_non_string_text_raises(extractor):
    with pytest.raises(TypeError, match="text must be str"):
        extractor.extract(42)


def test_batch_and_single_give_the_same_mentions(extractor):
    texts = [PARAGRAPH, SECOND, "Angela Merkel visited Paris.", PARAGRAPH.upper(), SECOND + "\n\n" + PARAGRAPH]
    singles = [extractor.extract(t) for t in texts]
    assert extractor.extract_many(texts, batch_size=32) == singles
    assert extractor.extract_many(texts, batch_size=2) == singles
    assert extractor.extract_many(texts[::-1], batch_size=3)[::-1] == singles


def test_split_spans_cover_text_and_prefer_paragraphs():
    paras = ["First paragraph about Berlin.", "Second one, a bit longer, about Paris and Rome.", "Third."]
    text = "\n\n".join(paras)
    spans = split_spans(text, 50)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(e - s <= 50 for s, e in spans)
    assert [text[s:e] for s, e in spans] == [paras[0] + "\n\n", paras[1] + "\n\n", paras[2]]
    assert [text[s:e] for s, e in split_spans(text, 60)] == [paras[0] + "\n\n", paras[1] + "\n\n" + paras[2]]
    assert split_spans(text, 10_000) == [(0, len(text))]
    nospace = "x" * 25
    assert split_spans(nospace, 10) == [(0, 10), (10, 20), (20, 25)]
    words = "alpha beta gamma delta"
    assert [words[s:e] for s, e in split_spans(words, 12)] == ["alpha beta ", "gamma delta"]


def test_text_longer_than_max_length(extractor, monkeypatch):
    monkeypatch.setattr(extractor.nlp, "max_length", 2_000)
    text = "\n\n".join([PARAGRAPH] * 12)  # ~8,800 chars > max_length
    assert len(text) > extractor.nlp.max_length
    with pytest.raises(ValueError):  # what the chunking avoids
        extractor.nlp(text)
    mentions = extractor.extract(text)
    single = extractor.extract(PARAGRAPH)
    assert len(mentions) == 12 * len(single)
    for m in mentions:
        assert text[m["start"]:m["end"]] == m["text"]
    step = len(PARAGRAPH) + 2
    shifted = [{**m, "start": m["start"] + 11 * step, "end": m["end"] + 11 * step} for m in single]
    assert mentions[-len(single):] == shifted


def test_chunk_chars_bounds_chunks(monkeypatch):
    ex = EntityExtractor(chunk_chars=500)
    seen = []
    real_pipe = ex.nlp.pipe

    def spy(texts, **kw):
        texts = list(texts)
        seen.extend(len(t) for t in texts)
        return real_pipe(texts, **kw)

    monkeypatch.setattr(ex.nlp, "pipe", spy)
    text = "\n\n".join([SECOND] * 10)
    mentions = ex.extract(text)
    assert max(seen) <= 500 and len(seen) > 1
    assert all(text[m["start"]:m["end"]] == m["text"] for m in mentions)
