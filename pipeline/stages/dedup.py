"""Identity, exact dedup and near-duplicate dedup.

Pure functions first (identity, shingles, MinHash, LSH keys, similarity, canonical choice),
then the Beam transforms that apply them:

* ``identify``: ``id``, ``content_hash``, ``word_count`` and the ``dt`` partition of a record.
* :class:`ExactDedup`: copies with the same id (same canonical URL) or the same normalised
  text collapse onto one canonical copy (GroupByKey per key, so no single hot key).
* :class:`NearDedup`: MinHash signatures (rensa) banded into LSH keys find copies with a high
  Jaccard similarity; a sample of "anchor" shingles (those whose hash is 0 mod
  ``anchor_modulus``) finds excerpts, whose Jaccard with the full article is too low for LSH
  bands. Candidates are verified with exact Jaccard and containment on the shingle sets, and
  duplicate groups are resolved greedily in canonical-rank order, so a chain A~B~C never
  merges A and C unless C is itself close to A.

Canonical choice is deterministic and independent of input order: the most complete copy
(most words), then the earliest published, then the smallest id (then input location).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import NULL_PARTITION, stable_hash
from pipeline.stages.base import Rejected

STAGE_IDENTIFY = "identify"
STAGE_DEDUP = "dedup"

SHINGLE_SIZE = 5
NUM_PERM = 128
LSH_BANDS = 16  # 16 bands x 8 rows: candidate probability 50% at Jaccard ~0.71
ANCHOR_MODULUS = 16  # about one shingle in 16 is an anchor
MIN_SHARED_ANCHORS = 2
MAX_BUCKET = 500  # an LSH/anchor bucket larger than this is boilerplate, not a story
MINHASH_SEED = 1

_WORD = re.compile(r"\w+", re.UNICODE)


# --------------------------------------------------------------------------- identity


def normalise_for_hash(text: str) -> str:
    """Case-folded words joined by single spaces: punctuation, quotes and layout do not count."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


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
    words = len(_WORD.findall(text))
    if words == 0:
        raise Rejected("article text has no words after cleaning")
    out = dict(article)
    out["id"] = article_id(article.get("url"), text)
    out["content_hash"] = content_hash(text)
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


def with_decision(article: dict, decision: str) -> dict:
    """Copy of the record with a decision appended to ``provenance.decisions``."""
    out = dict(article)
    prov = dict(out.get("provenance") or {})
    prov["decisions"] = list(prov.get("decisions") or []) + [decision]
    out["provenance"] = prov
    return out


def as_duplicate(article: dict, duplicate_of: str, kind: str, similarity: float) -> dict:
    dup = with_decision(article, f"duplicate:{kind}:{duplicate_of}")
    dup["duplicate_of"] = duplicate_of
    dup["kind"] = kind
    dup["similarity"] = round(float(similarity), 4)
    dup["story_id"] = duplicate_of
    dup["entities"] = []
    dup["mentions"] = []
    return dup


def collapse_exact(copies: Iterable[dict], same_url: bool) -> tuple[dict, list[dict]]:
    """One canonical copy out of records sharing a key, and the others as duplicates.

    ``same_url``: the copies share a canonical URL; one whose text differs from the canonical
    is an ``update`` (a re-fetch or a correction), otherwise the copy is ``exact``.
    """
    ranked = sorted(copies, key=canonical_rank)
    canonical, rest = ranked[0], ranked[1:]
    dups = []
    for copy in rest:
        changed = same_url and copy.get("content_hash") != canonical.get("content_hash")
        if changed:
            sim = jaccard(set(shingles(copy["text"])), set(shingles(canonical["text"])))
            dups.append(as_duplicate(copy, canonical["id"], "update", sim))
        else:
            dups.append(as_duplicate(copy, canonical["id"], "exact", 1.0))
    return canonical, dups


# --------------------------------------------------------------------------- near duplicates


def shingles(text: str, size: int = SHINGLE_SIZE) -> list[str]:
    """Word ``size``-grams of the normalised text (the whole text when it is shorter)."""
    words = normalise_for_hash(text).split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]


def shingle_hashes(text: str) -> frozenset[int]:
    """64-bit hashes of the shingles: the compact set that verification compares."""
    return frozenset(
        int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
        for s in shingles(text)
    )


def minhash(shingle_list: list[str], num_perm: int = NUM_PERM) -> list[int]:
    """MinHash signature with rensa (fast, deterministic for a fixed seed)."""
    from rensa import RMinHash

    m = RMinHash(num_perm=num_perm, seed=MINHASH_SEED)
    m.update(shingle_list)
    return list(m.digest())


def lsh_keys(signature: list[int], bands: int = LSH_BANDS) -> list[str]:
    """One key per LSH band: articles sharing any band key become candidates."""
    rows = len(signature) // bands
    keys = []
    for b in range(bands):
        band = signature[b * rows:(b + 1) * rows]
        digest = hashlib.blake2b(repr(band).encode("ascii"), digest_size=8).hexdigest()
        keys.append(f"b{b}:{digest}")
    return keys


