"""Import path kept for the streaming dedup, which lives in :mod:`pipeline.stages.dedup.streaming`."""
from pipeline.stages.dedup.streaming import (
    BITS,
    DEFAULT_HORIZON_SECONDS,
    ENTRY,
    NO_MATCH,
    STAGE,
    BucketFn,
    BucketWithTtlFn,
    DecideFn,
    Entry,
    StreamingDedup,
    Verdict,
    article_key,
    best_match,
    combine_verdicts,
    estimated_jaccard,
    pack_signature,
    prune,
    seed_entries,
    sketch,
)

__all__ = ["StreamingDedup", "seed_entries", "BucketFn", "BucketWithTtlFn", "DecideFn", "prune", "best_match",
           "combine_verdicts", "estimated_jaccard", "pack_signature", "article_key", "sketch", "Entry", "Verdict",
           "NO_MATCH", "STAGE", "BITS", "ENTRY", "DEFAULT_HORIZON_SECONDS"]
