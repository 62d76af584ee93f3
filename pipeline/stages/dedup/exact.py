"""Exact dedup: copies with the same id (same canonical URL) or the same normalised text
collapse onto one canonical copy (GroupByKey per key, so no single hot key). Versions of one
URL with different texts are ``update``\\ s: the newest is kept and the older ones are recorded
with a small diff summary.
"""
from __future__ import annotations

import difflib
from collections import Counter
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.stages.base import StageOutput, ToRejects
from pipeline.stages.dedup.canonical import STAGE_DEDUP, as_duplicate, canonical_rank, newest_first
from pipeline.stages.dedup.overlap import jaccard_of_texts


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


def _collapse(same_url: bool):
    """The collapse step over groups; a group it fails on goes to the dead letter ``failed``."""
    return (beam.ParDo(_CollapseFn(same_url=same_url))
            .with_exception_handling(main_tag="kept", dead_letter_tag="failed")
            .with_outputs("duplicates", main="kept"))


class ExactDedup(beam.PTransform):
    """Same id (canonical URL, or text without URL), then same normalised text.

    Identified articles -> :class:`~pipeline.stages.base.StageOutput`: the canonical copies, the
    rejects (every member of a group the collapse failed on) and the duplicates.
    """

    def expand(self, articles):
        by_id = (articles
                 | "KeyById" >> beam.Map(_by_key, "id")
                 | "GroupById" >> beam.GroupByKey()
                 | "CollapseById" >> _collapse(same_url=True))
        by_hash = (by_id.kept
                   | "KeyByContent" >> beam.Map(_by_key, "content_hash")
                   | "GroupByContent" >> beam.GroupByKey()
                   | "CollapseByContent" >> _collapse(same_url=False))
        duplicates = (by_id.duplicates, by_hash.duplicates) | "ExactDuplicates" >> beam.Flatten()
        rejects = ((by_id.failed, by_hash.failed)
                   | "FailedGroups" >> beam.Flatten()
                   | "Rejects" >> ToRejects(STAGE_DEDUP, grouped=True))
        return StageOutput(by_hash.kept, rejects, duplicates)
