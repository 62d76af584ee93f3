"""Two articles, one story? Their features, the score and the time window, the edges that
pass the threshold, and the leader clustering that turns edges into story ids; plus
:func:`cluster`, the same decisions in memory."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Iterable, Mapping, NamedTuple, Optional

from pipeline.stages.dedup import canonical_rank
from pipeline.stages.stories.terms import (ENTITY_SHARE, MAX_TERMS, MIN_ENTITIES, cosine, entity_overlap,
                                           entity_weights, term_weights)

# Defaults of the transform's options
DEFAULT_WINDOW_DAYS = 3.0
DEFAULT_THRESHOLD = 0.40
TOP_TERMS = 16  # candidate keys per article (benchmark: finds every pair scoring >= 0.3)
MIN_SHARED_KEYS = 2  # keys two articles must share to be compared
MAX_BUCKET = 200  # a key shared by more articles than this is a common word, not evidence


# --------------------------------------------------------------------------- time


def date_trusted(article: Mapping) -> bool:
    """Does the publication date come from metadata (a feed entry, a JSON field, page meta tags)?

    ``provenance["date_source"]`` decides when present (anything but ``"text"`` is metadata).
    Otherwise a plain-text input (``provenance["format"] == "txt"``) has no metadata, so its
    date was found in its text by the clean stage, which is as often a page banner or the
    scrape date as the story's date: it does not count for the window.
    """
    prov = article.get("provenance") or {}
    source = prov.get("date_source")
    if source:
        return source != "text"
    return prov.get("format") != "txt"


def date_days(published_at: Optional[str]) -> Optional[float]:
    """Days since the Unix epoch of an ISO 8601 timestamp, None if absent or unparsable."""
    if not published_at:
        return None
    try:
        dt = datetime.fromisoformat(str(published_at).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() / 86400.0


def within_window(days_a: Optional[float], days_b: Optional[float], window_days: float) -> bool:
    """False only when both dates are known and more than ``window_days`` apart."""
    if days_a is None or days_b is None:
        return True
    return abs(days_a - days_b) <= window_days


# --------------------------------------------------------------------------- features and score


class StoryFeatures(NamedTuple):
    """What verification needs of one article (small, picklable)."""

    rank: tuple  # canonical_rank
    terms: dict  # unit term vector
    entities: dict  # entity weights ({} when the article has no entities)
    days: Optional[float]  # publication date in days; None when unknown or not from metadata


def story_features(article: Mapping, max_terms: int = MAX_TERMS) -> StoryFeatures:
    lang = article.get("lang")
    days = date_days(article.get("published_at")) if date_trusted(article) else None
    return StoryFeatures(
        rank=canonical_rank(dict(article)),
        terms=term_weights(article.get("text"), article.get("title"), lang, max_terms),
        entities=entity_weights(article.get("entities") or (), lang),
        days=days,
    )


def candidate_keys(features: StoryFeatures, top_terms: int = TOP_TERMS) -> list[str]:
    """The article's ``top_terms`` heaviest terms, as inverted-index keys."""
    best = sorted(features.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:top_terms]
    return sorted(f"t:{w}" for w, _ in best)


class Scores(NamedTuple):
    score: float
    cosine: float
    entities: Optional[float]  # None when either article has fewer than MIN_ENTITIES names


def story_similarity(a: StoryFeatures, b: StoryFeatures) -> Scores:
    """Combined score of two articles (symmetric, rounded so it never depends on order)."""
    cos = cosine(a.terms, b.terms)
    if len(a.entities) >= MIN_ENTITIES and len(b.entities) >= MIN_ENTITIES:
        ent = entity_overlap(a.entities, b.entities)
        score = (1.0 - ENTITY_SHARE) * cos + ENTITY_SHARE * ent
        return Scores(round(score, 6), round(cos, 6), round(ent, 6))
    return Scores(round(cos, 6), round(cos, 6), None)


class StoryEdge(NamedTuple):
    """A verified same-story relation; ``a`` ranks before ``b`` (canonical_rank, then id)."""

    rank_a: tuple
    a: str
    days_a: Optional[float]
    rank_b: tuple
    b: str
    days_b: Optional[float]
    score: float


