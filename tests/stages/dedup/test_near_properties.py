"""Dedup is independent of input order (issue 11), checked with hypothesis.

Generated batches mix distinct stories, exact copies (same text, other URL), re-fetches (same
URL), near copies (a few words edited) and excerpts; every permutation must give the same
canonical articles and the same duplicate decisions.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.stages.dedup.near import dedup_in_memory
from tests.stages.dedup.samples import article, edited, story

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def batches(draw):
    stories = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=4, unique=True))
    records = []
    for n, seed in enumerate(stories):
        text = story(seed, 220)
        day = draw(st.integers(1, 9))
        records.append(article(text, url=f"https://a.example/{seed}", published_at=f"2024-05-0{day}T08:00:00Z",
                               uri="in.jsonl", offset=len(records) + 1))
        for kind in draw(st.lists(st.sampled_from(["exact", "refetch", "near", "excerpt"]), max_size=3)):
            i = len(records) + 1
            published = f"2024-05-0{draw(st.integers(1, 9))}T09:00:00Z"
            if kind == "exact":
                copy = article(text, url=f"https://b.example/{seed}/{i}", published_at=published, offset=i)
            elif kind == "refetch":
                copy = article(text, url=f"https://a.example/{seed}", published_at=published, offset=i)
            elif kind == "near":
                copy = article(edited(text, 0.05, seed=i), url=f"https://c.example/{seed}/{i}",
                               published_at=published, offset=i)
            else:
                words = text.split()
                copy = article(" ".join(words[20:160]), url=f"https://d.example/{seed}/{i}",
                               published_at=published, offset=i)
            records.append(copy)
    return records, draw(st.randoms(use_true_random=False))


def decisions(records):
    kept, dups = dedup_in_memory(records)
    return (sorted(a["id"] for a in kept),
            sorted((d["id"], d["duplicate_of"], d["kind"], d["provenance"]["offset"]) for d in dups))


@SETTINGS
@given(batches())
def test_dedup_is_independent_of_input_order(batch):
    records, rnd = batch
    expected = decisions(records)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert decisions(shuffled) == expected
    assert decisions(list(reversed(records))) == expected


@SETTINGS
@given(batches())
def test_dedup_conserves_every_record(batch):
    records, _ = batch
    kept, dups = dedup_in_memory(records)
    assert len(kept) + len(dups) == len(records)
    assert {a["id"] for a in kept}.isdisjoint(d["id"] for d in dups if d["kind"] != "exact")
