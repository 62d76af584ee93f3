"""Tests for pipeline.stages.stories.similarity: the time window, scores, candidates and
clustering, on the fixtures and on the seeds."""
import random

import pytest

from pipeline.stages.dedup.canonical import canonical_rank
from pipeline.stages.identify import identify
from pipeline.stages.stories.similarity import (
    DEFAULT_THRESHOLD,
    TOP_TERMS,
    StoryEdge,
    bucket_pairs,
    candidate_keys,
    cluster,
    date_trusted,
    resolve_stories,
    story_features,
    story_similarity,
    verify_pair,
    within_window,
)
from tests.conftest import SEEDS
from tests.stages.stories.samples import BRIDGE_STORY, make


def test_time_window_blocks_only_dates_from_metadata():
    assert within_window(None, 10.0, 3.0) and within_window(1.0, 4.0, 3.0)
    assert not within_window(1.0, 4.5, 3.0)
    assert date_trusted({"provenance": {"format": "jsonl"}}) and date_trusted({"provenance": {"format": "html"}})
    assert not date_trusted({"provenance": {"format": "txt"}})  # a date found in the text of a page
    assert not date_trusted({"provenance": {"format": "html", "date_source": "text"}})
    assert date_trusted({"provenance": {"format": "txt", "date_source": "metadata"}})

    a, b = make("bridge", "2024-03-12T08:00:00Z"), make("bridge_paraphrase", "2024-03-22T08:00:00Z")
    assert verify_pair(a["id"], story_features(a), b["id"], story_features(b)) is None  # 10 days apart
    assert verify_pair(a["id"], story_features(a), b["id"], story_features(b), window_days=14) is not None
    near = make("bridge_paraphrase", "2024-03-13T20:00:00Z")
    assert verify_pair(a["id"], story_features(a), near["id"], story_features(near)) is not None
    undated = make("bridge_paraphrase")
    assert verify_pair(a["id"], story_features(a), undated["id"], story_features(undated)) is not None
    # the same dates found in plain-text pages do not block
    a_txt = make("bridge", "2024-03-12T08:00:00Z", "txt")
    b_txt = make("bridge_paraphrase", "2025-03-22T08:00:00Z", "txt")
    assert verify_pair(a_txt["id"], story_features(a_txt), b_txt["id"], story_features(b_txt)) is not None


def test_scores_keep_a_margin_around_the_threshold(fixtures):
    feats = {name: story_features(a) for name, a in fixtures.items()}
    names = sorted(feats)
    same = [story_similarity(feats[a], feats[b]).score
            for i, a in enumerate(names) for b in names[i + 1:] if a in BRIDGE_STORY and b in BRIDGE_STORY]
    different = [story_similarity(feats[a], feats[b]).score
                 for i, a in enumerate(names) for b in names[i + 1:]
                 if not (a in BRIDGE_STORY and b in BRIDGE_STORY)]
    assert len(same) == 3 and len(different) == 42
    assert min(same) >= DEFAULT_THRESHOLD + 0.1
    assert max(different) <= DEFAULT_THRESHOLD - 0.05
    # symmetric
    assert story_similarity(feats["bridge"], feats["fire"]) == story_similarity(feats["fire"], feats["bridge"])


def test_same_entities_different_events_get_different_stories(fixtures):
    story = cluster(fixtures.values())
    events = [fixtures[n]["id"] for n in ("bridge", "library", "fire", "strike", "forum", "moscow", "call", "drills")]
    assert len({story[i] for i in events}) == len(events)


def test_rewrites_of_one_event_share_the_story_of_its_canonical_member(fixtures):
    story = cluster(fixtures.values())
    members = [fixtures[n] for n in BRIDGE_STORY]
    canonical = min(members, key=canonical_rank)
    assert canonical["id"] == fixtures["bridge"]["id"]  # the most complete copy
    assert {story[a["id"]] for a in members} == {canonical["id"]}
    assert sum(1 for i, s in story.items() if s != i) == 2  # nothing else was merged


def test_clustering_does_not_depend_on_input_order(fixtures):
    articles = list(fixtures.values())
    expected = cluster(articles)
    rnd = random.Random(11)
    for _ in range(5):
        rnd.shuffle(articles)
        assert cluster(articles) == expected

    edges = [StoryEdge((1,), "a", None, (2,), "b", None, 0.6), StoryEdge((1,), "a", None, (3,), "c", None, 0.5),
             StoryEdge((2,), "b", None, (3,), "c", None, 0.9), StoryEdge((4,), "d", None, (5,), "e", None, 0.7)]
    resolved = resolve_stories(edges)
    for _ in range(10):
        rnd.shuffle(edges)
        assert resolve_stories(edges) == resolved
    assert resolved == {"a": ("a", 1.0), "b": ("a", 0.6), "c": ("a", 0.5), "d": ("d", 1.0), "e": ("d", 0.7)}


