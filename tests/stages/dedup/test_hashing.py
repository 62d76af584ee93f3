"""Tests for pipeline.stages.dedup.hashing: shingles, their hashes, MinHash, LSH band, anchor and
sample keys."""
from pipeline.stages.dedup.hashing import (
    Sketch,
    anchor_keys,
    band_keys,
    lsh_keys,
    make_sketch,
    minhash,
    sample_keys,
    shingle_hash_array,
    shingle_hashes,
    shingles,
    signature,
)
from pipeline.stages.dedup.near import candidate_pairs, near_features
from tests.stages.dedup.samples import article, edited, story


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


def test_anchor_keys_pair_the_smallest_shingles():
    sk = make_sketch(shingle_hash_array(story(16, 300)))
    keys = anchor_keys(sk, 6)
    assert len(keys) == 15 and len(set(keys)) == 15
    assert Sketch(sk.n, sk.hashes).array[:6].tolist() == sorted(sk.array[:6].tolist())


def test_one_stock_phrase_in_common_is_not_a_sample_key():
    phrase = "the mayor said in a statement on Tuesday evening that the council would meet again"
    a, b = story(18, 400) + " " + phrase, phrase + " " + story(19, 400)
    assert not set(sample_keys(shingle_hash_array(a), every=1)) & set(sample_keys(shingle_hash_array(b), every=1)) - \
        set(sample_keys(shingle_hash_array(phrase), every=1))
    assert candidate_pairs([near_features(article(a, url="https://a.example/")),
                            near_features(article(b, url="https://b.example/"))]) == []
