"""Streaming dedup: the first copy seen within the horizon is canonical.

Batch dedup (:mod:`pipeline.stages.dedup.near`) sees the whole input and picks the most
complete copy. A stream never ends, so here the decision is taken when an article arrives, from
state kept per LSH bucket, and that state expires after ``horizon`` of event time so memory
stays bounded.

Shape (all in the global window, so state outlives any output window):

1. Each article gets a MinHash signature; its LSH band keys, its content hash and its id are
   its buckets. No single hot key: an article touches ``bands + 2`` buckets.
2. ``BucketFn`` (stateful, keyed by bucket) compares the article with the earlier articles
   of the bucket that are within the horizon of its event time and emits a verdict: the best
   match above the threshold, or none. An article that matched nothing is remembered; a
   watermark timer forgets it ``horizon`` after its event time (the TTL).
3. ``DecideFn`` (stateful, keyed by the article) waits for the article and all its verdicts
   (a known number), then emits the article as canonical or as a duplicate. Counting instead
   of windows makes late copies work like any other.

State per article: in each bucket its 8-byte id, the event time, 8 bytes of the content hash
and a 2-bit-per-permutation signature (b-bit minwise hashing, Li & König 2010):
8 + 8 + 8 + 32 = 56 bytes per bucket, 1,008 bytes over the 18 buckets of the default 16 bands
(bands, content hash, id).
Excerpts are found in batch only (containment needs the shingle sets).
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Tuple

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from pipeline.stages.base import StageOutput, ToRejects
from pipeline.stages.dedup.canonical import STAGE_DEDUP, as_duplicate, with_decision
from pipeline.stages.dedup.hashing import LSH_BANDS, NUM_PERM, lsh_keys, minhash, shingles

STAGE = "dedup_stream"
BITS = 2
DEFAULT_HORIZON_SECONDS = 7 * 24 * 3600
ENTRY = struct.Struct(">8sqQ")  # id hash, event time (micros), content-hash prefix


def pack_signature(signature: list[int], bits: int = BITS) -> bytes:
    """Keep the lowest ``bits`` bits of every MinHash value, packed."""
    mask = (1 << bits) - 1
    value = 0
    for h in signature:
        value = (value << bits) | (h & mask)
    return value.to_bytes((len(signature) * bits + 7) // 8, "big")


def estimated_jaccard(a: bytes, b: bytes, bits: int = BITS) -> float:
    """Jaccard from two b-bit signatures: P(equal) = J + (1 - J) / 2^b, solved for J."""
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    mask = (1 << bits) - 1
    n = len(a) * 8 // bits
    equal = sum(1 for i in range(n) if ((x >> (i * bits)) & mask) == ((y >> (i * bits)) & mask))
    chance = 1.0 / (1 << bits)
    return max(0.0, (equal / n - chance) / (1 - chance))


class Entry(NamedTuple):
    """What a bucket remembers of one canonical article."""

    article_id: str
    micros: int
    content: int  # first 8 bytes of the content hash, as an int
    signature: bytes

    def encode(self) -> bytes:
        return ENTRY.pack(bytes.fromhex(self.article_id), self.micros, self.content) + self.signature

    @classmethod
    def decode(cls, data: bytes) -> "Entry":
        raw_id, micros, content = ENTRY.unpack_from(data)
        return cls(raw_id.hex(), micros, content, data[ENTRY.size:])


def article_key(article: dict) -> str:
    """One key per delivered article (ids repeat for copies at the same URL)."""
    prov = article.get("provenance") or {}
    raw = f'{article["id"]}|{article["content_hash"]}|{prov.get("input_uri")}|{prov.get("offset")}'
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=8).hexdigest()


def sketch(article: dict, bands: int = LSH_BANDS, num_perm: int = NUM_PERM):
    """(article key, buckets, entry) for one article."""
    signature = minhash(shingles(article["text"]), num_perm)
    entry = Entry(article["id"], 0, int(article["content_hash"][:16], 16), pack_signature(signature))
    # LSH bands, the content hash (exact copies) and the id (versions of one canonical URL)
    buckets = lsh_keys(signature, bands) + [f"h:{article['content_hash'][:16]}", f"u:{article['id']}"]
    return article_key(article), buckets, entry


def seed_entries(canonical: list[tuple[dict, int]], bands: int = LSH_BANDS) -> dict[str, list[bytes]]:
    """``bucket -> [encoded Entry]`` for canonical articles an earlier run kept, with their event
    times in microseconds: what :class:`BucketFn` starts from when a job is restarted (the local
    runner runs a long stream as a series of jobs; see ``pipeline/streaming.py``)."""
    seed: dict[str, list[bytes]] = {}
    for article, micros in sorted(canonical, key=lambda am: (am[1], am[0]["id"])):
        _key, buckets, entry = sketch(article, bands)
        encoded = entry._replace(micros=micros).encode()
        for bucket in buckets:
            seed.setdefault(bucket, []).append(encoded)
    return seed


class Verdict(NamedTuple):
    duplicate_of: Optional[str]
    kind: Optional[str]
    similarity: float


NO_MATCH = Verdict(None, None, 0.0)


def best_match(new: Entry, earlier: list[Entry], horizon_micros: int, threshold: float) -> Verdict:
    """The closest earlier article within the horizon, if it is close enough."""
    best = NO_MATCH
    for old in sorted(earlier, key=lambda e: (e.micros, e.article_id)):
        if abs(new.micros - old.micros) > horizon_micros:
            continue
        if old.content == new.content:
            return Verdict(old.article_id, "exact", 1.0)
        if old.article_id == new.article_id:  # same canonical URL, changed text: a later version
            return Verdict(old.article_id, "update", round(estimated_jaccard(new.signature, old.signature), 4))
        sim = estimated_jaccard(new.signature, old.signature)
        if sim >= threshold and sim > best.similarity:
            best = Verdict(old.article_id, "near", round(sim, 4))
    return best


def combine_verdicts(verdicts: list[Verdict]) -> Verdict:
    """Exact beats update beats near; then the most similar; then the smallest id (deterministic)."""
    found = [v for v in verdicts if v.duplicate_of]
    if not found:
        return NO_MATCH
    order = {"exact": 0, "update": 1, "near": 2}
    return min(found, key=lambda v: (order.get(v.kind, 3), -v.similarity, v.duplicate_of))


def prune(entries: list[Entry], now_micros: int, horizon_micros: int) -> list[Entry]:
    """The entries still within the horizon of ``now`` (an event time)."""
    return [e for e in entries if e.micros + horizon_micros > now_micros]


def _parts(key: str, verdict: "Verdict", element):
    """What a bucket sends the article's decision: its verdict, and the article itself from the
    one bucket that carries it (so the decision step has a single input: no Flatten, which the
    FnApiRunner only drains when the job ends)."""
    article = element[1][2]
    if article is not None:
        yield key, ("article", article)
    yield key, ("verdict", verdict)


class BucketFn(beam.DoFn):
    """Per LSH bucket: compare with the bucket's recent canonical articles.

    Entries older than the horizon (relative to the newest event time the bucket has seen) are
    dropped whenever the bucket is touched, so an active bucket never grows past one horizon
    of articles. A bucket that is never touched again keeps its last entries: on runners with
    reliable event-time timers use :class:`BucketWithTtlFn`, which also forgets those.
    """

    ENTRIES = BagStateSpec("entries", BytesCoder())
    SEEDED = ReadModifyWriteStateSpec("seeded", VarIntCoder())

    def __init__(self, horizon_seconds: float, threshold: float, seed: Optional[dict] = None):
        self.horizon_micros = int(horizon_seconds * 1_000_000)
        self.threshold = threshold
        self.seed = seed or {}  # bucket -> [encoded Entry]: what an earlier run remembered
        self.remembered = Metrics.counter(STAGE, "bucket_entries")
        self.expired = Metrics.counter(STAGE, "expired_entries")

    def _compare(self, element, timestamp, entries, seeded=None) -> tuple:
        bucket, (key, entry, _article) = element
        if seeded is not None and not seeded.read():
            seeded.write(1)
            for e in self.seed.get(bucket, ()):
                entries.add(e)
        entry = entry._replace(micros=timestamp.micros)
        known = [Entry.decode(e) for e in entries.read()]
        newest = max([entry.micros] + [e.micros for e in known])
        kept = prune(known, newest, self.horizon_micros)
        if len(kept) < len(known):
            self.expired.inc(len(known) - len(kept))
            entries.clear()
            for e in kept:
                entries.add(e.encode())
        verdict = best_match(entry, kept, self.horizon_micros, self.threshold)
        if verdict.duplicate_of is None:
            entries.add(entry.encode())
            self.remembered.inc()
        return key, entry, verdict

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                entries=beam.DoFn.StateParam(ENTRIES), seeded=beam.DoFn.StateParam(SEEDED)):
        key, _entry, verdict = self._compare(element, timestamp, entries, seeded)
        yield from _parts(key, verdict, element)


class BucketWithTtlFn(BucketFn):
    """:class:`BucketFn` plus a watermark timer that forgets a bucket's entries ``horizon``
    after their event time, touched or not (Dataflow, Flink, the BundleBasedDirectRunner).

    Not for the FnApiRunner in streaming mode: it fires watermark timers at once (measured),
    which would forget every article as soon as it is remembered.
    """

    EXPIRY = ReadModifyWriteStateSpec("expiry", VarIntCoder())
    TTL = TimerSpec("ttl", TimeDomain.WATERMARK)

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                entries=beam.DoFn.StateParam(BucketFn.ENTRIES), expiry=beam.DoFn.StateParam(EXPIRY),
                ttl=beam.DoFn.TimerParam(TTL), seeded=beam.DoFn.StateParam(BucketFn.SEEDED)):
        key, entry, verdict = self._compare(element, timestamp, entries, seeded)
        if verdict.duplicate_of is None:
            until = entry.micros + self.horizon_micros
            if until > (expiry.read() or 0):
                expiry.write(until)
                ttl.set(Timestamp(micros=until))
        yield from _parts(key, verdict, element)

    @on_timer(TTL)
    def expire(self, fire=beam.DoFn.TimestampParam, entries=beam.DoFn.StateParam(BucketFn.ENTRIES),
               expiry=beam.DoFn.StateParam(EXPIRY), ttl=beam.DoFn.TimerParam(TTL)):
        known = [Entry.decode(e) for e in entries.read()]
        kept = prune(known, fire.micros, self.horizon_micros)
        self.expired.inc(len(known) - len(kept))
        entries.clear()
        for e in kept:
            entries.add(e.encode())
        if kept:
            until = max(e.micros for e in kept) + self.horizon_micros
            expiry.write(until)
            ttl.set(Timestamp(micros=until))
        else:
            expiry.clear()


# Main output: articles. Declared, because Beam >= 2.78 infers Union[TaggedOutput, dict]
# from the generator and then refuses typed steps downstream (e.g. Map(fn: dict -> dict)).
@beam.typehints.with_output_types(dict)
class DecideFn(beam.DoFn):
    """Per article: wait for the article and every bucket's verdict, then decide."""

    PARTS = BagStateSpec("parts", PickleCoder())

    def __init__(self, expected_verdicts: int):
        self.expected = expected_verdicts
        self.canonical = Metrics.counter(STAGE, "canonical")
        self.duplicates = Metrics.counter(STAGE, "duplicates")

    def process(self, element, parts=beam.DoFn.StateParam(PARTS)):
        _key, part = element
        parts.add(part)
        got = list(parts.read())
        articles = [p[1] for p in got if p[0] == "article"]
        verdicts = [p[1] for p in got if p[0] == "verdict"]
        if not articles or len(verdicts) < self.expected:
            return
        parts.clear()
        article = articles[0]
        verdict = combine_verdicts(verdicts)
        if verdict.duplicate_of is None:
            self.canonical.inc()
            yield with_decision(dict(article, story_id=article["id"]), "canonical")
        else:
            self.duplicates.inc()
            yield beam.pvalue.TaggedOutput("duplicates", as_duplicate(
                article, verdict.duplicate_of, verdict.kind, verdict.similarity))