def test_a_chain_of_same_topic_pairs_does_not_glue_stories():
    # a~b and b~c, but c is not close to a: c does not join a's story through b
    edges = [StoryEdge((1,), "a", None, (2,), "b", None, 0.7), StoryEdge((2,), "b", None, (3,), "c", None, 0.7)]
    assert resolve_stories(edges) == {"a": ("a", 1.0), "b": ("a", 0.7)}
    # and c joins the most similar leader when it has a choice
    edges += [StoryEdge((0,), "z", None, (3,), "c", None, 0.5), StoryEdge((1,), "a", None, (3,), "c", None, 0.6)]
    assert resolve_stories(edges)["c"] == ("a", 0.6)


def test_a_story_never_spans_more_than_the_window():
    # an undated leader close to two dated articles ten days apart: only the first joins it
    edges = [StoryEdge((1,), "lead", None, (2,), "early", 100.0, 0.8),
             StoryEdge((1,), "lead", None, (3,), "late", 110.0, 0.7)]
    assert resolve_stories(edges, window_days=3.0) == {"lead": ("lead", 1.0), "early": ("lead", 0.8)}
    assert resolve_stories(edges, window_days=30.0)["late"] == ("lead", 0.7)


def test_candidates_come_from_rare_terms_and_oversized_buckets_are_dropped(fixtures):
    keys = candidate_keys(story_features(fixtures["bridge"]))
    assert len(keys) == TOP_TERMS and all(k.startswith("t:") for k in keys)
    assert "t:halvorsen" in keys and "t:said" not in keys and "t:the" not in keys
    assert bucket_pairs(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert bucket_pairs(["a", "b", "c"], max_bucket=2) == []
    assert bucket_pairs(["a"]) == []
    # with every bucket over the cap nothing is compared, so nothing is merged
    story = cluster(fixtures.values(), max_bucket=2)
    assert all(s == i for i, s in story.items())


def _seed_articles() -> dict:
    """The seeds through clean -> language -> identify -> entities, in plain Python."""
    from pipeline.io.sources import read_file
    from pipeline.stages.clean import to_clean_article
    from pipeline.stages.entities import EntityExtractor, ModelNotInstalled, summarise
    from pipeline.stages.language import add_language

    try:
        extractor = EntityExtractor()
        extractor.nlp
    except ModelNotInstalled as exc:  # pragma: no cover - the model is a project dependency
        pytest.skip(str(exc))
    out = {}
    for path in sorted(SEEDS.glob("*.txt")):
        for item in read_file(str(path), path.read_bytes()):
            article = identify(add_language(to_clean_article(item)))
            article["entities"] = summarise(extractor.extract(article["text"]))
            out[path.name[:3]] = article
    return out


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/corpus/seeds not present")
def test_seeds_story_grouping():
    seeds = _seed_articles()
    assert sorted(seeds) == ["000", "001", "002", "003", "004"]
    # dates as the seeds carry them: found in the text (000, 002: the story's date; 003: its
    # scrape date), so they do not block; 001 and 004 have none
    assert seeds["003"]["published_at"].startswith("2024-11-22") and not date_trusted(seeds["003"])

    # what reaches the stage: dedup keeps 002 and drops the excerpt 000
    canonical = [seeds[k] for k in ("001", "002", "003", "004")]
    story = cluster(canonical)
    assert story[seeds["001"]["id"]] == story[seeds["002"]["id"]] == story[seeds["003"]["id"]]
    assert story[seeds["002"]["id"]] == seeds["002"]["id"]  # the full wire story is canonical
    assert story[seeds["004"]["id"]] == seeds["004"]["id"]

    # the threshold has a margin on both sides
    feats = {k: story_features(a) for k, a in seeds.items()}
    same = [story_similarity(feats[a], feats[b]).score for a, b in (("001", "002"), ("001", "003"), ("002", "003"))]
    other = [story_similarity(feats["004"], feats[k]).score for k in ("000", "001", "002", "003")]
    assert min(same) >= DEFAULT_THRESHOLD + 0.05, same
    assert max(other) <= DEFAULT_THRESHOLD - 0.1, other

    # the excerpt, if it ever got here, would not pull 004 in either
    story = cluster(seeds.values())
    assert story[seeds["004"]["id"]] == seeds["004"]["id"]
    assert len({story[seeds[k]["id"]] for k in ("001", "002", "003")}) == 1
