"""Identity, exact and near-duplicate dedup: pure functions and the Beam transforms."""
import random

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.records import NULL_PARTITION
from pipeline.stages.base import Rejected
from pipeline.stages.dedup import (
    Edge,
    ExactDedup,
    NearDedup,
    anchor_keys,
    article_id,
    canonical_rank,
    classify_pair,
    collapse_exact,
    content_hash,
    identify,
    lsh_keys,
    minhash,
    resolve_edges,
    shingle_hashes,
    shingles,
    similarity,
)

WORDS = ("council river bridge budget mayor vote transit library grant design engineer station "
         "harbour school teacher parent market festival storm road police court judge report "
         "hospital doctor nurse patient farmer harvest price energy wind solar turbine cable").split()


def story(seed: int, n: int = 200) -> str:
    rnd = random.Random(seed)
    sentences = []
    for _ in range(n // 10):
        sentences.append(" ".join(rnd.choice(WORDS) for _ in range(10)).capitalize() + ".")
    return " ".join(sentences)


def article(text: str, url=None, published_at=None, uri="in.txt", offset=0) -> dict:
    return identify({"url": url, "title": None, "text": text, "lang": "en", "source": None,
                     "published_at": published_at, "authors": [],
                     "provenance": {"input_uri": uri, "offset": offset, "format": "txt"}})


OPTIONS = ["--runner=FnApiRunner"]


# ---------------------------------------------------------------- identity

def test_content_hash_ignores_case_punctuation_and_layout():
    assert content_hash("Hello, World!\n\nIt’s here.") == content_hash("hello world  it s here")
    assert content_hash("Hello world") != content_hash("Hello there world")


def test_id_prefers_url_and_is_stable():
    assert article_id("https://a.example/x", "one") == article_id("https://a.example/x", "two")
    assert article_id(None, "Same text.") == article_id(None, "same   TEXT")
    assert len(article_id(None, "x")) == 16


def test_identify_sets_contract_fields_and_partition():
    a = article("Three little words here", published_at="2023-10-17T08:00:00Z")
    assert a["word_count"] == 4 and a["dt"] == "2023-10-17" and a["story_id"] == a["id"]
    assert a["provenance"]["decisions"] == [] and a["schema_version"] == "1.0.0"
    assert article("No date here")["dt"] == NULL_PARTITION


def test_identify_rejects_text_without_words():
    with pytest.raises(Rejected, match="no words"):
        identify({"text": " — … ", "provenance": {}})


# ---------------------------------------------------------------- canonical choice

def test_canonical_is_most_complete_then_earliest_then_smallest_id():
    long = article(story(1, 100) + " extra words at the end", uri="b")
    short = article(story(1, 100), uri="a")
    assert sorted([short, long], key=canonical_rank)[0] is long
    early = article("same words here", published_at="2023-01-01T00:00:00Z", uri="z")
    late = article("same words here", published_at="2023-02-01T00:00:00Z", uri="a")
    assert sorted([late, early], key=canonical_rank)[0] is early


def test_collapse_exact_is_independent_of_order():
    copies = [article("Same story text.", url=f"https://s{i}.example/a", uri=f"f{i}") for i in range(4)]
    results = []
    for perm in (copies, copies[::-1], copies[1:] + copies[:1]):
        canonical, dups = collapse_exact(perm, same_url=False)
        results.append((canonical["id"], sorted(d["id"] for d in dups)))
        assert {d["kind"] for d in dups} == {"exact"}
        assert all(d["duplicate_of"] == canonical["id"] for d in dups)
    assert results[0] == results[1] == results[2]


def test_same_url_with_changed_text_is_an_update():
    old = article(story(3), url="https://a.example/x", published_at="2024-01-01T00:00:00Z")
    new = article(story(3) + " Correction: the vote was 7-2.", url="https://a.example/x",
                  published_at="2024-01-02T00:00:00Z")
    canonical, dups = collapse_exact([old, new], same_url=True)
    assert canonical is new
    assert dups[0]["kind"] == "update" and 0.9 < dups[0]["similarity"] < 1.0


# ---------------------------------------------------------------- near duplicates

def test_shingles_are_word_5grams_of_normalised_text():
    assert shingles("A b, C d e F") == ["a b c d e", "b c d e f"]
    assert shingles("too short") == ["too short"]
    assert shingles("") == []


def test_minhash_is_deterministic_and_lsh_finds_near_copies():
    text = story(7)
    edited = text.replace("Council", "Councillors", 1) + " One more sentence at the end."
    other = story(8)
    sig = minhash(shingles(text))
    assert sig == minhash(shingles(text)) and len(sig) == 128
    assert set(lsh_keys(sig)) & set(lsh_keys(minhash(shingles(edited))))
    assert not set(lsh_keys(sig)) & set(lsh_keys(minhash(shingles(other))))


def test_excerpt_shares_anchors_and_is_classified_by_containment():
    full = story(11, 600)
    excerpt = " ".join(full.split()[100:260])
    a, b = shingle_hashes(excerpt), shingle_hashes(full)
    assert len(set(anchor_keys(a)) & set(anchor_keys(b))) >= 2
    sim = similarity(a, b)
    assert sim.containment_a == 1.0 and sim.jaccard < 0.5
    edge = classify_pair((-160,), "e", (-600,), "f", sim, 0.8, 0.8)
    assert edge.kind == "excerpt" and edge.dup == "e" and edge.keep == "f"


def test_unrelated_articles_are_not_paired():
    sim = similarity(shingle_hashes(story(1)), shingle_hashes(story(2)))
    assert classify_pair((0,), "a", (1,), "b", sim, 0.8, 0.8) is None


def test_resolve_edges_does_not_chain():
    # A ~ B and B ~ C, but C is not close to A: C stays canonical instead of joining A.
    edges = [Edge((0,), "A", (1,), "B", "near", 0.9), Edge((1,), "B", (2,), "C", "near", 0.85)]
    assert resolve_edges(edges) == {"B": ("A", "near", 0.9)}
    # order of edges does not matter
    assert resolve_edges(edges[::-1]) == resolve_edges(edges)


# ---------------------------------------------------------------- Beam

def _ids(pairs):
    return pairs


def test_exact_then_near_dedup_in_beam():
    base = story(21, 300)
    original = article(base, url="https://wire.example/story", published_at="2024-03-01T10:00:00Z", uri="a")
    syndicated = article(base, url="https://paper.example/story", published_at="2024-03-01T12:00:00Z", uri="b")
    edited = article(base + " The mayor declined to comment.", url="https://other.example/s", uri="c")
    excerpt = article(" ".join(base.split()[50:200]), uri="d")
    unrelated = article(story(99, 300), uri="e")
    records = [excerpt, unrelated, edited, syndicated, original]

    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(OPTIONS)) as p:
        unique, exact = p | beam.Create(records) | ExactDedup()
        kept, dups = (unique, exact) | NearDedup()
        assert_that(kept | "KeptIds" >> beam.Map(lambda a: (a["id"], a["story_id"])),
                    equal_to([(edited["id"], edited["id"]), (unrelated["id"], unrelated["id"])]),
                    label="kept")
        assert_that(dups | "DupIds" >> beam.Map(lambda d: (d["id"], d["duplicate_of"], d["kind"])),
                    equal_to([(original["id"], edited["id"], "near"),
                              (syndicated["id"], edited["id"], "exact"),
                              (excerpt["id"], edited["id"], "excerpt")]),
                    label="dups")
