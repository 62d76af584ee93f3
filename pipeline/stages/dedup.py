"""Identity, exact dedup and near-duplicate dedup.

Pure functions first (identity, shingles, sketches, LSH keys, similarity, canonical choice),
then the Beam transforms that apply them:

* ``identify``: ``id``, ``content_hash``, ``word_count`` and the ``dt`` partition of a record.
* :class:`ExactDedup`: copies with the same id (same canonical URL) or the same normalised
  text collapse onto one canonical copy (GroupByKey per key, so no single hot key). Versions
  of one URL with different texts are ``update``\\ s: the newest is kept and the older ones are
  recorded with a small diff summary.
* :class:`NearDedup`: word 5-gram shingles hashed straight from the text's code points
  (numpy, no Python string per shingle), a MinHash signature (rensa, from the shingle hashes)
  banded into many short LSH bands (2 rows: candidates down to Jaccard ~0.3), plus sample
  keys for excerpts (1 in 32 shingles is sampled by hash; each two consecutive samples are a
  key, so a passage copied anywhere shares its keys with its source). Candidates are verified on a compact per-article
  sketch (the ``SKETCH_SIZE`` smallest 32-bit shingle hashes and the shingle count: bottom-k),
  which gives the exact Jaccard and containment for articles of up to ``SKETCH_SIZE``
  shingles and unbiased estimates above; a fully contained excerpt always estimates at 1.0.
  Duplicate groups are resolved greedily in canonical-rank order, so a chain A~B~C never
  merges A and C unless C is itself close to A, or B lies inside A (an excerpt of A, or A's
  text wrapped in page chrome). The Beam shuffles of NearDedup carry batches (one element per
  shard and bundle, not one per key or pair), because a Python runner pays per element.

Canonical choice is deterministic and independent of input order: the most complete copy
(most words), then the earliest published, then the smallest id (then input location); for
versions of one URL, the newest.

Tuning and measurements: ``bench/dedup.py`` on the ``bench/make_corpus.py`` corpus (see
``bench/README.md``).
"""
from __future__ import annotations

import difflib
import hashlib
import pickle
import re
import sys
import threading
import unicodedata
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from typing import Iterable, NamedTuple, Optional

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.records import NULL_PARTITION, stable_hash
from pipeline.stages.base import Rejected

STAGE_IDENTIFY = "identify"
STAGE_DEDUP = "dedup"

SHINGLE_SIZE = 5

# Legacy MinHash parameters: ``minhash``/``lsh_keys``/``shingles`` below keep their behaviour for
# the streaming dedup (``dedup_stream.py``), which imports them.
NUM_PERM = 128
LSH_BANDS = 16  # 16 bands x 8 rows: candidate probability 50% at Jaccard ~0.71
MINHASH_SEED = 1

# Batch near-dup parameters (tuned with bench/dedup.py; see bench/README.md).
NEAR_THRESHOLD = 0.3  # 5-gram Jaccard: 10% random word edits give ~0.44 (short texts >= 0.35)
EXCERPT_THRESHOLD = 0.8  # share of the shorter article's 5-grams found in the longer one
NEAR_BANDS = 24  # 24 bands x 2 rows: candidate probability 95% at Jaccard 0.35, 99% at 0.42
NEAR_ROWS = 2
# Anchor pairs (every pair of an article's ANCHORS smallest shingle hashes) find excerpts holding
# a large share of their source; the sample keys find those and shorter ones, so anchors are off
# by default (N=20,000: excerpt recall below 50% 0.984 without them, 0.989 with; 12% slower).
ANCHORS = 0
SAMPLE_EVERY = 32  # 1 in 32 shingles (by hash; a power of two) is sampled; consecutive samples pair into a key
SKETCH_SIZE = 128  # bottom-k of 32-bit shingle hashes kept per article for verification
MIN_SAMPLE = 10  # sampled shingles needed before a containment estimate counts
MAX_BUCKET = 500  # an LSH/anchor bucket larger than this is boilerplate, not a story
SHARDS = 64  # keyed batches per shuffle in NearDedup (parallelism of the bucket and join steps)

_WORD = re.compile(r"\w+", re.UNICODE)
_U64 = np.uint64


# --------------------------------------------------------------------------- text tables
#
# One Unicode-wide lookup table turns a text into NFKC-mapped, case-folded code points with 0
# for every character that is not a word character, in a few vectorised numpy steps: no
# Python object per word or per shingle. ``normalise_for_hash`` and ``word_count`` stay
# identical to their reference definitions (regex over ``NFKC`` + ``casefold``; regex over
# the raw text): the characters the table cannot express map to ``_SPECIAL`` and send the
# text down the regex path. Those are: combining characters and characters that compose with
# the one before them (NFKC is not per character for them), characters whose NFKC or
# casefold is several characters with a word character among them, characters whose
# word-ness the mapping changes (the raw-text word count would differ), lone surrogates.

_MAX_CP = 0x110000
_SPECIAL = 0xFFFFFFFF
_FOLD: Optional[np.ndarray] = None
_FOLD_LOCK = threading.Lock()


