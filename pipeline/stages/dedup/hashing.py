"""Shingles, shingle hashes, MinHash signatures, sketches and candidate keys.

Word 5-gram shingles are hashed straight from the text's code points (numpy, no Python string
per shingle), from the case-folding table of :mod:`pipeline.stages.identify`. A MinHash
signature (rensa, from the shingle hashes) is banded into many short LSH bands; sample keys
find excerpts (1 in 32 shingles is sampled by hash; each two consecutive samples are a key, so
a passage copied anywhere shares its keys with its source); the per-article sketch keeps the
``SKETCH_SIZE`` smallest 32-bit shingle hashes and the shingle count (bottom-k).

The legacy :func:`shingles` / :func:`minhash` / :func:`lsh_keys` serve the streaming dedup.
"""
from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from pipeline.stages.identify import fold_table, normalise_for_hash

SHINGLE_SIZE = 5

# Legacy MinHash parameters: ``minhash``/``lsh_keys``/``shingles`` below keep their behaviour for
# the streaming dedup (:mod:`pipeline.stages.dedup.streaming`), which imports them.
NUM_PERM = 128
LSH_BANDS = 16  # 16 bands x 8 rows: candidate probability 50% at Jaccard ~0.71
MINHASH_SEED = 1

# Batch near-dup parameters (tuned with bench/dedup.py; see bench/README.md).
# Anchor pairs (every pair of an article's ANCHORS smallest shingle hashes) find excerpts holding
# a large share of their source; the sample keys find those and shorter ones, so anchors are off
# by default (N=20,000: excerpt recall below 50% 0.984 without them, 0.989 with; 12% slower).
ANCHORS = 0
SAMPLE_EVERY = 32  # 1 in 32 shingles (by hash; a power of two) is sampled; consecutive samples pair into a key
SKETCH_SIZE = 128  # bottom-k of 32-bit shingle hashes kept per article for verification

_U64 = np.uint64


def _folded(text: str) -> np.ndarray:
    """Mapped code points, 0 for non-word characters (the table's special value counts as a word
    character here): the input of the shingle hashes, which need not match the reference exactly."""
    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # lone surrogates
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return fold_table()[cp]


# --------------------------------------------------------------------------- shingles


def shingles(text: str, size: int = SHINGLE_SIZE) -> list[str]:
    """Word ``size``-grams of the normalised text (the whole text when it is shorter).

    Reference definition (and the streaming dedup's input); the batch path hashes the same
    shingles without building these strings (:func:`shingle_hash_array`).
    """
    words = normalise_for_hash(text).split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]


_POLY = _U64(0x100000001B3 * 0x10001 | 1)  # odd: invertible modulo 2**64
_POLY_INV = _U64(pow(int(_POLY), -1, 1 << 64))
_M1 = _U64(0xBF58476D1CE4E5B9)
_S29, _S32 = _U64(29), _U64(32)
_POWERS: list = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """POLY**i and POLY**-i (mod 2**64) for i < n, grown by doubling and shared per process."""
    pw, ipw = _POWERS
    if len(pw) < n:
        size = max(n, 2 * len(pw), 4096)
        pw = np.empty(size, dtype=np.uint64)
        ipw = np.empty(size, dtype=np.uint64)
        pw[0] = ipw[0] = 1
        pw[1:] = np.cumprod(np.full(size - 1, _POLY, dtype=np.uint64))  # wraps modulo 2**64
        ipw[1:] = np.cumprod(np.full(size - 1, _POLY_INV, dtype=np.uint64))
        _POWERS[:] = [pw, ipw]
    return pw, ipw


def shingle_hash_array(text: str, size: int = SHINGLE_SIZE) -> np.ndarray:
    """64-bit hashes of the word ``size``-grams (uint64, in text order, repeats kept).

    Words are runs of word characters after case folding (as :func:`normalise_for_hash`,
    without its NFKC step). The folded code points are compressed to words separated by a
    single 0, and each shingle is hashed as a polynomial over its span of that stream, taken
    from one prefix sum over the whole text: no Python object per word or per shingle.
    Position independent: the same words give the same hash anywhere in any text.
    """
    f = _folded(text)
    word = f != 0
    keep = word.copy()
    keep[1:] |= word[:-1]  # the words and the first separator after each
    g = f[keep]
    n = len(g)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    seps = np.flatnonzero(g == 0)
    if g[-1] == 0:
        ends = seps
        starts = np.empty(len(seps), dtype=seps.dtype)
        starts[1:] = seps[:-1] + 1
    else:
        ends = np.empty(len(seps) + 1, dtype=seps.dtype)
        ends[:-1] = seps
        ends[-1] = n
        starts = np.empty(len(seps) + 1, dtype=seps.dtype)
        starts[1:] = seps + 1
    starts[0] = 0
    pw, ipw = _powers(n + 1)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(g * pw[:n], out=prefix[1:])
    m = len(starts)
    if m <= size:
        first, last = starts[:1], ends[-1:]
    else:
        first, last = starts[:m - size + 1], ends[size - 1:]
    h = (prefix[last] - prefix[first]) * ipw[first]
    h ^= h >> _S32
    h *= _M1
    h ^= h >> _S29
    return h


def shingle_hashes(text: str) -> frozenset[int]:
    """The set of 64-bit shingle hashes of a text (exact verification, tests, updates)."""
    return frozenset(shingle_hash_array(text).tolist())



# --------------------------------------------------------------------------- legacy MinHash


