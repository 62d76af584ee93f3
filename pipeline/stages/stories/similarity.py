"""Two articles, one story? Their features, the score and the time window, the edges that
pass the threshold, and the leader clustering that turns edges into story ids; plus
:func:`cluster`, the same decisions in memory. Stories already stored (append mode) take part
as :class:`StoredLeaders`: the leaders' features from the compact story index, matched by
:func:`stored_edges` and fixed leaders in :func:`resolve_stories`."""
from __future__ import annotations

import sys
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
#: terms of a leader kept in the story index: all of them (MAX_TERMS), so a score against a stored
#: leader is the score the two would have in one run. Fewer lose too much on real articles, whose
#: capped vectors spread their weight: seeds, 002 against the paraphrase 003, 0.471 with 200 terms,
#: 0.421 with 128, 0.393 with 100, 0.328 with 64 (threshold 0.40); against 001, 0.631 -> 0.408 at 64.
INDEX_TERMS = MAX_TERMS
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


def date_days(published_at) -> Optional[float]:
    """Days since the Unix epoch of an ISO 8601 timestamp (or a datetime, as the tables give it),
    None if absent or unparsable."""
    if not published_at:
        return None
    if isinstance(published_at, datetime):
        dt = published_at if published_at.tzinfo is not None else published_at.replace(tzinfo=timezone.utc)
        return dt.timestamp() / 86400.0
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


def resolve_stories(edges: Iterable[StoryEdge], window_days: float = DEFAULT_WINDOW_DAYS,
                    stored: Optional[Mapping[str, str]] = None) -> dict[str, tuple[str, float]]:
    """Leader clustering: ``{article_id: (story_id, score to the leader)}`` for every article
    in a story of two or more (a leader maps to itself with score 1.0).

    Articles are visited best canonical rank first; each joins the most similar leader it has
    an edge to (ties: the better-ranked leader) whose story's known dates stay within
    ``window_days`` with it, else leads a new story. Deterministic, independent of the order
    of ``edges``.

    ``stored``: leader id -> story id of stored stories (edges from :func:`stored_edges`). They
    are leaders before any article is visited, since stored rows are never rewritten: an article
    whose most similar leader is stored takes that story's id; the stored leaders themselves are
    not in the result.
    """
    stored = stored or {}
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
    leaders: set[str] = {node for node in ranks if node in stored}
    for node in sorted(leaders):
        if days[node] is not None:
            span[node] = (days[node], days[node])
    for node in sorted((n for n in ranks if n not in stored), key=lambda n: (ranks[n], n)):
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
        if leader in stored:
            story[node] = (stored[leader], -neg_score)
        else:
            story[node] = (leader, -neg_score)
            story.setdefault(leader, (leader, 1.0))
        if mine is not None:
            lo, hi = span.get(leader, (mine, mine))
            span[leader] = (min(lo, mine), max(hi, mine))
    return story


# --------------------------------------------------------------------------- stored stories


#: the rank of a stored leader in edges: before any article's (it is a leader already)
STORED_RANK: tuple = ()


def index_row(features: StoryFeatures, index_terms: int = INDEX_TERMS) -> dict:
    """What the story index keeps of an article's features (no text): its ``index_terms``
    heaviest terms (ties by word) with their weights in the unit vector, not renormalised, so
    a cosine against them is the full cosine minus the dropped tail; its entity weights; and
    whether its date bounds the story window."""
    best = sorted(features.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:index_terms]
    return {"terms": [{"term": t, "weight": w} for t, w in best],
            "entities": [{"name": n, "weight": w} for n, w in sorted(features.entities.items())],
            "date_trusted": features.days is not None}


class StoredLeaders(NamedTuple):
    """The stored story leaders a run compares its new articles with (small: the leaders of the
    story window only): leader id -> (story id, features), and candidate key -> leader ids
    (keys held by more than ``max_bucket`` leaders dropped: a common word, not evidence)."""

    leaders: dict
    by_key: dict