# Above this, outside plane 14, Unicode (as of Python 3.11-3.13) has only unassigned and
# private-use code points: no word characters, no mappings (tests/stages/test_dedup.py checks).
_ASSIGNED_END = 0x32400
_PLANE_14 = range(0xE0000, 0xE1000)


def _build_fold_table() -> np.ndarray:
    cps = list(range(_ASSIGNED_END)) + list(_PLANE_14)
    is_word = re.compile(r"\w").fullmatch
    table = np.zeros(_MAX_CP, dtype=np.uint32)
    special = np.zeros(_MAX_CP, dtype=bool)
    second = {0x1161 + i for i in range(21)} | {0x11A8 + i for i in range(27)}  # Hangul V, T
    for cp in cps:
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2:
                second.add(int(parts[1], 16))
    for cp in cps:
        c = chr(cp)
        raw = bool(is_word(c))
        if unicodedata.combining(c) or cp in second or 0xD800 <= cp < 0xE000:
            special[cp] = True
            continue
        n = unicodedata.normalize("NFKC", c)
        if len(n) != 1:
            if any(is_word(x) for x in n.casefold()) or unicodedata.combining(n[0]) or ord(n[0]) in second:
                special[cp] = True
            elif raw:
                special[cp] = True
            continue  # separator (0)
        if unicodedata.combining(n) or ord(n) in second:  # e.g. compatibility jamo
            special[cp] = True
            continue
        f = n.casefold()
        if len(f) != 1:
            special[cp] = True
            continue
        word = bool(is_word(f))
        if word != raw:
            special[cp] = True
        elif word:
            table[cp] = ord(f)
    table[special] = _SPECIAL
    return table


def _fold_table() -> np.ndarray:
    global _FOLD
    if _FOLD is None:
        with _FOLD_LOCK:
            if _FOLD is None:
                _FOLD = _build_fold_table()  # ~0.5 s once per process, 4.4 MB
    return _FOLD


def _folded(text: str) -> np.ndarray:
    """Mapped code points, 0 for non-word characters (``_SPECIAL`` counts as a word character
    here): the input of the shingle hashes, which need not match the reference exactly."""
    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # lone surrogates
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _fold_table()[cp]


# --------------------------------------------------------------------------- identity