def verify_pair(id_a: str, a: StoryFeatures, id_b: str, b: StoryFeatures,
                threshold: float = DEFAULT_THRESHOLD,
                window_days: float = DEFAULT_WINDOW_DAYS) -> Optional[StoryEdge]:
    """The edge between two candidates, or None (too far apart in time, or not similar enough)."""
    if not within_window(a.days, b.days, window_days):
        return None
    if (a.rank, id_a) > (b.rank, id_b):
        id_a, a, id_b, b = id_b, b, id_a, a
    score = story_similarity(a, b).score
    if score < threshold:
        return None
    return StoryEdge(a.rank, id_a, a.days, b.rank, id_b, b.days, score)


def resolve_stories(edges: Iterable[StoryEdge],
                    window_days: float = DEFAULT_WINDOW_DAYS) -> dict[str, tuple[str, float]]:
    """Leader clustering: ``{article_id: (story_id, score to the leader)}`` for every article
    in a story of two or more (a leader maps to itself with score 1.0).

    Articles are visited best canonical rank first; each joins the most similar leader it has
    an edge to (ties: the better-ranked leader) whose story's known dates stay within
    ``window_days`` with it, else leads a new story. Deterministic, independent of the order
    of ``edges``.
    """
    ranks: dict[str, tuple] = {}
    days: dict[str, Optional[float]] = {}
    neighbours: dict[str, list[tuple[float, tuple, str]]] = {}
    for e in edges:
        ranks[e.a], days[e.a] = e.rank_a, e.days_a
        ranks[e.b], days[e.b] = e.rank_b, e.days_b
        neighbours.setdefault(e.a, []).append((e.score, e.rank_b, e.b))
        neighbours.setdefault(e.b, []).append((e.score, e.rank_a, e.a))
    span: dict[str, tuple[float, float]] = {}  # leader -> (earliest, latest) known date
    story: dict[str, tuple[str, float]] = {}
    leaders: set[str] = set()
    for node in sorted(ranks, key=lambda n: (ranks[n], n)):
        mine = days[node]
        options = []
        for score, rank, other in neighbours.get(node, ()):
            if other not in leaders:
                continue
            lo_hi = span.get(other)
            if mine is not None and lo_hi is not None and \
                    max(lo_hi[1], mine) - min(lo_hi[0], mine) > window_days:
                continue  # would stretch the story beyond the window
            options.append((-score, rank, other))
        if not options:
            leaders.add(node)
            if mine is not None:
                span[node] = (mine, mine)
            continue
        neg_score, _rank, leader = min(options)
        story[node] = (leader, -neg_score)
        story.setdefault(leader, (leader, 1.0))
        if mine is not None:
            lo, hi = span.get(leader, (mine, mine))
            span[leader] = (min(lo, mine), max(hi, mine))
    return story


def bucket_pairs(ids: Iterable[str], max_bucket: int = MAX_BUCKET) -> list[tuple[str, str]]:
    """Every pair ``(a, b)``, ``a < b``, of a bucket; none for a bucket above ``max_bucket``."""
    ids = sorted(set(ids))
    if len(ids) < 2 or len(ids) > max_bucket:
        return []
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]


def cluster(articles: Iterable[Mapping], threshold: float = DEFAULT_THRESHOLD,
            window_days: float = DEFAULT_WINDOW_DAYS, top_terms: int = TOP_TERMS,
            min_shared: int = MIN_SHARED_KEYS, max_bucket: int = MAX_BUCKET,
            max_terms: int = MAX_TERMS) -> dict[str, str]:
    """``{article_id: story_id}`` of an in-memory batch: the same candidates, verification and
    resolution as :class:`AssignStories`, without Beam (tests, notebooks, audits)."""
    feats = {a["id"]: story_features(a, max_terms) for a in articles}
    buckets: dict[str, list[str]] = {}
    for _id, f in feats.items():
        for key in candidate_keys(f, top_terms):
            buckets.setdefault(key, []).append(_id)
    shared: Counter = Counter()
    for ids in buckets.values():
        shared.update(bucket_pairs(ids, max_bucket))
    edges = []
    for (a, b), n in sorted(shared.items()):
        if n >= min_shared:
            edge = verify_pair(a, feats[a], b, feats[b], threshold, window_days)
            if edge is not None:
                edges.append(edge)
    story = resolve_stories(edges, window_days)
    return {_id: story.get(_id, (_id, 1.0))[0] for _id in feats}
