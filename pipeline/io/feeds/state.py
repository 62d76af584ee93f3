"""What newsbeam remembers about each polled feed between runs: ``<state dir>/feeds.json``.

One JSON document, keys sorted and indented, so two saves of the same state are identical
bytes and a diff of the file reads well; written to a temporary file and renamed, so a crash
never leaves half a file.  The key of each feed is its URL as the user listed it; a 301/308
only changes ``current_url``, so the user's list keeps matching the state.

File format (``version`` 1)::

    {"version": 1,
     "feeds": {"<listed url>": {
        "url": "<listed url>",
        "current_url": "<url polled next (after permanent redirects)>",
        "etag": "W/\\"abc\\"" | null,           byte-for-byte as the server sent it (latin-1)
        "last_modified": "<http date>" | null,  idem
        "status": "active" | "gone",            gone after a 410: never polled again
        "consecutive_failures": 0,
        "next_poll_after": "2024-03-12T18:30:00Z" | null,   backoff or Retry-After
        "failed_with": "<fingerprint of the fetch settings of the failures>" | null,
        "last_status": 200 | null,              last HTTP status (null: no response)
        "last_fetched_at": "2024-03-12T18:30:00Z" | null,
        "entries": [["<entry key>", "<content hash>"], ...]}}}

``failed_with`` (:meth:`pipeline.io.http.FetchSettings.fingerprint`): a back-off recorded under
other fetch settings (say, before ``--allow-private-hosts``) is not honoured; absent in files
written before it existed (such a back-off is honoured; ``--retry-now`` polls the feed anyway).

``entries`` is a list of pairs, oldest first, rather than an object: sorted-key JSON would
lose the recency order that decides which entries are forgotten when a feed holds more than
``MAX_ENTRIES``.  (``from_dict`` also accepts an object.)
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["FeedState", "FeedStateError", "FeedStateStore", "MAX_ENTRIES", "STATE_FILE",
           "dumps_states", "loads_states"]

STATE_FILE = "feeds.json"
FORMAT_VERSION = 1
#: Entries remembered per feed.  Feeds list 10-100 entries; 2000 covers weeks of a busy feed
#: while keeping the state file small (~60 bytes per entry).
MAX_ENTRIES = 2000


class FeedStateError(ValueError):
    """The state file cannot be read; newsbeam stops rather than forget every feed."""


@dataclass
class FeedState:
    url: str
    current_url: Optional[str] = None
    etag: Optional[str] = None
    last_modified: Optional[str] = None
    status: str = "active"
    consecutive_failures: int = 0
    next_poll_after: Optional[str] = None
    last_status: Optional[int] = None
    last_fetched_at: Optional[str] = None
    entries: dict = field(default_factory=dict)  # entry key -> content hash, oldest first
    failed_with: Optional[str] = None  # fingerprint of the fetch settings the failures happened under

    def __post_init__(self):
        if self.current_url is None:
            self.current_url = self.url

    def remember(self, key: str, content_hash: str, limit: int = MAX_ENTRIES) -> None:
        """Record an entry as the most recently seen; forget the oldest beyond ``limit``."""
        self.entries.pop(key, None)
        self.entries[key] = content_hash
        while len(self.entries) > limit:
            del self.entries[next(iter(self.entries))]

    def to_dict(self) -> dict:
        return {
            "url": self.url,
            "current_url": self.current_url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "next_poll_after": self.next_poll_after,
            "last_status": self.last_status,
            "last_fetched_at": self.last_fetched_at,
            "entries": [[key, value] for key, value in self.entries.items()],
            "failed_with": self.failed_with,
        }

    @classmethod
    def from_dict(cls, data: dict, url: Optional[str] = None) -> "FeedState":
        entries = data.get("entries") or {}
        if isinstance(entries, list):
            entries = {str(k): str(v) for k, v in entries}
        else:
            entries = {str(k): str(v) for k, v in entries.items()}
        return cls(
            url=data.get("url") or url or "",
            current_url=data.get("current_url"),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            status=data.get("status") or "active",
            consecutive_failures=int(data.get("consecutive_failures") or 0),
            next_poll_after=data.get("next_poll_after"),
            last_status=data.get("last_status"),
            last_fetched_at=data.get("last_fetched_at"),
            entries=entries,
            failed_with=data.get("failed_with"),
        )

    def copy(self) -> "FeedState":
        return FeedState.from_dict(self.to_dict())


def dumps_states(states: dict) -> bytes:
    """The deterministic file bytes for ``{url: FeedState | dict}``."""
    feeds = {url: (s.to_dict() if isinstance(s, FeedState) else s) for url, s in states.items()}
    text = json.dumps({"version": FORMAT_VERSION, "feeds": feeds}, sort_keys=True, indent=1,
                      ensure_ascii=True)
    return (text + "\n").encode("ascii")


def loads_states(data: bytes | str, source: str = "feed state") -> dict[str, FeedState]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise FeedStateError(f"{source} is not valid JSON ({exc}); fix or delete it "
                             f"(deleting it makes every feed and entry look new)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("feeds"), dict):
        raise FeedStateError(f"{source} is not a newsbeam feed state file (no 'feeds' object)")
    if doc.get("version", FORMAT_VERSION) > FORMAT_VERSION:
        raise FeedStateError(f"{source} has format version {doc['version']}, newer than this "
                             f"newsbeam understands ({FORMAT_VERSION}); upgrade newsbeam")
    return {url: FeedState.from_dict(value, url) for url, value in doc["feeds"].items()}


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class FeedStateStore:
    """The state file of one state directory (default ``<output>/_state``; ``--state DIR``
    shares it between outputs).  Not locked: do not run two jobs on one state at once."""

    def __init__(self, directory: str):
        self.directory = directory
        self.path = os.path.join(directory, STATE_FILE)

    def load(self) -> dict[str, FeedState]:
        """Every feed's state; ``{}`` when there is no state yet (a first run)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return {}
        return loads_states(data, self.path)

    def save(self, states: dict) -> None:
        atomic_write(self.path, dumps_states(dict(sorted(states.items()))))
