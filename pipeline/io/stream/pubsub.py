"""Pub/Sub: one JSON article per message (Dataflow), read by the batch reader."""
from __future__ import annotations

import apache_beam as beam

from pipeline.io.route import route
from pipeline.io.source import Source

__all__ = ["ReadPubSub"]


def _message_items(message, subscription: str, limits=None):
    from pipeline.io.files.read import read_file

    message_id = getattr(message, "message_id", None) or ""
    yield from read_file(f"{subscription}/messages/{message_id or 'message'}.json", message.data, limits)


def _routed(record: dict):
    yield route(record)


class ReadPubSub(beam.PTransform):
    """One JSON article per Pub/Sub message (fields as in a JSONL input): a :class:`~pipeline.io.source.Source`."""

    def __init__(self, subscription: str, limits=None):
        super().__init__()
        self.subscription = subscription
        self.limits = limits  # the run's --max-item-bytes ... (None: the defaults)

    def expand(self, pbegin):
        messages = pbegin | "ReadPubSub" >> beam.io.ReadFromPubSub(
            subscription=self.subscription, with_attributes=True)
        read = (messages
                | "Parse" >> beam.FlatMap(_message_items, self.subscription, self.limits)
                | "Split" >> beam.FlatMap(_routed).with_outputs("rejects", "skipped", main="items"))
        return Source((read.items,), read.rejects, read.skipped)

