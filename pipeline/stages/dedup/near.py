"""Near-duplicate dedup: near copies and excerpts among articles that survived exact dedup.

Candidates come from the keys of :mod:`pipeline.stages.dedup.hashing` (LSH bands of short
MinHash bands: candidates down to Jaccard ~0.3; sample keys for excerpts) and are verified on
the compact per-article sketch, which gives the exact Jaccard and containment for articles of
up to ``SKETCH_SIZE`` shingles and unbiased estimates above; a fully contained excerpt always
estimates at 1.0. Duplicate groups are resolved greedily in canonical-rank order, so a chain
A~B~C never merges A and C unless C is itself close to A, or B lies inside A (an excerpt of A,
or A's text wrapped in page chrome). The Beam shuffles of :class:`NearDedup` carry batches (one
element per shard and bundle, not one per key or pair), because a Python runner pays per
element. :func:`dedup_in_memory` runs exact then near dedup in memory, with the same decisions.

Tuning and measurements: ``bench/dedup.py`` on the ``bench/make_corpus.py`` corpus (see
``bench/README.md``).
"""
from __future__ import annotations

import pickle
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Optional

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.stages.base import StageOutput, ToRejects
from pipeline.stages.dedup.canonical import STAGE_DEDUP, as_duplicate, canonical_rank, with_decision
from pipeline.stages.dedup.exact import collapse_exact
from pipeline.stages.dedup.hashing import (
    ANCHORS,
    SAMPLE_EVERY,
    SKETCH_SIZE,
    Sketch,
    anchor_keys,
    band_keys,
    make_sketch,
    sample_keys,
    shingle_hash_array,
    signature,
)
from pipeline.stages.dedup.overlap import Similarity, sketch_similarity, sketch_values


# Batch near-dup parameters (tuned with bench/dedup.py; see bench/README.md).
NEAR_THRESHOLD = 0.3  # 5-gram Jaccard: 10% random word edits give ~0.44 (short texts >= 0.35)
EXCERPT_THRESHOLD = 0.8  # share of the shorter article's 5-grams found in the longer one
NEAR_BANDS = 24  # 24 bands x 2 rows: candidate probability 95% at Jaccard 0.35, 99% at 0.42
NEAR_ROWS = 2
MIN_SAMPLE = 10  # sampled shingles needed before a containment estimate counts
MAX_BUCKET = 500  # an LSH/anchor bucket larger than this is boilerplate, not a story
SHARDS = 64  # keyed batches per shuffle in NearDedup (parallelism of the bucket and join steps)

_U64 = np.uint64


@dataclass(frozen=True)
class NearDedupConfig:
    """How near duplicates and excerpts are found and judged (one value per run, picklable).

    ``near_threshold`` (``--near-threshold``): sketch Jaccard at or above which two articles are
    near copies; ``excerpt_threshold`` (``--excerpt-threshold``): share of the dropped article's
    shingles inside the kept one; ``bands`` (``--lsh-bands``) LSH bands of ``rows`` MinHash values;
    ``anchors`` smallest shingle hashes and 1 in ``sample_every`` shingles make excerpt keys; a
    bucket of more than ``max_bucket`` articles is skipped; sketches keep ``sketch_size`` hashes.
    """

    near_threshold: float = NEAR_THRESHOLD
    excerpt_threshold: float = EXCERPT_THRESHOLD
    bands: int = NEAR_BANDS
    rows: int = NEAR_ROWS
    anchors: int = ANCHORS
    max_bucket: int = MAX_BUCKET
    sketch_size: int = SKETCH_SIZE
    sample_every: int = SAMPLE_EVERY

    def __post_init__(self):
        for name, flag in (("near_threshold", "--near-threshold"), ("excerpt_threshold", "--excerpt-threshold")):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{flag} must be above 0 and at most 1, not {getattr(self, name)}")
        if self.bands < 1:
            raise ValueError(f"--lsh-bands must be at least 1, not {self.bands}")
        if min(self.rows, self.sketch_size, self.sample_every) < 1 or self.anchors < 0 or self.max_bucket < 2:
            raise ValueError("rows, sketch_size, sample_every >= 1, anchors >= 0 and max_bucket >= 2")

    def features(self, article: dict) -> "NearFeatures":
        """The article's :class:`NearFeatures` under this configuration."""
        return near_features(article, self.bands, self.rows, self.anchors, self.sketch_size, self.sample_every)


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