def _buckets(article: dict, bands: int):
    """One element per bucket; the content-hash bucket also carries the article."""
    key, buckets, entry = sketch(article, bands)
    return [(bucket, (key, entry, article if bucket.startswith("h:") else None)) for bucket in buckets]


@dataclass(frozen=True)
class StreamingDedupConfig:
    """How a stream remembers and compares articles (one value per run, picklable).

    ``horizon_seconds`` (``--dedup-horizon``): how long, in event time, an article is remembered;
    ``threshold``: estimated Jaccard at or above which a later article is a near copy; ``bands``:
    LSH bands of the MinHash signature; ``timers``: expire state with event-time timers (False:
    on access only, for runners whose timers fire at once, as the local one does in streaming).
    """

    horizon_seconds: float = DEFAULT_HORIZON_SECONDS
    threshold: float = 0.8
    bands: int = LSH_BANDS
    timers: bool = True


class StreamingDedup(beam.PTransform):
    """Timestamped articles -> :class:`~pipeline.stages.base.StageOutput`: the canonical articles,
    the rejects (articles that could not be sketched) and the duplicates, decided on arrival.

    ``seed``: the state the buckets start from (bucket -> [encoded Entry], :func:`seed_entries`):
    data a run carries over, not configuration."""

    def __init__(self, config: StreamingDedupConfig = StreamingDedupConfig(), seed: Optional[dict] = None):
        super().__init__()
        self.config = config
        self.seed = seed

    def expand(self, articles):
        config = self.config
        bucketed, failed = (articles
                            | "GlobalWindow" >> beam.WindowInto(beam.window.GlobalWindows())
                            | "Buckets" >> beam.FlatMap(_buckets, config.bands)
                            .with_output_types(Tuple[str, Any]).with_exception_handling())
        decided = (bucketed
                   | "CompareInBucket" >> beam.ParDo(
                       (BucketWithTtlFn if config.timers else BucketFn)(config.horizon_seconds, config.threshold,
                                                                         self.seed)
                   ).with_output_types(Tuple[str, Any])
                   | "Decide" >> beam.ParDo(DecideFn(config.bands + 2)).with_outputs("duplicates", main="canonical"))
        return StageOutput(decided.canonical, failed | "Rejects" >> ToRejects(STAGE_DEDUP), decided.duplicates)


__all__ = ["StreamingDedup", "StreamingDedupConfig", "seed_entries", "BucketFn", "BucketWithTtlFn", "prune", "best_match", "combine_verdicts", "estimated_jaccard", "pack_signature",
           "Entry", "Verdict", "DEFAULT_HORIZON_SECONDS"]
