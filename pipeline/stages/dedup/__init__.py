"""Exact dedup and near-duplicate dedup (batch), and the streaming dedup.

* :mod:`.canonical`: which copy is canonical (:func:`canonical_rank`), and how a record carries
  a dedup decision (:func:`with_decision`, :func:`as_duplicate`).
* :mod:`.hashing`: word 5-gram shingles and their hashes, MinHash signatures, LSH band keys,
  sample and anchor keys, bottom-k sketches.
* :mod:`.overlap`: Jaccard and containment of two articles, exact or from their sketches.
* :mod:`.exact`: :class:`ExactDedup` (same id, then same normalised text; versions of one URL).
* :mod:`.near`: :class:`NearDedup` (near copies and excerpts), and :func:`dedup_in_memory`.
* :mod:`.streaming`: :class:`StreamingDedup` (the first copy seen within the horizon is
  canonical) and :func:`seed_entries`; ``pipeline.stages.dedup_stream`` is its old import path.

Identity (``id``, ``content_hash``, ``word_count``, ``dt``) is its own stage,
:mod:`pipeline.stages.identify`; its names are re-exported here for the existing importers.
"""
from pipeline.stages.identify import (
    ASSIGNED_END,
    PLANE_14,
    STAGE_IDENTIFY,
    article_id,
    content_hash,
    identify,
    normalise_for_hash,
    partition_date,
    word_count,
)
from pipeline.stages.dedup.canonical import STAGE_DEDUP, as_duplicate, canonical_rank, newest_first, with_decision
from pipeline.stages.dedup.hashing import (
    ANCHORS,
    LSH_BANDS,
    MINHASH_SEED,
    NUM_PERM,
    SAMPLE_EVERY,
    SHINGLE_SIZE,
    SKETCH_SIZE,
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
from pipeline.stages.dedup.overlap import (
    Similarity,
    jaccard,
    jaccard_of_texts,
    similarity,
    sketch_similarity,
    sketch_values,
)
from pipeline.stages.dedup.exact import DIFF_MAX_WORDS, ExactDedup, collapse_exact, text_diff
from pipeline.stages.dedup.near import (
    EXCERPT_THRESHOLD,
    INSIDE,
    MAX_BUCKET,
    MIN_SAMPLE,
    NEAR_BANDS,
    NEAR_ROWS,
    NEAR_THRESHOLD,
    SHARDS,
    Edge,
    NearDedup,
    NearDedupConfig,
    NearFeatures,
    candidate_pairs,
    classify_pair,
    dedup_in_memory,
    id_code,
    id_of,
    near_decisions,
    near_features,
    pair_codes,
    resolve_edges,
    verify_pair,
)
from pipeline.stages.dedup.streaming import StreamingDedup, StreamingDedupConfig, seed_entries

__all__ = [
    "STAGE_IDENTIFY", "STAGE_DEDUP", "SHINGLE_SIZE", "NUM_PERM", "LSH_BANDS", "MINHASH_SEED",
    "NEAR_THRESHOLD", "EXCERPT_THRESHOLD", "NEAR_BANDS", "NEAR_ROWS", "ANCHORS", "SAMPLE_EVERY",
    "SKETCH_SIZE", "MIN_SAMPLE", "MAX_BUCKET", "SHARDS", "ASSIGNED_END", "PLANE_14",
    "normalise_for_hash", "content_hash", "word_count", "article_id", "partition_date", "identify",
    "canonical_rank", "newest_first", "with_decision", "as_duplicate",
    "DIFF_MAX_WORDS", "text_diff", "collapse_exact",
    "shingles", "shingle_hash_array", "shingle_hashes", "minhash", "lsh_keys", "Sketch", "make_sketch",
    "signature", "band_keys", "anchor_keys", "sample_keys",
    "NearFeatures", "near_features", "Similarity", "jaccard", "jaccard_of_texts", "similarity",
    "sketch_values", "sketch_similarity", "Edge", "classify_pair", "INSIDE", "resolve_edges",
    "id_code", "id_of", "pair_codes", "candidate_pairs", "verify_pair", "near_decisions",
    "dedup_in_memory", "ExactDedup", "NearDedup", "NearDedupConfig", "StreamingDedup", "StreamingDedupConfig", "seed_entries",
]
