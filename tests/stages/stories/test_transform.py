"""Tests for pipeline.stages.stories.transform: AssignStories and DuplicateStories in Beam, the
features on the wire, bucket ownership, with_story."""
import apache_beam as beam
import pytest
from apache_beam.metrics import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.stories import transform as T
from pipeline.stages.stories.similarity import StoryFeatures, candidate_keys, cluster, story_features
from pipeline.stages.stories.transform import STAGE, AssignStories, DuplicateStories, StoryConfig, owned_by, with_story

OPTIONS = ["--runner=FnApiRunner"]


def test_with_story_repoints_a_duplicate():
    dup = {"id": "d", "duplicate_of": "m", "story_id": "m"}
    assert with_story(dup, "lead") == {"id": "d", "duplicate_of": "m", "story_id": "lead"}
    assert with_story(dup, None) is dup and with_story(dup, "m") is dup


def _counters(result) -> dict:
    found = result.metrics().query(MetricsFilter().with_namespace(STAGE))["counters"]
    return {c.key.metric.name: c.committed for c in found}


def test_assign_stories_beam(fixtures):
    articles = list(fixtures.values())
    expected = cluster(articles)
    p = beam.Pipeline(options=PipelineOptions(OPTIONS))
    out, story_of, _rejects = p | beam.Create(articles) | AssignStories()
    assert_that(out | "View" >> beam.Map(lambda a: (a["id"], a["story_id"], a["provenance"]["decisions"][-1])),
                equal_to([(i, s, f"story:{s}") for i, s in expected.items()]), label="articles")
    assert_that(story_of, equal_to(list(expected.items())), label="story_of")
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["stories"] == 8 and counters["multi_article_stories"] == 1
    assert counters["edges"] == 3 and counters["candidates"] >= 3
    assert counters.get("oversized_buckets", 0) == 0


def test_assign_stories_beam_counts_oversized_buckets_and_keeps_every_article(fixtures):
    articles = list(fixtures.values())
    p = beam.Pipeline(options=PipelineOptions(OPTIONS))
    out, _story_of, _rejects = p | beam.Create(articles) | AssignStories(
        StoryConfig(max_bucket=2, threshold=0.5, window_days=1.0))
    assert_that(out | beam.Map(lambda a: a["id"] == a["story_id"]), equal_to([True] * len(articles)))
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["oversized_buckets"] > 0 and counters["stories"] == len(articles)


def test_assign_stories_beam_single_article_and_bad_options(fixtures):
    with pytest.raises(ValueError):
        StoryConfig(threshold=0)
    with pytest.raises(ValueError):
        StoryConfig(window_days=-1)
    with beam.Pipeline(options=PipelineOptions(OPTIONS)) as p:
        out, story_of, _rejects = p | beam.Create([fixtures["fire"]]) | AssignStories()
        assert_that(out | beam.Map(lambda a: a["story_id"]), equal_to([fixtures["fire"]["id"]]), label="one")
        assert_that(story_of, equal_to([(fixtures["fire"]["id"],) * 2]), label="pairs")


def test_duplicate_stories_beam():
    duplicates = [{"id": "d1", "duplicate_of": "m", "story_id": "m"},
                  {"id": "d2", "duplicate_of": "lead", "story_id": "lead"},
                  {"id": "d3", "duplicate_of": "gone", "story_id": "gone"}]
    with beam.Pipeline(options=PipelineOptions(OPTIONS)) as p:
        dups = p | "Dups" >> beam.Create(duplicates)
        story_of = p | "StoryOf" >> beam.Create([("m", "lead"), ("lead", "lead"), ("x", "x")])
        out = (dups, story_of) | DuplicateStories()
        assert_that(out | beam.Map(lambda d: (d["id"], d["story_id"])),
                    equal_to([("d1", "lead"), ("d2", "lead"), ("d3", "gone")]))


def test_features_survive_the_wire_exactly(fixtures):
    for article in fixtures.values():
        f = story_features(article)
        keys = candidate_keys(f)
        wire = T._to_wire(article["id"], f, keys)
        assert T._from_wire(wire) == f and list(T._from_wire(wire).terms) == list(f.terms)
        assert wire[1] == tuple(keys)
    empty = StoryFeatures((0, "", "", "", 0), {}, {}, None)
    assert T._from_wire(T._to_wire("x", empty, [])) == empty


def test_each_candidate_pair_is_owned_by_one_bucket():
    shared = frozenset({"t:ferry", "t:harbour", "t:oslo"})
    assert [k for k in sorted(shared) if owned_by(k, shared, 2)] == ["t:ferry"]
    assert not any(owned_by(k, frozenset({"t:ferry"}), 2) for k in ("t:ferry", "t:oslo"))
