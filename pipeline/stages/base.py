"""The stage contract: pure functions do the work, a thin labelled PTransform applies them.

A stage function takes one record and returns the new record, or raises :class:`Rejected`
with a reason a person can act on.  :class:`ApplyStage` turns that into Beam: it counts what
happened with ``Metrics.counter(stage, ...)`` and routes every record the function rejects
(or crashes on) to a ``rejects`` PCollection, via Beam's ``with_exception_handling`` dead
letter, so no record is dropped silently and no bad record stops the pipeline.
"""
from __future__ import annotations

from typing import Callable

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import make_reject


class Rejected(Exception):
    """A stage refuses a record. The message is the reason stored in the rejects dataset."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:  # with_exception_handling reports repr(exception)
        return self.reason


class CountedFn:
    """Wraps a stage function so every record it returns is counted (picklable, no lambdas)."""

    def __init__(self, stage: str, fn: Callable[[dict], dict]):
        self.stage = stage
        self.fn = fn
        self._out = Metrics.counter(stage, "out")

    def __call__(self, record: dict, *side_inputs) -> dict:
        result = self.fn(record, *side_inputs)
        self._out.inc()
        return result


def failure_to_reject(failure, stage: str) -> dict:
    """Convert a ``with_exception_handling`` dead letter ``(element, (type, repr, tb))``."""
    element, (exc_type, exc_repr, _traceback) = failure
    if exc_type is Rejected or (isinstance(exc_type, type) and issubclass(exc_type, Rejected)):
        reason = exc_repr
        Metrics.counter(stage, "rejected").inc()
    else:
        reason = f"unexpected error {exc_repr}; this is a newsbeam bug, please report it with this record"
        Metrics.counter(stage, "errors").inc()
    if isinstance(element, list):  # a batch failed as a whole: reject every member
        element = element[0] if len(element) == 1 else {"batch": element}
    return make_reject(stage, reason, element if isinstance(element, (dict, bytes, str)) else repr(element))


class ToRejects(beam.PTransform):
    """Dead letters from ``with_exception_handling`` -> rows of the rejects dataset."""

    def __init__(self, stage: str):
        super().__init__()
        self.stage = stage

    def expand(self, failures):
        return failures | "ToReject" >> beam.Map(failure_to_reject, self.stage)


class ApplyStage(beam.PTransform):
    """Apply a one-record-in, one-record-out stage function; returns ``(records, rejects)``.

    Extra arguments (e.g. ``beam.pvalue.AsDict(...)`` side inputs) are passed to the function
    after the record.
    """

    def __init__(self, stage: str, fn: Callable[..., dict], *side_inputs):
        super().__init__()
        self.stage = stage
        self.fn = fn
        self.side_inputs = side_inputs

    def expand(self, records):
        apply = beam.Map(CountedFn(self.stage, self.fn), *self.side_inputs).with_exception_handling()
        good, bad = records | "Apply" >> apply
        return good, bad | "Rejects" >> ToRejects(self.stage)
