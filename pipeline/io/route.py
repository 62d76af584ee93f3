"""Where a reader's or a poller's output goes in Beam: rejects and skips to tagged outputs."""
from __future__ import annotations

import apache_beam as beam

from pipeline.records import is_skip

__all__ = ["route"]


def route(record: dict):
    """A read or poll output as Beam emits it: rejects and skips to their tagged outputs
    (``rejects``, ``skipped``), items as they are."""
    if "stage" in record:
        return beam.pvalue.TaggedOutput("rejects", record)
    if is_skip(record):
        return beam.pvalue.TaggedOutput("skipped", record)
    return record
