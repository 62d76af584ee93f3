"""Similarity of two articles: exact Jaccard and containment of shingle sets, and their
estimates from two bottom-k sketches."""
from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from typing import NamedTuple, Optional

import numpy as np

from pipeline.stages.dedup.hashing import Sketch, shingle_hash_array


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    if len(a) < 2:
        return a
    s = np.sort(a)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


# --------------------------------------------------------------------------- similarity


class Similarity(NamedTuple):
    jaccard: float
    containment_a: float  # share of a's shingles found in b
    containment_b: float
    sample_a: int = 1 << 30  # shingles of a the estimate is based on
    sample_b: int = 1 << 30


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def jaccard_of_texts(a: str, b: str) -> float:
    x = _unique_sorted(shingle_hash_array(a))
    y = _unique_sorted(shingle_hash_array(b))
    if not len(x) and not len(y):
        return 1.0
    inter = len(np.intersect1d(x, y, assume_unique=True))
    return inter / (len(x) + len(y) - inter)


def similarity(a: frozenset[int], b: frozenset[int]) -> Similarity:
    """Exact Jaccard and containments of two shingle sets."""
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return Similarity(
        jaccard=inter / union if union else 1.0,
        containment_a=inter / len(a) if a else 0.0,
        containment_b=inter / len(b) if b else 0.0,
        sample_a=len(a),
        sample_b=len(b),
    )


_NO_LIMIT = 1 << 32


def sketch_values(sketch: Sketch) -> list[int]:
    """The sketch's hashes as a sorted list of ints."""
    values = array("I")
    values.frombytes(sketch.hashes)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def sketch_similarity(a: Sketch, b: Sketch, xa: Optional[list] = None,
                      xb: Optional[list] = None) -> Similarity:
    """Jaccard and containments from two bottom-k sketches (``xa``/``xb``: their
    :func:`sketch_values`, when the caller has them already).

    Below the smaller of the two sketches' thresholds both sketches hold *all* of their
    article's shingle hashes, so the sets restricted to that range are uniform samples of the
    two articles' shingles with the same sampling rate: exact for articles whose shingles all
    fit in the sketch, unbiased estimates otherwise (a fully contained excerpt gives 1.0).
    """
    x = sketch_values(a) if xa is None else xa
    y = sketch_values(b) if xb is None else xb
    tx = x[-1] if a.n > len(x) and x else _NO_LIMIT
    ty = y[-1] if b.n > len(y) and y else _NO_LIMIT
    if tx < ty:
        y = y[:bisect_right(y, tx)]
    elif ty < tx:
        x = x[:bisect_right(x, ty)]
    nx, ny = len(x), len(y)
    if not nx or not ny:
        return Similarity(1.0 if nx == ny else 0.0, 0.0, 0.0, nx, ny)
    inter = len(set(x).intersection(y))
    return Similarity(inter / (nx + ny - inter), inter / nx, inter / ny, nx, ny)