def anchor_keys(hashes: frozenset[int], modulus: int = ANCHOR_MODULUS) -> list[str]:
    """Content-defined sample of shingles: an excerpt shares anchors with its source."""
    return sorted(f"a:{h:016x}" for h in hashes if h % modulus == 0)


class Similarity(NamedTuple):
    jaccard: float
    containment_a: float  # share of a's shingles found in b
    containment_b: float


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def similarity(a: frozenset[int], b: frozenset[int]) -> Similarity:
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return Similarity(
        jaccard=inter / union if union else 1.0,
        containment_a=inter / len(a) if a else 0.0,
        containment_b=inter / len(b) if b else 0.0,
    )


class Edge(NamedTuple):
    """A verified near-duplicate relation: ``dup`` is a copy of ``keep``."""

    keep_rank: tuple
    keep: str
    dup_rank: tuple
    dup: str
    kind: str
    similarity: float


def classify_pair(rank_a: tuple, id_a: str, rank_b: tuple, id_b: str, sim: Similarity,
                  near_threshold: float, excerpt_threshold: float) -> Optional[Edge]:
    """Decide whether two candidates are near copies, and which one would be kept."""
    if rank_a <= rank_b:
        keep_rank, keep, dup_rank, dup, contained = rank_a, id_a, rank_b, id_b, sim.containment_b
    else:
        keep_rank, keep, dup_rank, dup, contained = rank_b, id_b, rank_a, id_a, sim.containment_a
    if sim.jaccard >= near_threshold:
        return Edge(keep_rank, keep, dup_rank, dup, "near", sim.jaccard)
    if contained >= excerpt_threshold:
        return Edge(keep_rank, keep, dup_rank, dup, "excerpt", contained)
    return None


def resolve_edges(edges: Iterable[Edge]) -> dict[str, tuple[str, str, float]]:
    """Greedy, order-independent resolution: ``{dup_id: (canonical_id, kind, similarity)}``.

    Articles are visited best-ranked first; an article becomes a duplicate of its best-ranked
    neighbour that is itself canonical. A copy of a copy therefore stays canonical unless it
    is also close to the canonical, which keeps chains from merging unrelated articles.
    """
    ranks: dict[str, tuple] = {}
    neighbours: dict[str, list[tuple[tuple, str, str, float]]] = {}
    for e in edges:
        ranks[e.keep] = e.keep_rank
        ranks[e.dup] = e.dup_rank
        neighbours.setdefault(e.dup, []).append((e.keep_rank, e.keep, e.kind, e.similarity))
    decisions: dict[str, tuple[str, str, float]] = {}
    for node in sorted(ranks, key=lambda n: (ranks[n], n)):
        for _rank, other, kind, sim in sorted(neighbours.get(node, ())):
            if other not in decisions:  # better-ranked and canonical
                decisions[node] = (other, kind, sim)
                break
    return decisions


# --------------------------------------------------------------------------- Beam


def _by_key(article: dict, key_field: str):
    return article[key_field], article


class _CollapseFn(beam.DoFn):
    """GroupByKey output -> canonical (main) and duplicates (tagged)."""

    def __init__(self, same_url: bool):
        self.same_url = same_url
        step = "same_url" if same_url else "same_text"
        self.dropped = Metrics.counter(STAGE_DEDUP, f"{step}_duplicates")

    def process(self, keyed):
        _key, copies = keyed
        canonical, dups = collapse_exact(copies, self.same_url)
        yield canonical
        for dup in dups:
            self.dropped.inc()
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


class _Features(NamedTuple):
    rank: tuple
    hashes: frozenset


def near_features(article: dict, bands: int, num_perm: int, anchor_modulus: int):
    """(id, features) plus the candidate keys of one article."""
    text = article["text"]
    sh = shingles(text)
    hashes = shingle_hashes(text)
    keys = lsh_keys(minhash(sh, num_perm), bands) + anchor_keys(hashes, anchor_modulus)
    return article["id"], _Features(canonical_rank(article), hashes), keys


def _id_and_features(f):
    return f[0], f[1]


def _keys_to_id(f):
    return [(k, f[0]) for k in f[2]]


class _CandidatePairsFn(beam.DoFn):
    """Bucket -> every pair of ids in it (sorted); oversized buckets are boilerplate."""

    def __init__(self, max_bucket: int):
        self.max_bucket = max_bucket
        self.oversized = Metrics.counter(STAGE_DEDUP, "oversized_buckets")

    def process(self, keyed):
        key, ids = keyed
        ids = sorted(set(ids))
        if len(ids) < 2:
            return
        if len(ids) > self.max_bucket:
            self.oversized.inc()
            return
        kind = "anchor" if key.startswith("a:") else "band"
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                yield (a, b), kind


