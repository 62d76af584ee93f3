"""The records a file reader yields: an Item with every key, or a Reject of the ``read`` stage.

Skips are :func:`pipeline.records.make_skip` dicts; :func:`is_reject` and
:func:`pipeline.records.is_skip` tell the three apart.
"""
from __future__ import annotations

from pipeline.records import CARRIED_FIELDS, Item, make_reject

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
              published_at=None, authors=None, source=None, **carried) -> dict:
    """Every item has all ten keys (None / [] when unknown), so downstream code never guesses;
    plus the reader's decisions the clean stage carries onto the article
    (:data:`pipeline.records.CARRIED_FIELDS`: ``text_kind``, ``canonical_url``, ``declared_lang``),
    only when known."""
    unknown = set(carried) - set(CARRIED_FIELDS)
    if unknown:
        raise TypeError(f"make_item() got unexpected fields {sorted(unknown)}")
    item = dict(Item(input_uri=path, offset=offset, format=fmt, url=url, title=title, text=text,
                     html=html, published_at=published_at, authors=list(authors or []),
                     source=source))
    item.update((key, value) for key, value in carried.items() if value is not None)
    return item

