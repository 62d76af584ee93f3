"""Tests for pipeline.stages.dedup.near: pairs, candidates, decisions, resolution, dedup_in_memory,
and the NearDedup transform (after ExactDedup)."""
import random

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.dedup.exact import ExactDedup
from pipeline.stages.dedup.hashing import make_sketch, shingle_hash_array, shingle_hashes
from pipeline.stages.dedup.near import (
    Edge,
    NearDedup,
    candidate_pairs,
    classify_pair,
    dedup_in_memory,
    near_decisions,
    near_features,
    pair_codes,
    resolve_edges,
)
from pipeline.stages.dedup.overlap import similarity, sketch_similarity
from pipeline.stages.identify import article_id
from tests.stages.dedup.samples import OPTIONS, article, edited, story


def test_a_few_words_inside_a_long_article_are_not_an_excerpt():
    full = story(15, 600)
    caption = " ".join(full.split()[100:112])
    sim = sketch_similarity(make_sketch(shingle_hash_array(caption)), make_sketch(shingle_hash_array(full)))
    assert sim.sample_a < 10
    assert classify_pair((-12,), "c", (-600,), "f", sim, 0.3, 0.8) is None
    exact = similarity(shingle_hashes(caption), shingle_hashes(full))
    assert exact.containment_a == 1.0 and classify_pair((-12,), "c", (-600,), "f", exact, 0.3, 0.8) is None


def test_short_excerpts_of_a_long_article_are_candidates_by_sample_keys_alone():
    """250-word passages of a 1,200-word article (Jaccard 0.2): with LSH bands and anchors off,
    the consecutive-sample keys alone make every passage a candidate, wherever it sits; the
    whole stage then calls each one an excerpt."""
    full = story(17, 1200)
    words = full.split()
    a = article(full, url="https://wire.example/long")
    for start in range(0, 950, 125):
        b = article(" ".join(words[start:start + 250]), url=f"https://blog.example/{start}")
        only_samples = [near_features(x, bands=0, anchors=0) for x in (a, b)]
        assert candidate_pairs(only_samples) == [tuple(sorted((a["id"], b["id"])))]
        kept, dups = dedup_in_memory([b, a])
        assert [(d["id"], d["duplicate_of"], d["kind"]) for d in dups] == [(b["id"], a["id"], "excerpt")]


def test_pair_codes_are_unique_sorted_and_skip_oversized_buckets():
    import numpy as np
    keys = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4], dtype=np.uint64)
    ids = np.array([30, 10, 20, 10, 20, 10, 5, 6, 7, 8], dtype=np.uint64)
    pairs, oversized = pair_codes(keys, ids, max_bucket=3)
    assert pairs.tolist() == [[10, 20], [10, 30], [20, 30]] and oversized == 1


def test_unrelated_articles_are_not_paired():
    sim = similarity(shingle_hashes(story(1)), shingle_hashes(story(2)))
    assert classify_pair((0,), "a", (1,), "b", sim, 0.3, 0.8) is None


def _family(seed: int):
    base = story(seed, 400)
    originals = {"original": article(base, url=f"https://wire.example/{seed}", published_at="2024-01-01T00:00:00Z")}
    for k in (1, 3, 5, 8, 10):
        originals[f"edit_{k}"] = article(edited(base, k / 100, seed + k), url=f"https://e{k}.example/{seed}",
                                         published_at="2024-01-02T00:00:00Z")
    words = base.split()
    originals["excerpt_60"] = article(" ".join(words[:240]), url=f"https://x.example/{seed}")
    originals["excerpt_50"] = article(" ".join(words[150:350]), url=f"https://y.example/{seed}")
    originals["chrome"] = article("Share this article Facebook Twitter Email\n\n" + base +
                                  "\n\nSign up for our daily newsletter and never miss a story again.",
                                  url=f"https://c.example/{seed}")
    return originals


def test_every_mutation_kind_is_found_and_families_do_not_merge():
    families = {seed: _family(seed) for seed in (100, 200, 300)}
    unrelated = [article(story(s, 400), url=f"https://u.example/{s}") for s in range(400, 410)]
    records = [a for fam in families.values() for a in fam.values()] + unrelated
    kept, dups = dedup_in_memory(records)
    family_of = {a["id"]: seed for seed, fam in families.items() for a in fam.values()}
    assert {a["id"] for a in unrelated} <= {a["id"] for a in kept}
    assert len(kept) == len(unrelated) + len(families)  # one article per family
    for d in dups:
        assert family_of[d["id"]] == family_of[d["duplicate_of"]]
        assert d["kind"] in ("near", "excerpt") and d["diff"] is None
    for seed, fam in families.items():
        canonical = fam["chrome"]["id"]  # most words
        by_id = {d["id"]: d for d in dups}
        assert all(by_id[a["id"]]["duplicate_of"] == canonical for name, a in fam.items() if name != "chrome")
        assert by_id[fam["excerpt_50"]["id"]]["kind"] == "excerpt"
        assert by_id[fam["edit_10"]["id"]]["kind"] == "near"


