"""The streaming sources and event time, by their old import path: they live in
:mod:`pipeline.io.stream` now.  This module re-exports every public name it had."""
from __future__ import annotations

from pipeline.io.stream.base import NAMESPACE
from pipeline.io.stream.event_time import EARLIEST_PLAUSIBLE, AssignEventTime, event_time
from pipeline.io.stream.feeds import PollFeedsForever, PollHostStatefulFn, SaveFeedStates
from pipeline.io.stream.pubsub import ReadPubSub
from pipeline.io.stream.ticks import Ticks, seconds_until_tick
from pipeline.io.stream.watch import WATCHED_FILE, WatchFiles, load_watched

__all__ = ["EARLIEST_PLAUSIBLE", "NAMESPACE", "WATCHED_FILE", "AssignEventTime", "PollFeedsForever",
           "PollHostStatefulFn", "ReadPubSub", "SaveFeedStates", "Ticks", "WatchFiles", "event_time",
           "load_watched", "seconds_until_tick"]
