"""Identity, exact and near-duplicate dedup: pure functions and the Beam transforms."""
import random
import re
import unicodedata

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.records import NULL_PARTITION
from pipeline.stages import dedup
from pipeline.stages.base import Rejected
from pipeline.stages.dedup import exact
from pipeline.stages.dedup import (
    Edge,
    ExactDedup,
    NearDedup,
    Sketch,
    anchor_keys,
    article_id,
    band_keys,
    canonical_rank,
    candidate_pairs,
    classify_pair,
    collapse_exact,
    content_hash,
    dedup_in_memory,
    identify,
    lsh_keys,
    make_sketch,
    minhash,
    near_decisions,
    near_features,
    normalise_for_hash,
    pair_codes,
    sample_keys,
    resolve_edges,
    shingle_hash_array,
    shingle_hashes,
    shingles,
    signature,
    similarity,
    sketch_similarity,
    text_diff,
    word_count,
)
from pipeline.stages.validate import validation_errors

WORDS = ("council river bridge budget mayor vote transit library grant design engineer station "
         "harbour school teacher parent market festival storm road police court judge report "
         "hospital doctor nurse patient farmer harvest price energy wind solar turbine cable").split()


def story(seed: int, n: int = 200) -> str:
    rnd = random.Random(seed)
    sentences = []
    for _ in range(n // 10):
        sentences.append(" ".join(rnd.choice(WORDS) for _ in range(10)).capitalize() + ".")
    return " ".join(sentences)


def edited(text: str, share: float, seed: int = 0) -> str:
    """Exactly round(share x words) substitutions at distinct random positions."""
    words = text.split()
    rnd = random.Random(seed)
    for i in rnd.sample(range(len(words)), round(share * len(words))):
        words[i] = "edited" + str(i)
    return " ".join(words)


def article(text: str, url=None, published_at=None, uri="in.txt", offset=0, fetched_at=None) -> dict:
    return identify({"url": url, "title": None, "text": text, "lang": "en", "source": None,
                     "published_at": published_at, "fetched_at": fetched_at, "authors": [],
                     "provenance": {"input_uri": uri, "offset": offset, "format": "txt"}})


OPTIONS = ["--runner=FnApiRunner"]
_W = re.compile(r"\w+")


def reference_normalise(text: str) -> str:
    return " ".join(_W.findall(unicodedata.normalize("NFKC", text).casefold()))


# ---------------------------------------------------------------- identity

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
    # dedup._build_fold_table only looks at code points below ASSIGNED_END and in plane 14
    rest = "".join(chr(c) for c in range(dedup.ASSIGNED_END, 0x110000) if c not in dedup.PLANE_14)
    assert not _W.search(rest)
    assert unicodedata.normalize("NFKC", rest) == rest and rest.casefold() == rest


def test_id_prefers_url_and_is_stable():
    assert article_id("https://a.example/x", "one") == article_id("https://a.example/x", "two")
    assert article_id(None, "Same text.") == article_id(None, "same   TEXT")
    assert len(article_id(None, "x")) == 16


def test_identify_sets_contract_fields_and_partition():
    a = article("Three little words here", published_at="2023-10-17T08:00:00Z")
    assert a["word_count"] == 4 and a["dt"] == "2023-10-17" and a["story_id"] == a["id"]
    assert a["provenance"]["decisions"] == [] and a["schema_version"] == "2.0.0"
    assert a["content_hash"] == content_hash("three little words here")
    assert article("No date here")["dt"] == NULL_PARTITION


def test_identify_rejects_text_without_words():
    with pytest.raises(Rejected, match="no words"):
        identify({"text": " — … ", "provenance": {}})


# ---------------------------------------------------------------- canonical choice and updates

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
        assert all(d["duplicate_of"] == canonical["id"] and d["diff"] is None for d in dups)
    assert results[0] == results[1] == results[2]


def test_update_keeps_the_newest_version_with_a_diff():
    old = article(story(3), url="https://a.example/x", published_at="2024-01-01T00:00:00Z", uri="1")
    new = article(story(3) + " Correction: the vote was 7-2.", url="https://a.example/x",
                  published_at="2024-01-02T00:00:00Z", uri="2")
    for perm in ([old, new], [new, old]):
        canonical, dups = collapse_exact(perm, same_url=True)
        assert canonical is new
        (dup,) = dups
        assert dup["kind"] == "update" and dup["duplicate_of"] == new["id"]
        assert 0.9 < dup["similarity"] < 1.0
        assert dup["diff"] == {"chars_added": len("Correction: the vote was 7-2.") + 1, "chars_removed": 0}
    assert _dedup_field_errors(dup) == []
    assert _dedup_field_errors(dict(dup, diff={"chars_added": -1, "chars_removed": 0}))
    assert _dedup_field_errors(dict(dup, diff={"chars_added": 1}))
    assert _dedup_field_errors(dict(dup, kind="exact", diff=None)) == []


def _dedup_field_errors(dup: dict) -> list:
    """Schema errors about the fields dedup adds (the article fields are another test's job)."""
    return [e for e in validation_errors(dup, "duplicates")
            if any(f in e for f in ("diff", "kind", "similarity", "duplicate_of", "chars_"))]


def test_update_keeps_the_newest_even_when_it_is_shorter():
    full = story(4)
    cut = " ".join(full.split()[:150])
    old = article(full, url="https://a.example/y", published_at="2024-01-01T00:00:00Z", uri="1")
    new = article(cut, url="https://a.example/y", published_at="2024-01-03T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([old, new], same_url=True)
    assert canonical is new and dup["kind"] == "update"
    assert dup["diff"]["chars_added"] == 0 and dup["diff"]["chars_removed"] == len(" ".join(full.split()[150:])) + 1


def test_update_falls_back_to_fetched_at_then_to_the_canonical_rank():
    a = article(story(5), url="https://a.example/z", fetched_at="2024-05-01T00:00:00Z", uri="1")
    b = article(story(5) + " Updated.", url="https://a.example/z", fetched_at="2024-04-01T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([b, a], same_url=True)
    assert canonical is a and dup["kind"] == "update"
    undated = [article(story(6), url="https://a.example/w", uri="1"),
               article(story(6) + " More words here.", url="https://a.example/w", uri="2")]
    canonical, (dup,) = collapse_exact(undated, same_url=True)
    assert canonical is undated[1]  # most complete


def test_same_url_same_text_is_exact_and_refetches_of_an_old_version_are_updates():
    v1 = article(story(7), url="https://a.example/v", published_at="2024-01-01T00:00:00Z", uri="1")
    v1_again = article(story(7), url="https://a.example/v", published_at="2024-01-01T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([v1, v1_again], same_url=True)
    assert dup["kind"] == "exact" and dup["diff"] is None
    v2 = article(story(7) + " Now with a new paragraph.", url="https://a.example/v",
                 published_at="2024-01-05T00:00:00Z", uri="3")
    canonical, dups = collapse_exact([v1, v2, v1_again], same_url=True)
    assert canonical is v2 and [d["kind"] for d in dups] == ["update", "update"]


def test_text_diff_is_bounded_and_counts_characters(monkeypatch):
    assert text_diff("a b c", "a b c") == {"chars_added": 0, "chars_removed": 0}
    assert text_diff("one two three", "one 2 three") == {"chars_added": 2, "chars_removed": 4}
    old = "start " + story(8, 400) + " end"
    new = "begin " + story(8, 400) + " finish"
    assert text_diff(old, new) == {"chars_added": 13, "chars_removed": 10}
    monkeypatch.setattr(exact, "DIFF_MAX_WORDS", 10)  # multiset fallback, same counts here
    assert text_diff(old, new) == {"chars_added": 13, "chars_removed": 10}


# ---------------------------------------------------------------- shingles, sketches, keys

def test_shingles_are_word_5grams_of_normalised_text():
    assert shingles("A b, C d e F") == ["a b c d e", "b c d e f"]
    assert shingles("too short") == ["too short"]
    assert shingles("") == []


def test_shingle_hashes_ignore_layout_and_position_and_match_the_reference_shingles():
    a = shingle_hash_array("Hello, World!  This is   a TEST of the hashing thing.")
    b = shingle_hash_array("hello world this is a test of the hashing thing")
    assert a.tolist() == b.tolist() and len(a) == 6
    c = shingle_hash_array("Something else first. Hello world this is a test.")
    assert set(a.tolist()[:2]) <= set(c.tolist())
    text = story(9, 600)
    assert len(shingle_hashes(text)) == len(set(shingles(text)))  # no collisions, same shingles
    assert len(shingle_hash_array("one two")) == 1 and len(shingle_hash_array(" ,. ")) == 0


def test_legacy_minhash_is_deterministic_and_lsh_finds_near_copies():
    # the streaming dedup uses these
    text = story(7)
    edited_copy = text.replace("Council", "Councillors", 1) + " One more sentence at the end."
    sig = minhash(shingles(text))
    assert sig == minhash(shingles(text)) and len(sig) == 128
    assert set(lsh_keys(sig)) & set(lsh_keys(minhash(shingles(edited_copy))))
    assert not set(lsh_keys(sig)) & set(lsh_keys(minhash(shingles(story(8)))))


def test_band_keys_find_ten_percent_edits_and_not_unrelated_articles():
    text = story(10, 600)
    sig = signature(shingle_hash_array(text), 48)
    found = sum(bool(set(band_keys(sig, 24, 2)) & set(band_keys(
        signature(shingle_hash_array(edited(text, 0.1, seed)), 48), 24, 2))) for seed in range(20))
    assert found >= 18
    other = signature(shingle_hash_array(story(11, 600)), 48)
    assert not set(band_keys(sig, 24, 2)) & set(band_keys(other, 24, 2))
    assert all(0 <= k < 2 ** 63 for k in band_keys(sig, 24, 2))


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


def test_a_few_words_inside_a_long_article_are_not_an_excerpt():
    full = story(15, 600)
    caption = " ".join(full.split()[100:112])
    sim = sketch_similarity(make_sketch(shingle_hash_array(caption)), make_sketch(shingle_hash_array(full)))
    assert sim.sample_a < 10
    assert classify_pair((-12,), "c", (-600,), "f", sim, 0.3, 0.8) is None
    exact = similarity(shingle_hashes(caption), shingle_hashes(full))
    assert exact.containment_a == 1.0 and classify_pair((-12,), "c", (-600,), "f", exact, 0.3, 0.8) is None


def test_anchor_keys_pair_the_smallest_shingles():
    sk = make_sketch(shingle_hash_array(story(16, 300)))
    keys = anchor_keys(sk, 6)
    assert len(keys) == 15 and len(set(keys)) == 15
    assert Sketch(sk.n, sk.hashes).array[:6].tolist() == sorted(sk.array[:6].tolist())


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


def test_one_stock_phrase_in_common_is_not_a_sample_key():
    phrase = "the mayor said in a statement on Tuesday evening that the council would meet again"
    a, b = story(18, 400) + " " + phrase, phrase + " " + story(19, 400)
    assert not set(sample_keys(shingle_hash_array(a), every=1)) & set(sample_keys(shingle_hash_array(b), every=1)) - \
        set(sample_keys(shingle_hash_array(phrase), every=1))
    assert candidate_pairs([near_features(article(a, url="https://a.example/")),
                            near_features(article(b, url="https://b.example/"))]) == []


def test_pair_codes_are_unique_sorted_and_skip_oversized_buckets():
    import numpy as np
    keys = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4], dtype=np.uint64)
    ids = np.array([30, 10, 20, 10, 20, 10, 5, 6, 7, 8], dtype=np.uint64)
    pairs, oversized = pair_codes(keys, ids, max_bucket=3)
    assert pairs.tolist() == [[10, 20], [10, 30], [20, 30]] and oversized == 1


def test_unrelated_articles_are_not_paired():
    sim = similarity(shingle_hashes(story(1)), shingle_hashes(story(2)))
    assert classify_pair((0,), "a", (1,), "b", sim, 0.3, 0.8) is None


# ---------------------------------------------------------------- mutation kinds

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


# ---------------------------------------------------------------- resolution

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


# ---------------------------------------------------------------- Beam

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
        unique, exact = p | beam.Create(records) | ExactDedup()
        kept, dups = (unique, exact) | NearDedup()
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
            unique, exact = p | beam.Create(shuffled) | ExactDedup()
            beam_kept, beam_dups = (unique, exact) | NearDedup()
            assert_that(_outcome_rows(beam_kept, beam_dups), equal_to(expected))
