"""An input too large for one local job, cut into segments: :func:`plan_segments`.

The local runners hold every element between two shuffles in memory (NOTES.md: about 300 KB per
article before segmenting), so a local batch run over more than a segment's worth of input runs
one job per segment, each committed before the next starts (``pipeline/run/batch.py``). A segment
is a list of :class:`InputPart`: a whole file, or a line range of a JSON-lines file too big for
one segment. A line range keeps the file's own line numbers, so an item's ``input_uri`` and
``offset`` (and so its id and order) are what one job reading the whole file gives.

Pure planning over local files: it reads JSON-lines files once to find line ends (1 MiB at a time,
nothing kept), and only stats the others.
"""
from __future__ import annotations

import os
from typing import Iterable, NamedTuple, Optional

from pipeline.io.files.detect import EXTENSION_FORMATS

__all__ = ["InputPart", "SEGMENT_ITEM_BYTES", "plan_segments"]

#: Input bytes that count as one item when a segment is filled: a segment holds at most
#: ``segment_items`` items and at most ``segment_items * SEGMENT_ITEM_BYTES`` bytes of input (web pages
#: are ten times a text line's size, and the raw page is held until it is cleaned).
SEGMENT_ITEM_BYTES = 16 * 1024

_BLOCK = 1 << 20


class InputPart(NamedTuple):
    """One file (``start``/``stop`` None) or the byte range ``[start, stop)`` of a JSON-lines file,
    which begins at line ``first_line`` (1-based) and ends after a line end."""

    path: str
    start: Optional[int] = None
    stop: Optional[int] = None
    first_line: int = 1

    @property
    def whole(self) -> bool:
        return self.start is None


def _sliceable(path: str) -> bool:
    """An uncompressed local JSON-lines file, by name and first byte (a gzip member is not cut)."""
    if "://" in path and not path.startswith("file://"):
        return False
    if EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower()) != "jsonl":
        return False
    try:
        with open(path.removeprefix("file://"), "rb") as f:
            return f.read(2) != b"\x1f\x8b"
    except OSError:
        return False  # the reader rejects it, naming the error


def _line_ranges(path: str, lines_per_range: int, bytes_per_range: int) -> list[tuple[InputPart, int]]:
    """``path`` cut after every ``lines_per_range`` lines or ``bytes_per_range`` bytes (at the next line
    end), whichever comes first, each range with its line count; a single longer line stays whole."""
    parts, start, first_line, line, position, lines_in, last_end = [], 0, 1, 1, 0, 0, 0
    local = path.removeprefix("file://")
    with open(local, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            at = 0
            while True:
                end = block.find(b"\n", at)
                if end < 0:
                    break
                at = end + 1
                last_end = position + at
                line += 1
                lines_in += 1
                if lines_in >= lines_per_range or position + at - start >= bytes_per_range:
                    parts.append((InputPart(path, start, position + at, first_line), lines_in))
                    start, first_line, lines_in = position + at, line, 0
            position += len(block)
    if position > start:  # the last line, or lines after the last cut
        partial = 0 if last_end == position else 1
        parts.append((InputPart(path, start, position, first_line), lines_in + partial))
    return parts


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path.removeprefix("file://")) if "://" not in path.removeprefix("file://") else 0
    except OSError:
        return 0


def plan_segments(paths: Iterable[str], segment_items: int) -> list[list[InputPart]]:
    """The input files ``paths`` (sorted, as :func:`pipeline.io.files.inputs.expand_inputs` gives
    them) as segments of at most ``segment_items`` items and ``segment_items * SEGMENT_ITEM_BYTES``
    bytes, in input order. A JSON-lines file larger than that is cut into line ranges; any other
    file is one part (its items are counted as one per ``SEGMENT_ITEM_BYTES``). One segment when
    everything fits (``segment_items`` <= 0: never cut)."""
    paths = list(paths)
    budget_bytes = segment_items * SEGMENT_ITEM_BYTES
    if segment_items <= 0:
        return [[InputPart(p) for p in paths]]
    segments: list[list[InputPart]] = []
    current: list[InputPart] = []
    items = size = 0
    for path in paths:
        nbytes = _file_size(path)
        if _sliceable(path) and nbytes > 0:
            pieces = _line_ranges(path, segment_items, budget_bytes)
            if len(pieces) == 1:
                pieces = [(InputPart(path), pieces[0][1])]
        else:
            pieces = [(InputPart(path), max(1, nbytes // SEGMENT_ITEM_BYTES))]
        for piece, piece_items in pieces:
            piece_bytes = nbytes if piece.whole else piece.stop - piece.start
            if current and (items + piece_items > segment_items or size + piece_bytes > budget_bytes):
                segments.append(current)
                current, items, size = [], 0, 0
            current.append(piece)
            items += piece_items
            size += piece_bytes
    if current or not segments:
        segments.append(current)
    return segments
