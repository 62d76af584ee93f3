"""The records a file reader yields: an Item with every key, or a Reject of the ``read`` stage.

Skips are :func:`pipeline.records.make_skip` dicts; :func:`is_reject` and
:func:`pipeline.records.is_skip` tell the three apart.
"""
from __future__ import annotations

from pipeline.records import Item, make_reject

__all__ = ["REASON_EMPTY", "STAGE", "is_reject", "make_item", "reject"]

STAGE = "read"

REASON_EMPTY = "empty input file"


def is_reject(record: dict) -> bool:
    """Rejects carry a ``stage`` key; items never do."""
    return "stage" in record


def reject(path: str, reason: str, raw: bytes | str, offset: int = 0) -> dict:
    # raw is always bytes/str here, never a dict: make_reject's dict path reads
    # "offset"/"provenance" out of the record, which an arbitrary input object may misuse.
    return dict(make_reject(stage=STAGE, reason=reason, raw=raw, input_uri=path, offset=offset))


def make_item(path: str, offset: int, fmt: str, *, url=None, title=None, text=None, html=None,
              published_at=None, authors=None, source=None) -> dict:
    """Every item has all ten keys (None / [] when unknown), so downstream code never guesses."""
    return dict(Item(input_uri=path, offset=offset, format=fmt, url=url, title=title, text=text,
                     html=html, published_at=published_at, authors=list(authors or []),
                     source=source))

