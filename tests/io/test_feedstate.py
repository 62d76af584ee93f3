"""Tests for pipeline.io.feedstate: the feeds.json round trip, atomicity, determinism, bounds."""
from __future__ import annotations

import json
import os

import pytest

from pipeline.io.feedstate import (
    STATE_FILE,
    FeedState,
    FeedStateError,
    FeedStateStore,
    dumps_states,
)


def sample() -> FeedState:
    state = FeedState(url="https://news.example/feed", etag='W/"caf\xe9 \\"1\\""',
                      last_modified="Tue, 12 Mar 2024 18:30:00 GMT", last_status=200,
                      last_fetched_at="2024-03-12T18:30:00Z")
    state.current_url = "https://news.example/rss"
    state.remember("guid-b", "hash-b")
    state.remember("guid-a", "hash-a")
    return state


def test_missing_state_is_empty(tmp_path):
    assert FeedStateStore(str(tmp_path / "nothing-yet")).load() == {}


def test_round_trip_keeps_every_field_and_entry_order(tmp_path):
    store = FeedStateStore(str(tmp_path / "_state"))
    state = sample()
    store.save({state.url: state})
    loaded = store.load()
    assert loaded == {state.url: state}
    assert list(loaded[state.url].entries) == ["guid-b", "guid-a"]  # oldest first
    assert loaded[state.url].etag == 'W/"caf\xe9 \\"1\\""'


def test_file_format_is_sorted_versioned_and_ascii(tmp_path):
    store = FeedStateStore(str(tmp_path))
    b = FeedState(url="https://b.example/feed")
    store.save({b.url: b, "https://a.example/feed": sample()})
    raw = (tmp_path / STATE_FILE).read_bytes()
    raw.decode("ascii")
    doc = json.loads(raw)
    assert doc["version"] == 1
    assert list(doc["feeds"]) == ["https://a.example/feed", "https://b.example/feed"]
    entry = doc["feeds"]["https://b.example/feed"]
    assert list(entry) == sorted(entry)
    assert entry["current_url"] == "https://b.example/feed"
    assert entry["status"] == "active" and entry["entries"] == []


def test_saves_are_deterministic_and_leave_no_temp_files(tmp_path):
    store = FeedStateStore(str(tmp_path))
    one = {"x": sample(), "a": FeedState(url="a")}
    store.save(one)
    first = (tmp_path / STATE_FILE).read_bytes()
    store.save(dict(reversed(list(one.items()))))
    assert (tmp_path / STATE_FILE).read_bytes() == first == dumps_states(dict(sorted(one.items())))
    assert os.listdir(tmp_path) == [STATE_FILE]


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    store = FeedStateStore(str(tmp_path))
    store.save({"a": FeedState(url="a")})
    before = (tmp_path / STATE_FILE).read_bytes()

    def boom(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.save({"b": FeedState(url="b")})
    assert (tmp_path / STATE_FILE).read_bytes() == before
    assert os.listdir(tmp_path) == [STATE_FILE]


def test_corrupt_state_is_an_error_not_a_fresh_start(tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(FeedStateError, match="not valid JSON"):
        FeedStateStore(str(tmp_path)).load()
    (tmp_path / STATE_FILE).write_text("[]")
    with pytest.raises(FeedStateError, match="not a newsbeam feed state"):
        FeedStateStore(str(tmp_path)).load()
    (tmp_path / STATE_FILE).write_text('{"version": 99, "feeds": {}}')
    with pytest.raises(FeedStateError, match="newer"):
        FeedStateStore(str(tmp_path)).load()


def test_entries_are_bounded_to_the_most_recently_seen():
    state = FeedState(url="u")
    for i in range(5):
        state.remember(f"e{i}", f"h{i}", limit=3)
    assert list(state.entries) == ["e2", "e3", "e4"]
    state.remember("e2", "h2", limit=3)  # seen again: becomes the most recent
    state.remember("e5", "h5", limit=3)
    assert list(state.entries) == ["e4", "e2", "e5"]


def test_from_dict_accepts_an_entries_object_and_defaults():
    state = FeedState.from_dict({"entries": {"k": "h"}}, url="https://x.example/f")
    assert state.url == state.current_url == "https://x.example/f"
    assert state.entries == {"k": "h"} and state.status == "active"
    assert state.consecutive_failures == 0 and state.etag is None


def test_copy_is_independent():
    state = sample()
    copy = state.copy()
    copy.remember("new", "h")
    assert "new" not in state.entries
