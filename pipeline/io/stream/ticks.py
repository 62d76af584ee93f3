"""Ticks: the clock of the streaming sources (Beam's PeriodicImpulse, paced on the local runner)."""
from __future__ import annotations

import time
from typing import Optional

import apache_beam as beam

__all__ = ["Ticks", "seconds_until_tick"]


def _impulse_fns():
    """``(ImpulseSeqGenDoFn, its restriction provider, the watermark estimator provider)``."""
    from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
    from apache_beam.transforms.periodicsequence import ImpulseSeqGenDoFn, ImpulseSeqGenRestrictionProvider

    return ImpulseSeqGenDoFn, ImpulseSeqGenRestrictionProvider, ManualWatermarkEstimator


def seconds_until_tick(start: float, interval: float, index: int, stop_index: int, now: float) -> float:
    """How long to wait for tick ``index`` (0 when it is due, or when there is none left)."""
    if index >= stop_index:
        return 0.0
    return max(0.0, min(interval, start + interval * index - now))


_SeqGenFn, _SeqGenRestrictions, _ManualWatermark = _impulse_fns()


class _PacedImpulseFn(_SeqGenFn):
    """PeriodicImpulse's splittable DoFn, but it waits for its next tick inside the bundle.

    Beam's own defers the rest of its range at once, and the FnApiRunner then runs it again as
    fast as it can: measured, 15-37 bundles a second of newsbeam's whole fused graph between two
    ticks, and the runner's memory grows with every bundle (~0.2-0.7 MB). Waiting here makes it one
    bundle per tick. Only for the local runner: a cluster runner schedules deferred work itself.
    """

    @beam.DoFn.unbounded_per_element()
    def process(self, element, restriction_tracker=beam.DoFn.RestrictionParam(_SeqGenRestrictions()),
                watermark_estimator=beam.DoFn.WatermarkEstimatorParam(_ManualWatermark.default_provider())):
        from apache_beam.utils.timestamp import Timestamp

        start, _stop, interval = element
        begin = start.micros / 1_000_000 if isinstance(start, Timestamp) else float(start)
        restriction = restriction_tracker.current_restriction()
        wait = seconds_until_tick(begin, interval, restriction.start, restriction.stop, time.time())
        if wait > 0:
            time.sleep(wait)
        yield from super().process(element, restriction_tracker, watermark_estimator)


class Ticks(beam.PTransform):
    """A tick every ``interval`` seconds from ``start`` until ``stop`` (unix seconds; None:
    forever): Beam's PeriodicImpulse, or with ``paced`` (the local runner) :class:`_PacedImpulseFn`."""

    def __init__(self, start: Optional[float], stop: Optional[float], interval: float, paced: bool = False):
        super().__init__()
        self.start = start
        self.stop = stop
        self.interval = interval
        self.paced = paced

    def expand(self, pbegin):
        from apache_beam.transforms.periodicsequence import PeriodicImpulse
        from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

        start = self.start if self.start is not None else time.time()
        stop = self.stop if self.stop is not None else MAX_TIMESTAMP
        if not self.paced:
            return pbegin | "Impulse" >> PeriodicImpulse(start_timestamp=start, stop_timestamp=stop,
                                                         fire_interval=self.interval)
        return (pbegin
                | "ImpulseElement" >> beam.Create([(Timestamp.of(start), Timestamp.of(stop), self.interval)])
                | "GenSequence" >> beam.ParDo(_PacedImpulseFn()))

