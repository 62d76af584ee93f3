"""The validate stage: every record checked against its dataset's JSON Schema
(:mod:`pipeline.schemas`); a record that does not match is a reject naming the schema and the
JSON pointers of the violations."""
from __future__ import annotations

import apache_beam as beam

from pipeline.schemas import (INTERNAL_KEYS, MANIFEST_SCHEMA, SCHEMA_FILES, load_schema,  # noqa: F401 (re-exported)
                              manifest_errors, manifest_validator, public_view, readable_versions, schema_dir,
                              validation_errors, validator)
from pipeline.stages.base import ApplyStage, Rejected

STAGE = "validate"


def check(record: dict, dataset: str) -> dict:
    """The stage function: the record unchanged, or Rejected naming the schema and pointers."""
    errors = validation_errors(record, dataset)
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise Rejected(f"does not match {SCHEMA_FILES[dataset]}: {shown}")
    return record


class _Check:
    def __init__(self, dataset: str):
        self.dataset = dataset

    def __call__(self, record: dict) -> dict:
        return check(record, self.dataset)


class ValidateRecords(beam.PTransform):
    """Validate every record of a dataset: :class:`~pipeline.stages.base.StageOutput` of the valid ones."""

    def __init__(self, dataset: str):
        super().__init__()
        self.dataset = dataset

    def expand(self, records):
        return records | ApplyStage(STAGE, _Check(self.dataset))
