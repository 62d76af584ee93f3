"""The stage contract: pure functions do the work, a thin labelled PTransform applies them.

A stage function takes one record and returns the new record, or raises :class:`Rejected`
with a reason a person can act on.  :class:`ApplyStage` turns that into Beam: it counts what
happened with ``Metrics.counter(stage, ...)`` and routes every record the function rejects
(or crashes on) to a ``rejects`` PCollection, via Beam's ``with_exception_handling`` dead
letter, so no record is dropped silently and no bad record stops the pipeline.

Every stage PTransform, per-record or not (dedup, stories, entities), returns one shape,
:class:`StageOutput`; the dedup and story stages, which also see the duplicates found so far,
take ``(records, duplicates)`` and hand the duplicates on in the same shape.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.records import make_reject


class StageOutput(NamedTuple):
    """What every stage hands on.

    ``records``: what goes on to the next stage. ``rejects``: rows of the rejects dataset (the
    stage, a reason, the raw record). ``duplicates``: rows of the duplicates dataset, for the
    stages that find or annotate duplicates (dedup, stories); None for the others.
    """

    records: beam.PCollection
    rejects: beam.PCollection
    duplicates: Optional[beam.PCollection] = None


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


def group_failure_to_rejects(failure, stage: str) -> list[dict]:
    """A dead letter of a step over a group ``(key, records)`` -> one reject per record of the
    group (a dedup step that fails on a group fails on each of its members)."""
    (key, members), error = failure
    members = list(members)
    if not members:
        return []
    return [failure_to_reject((member, error), stage) for member in members]


class ToRejects(beam.PTransform):
    """Dead letters from ``with_exception_handling`` -> rows of the rejects dataset.
    ``grouped``: the failed elements are ``(key, records)`` groups (one reject per record)."""

    def __init__(self, stage: str, grouped: bool = False):
        super().__init__()
        self.stage = stage
        self.grouped = grouped

    def expand(self, failures):
        if self.grouped:
            return failures | "ToReject" >> beam.FlatMap(group_failure_to_rejects, self.stage)
        return failures | "ToReject" >> beam.Map(failure_to_reject, self.stage)


class ApplyStage(beam.PTransform):
    """Apply a one-record-in, one-record-out stage function; returns a :class:`StageOutput`.

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
        return StageOutput(good, bad | "Rejects" >> ToRejects(self.stage))
