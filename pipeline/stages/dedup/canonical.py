"""Which copy of an article is canonical, and how a record carries a dedup decision.

Canonical choice is deterministic and independent of input order: the most complete copy
(most words), then the earliest published, then the smallest id (then input location); for
versions of one URL, the newest.
"""
from __future__ import annotations

from typing import Iterable, Optional

STAGE_DEDUP = "dedup"


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
