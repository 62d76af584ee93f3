"""Feed state, by its old import path: it lives in :mod:`pipeline.io.feeds.state` now."""
from __future__ import annotations

from pipeline.io.feeds.state import (FORMAT_VERSION, MAX_ENTRIES, STATE_FILE, FeedState, FeedStateError,
                                     FeedStateStore, atomic_write, dumps_states, loads_states)

__all__ = ["FeedState", "FeedStateError", "FeedStateStore", "MAX_ENTRIES", "STATE_FILE",
           "dumps_states", "loads_states"]