def dedup_in_memory(records: Iterable[dict], config: NearDedupConfig = NearDedupConfig()
                    ) -> tuple[list[dict], list[dict]]:
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
    feats = [config.features(a) for a in unique]
    decisions = near_decisions(feats, config.near_threshold, config.excerpt_threshold, config.max_bucket)
    kept, dups = [], []
    for a in unique:
        d = decisions.get(a["id"])
        if d is None:
            kept.append(dict(with_decision(a, "canonical"), story_id=a["id"]))
        else:
            dups.append(as_duplicate(a, d[0], d[1], d[2]))
    dups += [_repoint(d, decisions) for d in exact_dups]
    return kept, dups


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

    Input: ``(articles, exact_duplicates)``. Returns a :class:`~pipeline.stages.base.StageOutput`:
    the kept articles (``story_id`` set to their own id), the rejects (articles the decision step
    failed on) and every duplicate, each pointing at a kept article.

    ``config`` (:class:`NearDedupConfig`): ``bands`` LSH bands of ``rows`` MinHash values each find
    candidates by Jaccard; every pair of an article's ``anchors`` smallest shingle hashes, and every
    two consecutive sampled shingles (1 in ``sample_every``), is a key that finds excerpts; a bucket
    of more than ``max_bucket`` articles is skipped. Candidates are verified on the sketches
    (``near_threshold``: Jaccard; ``excerpt_threshold``: containment of the dropped article).
    Batch only: the keyed steps batch per bundle in the global window.
    """

    def __init__(self, config: NearDedupConfig = NearDedupConfig()):
        super().__init__()
        self.config = config

    def expand(self, inputs):
        articles, exact_duplicates = inputs
        config = self.config
        feats = articles | "Features" >> beam.Map(near_features, config.bands, config.rows, config.anchors,
                                                  config.sketch_size, config.sample_every)
        by_shard = (feats
                    | "FeaturesByShard" >> beam.Map(_feature_items)
                    | "BatchFeatures" >> beam.ParDo(_ShardBatchFn()))
        pairs = (feats
                 | "BatchKeys" >> beam.ParDo(_KeyBatchFn())
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "PairsInBuckets" >> beam.ParDo(_PairsInShardFn(config.max_bucket)))
        firsts = ((by_shard, pairs)
                  | "PairsAndFirsts" >> beam.Flatten()
                  | "GroupFirsts" >> beam.GroupByKey()
                  | "AttachFirst" >> beam.ParDo(_AttachFirstFn())
                  | "BatchFirsts" >> beam.ParDo(_ShardBatchFn()))
        edges = ((by_shard, firsts)
                 | "FirstsAndSeconds" >> beam.Flatten()
                 | "GroupSeconds" >> beam.GroupByKey()
                 | "Verify" >> beam.ParDo(_VerifyFn(config.near_threshold, config.excerpt_threshold)))
        # one group for all edges (a few per duplicate): the greedy resolution is global
        decisions = (edges
                     | "OneKey" >> beam.Map(_with_one_key)
                     | "AllEdges" >> beam.GroupByKey()
                     | "Resolve" >> beam.MapTuple(_resolve_group))
        decisions = beam.pvalue.AsSingleton(decisions, default_value=_NO_DECISIONS)
        decided = articles | "ApplyDecisions" >> (
            beam.ParDo(_ApplyDecisionsFn(), decisions)
            .with_exception_handling(main_tag="kept", dead_letter_tag="failed")
            .with_outputs("duplicates", main="kept"))
        repointed = exact_duplicates | "RepointExact" >> beam.ParDo(_RepointFn(), decisions)
        duplicates = (decided.duplicates, repointed) | "AllDuplicates" >> beam.Flatten()
        return StageOutput(decided.kept, decided.failed | "Rejects" >> ToRejects(STAGE_DEDUP), duplicates)
