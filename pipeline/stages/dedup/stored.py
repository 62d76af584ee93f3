"""Near copies and excerpts of stored articles (issue 20): the ``near_index`` rows a batch run
commits with its articles, and the pure matching of a new article against them.

A row holds what :mod:`.near` verifies a pair on, never the text: the canonical rank (word count,
publication time, id), the bottom-k sketch and the candidate keys. A new article is compared with
the stored rows sharing one of its keys, with the same :func:`~.near.classify_pair` as one run.
Stored rows are never rewritten, so the direction differs from one run in one case only: a new
near copy that ranks better than the stored one (more words) is still a duplicate of it (the
first stored copy stays canonical, as in streaming dedup); a new article that *contains* a stored
excerpt (the stored one lies inside it) is kept, and so is the stored excerpt.
"""
from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple, Optional

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from pipeline.stages.dedup.canonical import STAGE_DEDUP
from pipeline.stages.dedup.hashing import Sketch
from pipeline.stages.dedup.near import MAX_BUCKET, MIN_SAMPLE, NearDedupConfig, NearFeatures, classify_pair
from pipeline.stages.dedup.overlap import sketch_similarity, sketch_values


def near_index_row(article: dict, features: NearFeatures) -> dict:
    """The ``near_index`` row of a stored article from its :class:`NearFeatures` (no text):
    keys distinct and sorted, so the same article gives the same row."""
    return {
        "id": article["id"],
        "story_id": article.get("story_id") or article["id"],
        "published_at": article.get("published_at"),
        "word_count": int(article.get("word_count") or 0),
        "shingles": int(features.sketch.n),
        "sketch": sketch_values(features.sketch),
        "keys": sorted(set(features.keys)),
        "dt": article.get("dt"),
    }


def _timestamp(value) -> Optional[str]:
    """A stored timestamp (datetime from the table, or the record's string) as articles write it."""
    if value is None or isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_rank(row: Mapping) -> tuple:
    """The :func:`~.canonical.canonical_rank` prefix of a stored row (the id is unique, so the
    input location that follows it is never reached)."""
    return (-int(row.get("word_count") or 0), _timestamp(row.get("published_at")) or "9999", row["id"])


class StoredNear(NamedTuple):
    """Stored rows as lookups: id -> (story id, rank, sketch); key -> stored ids (ascending)."""

    rows: dict
    by_key: dict


def stored_near(rows: Iterable[Mapping], max_bucket: int = MAX_BUCKET) -> StoredNear:
    """:class:`StoredNear` from ``near_index`` rows. A key held by ``max_bucket`` stored ids or more
    is dropped (with the new article, the bucket would be over the limit one run skips)."""
    stored: dict = {}
    keys_of: dict = {}
    for row in rows:
        if row["id"] in stored:
            continue
        sketch = Sketch(int(row["shingles"]), np.asarray(row["sketch"] or [], dtype="<u4").tobytes())
        stored[row["id"]] = (row.get("story_id") or row["id"], stored_rank(row), sketch)
        keys_of[row["id"]] = row.get("keys") or ()
    by_key: dict = {}
    for _id in sorted(keys_of):
        for key in set(keys_of[_id]):
            by_key.setdefault(key, []).append(_id)
    return StoredNear(stored, {k: tuple(ids) for k, ids in by_key.items() if len(ids) < max_bucket})


class StoredMatch(NamedTuple):
    stored_id: str
    story_id: str
    kind: str  # near | excerpt
    similarity: float


def match_stored(features: NearFeatures, stored: StoredNear, near_threshold: float,
                 excerpt_threshold: float, min_sample: int = MIN_SAMPLE) -> Optional[StoredMatch]:
    """The stored article a new one is a near copy or an excerpt of, else None.

    Candidates share a key with it; each is verified on the two sketches with
    :func:`~.near.classify_pair`. The best-ranked stored match wins (as one run's greedy
    resolution picks the best-ranked canonical neighbour). A stored article lying inside the new
    one (the new one more complete than a stored excerpt) is no match: both are kept.
    """
    candidates = sorted({_id for key in features.keys for _id in stored.by_key.get(key, ())},
                        key=lambda _id: stored.rows[_id][1])
    for _id in candidates:
        story_id, rank, sketch = stored.rows[_id]
        sim = sketch_similarity(sketch, features.sketch)
        edge = classify_pair(rank, _id, features.rank, features.id, sim, near_threshold, excerpt_threshold,
                             min_sample)
        if edge is None:
            continue
        if edge.dup == features.id:
            return StoredMatch(_id, story_id, edge.kind, edge.similarity)
        if edge.kind == "near":  # a better-ranked near copy: the stored one stays canonical
            return StoredMatch(_id, story_id, "near", edge.similarity)
    return None


# --------------------------------------------------------------------------- Beam: the index rows


class _NearIndexRowFn(beam.DoFn):
    def __init__(self, config: NearDedupConfig):
        self.config = config
        self.rows = Metrics.counter(STAGE_DEDUP, "near_index_rows")

    def process(self, article):
        self.rows.inc()
        yield near_index_row(article, self.config.features(article))


class NearIndex(beam.PTransform):
    """Stored articles (validated) -> rows of the ``near_index`` dataset, one per article, committed
    with the articles so that a later run finds its near copies and excerpts. The features are
    computed again from the stored text (as the story index does): a row exists only for an
    article that is stored."""

    def __init__(self, config: NearDedupConfig = NearDedupConfig()):
        super().__init__()
        self.config = config

    def expand(self, articles):
        return articles | "IndexRows" >> beam.ParDo(_NearIndexRowFn(self.config))
