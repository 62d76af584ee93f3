"""Tests for pipeline.stages.dedup.canonical: which copy is canonical."""
from pipeline.stages.dedup.canonical import canonical_rank
from tests.stages.dedup.samples import article, story


def test_canonical_is_most_complete_then_earliest_then_smallest_id():
    long = article(story(1, 100) + " extra words at the end", uri="b")
    short = article(story(1, 100), uri="a")
    assert sorted([short, long], key=canonical_rank)[0] is long
    early = article("same words here", published_at="2023-01-01T00:00:00Z", uri="z")
    late = article("same words here", published_at="2023-02-01T00:00:00Z", uri="a")
    assert sorted([late, early], key=canonical_rank)[0] is early