def test_near_decisions_do_not_depend_on_input_order():
    records = [a for seed in (100, 200) for a in _family(seed).values()]
    feats = [near_features(a) for a in records]
    first = near_decisions(feats)
    for seed in range(3):
        random.Random(seed).shuffle(feats)
        assert near_decisions(feats) == first
    assert sorted(candidate_pairs(feats)) == candidate_pairs(feats)


def test_resolve_edges_does_not_chain():
    # A ~ B and B ~ C, but C is not close to A: C stays canonical instead of joining A.
    edges = [Edge((0,), "A", (1,), "B", "near", 0.9), Edge((1,), "B", (2,), "C", "near", 0.85)]
    assert resolve_edges(edges) == {"B": ("A", "near", 0.9)}
    # order of edges does not matter
    assert resolve_edges(edges[::-1]) == resolve_edges(edges)


def test_a_copy_of_an_article_inside_a_wrapped_copy_joins_the_wrapped_copy():
    # O lies inside C (C = O + page chrome); X is an edited copy of O with more words than O
    # but too little overlap with C itself: X joins C through O.
    edges = [Edge((0,), "C", (2,), "O", "excerpt", 1.0, 1.0),
             Edge((1,), "X", (2,), "O", "near", 0.45, 0.6)]
    assert resolve_edges(edges) == {"O": ("C", "excerpt", 1.0), "X": ("C", "near", 0.45)}
    # an excerpt E inside C: a copy of E joins C too
    edges = [Edge((0,), "C", (3,), "E", "excerpt", 1.0, 1.0), Edge((3,), "E", (4,), "Y", "near", 0.5, 0.7)]
    assert resolve_edges(edges)["Y"] == ("C", "near", 0.5)


def test_two_articles_containing_the_same_excerpt_are_not_merged():
    edges = [Edge((0,), "A", (5,), "E", "excerpt", 1.0, 1.0), Edge((1,), "B", (5,), "E", "excerpt", 1.0, 1.0)]
    assert resolve_edges(edges) == {"E": ("A", "excerpt", 1.0)}


def test_exact_then_near_dedup_in_beam():
    base = story(21, 300)
    original = article(base, url="https://wire.example/story", published_at="2024-03-01T10:00:00Z", uri="a")
    syndicated = article(base, url="https://paper.example/story", published_at="2024-03-01T12:00:00Z", uri="b")
    edited_copy = article(base + " The mayor declined to comment.", url="https://other.example/s", uri="c")
    excerpt = article(" ".join(base.split()[50:200]), uri="d")
    unrelated = article(story(99, 300), uri="e")
    old_version = article(story(98, 300), url="https://wire.example/v", published_at="2024-03-01T09:00:00Z", uri="f")
    new_version = article(story(98, 300) + " Updated at noon.", url="https://wire.example/v",
                          published_at="2024-03-01T12:00:00Z", uri="g")
    records = [excerpt, unrelated, edited_copy, syndicated, original, old_version, new_version]

    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(OPTIONS)) as p:
        unique, _rejects, exact = p | beam.Create(records) | ExactDedup()
        kept, _rejects, dups = (unique, exact) | "Near" >> NearDedup()
        assert_that(kept | "KeptIds" >> beam.Map(lambda a: (a["id"], a["story_id"])),
                    equal_to([(edited_copy["id"], edited_copy["id"]), (unrelated["id"], unrelated["id"]),
                              (new_version["id"], new_version["id"])]),
                    label="kept")
        assert_that(dups | "DupIds" >> beam.Map(lambda d: (d["id"], d["duplicate_of"], d["kind"],
                                                           d["diff"] is not None)),
                    equal_to([(original["id"], edited_copy["id"], "near", False),
                              (syndicated["id"], edited_copy["id"], "exact", False),
                              (excerpt["id"], edited_copy["id"], "excerpt", False),
                              (old_version["id"], new_version["id"], "update", True)]),
                    label="dups")


def _outcome_rows(kept, dups):
    kept_rows = kept | "K" >> beam.Map(lambda a: ("kept", a["id"], a["story_id"], None, None))
    dup_rows = dups | "D" >> beam.Map(lambda d: ("dup", d["id"], d["duplicate_of"], d["kind"], d["similarity"]))
    return (kept_rows, dup_rows) | "Rows" >> beam.Flatten()


def test_beam_results_are_independent_of_input_order_and_match_the_in_memory_run():
    records = [a for seed in (100, 200, 300) for a in _family(seed).values()]
    records += [article(story(s, 400), url=f"https://u.example/{s}") for s in range(400, 405)]
    records += [dict(records[0], url="https://copy.example/0", id=article_id("https://copy.example/0", ""))]
    kept, dups = dedup_in_memory(records)
    expected = sorted([("kept", a["id"], a["story_id"], None, None) for a in kept]
                      + [("dup", d["id"], d["duplicate_of"], d["kind"], d["similarity"]) for d in dups])
    assert any(row[3] == "exact" for row in expected)
    for seed in range(3):
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)
        with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(OPTIONS)) as p:
            unique, _rejects, exact = p | beam.Create(shuffled) | ExactDedup()
            beam_kept, _rejects, beam_dups = (unique, exact) | "Near" >> NearDedup()
            assert_that(_outcome_rows(beam_kept, beam_dups), equal_to(expected))