def minhash(shingle_list: list[str], num_perm: int = NUM_PERM) -> list[int]:
    """MinHash signature of shingle strings with rensa (streaming dedup)."""
    from rensa import RMinHash

    m = RMinHash(num_perm=num_perm, seed=MINHASH_SEED)
    m.update(shingle_list)
    return list(m.digest())


def lsh_keys(signature: list[int], bands: int = LSH_BANDS) -> list[str]:
    """One key per LSH band: articles sharing any band key become candidates (streaming dedup)."""
    rows = len(signature) // bands
    keys = []
    for b in range(bands):
        band = signature[b * rows:(b + 1) * rows]
        digest = hashlib.blake2b(repr(band).encode("ascii"), digest_size=8).hexdigest()
        keys.append(f"b{b}:{digest}")
    return keys


# --------------------------------------------------------------------------- batch features


class Sketch(NamedTuple):
    """What verification keeps of an article: its ``SKETCH_SIZE`` smallest 32-bit shingle
    hashes (sorted, as little-endian uint32 bytes) and its number of distinct shingles."""

    n: int
    hashes: bytes

    @property
    def array(self) -> np.ndarray:
        return np.frombuffer(self.hashes, dtype=np.uint32)


def make_sketch(hashes: np.ndarray, size: int = SKETCH_SIZE) -> Sketch:
    small = np.sort((hashes >> _S32).astype(np.uint32))
    if len(small) > 1:
        small = small[np.concatenate(([True], small[1:] != small[:-1]))]
    return Sketch(len(small), small[:size].astype("<u4").tobytes())


def signature(hashes: np.ndarray, num_perm: int) -> list[int]:
    """MinHash signature (rensa RMinHash, seeded) of pre-hashed shingles: ``num_perm`` uint32."""
    from rensa import RMinHash

    if not len(hashes):
        return [0] * num_perm
    m = RMinHash.digest_matrix_from_flat_token_hashes(hashes, [0, len(hashes)], num_perm, MINHASH_SEED)
    return m.to_rows()[0]


_MASK64 = (1 << 64) - 1
_KEY_MASK = (1 << 63) - 2  # even, and within int64: Beam encodes it as a varint, not a pickle
_BAND_SALT = 0xD6E8FEB86659FD93


_BAND_SALTS = [((b + 1) * _BAND_SALT) & _MASK64 for b in range(1024)]


def band_keys(sig: list[int], bands: int, rows: int) -> list[int]:
    """One int key per band of ``rows`` MinHash values (even, 63 bits: LSH band).

    MinHash values are uniform 32-bit numbers already, so a band's key is its values packed
    (two per 64 bits, folded with a multiply for more rows), salted by the band number.
    """
    salts = _BAND_SALTS if bands <= len(_BAND_SALTS) else [((b + 1) * _BAND_SALT) & _MASK64 for b in range(bands)]
    if rows == 2:
        return [((sig[2 * b] << 32 | sig[2 * b + 1]) ^ salts[b]) & _KEY_MASK for b in range(bands)]
    keys = []
    for b in range(bands):
        band = sig[b * rows:(b + 1) * rows]
        k = 0
        for i in range(0, rows, 2):
            pair = (band[i] << 32) | (band[i + 1] if i + 1 < rows else 0)
            k = ((k * 0x9E3779B97F4A7C15) ^ pair) & _MASK64
        keys.append((k ^ salts[b]) & _KEY_MASK)
    return keys


_ANCHOR_SALT = 0x8CB92BA72F3D8DD7


def anchor_keys(sketch: Sketch, count: int = ANCHORS) -> list[int]:
    """One key per pair of the article's ``count`` smallest shingle hashes ("anchors").

    An excerpt holding a share p of its source's shingles holds each of the source's smallest
    ones with probability p, and its own smallest ones are among them; two articles sharing a
    key share at least two anchors, which one common phrase alone does not produce.
    """
    small = sketch.array[:count].tolist()
    return [((x << 32 | y) ^ _ANCHOR_SALT) & _KEY_MASK
            for i, x in enumerate(small) for y in small[i + 1:]]


_SAMPLE_KEY_SALT = _U64(0x9E6C63D0676A9A99)
_SAMPLE_KEY_MASK = _U64(_KEY_MASK)


def sample_keys(hashes: np.ndarray, every: int = SAMPLE_EVERY) -> list[int]:
    """One key per two consecutive sampled shingles, in text order (excerpts of any length).

    A shingle is sampled when its hash is 0 modulo ``every``: the choice depends on the
    shingle alone, so a passage copied into another article samples the same shingles there,
    in the same order, and every pair of consecutive samples inside the passage is a key both
    articles hold. The anchors only find excerpts holding a large share of their source; these
    find a 300-word excerpt of a 1,000-word article (about eight samples, seven shared keys).
    Two samples in a row make a key so that one stock phrase shared by unrelated articles is
    not a candidate.
    """
    if every <= 0 or len(hashes) < 2:
        return []
    if every & (every - 1):
        raise ValueError(f"sample_every must be a power of two, not {every}")
    sampled = hashes[(hashes & _U64(every - 1)) == 0]
    if len(sampled) < 2:
        return []
    top = sampled >> _S32
    keys = (((top[:-1] << _S32) | top[1:]) ^ _SAMPLE_KEY_SALT) & _SAMPLE_KEY_MASK
    return keys.tolist()  # repeats are harmless: an id counts once per bucket
