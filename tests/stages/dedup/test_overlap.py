"""Tests for pipeline.stages.dedup.overlap: exact and estimated Jaccard and containment."""
import pytest

from pipeline.stages.dedup.hashing import make_sketch, shingle_hash_array, shingle_hashes
from pipeline.stages.dedup.near import classify_pair
from pipeline.stages.dedup.overlap import similarity, sketch_similarity
from tests.stages.dedup.samples import edited, story


def test_sketch_similarity_is_exact_for_small_articles_and_close_for_large_ones():
    a, b = story(12, 100), edited(story(12, 100), 0.05)
    exact = similarity(shingle_hashes(a), shingle_hashes(b))
    est = sketch_similarity(make_sketch(shingle_hash_array(a)), make_sketch(shingle_hash_array(b)))
    assert est[:3] == pytest.approx(exact[:3])
    a, b = story(13, 2000), edited(story(13, 2000), 0.05)
    exact = similarity(shingle_hashes(a), shingle_hashes(b))
    est = sketch_similarity(make_sketch(shingle_hash_array(a)), make_sketch(shingle_hash_array(b)))
    assert abs(est.jaccard - exact.jaccard) < 0.1 and est.sample_a <= 128


def test_a_contained_excerpt_estimates_at_exactly_one():
    full = story(14, 3000)
    part = " ".join(full.split()[1000:1600])
    sim = sketch_similarity(make_sketch(shingle_hash_array(part)), make_sketch(shingle_hash_array(full)))
    assert sim.containment_a == 1.0 and sim.jaccard < 0.3 and sim.sample_a >= 10
    edge = classify_pair((-600,), "e", (-3000,), "f", sim, 0.3, 0.8)
    assert edge.kind == "excerpt" and edge.dup == "e" and edge.keep == "f" and edge.inside == 1.0
