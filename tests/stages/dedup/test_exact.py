"""Tests for pipeline.stages.dedup.exact: collapse_exact, versions of one URL, text_diff, and the
ExactDedup transform."""
import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.dedup import exact
from pipeline.stages.dedup.exact import ExactDedup, collapse_exact, text_diff
from pipeline.stages.validate import validation_errors
from tests.stages.dedup.samples import OPTIONS, article, story


def test_collapse_exact_is_independent_of_order():
    copies = [article("Same story text.", url=f"https://s{i}.example/a", uri=f"f{i}") for i in range(4)]
    results = []
    for perm in (copies, copies[::-1], copies[1:] + copies[:1]):
        canonical, dups = collapse_exact(perm, same_url=False)
        results.append((canonical["id"], sorted(d["id"] for d in dups)))
        assert {d["kind"] for d in dups} == {"exact"}
        assert all(d["duplicate_of"] == canonical["id"] and d["diff"] is None for d in dups)
    assert results[0] == results[1] == results[2]


def test_update_keeps_the_newest_version_with_a_diff():
    old = article(story(3), url="https://a.example/x", published_at="2024-01-01T00:00:00Z", uri="1")
    new = article(story(3) + " Correction: the vote was 7-2.", url="https://a.example/x",
                  published_at="2024-01-02T00:00:00Z", uri="2")
    for perm in ([old, new], [new, old]):
        canonical, dups = collapse_exact(perm, same_url=True)
        assert canonical is new
        (dup,) = dups
        assert dup["kind"] == "update" and dup["duplicate_of"] == new["id"]
        assert 0.9 < dup["similarity"] < 1.0
        assert dup["diff"] == {"chars_added": len("Correction: the vote was 7-2.") + 1, "chars_removed": 0}
    assert _dedup_field_errors(dup) == []
    assert _dedup_field_errors(dict(dup, diff={"chars_added": -1, "chars_removed": 0}))
    assert _dedup_field_errors(dict(dup, diff={"chars_added": 1}))
    assert _dedup_field_errors(dict(dup, kind="exact", diff=None)) == []


def _dedup_field_errors(dup: dict) -> list:
    """Schema errors about the fields dedup adds (the article fields are another test's job)."""
    return [e for e in validation_errors(dup, "duplicates")
            if any(f in e for f in ("diff", "kind", "similarity", "duplicate_of", "chars_"))]


def test_update_keeps_the_newest_even_when_it_is_shorter():
    full = story(4)
    cut = " ".join(full.split()[:150])
    old = article(full, url="https://a.example/y", published_at="2024-01-01T00:00:00Z", uri="1")
    new = article(cut, url="https://a.example/y", published_at="2024-01-03T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([old, new], same_url=True)
    assert canonical is new and dup["kind"] == "update"
    assert dup["diff"]["chars_added"] == 0 and dup["diff"]["chars_removed"] == len(" ".join(full.split()[150:])) + 1


def test_update_falls_back_to_fetched_at_then_to_the_canonical_rank():
    a = article(story(5), url="https://a.example/z", fetched_at="2024-05-01T00:00:00Z", uri="1")
    b = article(story(5) + " Updated.", url="https://a.example/z", fetched_at="2024-04-01T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([b, a], same_url=True)
    assert canonical is a and dup["kind"] == "update"
    undated = [article(story(6), url="https://a.example/w", uri="1"),
               article(story(6) + " More words here.", url="https://a.example/w", uri="2")]
    canonical, (dup,) = collapse_exact(undated, same_url=True)
    assert canonical is undated[1]  # most complete


def test_same_url_same_text_is_exact_and_refetches_of_an_old_version_are_updates():
    v1 = article(story(7), url="https://a.example/v", published_at="2024-01-01T00:00:00Z", uri="1")
    v1_again = article(story(7), url="https://a.example/v", published_at="2024-01-01T00:00:00Z", uri="2")
    canonical, (dup,) = collapse_exact([v1, v1_again], same_url=True)
    assert dup["kind"] == "exact" and dup["diff"] is None
    v2 = article(story(7) + " Now with a new paragraph.", url="https://a.example/v",
                 published_at="2024-01-05T00:00:00Z", uri="3")
    canonical, dups = collapse_exact([v1, v2, v1_again], same_url=True)
    assert canonical is v2 and [d["kind"] for d in dups] == ["update", "update"]


def test_text_diff_is_bounded_and_counts_characters(monkeypatch):
    assert text_diff("a b c", "a b c") == {"chars_added": 0, "chars_removed": 0}
    assert text_diff("one two three", "one 2 three") == {"chars_added": 2, "chars_removed": 4}
    old = "start " + story(8, 400) + " end"
    new = "begin " + story(8, 400) + " finish"
    assert text_diff(old, new) == {"chars_added": 13, "chars_removed": 10}
    monkeypatch.setattr(exact, "DIFF_MAX_WORDS", 10)  # multiset fallback, same counts here
    assert text_diff(old, new) == {"chars_added": 13, "chars_removed": 10}


def test_a_group_the_exact_dedup_fails_on_is_rejected_member_by_member_and_the_run_goes_on():
    """The stage contract for dedup: a record the stage cannot handle (here a version of a URL
    without text, which the version diff cannot read) goes to rejects with the stage and the reason,
    every member of its group with it; the other articles are not held up."""
    url = "https://wire.example/broken"
    good = article(story(5, 120), url=url, published_at="2024-03-01T10:00:00Z", uri="a")
    broken = dict(article(story(6, 120), url=url, published_at="2024-03-01T12:00:00Z", uri="b"), text=None)
    other = article(story(7, 120), uri="c")
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(OPTIONS)) as p:
        out = p | beam.Create([good, broken, other]) | ExactDedup()
        assert_that(out.records | "Kept" >> beam.Map(lambda a: a["id"]), equal_to([other["id"]]), label="kept")
        assert_that(out.duplicates | "Dups" >> beam.Map(lambda d: d["id"]), equal_to([]), label="dups")
        assert_that(out.rejects | "Rejects" >> beam.Map(
            lambda r: (r["stage"], r["reason"].startswith("unexpected error"), r["input_uri"])),
            equal_to([("dedup", True, "a"), ("dedup", True, "b")]), label="rejects")
