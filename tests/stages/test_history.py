"""Dedup against the stored keys (pipeline/stages/history.py): the pure functions, without Beam."""
import datetime as dt

from pipeline.stages.history import (ALREADY_INGESTED, _DayRange, against_history, build_index, reject_key,
                                     window_days)
from tests.conftest import make_article


def key(article: dict, **overrides) -> dict:
    row = {"id": article["id"], "content_hash": article["content_hash"], "story_id": article.get("story_id"),
           "input_uri": article["provenance"]["input_uri"], "offset": article["provenance"]["offset"]}
    row.update(overrides)
    return row


def test_the_same_input_item_with_the_same_content_is_already_ingested():
    stored = make_article()
    index = build_index([key(stored)], [])
    kind, row = against_history(make_article(), index)
    assert kind == "skipped" and row["skipped"] == ALREADY_INGESTED
    assert (row["input_uri"], row["offset"]) == ("in/a.html", 0)


def test_a_stored_copy_is_ingested_too_and_changed_content_at_the_same_offset_is_not():
    stored = make_article()
    assert against_history(make_article(), build_index([], [key(stored)]))[0] == "skipped"
    edited = make_article(text="A different text entirely, about the harbour and its new ferry terminal.")
    kind, dup = against_history(edited, build_index([key(stored)], []))
    assert kind == "duplicate" and dup["kind"] == "update" and dup["duplicate_of"] == stored["id"]


def test_a_new_copy_of_a_stored_article_is_its_duplicate():
    stored = make_article()
    copy = make_article(url="https://mirror.example/bridge",
                        provenance={"input_uri": "in/b.jsonl", "offset": 3, "format": "jsonl"})
    kind, dup = against_history(copy, build_index([key(stored, story_id="s" * 16)], []))
    assert kind == "duplicate" and dup["duplicate_of"] == stored["id"] and dup["kind"] == "exact"
    assert dup["similarity"] == 1.0 and dup["story_id"] == "s" * 16 and dup["entities"] == []
    assert dup["provenance"]["decisions"][-1] == f"duplicate:exact:{stored['id']}:stored"


def test_an_unrelated_article_is_new():
    stored = make_article()
    other = make_article(url="https://other.example/x", text="Nothing like the stored one at all, about trains.",
                         provenance={"input_uri": "in/c.html", "offset": 0})
    assert against_history(other, build_index([key(stored)], [])) == ("new", other)


def test_stored_rejects_are_matched_by_input_stage_and_reason():
    reject = {"stage": "read", "reason": "not JSON", "input_uri": "in/a.jsonl", "offset": 4, "raw": "{"}
    index = build_index([], [], [reject_key(reject)])
    assert reject_key(reject) in index.rejects
    assert reject_key(dict(reject, offset=5)) not in index.rejects


def test_the_window_is_the_input_days_widened_by_the_horizon():
    combine = _DayRange()
    acc = combine.create_accumulator()
    for day in ("2024-04-03", None, "2024-04-01"):
        acc = combine.add_input(acc, day)
    assert combine.extract_output(combine.merge_accumulators([acc, None])) == ("2024-04-01", "2024-04-03")
    assert window_days(("2024-04-01", "2024-04-03"), 2 * 86400) == (dt.date(2024, 3, 30), dt.date(2024, 4, 5))
    assert window_days(None, 86400, today=dt.date(2026, 12, 7)) == (dt.date(2026, 12, 6), dt.date(2026, 12, 8))
