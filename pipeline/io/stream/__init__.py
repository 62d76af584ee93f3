"""Unbounded sources for ``newsbeam run --streaming``, and event time.

* ``feeds``: :class:`PollFeedsForever`: a PeriodicImpulse tick every ``--poll-interval`` polls the
  feed list.  Feed state (ETag, Last-Modified, entries seen, backoff) lives in Beam state keyed by
  host, so a changed feed costs one request and an unchanged one a 304; one host's feeds are
  polled one after the other by one DoFn call (politeness, as in batch).  Every new state is also
  handed to ``states`` so the driver can save it for the next run (:class:`SaveFeedStates`).
* ``watch``: :class:`WatchFiles`: ``fileio.MatchContinuously`` over each ``--watch`` glob every
  ``--watch-interval`` (default a few seconds: a scan only lists a folder), a stateful step
  that passes a file on only when it is new or changed (size or mtime), then the batch reader.
* ``pubsub``: :class:`ReadPubSub`: one JSON article per message (Dataflow); the reader is the
  batch one.
* ``event_time``: :func:`event_time` / :class:`AssignEventTime`: publication time when
  plausible, else fetch time.
* ``ticks`` (:class:`Ticks`, the sources' clock) and ``base`` (what they share) under them.

The three sources return a :class:`pipeline.io.source.Source` like the batch readers, so the
stages after them are the same.
"""
from pipeline.io.stream.event_time import EARLIEST_PLAUSIBLE, AssignEventTime, event_time
from pipeline.io.stream.feeds import PollFeedsForever, PollHostStatefulFn, SaveFeedStates
from pipeline.io.stream.pubsub import ReadPubSub
from pipeline.io.stream.ticks import Ticks, seconds_until_tick
from pipeline.io.stream.watch import WATCHED_FILE, WatchFiles, load_watched

__all__ = ["EARLIEST_PLAUSIBLE", "WATCHED_FILE", "AssignEventTime", "PollFeedsForever", "PollHostStatefulFn",
           "ReadPubSub", "SaveFeedStates", "Ticks", "WatchFiles", "event_time", "load_watched",
           "seconds_until_tick"]
