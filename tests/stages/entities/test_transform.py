"""Tests for pipeline.stages.entities.transform: summaries and rows, ExtractFn, the ExtractEntities
Beam transform, and the entities dataset a run writes for the seeds."""
from __future__ import annotations

import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.entities.extract import DEFAULT_LABELS
from pipeline.stages.entities.model import FALLBACK_MODEL, ModelNotInstalled
from pipeline.stages.entities.resolve import resolve_document
from pipeline.stages.entities.transform import EntityConfig, ExtractEntities, ExtractFn, entity_rows, summarise
from tests.conftest import SEEDS, needs_seeds
from tests.stages.entities.samples import PARAGRAPH, SECOND, M


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


def run_fn(batch, **kw):
    fn = ExtractFn(FALLBACK_MODEL, kw.get("languages", ("en",)), 32, DEFAULT_LABELS)
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
    # German: no model, so the places the gazetteers confirm (issue 22)
    expected += [("c", (("Paris", "GPE", 1),), "fallback:", 1), ("d", (), None, 0), ("e", (), "failed:", 0)]

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
    n_mentions = sum(len(extractor.extract(a["text"])) for a in articles[:2]) + 1  # + Paris (fallback)
    assert counters["articles"] == 5
    assert counters["mentions"] == n_mentions
    assert counters["fallback_language"] == 1
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
                equal_to([("a0", True), ("a1", True), ("a2", True), ("a3", True), ("a4", True)]),  # a2: fallback
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


@needs_seeds
def test_seeds_entities_dataset(tmp_path):
    """Issue 6, acceptance 1, on what `newsbeam run` writes for the five seed copies."""
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", f"{SEEDS}/*.txt",
                             "--output", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    from tests.conftest import table_rows

    rows = table_rows(out, "entities")
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


def test_fn_reads_at_most_max_ner_chars_and_says_so():
    """--max-ner-chars (issue 23): NER reads the first paragraphs up to the limit; the article keeps
    its whole text, the rest unannotated, and provenance.entities says how much was read."""
    from pipeline.stages.entities.transform import ner_cut

    text = PARAGRAPH + "\n\n" + SECOND
    fn = ExtractFn(FALLBACK_MODEL, ("en",), 32, DEFAULT_LABELS, max_chars=len(PARAGRAPH) + 10)
    fn.setup()
    [cut, whole] = fn._extract_batch([{"id": "long", "lang": "en", "text": text},
                                      {"id": "short", "lang": "en", "text": PARAGRAPH}])
    assert cut["text"] == text  # the article is not shortened
    assert max(m["end"] for m in cut["mentions"]) <= len(PARAGRAPH)
    assert "John Kirby" not in {e["canonical"] for e in cut["entities"]}
    assert cut["provenance"]["entities"] == (
        f"partial: named entities of the first {len(PARAGRAPH) + 2:,} of {len(text):,} characters only "
        f"(over --max-ner-chars {len(PARAGRAPH) + 10:,}); the rest of the text is not annotated; "
        "raise the limit to annotate it")
    assert cut["mentions"] == whole["mentions"] and whole["provenance"]["entities"] is None
    assert ner_cut(text, 0) == (text, None) and ner_cut(12345, 10) == (12345, None)
    # the default is generous: a long feature (30,000 words) is read whole
    from pipeline.limits import MAX_NER_CHARS

    assert MAX_NER_CHARS >= 150_000
