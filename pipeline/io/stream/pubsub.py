"""Pub/Sub: one JSON article per message (Dataflow), read by the batch reader."""
from __future__ import annotations

import apache_beam as beam

from pipeline.io.route import route

__all__ = ["ReadPubSub"]


def _message_items(message, subscription: str):
    from pipeline.io.files.read import read_file

    message_id = getattr(message, "message_id", None) or ""
    yield from read_file(f"{subscription}/messages/{message_id or 'message'}.json", message.data)


def _routed(record: dict):
    yield route(record)


class ReadPubSub(beam.PTransform):
    """One JSON article per Pub/Sub message (fields as in a JSONL input): ``(items, rejects, skipped)``."""

    def __init__(self, subscription: str):
        super().__init__()
        self.subscription = subscription

    def expand(self, pbegin):
        messages = pbegin | "ReadPubSub" >> beam.io.ReadFromPubSub(
            subscription=self.subscription, with_attributes=True)
        read = (messages
                | "Parse" >> beam.FlatMap(_message_items, self.subscription)
                | "Split" >> beam.FlatMap(_routed).with_outputs("rejects", "skipped", main="items"))
        return read.items, read.rejects, read.skipped