def _enough_evidence(keyed, min_shared_anchors: int):
    """A pair is a candidate if it shares an LSH band, or at least N anchors."""
    pair, kinds = keyed
    kinds = list(kinds)
    if "band" in kinds or kinds.count("anchor") >= min_shared_anchors:
        yield pair


def _attach_first(keyed):
    """CoGroupByKey(id -> pairs, features) -> (second id, (first id, features))."""
    _id, grouped = keyed
    feats = grouped["features"]
    if not feats:
        return
    for other in grouped["pairs"]:
        yield other, (_id, feats[0])


def _verify(keyed, near_threshold: float, excerpt_threshold: float):
    _id, grouped = keyed
    feats = grouped["features"]
    if not feats:
        return
    mine = feats[0]
    for other_id, other in grouped["firsts"]:
        sim = similarity(other.hashes, mine.hashes)
        edge = classify_pair(other.rank, other_id, mine.rank, _id, sim, near_threshold, excerpt_threshold)
        if edge is not None:
            yield edge


class _ApplyDecisionsFn(beam.DoFn):
    def __init__(self):
        self.near = Metrics.counter(STAGE_DEDUP, "near_duplicates")
        self.excerpt = Metrics.counter(STAGE_DEDUP, "excerpts")
        self.kept = Metrics.counter(STAGE_DEDUP, "canonical")

    def process(self, article, decisions):
        decision = decisions.get(article["id"])
        if decision is None:
            self.kept.inc()
            out = with_decision(article, "canonical")
            out["story_id"] = article["id"]
            yield out
            return
        canonical, kind, sim = decision
        (self.near if kind == "near" else self.excerpt).inc()
        yield beam.pvalue.TaggedOutput("duplicates", as_duplicate(article, canonical, kind, sim))


def _repoint(duplicate: dict, decisions) -> dict:
    """An exact copy of an article that itself became a near duplicate points at the final canonical."""
    target = duplicate["duplicate_of"]
    seen = set()
    while target in decisions and target not in seen:
        seen.add(target)
        target = decisions[target][0]
    if target != duplicate["duplicate_of"]:
        duplicate = dict(duplicate, duplicate_of=target, story_id=target)
    return duplicate


def _to_decisions(edges: list) -> dict:
    return resolve_edges(edges)


class NearDedup(beam.PTransform):
    """Near-duplicates and excerpts among articles that survived exact dedup.

    Input: ``(articles, exact_duplicates)``. Returns ``(articles, duplicates)`` where the
    articles carry ``story_id`` and every duplicate points at a kept article.
    """

    def __init__(self, near_threshold: float = 0.8, excerpt_threshold: float = 0.8,
                 bands: int = LSH_BANDS, num_perm: int = NUM_PERM,
                 anchor_modulus: int = ANCHOR_MODULUS, max_bucket: int = MAX_BUCKET):
        super().__init__()
        self.near_threshold = near_threshold
        self.excerpt_threshold = excerpt_threshold
        self.bands = bands
        self.num_perm = num_perm
        self.anchor_modulus = anchor_modulus
        self.max_bucket = max_bucket

    def expand(self, inputs):
        articles, exact_duplicates = inputs
        feats = articles | "Features" >> beam.Map(near_features, self.bands, self.num_perm, self.anchor_modulus)
        by_id = feats | "FeaturesById" >> beam.Map(_id_and_features)
        pairs = (feats
                 | "CandidateKeys" >> beam.FlatMap(_keys_to_id)
                 | "GroupByBucket" >> beam.GroupByKey()
                 | "PairsInBucket" >> beam.ParDo(_CandidatePairsFn(self.max_bucket))
                 | "GroupPairs" >> beam.GroupByKey()
                 | "EnoughEvidence" >> beam.FlatMap(_enough_evidence, MIN_SHARED_ANCHORS))
        firsts = ({"pairs": pairs, "features": by_id}
                  | "JoinFirst" >> beam.CoGroupByKey()
                  | "AttachFirst" >> beam.FlatMap(_attach_first))
        edges = ({"firsts": firsts, "features": by_id}
                 | "JoinSecond" >> beam.CoGroupByKey()
                 | "Verify" >> beam.FlatMap(_verify, self.near_threshold, self.excerpt_threshold))
        decisions = (edges
                     | "AllEdges" >> beam.combiners.ToList()
                     | "Resolve" >> beam.Map(_to_decisions))
        decided = articles | "ApplyDecisions" >> beam.ParDo(
            _ApplyDecisionsFn(), beam.pvalue.AsSingleton(decisions)).with_outputs("duplicates", main="kept")
        repointed = exact_duplicates | "RepointExact" >> beam.Map(_repoint, beam.pvalue.AsSingleton(decisions))
        duplicates = (decided.duplicates, repointed) | "AllDuplicates" >> beam.Flatten()
        return decided.kept, duplicates