def stored_leaders(rows: Iterable[Mapping], top_terms: int = TOP_TERMS,
                   max_bucket: int = MAX_BUCKET) -> StoredLeaders:
    """:class:`StoredLeaders` from story index rows (id, story_id, published_at, date_trusted,
    terms, entities as the index stores them)."""
    leaders: dict[str, tuple[str, StoryFeatures]] = {}
    for row in rows:
        # interned: the leaders share a vocabulary, and a shared string stays one object through the
        # pickling of a side input (about 3x less memory for a large window)
        terms = {sys.intern(t["term"]): float(t["weight"]) for t in row.get("terms") or ()}
        ents = {sys.intern(e["name"]): float(e["weight"]) for e in row.get("entities") or ()}
        days = date_days(row.get("published_at")) if row.get("date_trusted") else None
        leaders.setdefault(row["id"], (row.get("story_id") or row["id"],
                                       StoryFeatures(STORED_RANK, terms, dict(sorted(ents.items())), days)))
    by_key: dict[str, list[str]] = {}
    for _id in sorted(leaders):
        for key in candidate_keys(leaders[_id][1], top_terms):
            by_key.setdefault(key, []).append(_id)
    return StoredLeaders(leaders, {k: tuple(ids) for k, ids in by_key.items() if len(ids) <= max_bucket})


def stored_edges(_id: str, features: StoryFeatures, keys: Iterable[str], stored: StoredLeaders,
                 threshold: float = DEFAULT_THRESHOLD, window_days: float = DEFAULT_WINDOW_DAYS,
                 min_shared: int = MIN_SHARED_KEYS) -> list[StoryEdge]:
    """The edges of one new article to stored leaders: the leaders sharing at least
    ``min_shared`` of its candidate ``keys``, within the window and scoring at least
    ``threshold`` (the same test as :func:`verify_pair`). The stored leader is ``a``, with
    rank :data:`STORED_RANK`. Sorted by leader id."""
    shared: Counter = Counter()
    for key in set(keys):
        shared.update(stored.by_key.get(key, ()))
    edges = []
    for leader in sorted(shared):
        if shared[leader] < min_shared or leader == _id:
            continue
        _story, lf = stored.leaders[leader]
        if not within_window(lf.days, features.days, window_days):
            continue
        score = story_similarity(lf, features).score
        if score >= threshold:
            edges.append(StoryEdge(STORED_RANK, leader, lf.days, features.rank, _id, features.days, score))
    return edges


def bucket_pairs(ids: Iterable[str], max_bucket: int = MAX_BUCKET) -> list[tuple[str, str]]:
    """Every pair ``(a, b)``, ``a < b``, of a bucket; none for a bucket above ``max_bucket``."""
    ids = sorted(set(ids))
    if len(ids) < 2 or len(ids) > max_bucket:
        return []
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]


def cluster(articles: Iterable[Mapping], threshold: float = DEFAULT_THRESHOLD,
            window_days: float = DEFAULT_WINDOW_DAYS, top_terms: int = TOP_TERMS,
            min_shared: int = MIN_SHARED_KEYS, max_bucket: int = MAX_BUCKET,
            max_terms: int = MAX_TERMS, stored: Optional[StoredLeaders] = None) -> dict[str, str]:
    """``{article_id: story_id}`` of an in-memory batch: the same candidates, verification and
    resolution as :class:`AssignStories`, without Beam (tests, notebooks, audits); ``stored``:
    the stored stories the articles may join."""
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
    if stored is not None:
        for _id, f in sorted(feats.items()):
            edges += stored_edges(_id, f, candidate_keys(f, top_terms), stored, threshold, window_days, min_shared)
    story = resolve_stories(edges, window_days, {k: v[0] for k, v in stored.leaders.items()} if stored else None)
    return {_id: story.get(_id, (_id, 1.0))[0] for _id in feats}