def _normalise_slow(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _fast_parts(text: str) -> Optional[tuple[str, int]]:
    """(normalised text, word count) in one pass, or None when the regex path must decide."""
    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    if not len(cp):
        return "", 0
    f = _fold_table()[cp]
    if f.max() == _SPECIAL:
        return None
    word = f != 0
    words = int(word[0]) + int(np.count_nonzero(word[1:] > word[:-1]))
    keep = word.copy()
    keep[1:] |= word[:-1]  # the words and the first separator after each
    out = f[keep]
    out[out == 0] = 32
    if len(out) and out[-1] == 32:
        out = out[:-1]
    return out.tobytes().decode("utf-32-le"), words


def _identity_parts(text: str) -> tuple[str, int]:
    """(``normalise_for_hash(text)``, ``word_count(text)``)."""
    parts = _fast_parts(text)
    if parts is not None:
        return parts
    return _normalise_slow(text), len(_WORD.findall(text))


def normalise_for_hash(text: str) -> str:
    """Case-folded words joined by single spaces: punctuation, quotes and layout do not count.

    Same result as ``" ".join(re.findall(r"\\w+", unicodedata.normalize("NFKC", text).casefold()))``.
    """
    parts = _fast_parts(text)
    return parts[0] if parts is not None else _normalise_slow(text)


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Number of ``\\w+`` runs in the text (as ``len(re.findall(r"\\w+", text))``)."""
    parts = _fast_parts(text)
    return parts[1] if parts is not None else len(_WORD.findall(text))


def article_id(url: Optional[str], text: str) -> str:
    """Stable id: hash of the canonical URL when there is one, else of the normalised text."""
    if url:
        return stable_hash("url:" + url)
    return stable_hash("text:" + normalise_for_hash(text))


def partition_date(published_at: Optional[str]) -> str:
    """``dt`` partition: the publication date; undated articles go to Hive's NULL partition.

    Batch runs never use the wall clock, so the same input always lands in the same place.
    """
    if published_at and len(published_at) >= 10:
        return published_at[:10]
    return NULL_PARTITION


def identify(article: dict) -> dict:
    """Add ``id``, ``content_hash``, ``word_count``, ``dt`` and the record contract's defaults.

    Rejects text without a single word (nothing to deduplicate or publish).
    """
    from pipeline import __version__
    from pipeline.records import SCHEMA_VERSION

    text = article.get("text") or ""
    normalised, words = _identity_parts(text)
    if words == 0:
        raise Rejected("article text has no words after cleaning")
    out = dict(article)
    url = article.get("url")
    out["id"] = stable_hash("url:" + url) if url else stable_hash("text:" + normalised)
    out["content_hash"] = hashlib.sha256(normalised.encode("utf-8")).hexdigest()
    out["word_count"] = words
    out["dt"] = partition_date(article.get("published_at"))
    out.setdefault("fetched_at", None)
    out.setdefault("authors", [])
    out["story_id"] = out["id"]
    out.setdefault("entities", [])
    out.setdefault("mentions", [])
    out["schema_version"] = SCHEMA_VERSION
    prov = dict(out.get("provenance") or {})
    prov["pipeline_version"] = __version__
    prov.setdefault("decisions", [])
    out["provenance"] = prov
    return out


# --------------------------------------------------------------------------- canonical rank


def canonical_rank(article: dict) -> tuple:
    """Sort key, smallest = best canonical: most words, earliest published, smallest id.

    Undated copies rank after dated ones; input location breaks the remaining ties so the
    choice never depends on the order records arrive in.
    """
    prov = article.get("provenance") or {}
    return (
        -int(article.get("word_count") or 0),
        article.get("published_at") or "9999",
        article.get("id") or "",
        prov.get("input_uri") or "",
        int(prov.get("offset") or 0),
    )


def newest_first(versions: Iterable[dict]) -> list[dict]:
    """Versions of one URL, newest first: latest ``published_at``, then latest ``fetched_at``,
    then :func:`canonical_rank` (so undated versions fall back to the most complete one)."""
    ordered = sorted(versions, key=canonical_rank)
    # stable sort: ties on the dates keep the canonical-rank order
    return sorted(ordered, key=lambda a: (a.get("published_at") or "", a.get("fetched_at") or ""),
                  reverse=True) if _has_dates(ordered) else ordered


def _has_dates(versions: list[dict]) -> bool:
    return any(a.get("published_at") or a.get("fetched_at") for a in versions)


def with_decision(article: dict, decision: str) -> dict:
    """Copy of the record with a decision appended to ``provenance.decisions``."""
    out = dict(article)
    prov = dict(out.get("provenance") or {})
    prov["decisions"] = list(prov.get("decisions") or []) + [decision]
    out["provenance"] = prov
    return out


def as_duplicate(article: dict, duplicate_of: str, kind: str, similarity: float,
                 diff: Optional[dict] = None) -> dict:
    dup = with_decision(article, f"duplicate:{kind}:{duplicate_of}")
    dup["duplicate_of"] = duplicate_of
    dup["kind"] = kind
    dup["similarity"] = round(float(similarity), 4)
    dup["diff"] = diff
    dup["story_id"] = duplicate_of
    dup["entities"] = []
    dup["mentions"] = []
    return dup


DIFF_MAX_WORDS = 20_000  # above this (after trimming the common ends) count words, not align


def text_diff(old: str, new: str) -> dict:
    """Characters added and removed from ``old`` to ``new``, over whitespace-separated words.

    The common prefix and suffix are trimmed first; the rest is aligned with difflib
    (``autojunk`` on), or for very long changed middles compared as word multisets, so the cost
    stays bounded. A word counts with its characters plus one separator.
    """
    a, b = old.split(), new.split()
    lo = 0
    while lo < len(a) and lo < len(b) and a[lo] == b[lo]:
        lo += 1
    hi = 0
    while hi < len(a) - lo and hi < len(b) - lo and a[-1 - hi] == b[-1 - hi]:
        hi += 1
    a, b = a[lo:len(a) - hi], b[lo:len(b) - hi]

    def chars(words: Iterable[str]) -> int:
        return sum(len(w) + 1 for w in words)

    if not a or not b:
        return {"chars_added": chars(b), "chars_removed": chars(a)}
    if len(a) + len(b) > DIFF_MAX_WORDS:
        ca, cb = Counter(a), Counter(b)
        return {"chars_added": chars((cb - ca).elements()), "chars_removed": chars((ca - cb).elements())}
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if op != "equal":
            removed += chars(a[i1:i2])
            added += chars(b[j1:j2])
    return {"chars_added": added, "chars_removed": removed}


def collapse_exact(copies: Iterable[dict], same_url: bool) -> tuple[dict, list[dict]]:
    """One canonical copy out of records sharing a key, and the others as duplicates.

    ``same_url``: the copies share a canonical URL. When their texts differ they are versions
    of one article: the newest is kept (latest ``published_at``, else latest ``fetched_at``,
    else the canonical rank) and every older version whose text differs is an ``update`` with
    its ``diff`` to the kept text. Copies with the kept text are ``exact``; without a version
    change the canonical rank decides (most complete, earliest, smallest id).
    """
    copies = list(copies)
    versions = same_url and len({c.get("content_hash") for c in copies}) > 1
    ranked = newest_first(copies) if versions else sorted(copies, key=canonical_rank)
    canonical, rest = ranked[0], ranked[1:]
    dups = []
    for copy in rest:
        if versions and copy.get("content_hash") != canonical.get("content_hash"):
            sim = jaccard_of_texts(copy["text"], canonical["text"])
            dups.append(as_duplicate(copy, canonical["id"], "update", sim,
                                     text_diff(copy["text"], canonical["text"])))
        else:
            dups.append(as_duplicate(copy, canonical["id"], "exact", 1.0))
    return canonical, dups


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


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    if len(a) < 2:
        return a
    s = np.sort(a)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


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


class NearFeatures(NamedTuple):
    """Per-article state of batch near-dup: rank, sketch and candidate keys (no text)."""

    id: str
    rank: tuple
    sketch: Sketch
    keys: list  # ints: LSH bands, then anchor pairs


def near_features(article: dict, bands: int = NEAR_BANDS, rows: int = NEAR_ROWS,
                  anchors: int = ANCHORS, sketch_size: int = SKETCH_SIZE,
                  sample_every: int = SAMPLE_EVERY) -> NearFeatures:
    hashes = shingle_hash_array(article["text"])
    sketch = make_sketch(hashes, sketch_size)
    keys = band_keys(signature(hashes, bands * rows), bands, rows) if bands and len(hashes) else []
    keys += anchor_keys(sketch, anchors)
    keys += sample_keys(hashes, sample_every)
    return NearFeatures(article["id"], canonical_rank(article), sketch, keys)


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


class Edge(NamedTuple):
    """A verified near-duplicate relation: ``dup`` is a copy of ``keep``."""

    keep_rank: tuple
    keep: str
    dup_rank: tuple
    dup: str
    kind: str
    similarity: float
    inside: float = 0.0  # share of dup's shingles found in keep


def classify_pair(rank_a: tuple, id_a: str, rank_b: tuple, id_b: str, sim: Similarity,
                  near_threshold: float, excerpt_threshold: float,
                  min_sample: int = MIN_SAMPLE) -> Optional[Edge]:
    """Decide whether two candidates are near copies, and which one would be kept.

    ``excerpt``: the article to drop lies inside the one to keep (containment at or above
    ``excerpt_threshold``, based on at least ``min_sample`` of its shingles: a caption of six
    words is inside many articles without being a copy of them) and the kept one does not lie
    inside it. ``near``: Jaccard at or above ``near_threshold``.
    """
    if rank_a <= rank_b:
        keep_rank, keep, dup_rank, dup = rank_a, id_a, rank_b, id_b
        inside, outside, sample = sim.containment_b, sim.containment_a, sim.sample_b
    else:
        keep_rank, keep, dup_rank, dup = rank_b, id_b, rank_a, id_a
        inside, outside, sample = sim.containment_a, sim.containment_b, sim.sample_a
    if sample < min_sample:
        inside = 0.0  # too few shingles to tell
    if inside >= excerpt_threshold and outside < excerpt_threshold:
        return Edge(keep_rank, keep, dup_rank, dup, "excerpt", inside, inside)
    if sim.jaccard >= near_threshold:
        return Edge(keep_rank, keep, dup_rank, dup, "near", sim.jaccard, inside)
    return None


INSIDE = 0.95  # an article this much inside a better-ranked one is that one, for its other copies


def resolve_edges(edges: Iterable[Edge]) -> dict[str, tuple[str, str, float]]:
    """Greedy, order-independent resolution: ``{dup_id: (canonical_id, kind, similarity)}``.

    Articles are visited best-ranked first; an article becomes a duplicate of its best-ranked
    neighbour that is itself canonical. A copy of a copy therefore stays canonical unless it is
    also close to the canonical, which keeps chains from merging unrelated articles.

    One exception: an article that lies inside a better-ranked one (containment >= ``INSIDE``:
    an excerpt of it, or the text that the better-ranked copy wraps in page chrome) stands for
    its best such container, its *alias*, in every other relation: whatever is close to it is
    close to a part of the container. So a copy with 10% edits of an original that itself lies
    inside a chrome-wrapped copy joins the chrome-wrapped copy even when page chrome pushes
    their own Jaccard below the threshold. Only ``near`` relations are re-pointed to the alias
    from the better-ranked side (an article containing the same excerpt as another is not a
    copy of it). The similarity reported is the one of the verified pair.
    """
    edges = set(edges)
    ranks: dict[str, tuple] = {}
    for e in edges:
        ranks[e.keep] = e.keep_rank
        ranks[e.dup] = e.dup_rank
    container: dict[str, str] = {}
    for e in sorted(edges, key=lambda e: (e.keep_rank, e.keep, e.dup)):
        if e.inside >= INSIDE and e.dup not in container:
            container[e.dup] = e.keep

    def alias(node: str) -> str:
        while node in container:  # ranks strictly improve along the chain: it ends
            node = container[node]
        return node

    options: dict[str, set] = defaultdict(set)
    for e in edges:
        keep = alias(e.keep)
        options[e.dup].add((ranks[keep], keep, e.kind, e.similarity))
        top = alias(e.dup)
        if top != e.dup and e.kind == "near" and top != e.keep:
            a, b = (e.keep, top) if ranks[e.keep] > ranks[top] else (top, e.keep)
            options[a].add((ranks[b], b, e.kind, e.similarity))  # a: the worse-ranked one
    decisions: dict[str, tuple[str, str, float]] = {}
    for node in sorted(ranks, key=lambda n: (ranks[n], n)):
        for rank, other, kind, sim in sorted(options.get(node, ())):
            if rank < ranks[node] and other not in decisions:  # better-ranked and canonical
                decisions[node] = (other, kind, sim)
                break
    return decisions


# --------------------------------------------------------------------------- in memory


def id_code(article_id: str) -> int:
    """The 64-bit number an id (16 hex digits) stands for; ``id_of`` reverses it."""
    return int(article_id, 16)


def id_of(code: int) -> str:
    return f"{code:016x}"


def pair_codes(keys: np.ndarray, ids: np.ndarray, max_bucket: int = MAX_BUCKET) -> tuple[np.ndarray, int]:
    """Candidate pairs from (key, id code) entries (two uint64 arrays): every two ids sharing a
    key, as unique rows ``(a, b)`` with ``a < b`` (uint64, shape (P, 2)), and the number of
    buckets skipped for holding more than ``max_bucket`` ids (boilerplate, not a story).

    Vectorised: the keys are sorted once and the pairs of all buckets of one size come from one
    ``triu_indices`` gather, so the hundreds of thousands of one-article buckets and the
    repeated pairs (copies share many bands) never reach Python.
    """
    empty = np.empty((0, 2), dtype=np.uint64)
    if len(keys) < 2:
        return empty, 0
    order = np.lexsort((ids, keys))
    k, v = keys[order], ids[order]
    fresh = np.ones(len(k), dtype=bool)
    fresh[1:] = (k[1:] != k[:-1]) | (v[1:] != v[:-1])  # an id counts once per bucket
    k, v = k[fresh], v[fresh]
    cut = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate(([0], cut))
    sizes = np.diff(np.concatenate((starts, [len(k)])))
    oversized = int(np.count_nonzero(sizes > max_bucket))
    useful = (sizes >= 2) & (sizes <= max_bucket)
    parts = []
    for size in np.unique(sizes[useful]).tolist():
        first = starts[useful & (sizes == size)]
        i, j = np.triu_indices(size, 1)
        parts.append(np.stack((v[first[:, None] + i].ravel(), v[first[:, None] + j].ravel()), axis=1))
    if not parts:
        return empty, oversized
    pairs = np.concatenate(parts)
    return _unique_rows(pairs), oversized


def _unique_rows(pairs: np.ndarray) -> np.ndarray:
    if len(pairs) < 2:
        return pairs
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    keep = np.ones(len(pairs), dtype=bool)
    keep[1:] = (pairs[1:, 0] != pairs[:-1, 0]) | (pairs[1:, 1] != pairs[:-1, 1])
    return pairs[keep]


def _entries(features: Iterable[NearFeatures]) -> tuple[np.ndarray, np.ndarray]:
    keys, ids = [], []
    for f in features:
        keys += f.keys
        ids += [id_code(f.id)] * len(f.keys)
    return np.array(keys, dtype=np.uint64), np.array(ids, dtype=np.uint64)


def candidate_pairs(features: Iterable[NearFeatures], max_bucket: int = MAX_BUCKET) -> list[tuple[str, str]]:
    """Pairs of ids ``(a, b)``, ``a < b``, sharing an LSH band, two anchors or two consecutive samples."""
    pairs, _oversized = pair_codes(*_entries(features), max_bucket)
    return [(id_of(a), id_of(b)) for a, b in pairs.tolist()]


def verify_pair(a: NearFeatures, b: NearFeatures, near_threshold: float,
                excerpt_threshold: float, values: Optional[dict] = None) -> Optional[Edge]:
    """Verify one candidate pair on the sketches; ``values``: a cache of decoded sketches."""
    if values is None:
        sim = sketch_similarity(a.sketch, b.sketch)
    else:
        xa = values.get(a.id)
        if xa is None:
            xa = values[a.id] = sketch_values(a.sketch)
        xb = values.get(b.id)
        if xb is None:
            xb = values[b.id] = sketch_values(b.sketch)
        sim = sketch_similarity(a.sketch, b.sketch, xa, xb)
    return classify_pair(a.rank, a.id, b.rank, b.id, sim, near_threshold, excerpt_threshold)


def near_decisions(features: list[NearFeatures], near_threshold: float = NEAR_THRESHOLD,
                   excerpt_threshold: float = EXCERPT_THRESHOLD, max_bucket: int = MAX_BUCKET) -> dict:
    """What :class:`NearDedup` decides, computed in memory (reference and benchmark)."""
    by_id = {f.id: f for f in features}
    edges, values = [], {}
    for a, b in candidate_pairs(features, max_bucket):
        edge = verify_pair(by_id[a], by_id[b], near_threshold, excerpt_threshold, values)
        if edge is not None:
            edges.append(edge)
    return resolve_edges(edges)


def dedup_in_memory(records: Iterable[dict], near_threshold: float = NEAR_THRESHOLD,
                    excerpt_threshold: float = EXCERPT_THRESHOLD, bands: int = NEAR_BANDS,
                    rows: int = NEAR_ROWS, anchors: int = ANCHORS, max_bucket: int = MAX_BUCKET,
                    sketch_size: int = SKETCH_SIZE,
                    sample_every: int = SAMPLE_EVERY) -> tuple[list[dict], list[dict]]:
    """ExactDedup then NearDedup on identified records, in memory: ``(kept, duplicates)``.

    Same pure functions and same decisions as the Beam transforms (tested), for the benchmark
    and for small batches.
    """
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_id[r["id"]].append(r)
    exact_dups: list[dict] = []
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for copies in by_id.values():
        canonical, dups = collapse_exact(copies, same_url=True)
        exact_dups += dups
        by_hash[canonical["content_hash"]].append(canonical)
    unique = []
    for copies in by_hash.values():
        canonical, dups = collapse_exact(copies, same_url=False)
        exact_dups += dups
        unique.append(canonical)
    feats = [near_features(a, bands, rows, anchors, sketch_size, sample_every) for a in unique]
    decisions = near_decisions(feats, near_threshold, excerpt_threshold, max_bucket)
    kept, dups = [], []
    for a in unique:
        d = decisions.get(a["id"])
        if d is None:
            kept.append(dict(with_decision(a, "canonical"), story_id=a["id"]))
        else:
            dups.append(as_duplicate(a, d[0], d[1], d[2]))
    dups += [_repoint(d, decisions) for d in exact_dups]
    return kept, dups


# --------------------------------------------------------------------------- Beam: exact


def _by_key(article: dict, key_field: str):
    return article[key_field], article


# Main output: articles. Declared, because Beam >= 2.78 infers Union[TaggedOutput, dict]
# from the generator and then refuses typed steps downstream (e.g. Map(fn: dict -> dict)).
@beam.typehints.with_output_types(dict)
class _CollapseFn(beam.DoFn):
    """GroupByKey output -> canonical (main) and duplicates (tagged)."""

    def __init__(self, same_url: bool):
        self.same_url = same_url
        step = "same_url" if same_url else "same_text"
        self.dropped = Metrics.counter(STAGE_DEDUP, f"{step}_duplicates")
        self.updates = Metrics.counter(STAGE_DEDUP, "updates")

    def process(self, keyed):
        _key, copies = keyed
        canonical, dups = collapse_exact(copies, self.same_url)
        yield canonical
        for dup in dups:
            (self.updates if dup["kind"] == "update" else self.dropped).inc()
            yield beam.pvalue.TaggedOutput("duplicates", dup)


class ExactDedup(beam.PTransform):
    """Same id (canonical URL, or text without URL), then same normalised text.

    Returns ``(articles, duplicates)``.
    """

    def expand(self, articles):
        by_id = (articles
                 | "KeyById" >> beam.Map(_by_key, "id")
                 | "GroupById" >> beam.GroupByKey()
                 | "CollapseById" >> beam.ParDo(_CollapseFn(same_url=True)).with_outputs("duplicates", main="kept"))
        by_hash = (by_id.kept
                   | "KeyByContent" >> beam.Map(_by_key, "content_hash")
                   | "GroupByContent" >> beam.GroupByKey()
                   | "CollapseByContent" >> beam.ParDo(_CollapseFn(same_url=False)).with_outputs("duplicates", main="kept"))
        duplicates = (by_id.duplicates, by_hash.duplicates) | "ExactDuplicates" >> beam.Flatten()
        return by_hash.kept, duplicates


# --------------------------------------------------------------------------- Beam: near
#
# A Python runner pays per shuffled element (~30-40 us on the FnApiRunner) and an article has
# ~40 candidate keys, so NearDedup never shuffles one element per key or per pair: the keyed
# steps exchange one batch per shard and bundle (numpy buffers for keys and pairs, lists of
# plain tuples for features), emitted at the end of the bundle; the GroupByKeys after them meet
# ``SHARDS`` keys, and every shard is processed in one call. Batch only (global window).


def _shard_of(article_id: str) -> int:
    return int(article_id[:8], 16) % SHARDS  # the top 32 bits of the id code


def _emit(shard: int, value) -> WindowedValue:
    return WindowedValue((shard, value), GlobalWindow().max_timestamp(), (GlobalWindow(),))


class _KeyBatchFn(beam.DoFn):
    """Features -> per bundle, for every shard of keys: (shard, (keys, ids) as uint64 bytes)."""

    def start_bundle(self):
        self._keys: list[int] = []
        self._ids: list[int] = []

    def process(self, f: NearFeatures):
        self._keys += f.keys
        self._ids += [id_code(f.id)] * len(f.keys)

    def finish_bundle(self):
        if not self._keys:
            return
        keys = np.array(self._keys, dtype=np.uint64)
        ids = np.array(self._ids, dtype=np.uint64)
        self._keys, self._ids = [], []
        shard = ((keys >> _U64(1)) % _U64(SHARDS)).astype(np.int64)
        order = np.argsort(shard, kind="stable")
        shard, keys, ids = shard[order], keys[order], ids[order]
        bounds = np.flatnonzero(np.diff(shard)) + 1
        for lo, hi in zip(np.concatenate(([0], bounds)).tolist(), np.concatenate((bounds, [len(shard)])).tolist()):
            yield _emit(int(shard[lo]), (keys[lo:hi].tobytes(), ids[lo:hi].tobytes()))


class _ShardBatchFn(beam.DoFn):
    """[(shard, item)] -> (shard, [items]) once per shard and bundle."""

    def start_bundle(self):
        self._batches: dict[int, list] = defaultdict(list)

    def process(self, element):
        for shard, item in element:
            self._batches[shard].append(item)

    def finish_bundle(self):
        for shard, items in sorted(self._batches.items()):
            yield _emit(shard, items)
        self._batches = defaultdict(list)


def _to_wire(f: NearFeatures) -> tuple:
    """Plain tuple of primitives: Beam's coder encodes it natively (a NamedTuple is pickled)."""
    return (f.id, f.rank, f.sketch.n, f.sketch.hashes)


def _from_wire(t) -> NearFeatures:
    return NearFeatures(t[0], tuple(t[1]), Sketch(t[2], t[3]), [])


def _feature_items(f: NearFeatures):
    return [(_shard_of(f.id), ("f", _to_wire(f)))]


class _PairsInShardFn(beam.DoFn):
    """One shard of keys -> its candidate pairs, as uint64 (a, b) buffers per shard of a."""

    def __init__(self, max_bucket: int):
        self.max_bucket = max_bucket
        self.oversized = Metrics.counter(STAGE_DEDUP, "oversized_buckets")

    def process(self, keyed):
        _shard, batches = keyed
        batches = list(batches)
        keys = np.concatenate([np.frombuffer(k, dtype=np.uint64) for k, _ in batches])
        ids = np.concatenate([np.frombuffer(i, dtype=np.uint64) for _, i in batches])
        pairs, oversized = pair_codes(keys, ids, self.max_bucket)
        if oversized:
            self.oversized.inc(oversized)
        if not len(pairs):
            return
        shard = ((pairs[:, 0] >> _U64(32)) % _U64(SHARDS)).astype(np.int64)
        order = np.argsort(shard, kind="stable")
        shard, pairs = shard[order], pairs[order]
        bounds = np.flatnonzero(np.diff(shard)) + 1
        for lo, hi in zip(np.concatenate(([0], bounds)).tolist(), np.concatenate((bounds, [len(shard)])).tolist()):
            yield int(shard[lo]), [("p", pairs[lo:hi].tobytes())]


class _AttachFirstFn(beam.DoFn):
    """Shard of first ids: unique candidate pairs, each with its first article's features,
    keyed by the shard of the second id."""

    def process(self, keyed):
        _shard, batches = keyed
        feats, blobs = {}, []
        for batch in batches:
            for tag, item in batch:
                if tag == "f":
                    feats[item[0]] = item
                else:
                    blobs.append(np.frombuffer(item, dtype=np.uint64).reshape(-1, 2))
        if not blobs:
            return
        pairs = _unique_rows(np.concatenate(blobs))
        out = []
        for a, b in pairs.tolist():
            first = feats.get(id_of(a))
            if first is not None:
                b = id_of(b)
                out.append((_shard_of(b), ("p", (first, b))))
        yield out


class _VerifyFn(beam.DoFn):
    """Shard of second ids: verify every candidate pair on the two sketches."""

    def __init__(self, near_threshold: float, excerpt_threshold: float):
        self.near_threshold = near_threshold
        self.excerpt_threshold = excerpt_threshold
        self.verified = Metrics.counter(STAGE_DEDUP, "candidate_pairs")

    def process(self, keyed):
        _shard, batches = keyed
        feats, pairs = {}, []
        for batch in batches:
            for tag, item in batch:
                if tag == "f":
                    feats[item[0]] = item
                else:
                    pairs.append(item)
        self.verified.inc(len(pairs))
        decoded, values = {}, {}
        for first, b in pairs:
            second = feats.get(b)
            if second is None:
                continue
            fa = decoded.get(first[0]) or decoded.setdefault(first[0], _from_wire(first))
            fb = decoded.get(b) or decoded.setdefault(b, _from_wire(second))
            edge = verify_pair(fa, fb, self.near_threshold, self.excerpt_threshold, values)
            if edge is not None:
                yield tuple(edge)


class _Decisions:
    """The resolved decisions travel as one pickled blob: a runner measures and caches a side
    input by walking its objects, which for a dict of thousands of tuples costs more than the
    whole verification. Each DoFn instance unpickles a blob once."""

    def __init__(self):
        self._blob = None
        self._decisions: dict = {}

    def get(self, blob: bytes) -> dict:
        if blob is not self._blob:
            self._decisions = pickle.loads(blob)
            self._blob = blob
        return self._decisions


# Main output: articles. Declared, because Beam >= 2.78 infers Union[TaggedOutput, dict]
# from the generator and then refuses typed steps downstream (e.g. Map(fn: dict -> dict)).
@beam.typehints.with_output_types(dict)
class _ApplyDecisionsFn(beam.DoFn):
    def __init__(self):
        self.near = Metrics.counter(STAGE_DEDUP, "near_duplicates")
        self.excerpt = Metrics.counter(STAGE_DEDUP, "excerpts")
        self.kept = Metrics.counter(STAGE_DEDUP, "canonical")

    def setup(self):
        self._decisions = _Decisions()

    def process(self, article, blob):
        decision = self._decisions.get(blob).get(article["id"])
        if decision is None:
            self.kept.inc()
            out = with_decision(article, "canonical")
            out["story_id"] = article["id"]
            yield out
            return
        canonical, kind, sim = decision
        (self.near if kind == "near" else self.excerpt).inc()
        yield beam.pvalue.TaggedOutput("duplicates", as_duplicate(article, canonical, kind, sim))


class _RepointFn(beam.DoFn):
    def setup(self):
        self._decisions = _Decisions()

    def process(self, duplicate, blob):
        yield _repoint(duplicate, self._decisions.get(blob))


def _repoint(duplicate: dict, decisions) -> dict:
    """An exact copy of an article that itself became a near duplicate points at the final canonical."""
    target = duplicate["duplicate_of"]
    seen = set()
    while target in decisions and target not in seen:
        seen.add(target)
        target = decisions[target][0]
    if target != duplicate["duplicate_of"]:
        duplicate = dict(duplicate, duplicate_of=target, story_id=target)
        prov = dict(duplicate.get("provenance") or {})
        prov["decisions"] = list(prov.get("decisions") or []) + [f"repointed:{target}"]
        duplicate["provenance"] = prov
    return duplicate


def _with_one_key(edge: tuple):
    return 0, edge


def _resolve_group(_key, edges) -> bytes:
    decisions = resolve_edges(Edge(*e) for e in edges)
    return pickle.dumps(decisions, protocol=pickle.HIGHEST_PROTOCOL)


_NO_DECISIONS = pickle.dumps({}, protocol=pickle.HIGHEST_PROTOCOL)


class NearDedup(beam.PTransform):
    """Near-duplicates and excerpts among articles that survived exact dedup.

    Input: ``(articles, exact_duplicates)``. Returns ``(articles, duplicates)`` where the
    articles carry ``story_id`` and every duplicate points at a kept article.

    ``bands`` LSH bands of ``rows`` MinHash values each find candidates by Jaccard; every pair
    of an article's ``anchors`` smallest shingle hashes, and every two consecutive sampled
    shingles (1 in ``sample_every``), is a key that finds excerpts; a bucket
    of more than ``max_bucket`` articles is skipped. Candidates are verified on the sketches
    (``near_threshold``: Jaccard; ``excerpt_threshold``: containment of the dropped article).
    Batch only: the keyed steps batch per bundle in the global window.
    """

    def __init__(self, near_threshold: float = NEAR_THRESHOLD,
                 excerpt_threshold: float = EXCERPT_THRESHOLD,
                 bands: int = NEAR_BANDS, rows: int = NEAR_ROWS, anchors: int = ANCHORS,
                 max_bucket: int = MAX_BUCKET, num_perm: Optional[int] = None,
                 sketch_size: int = SKETCH_SIZE, sample_every: int = SAMPLE_EVERY):
        super().__init__()
        self.sketch_size = sketch_size
        self.sample_every = sample_every
        self.near_threshold = near_threshold
        self.excerpt_threshold = excerpt_threshold
        self.bands = bands
        self.rows = rows if num_perm is None else max(1, num_perm // bands)
        self.anchors = anchors
        self.max_bucket = max_bucket

    def expand(self, inputs):
        articles, exact_duplicates = inputs
        feats = articles | "Features" >> beam.Map(near_features, self.bands, self.rows, self.anchors,
                                                  self.sketch_size, self.sample_every)
        by_shard = (feats
                    | "FeaturesByShard" >> beam.Map(_feature_items)
                    | "BatchFeatures" >> beam.ParDo(_ShardBatchFn()))
        pairs = (feats
                 | "BatchKeys" >> beam.ParDo(_KeyBatchFn())
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "PairsInBuckets" >> beam.ParDo(_PairsInShardFn(self.max_bucket)))
        firsts = ((by_shard, pairs)
                  | "PairsAndFirsts" >> beam.Flatten()
                  | "GroupFirsts" >> beam.GroupByKey()
                  | "AttachFirst" >> beam.ParDo(_AttachFirstFn())
                  | "BatchFirsts" >> beam.ParDo(_ShardBatchFn()))
        edges = ((by_shard, firsts)
                 | "FirstsAndSeconds" >> beam.Flatten()
                 | "GroupSeconds" >> beam.GroupByKey()
                 | "Verify" >> beam.ParDo(_VerifyFn(self.near_threshold, self.excerpt_threshold)))
        # one group for all edges (a few per duplicate): the greedy resolution is global
        decisions = (edges
                     | "OneKey" >> beam.Map(_with_one_key)
                     | "AllEdges" >> beam.GroupByKey()
                     | "Resolve" >> beam.MapTuple(_resolve_group))
        decisions = beam.pvalue.AsSingleton(decisions, default_value=_NO_DECISIONS)
        decided = articles | "ApplyDecisions" >> beam.ParDo(
            _ApplyDecisionsFn(), decisions).with_outputs("duplicates", main="kept")
        repointed = exact_duplicates | "RepointExact" >> beam.ParDo(_RepointFn(), decisions)
        duplicates = (decided.duplicates, repointed) | "AllDuplicates" >> beam.Flatten()
        return decided.kept, duplicates
