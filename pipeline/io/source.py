"""The source contract: what every reader (files, feeds, folders watched, Pub/Sub) hands the graph."""
from __future__ import annotations

from typing import NamedTuple, Optional

import apache_beam as beam


class Source(NamedTuple):
    """What a reader returns.

    ``items``: the raw items for the clean stage, as a tuple of one or more parts that the graph
    cleans where they are (the file reader keeps one-item files where they were read and spreads the
    items of many-item files: a Flatten before the clean stage would copy every raw page).
    ``rejects``: rows of the rejects dataset (stage ``read``, the reason, the raw input).
    ``skipped``: :class:`pipeline.records.Skip` rows, counted in the manifest, not stored.
    ``states``: what the reader keeps between runs (feeds: ``(listed url, state)``), or None.
    """

    items: tuple
    rejects: beam.PCollection
    skipped: beam.PCollection
    states: Optional[beam.PCollection] = None

    def all_items(self, label: str = "AllItems") -> beam.PCollection:
        """The items in one PCollection (a Flatten when there are several parts)."""
        return self.items[0] if len(self.items) == 1 else self.items | label >> beam.Flatten()
