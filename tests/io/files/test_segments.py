"""Cutting a large input into segments: every line read once, with the line number one job gives."""
from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.io.files import ReadArticles
from pipeline.io.files.segments import SEGMENT_ITEM_BYTES, InputPart, plan_segments


def _jsonl(path, n, first=0, bom=False, crlf=False, blank_every=0):
    lines = []
    for i in range(first, first + n):
        lines.append(json.dumps({"url": f"https://example.org/{i}", "title": f"T{i}",
                                 "text": f"Article number {i} with enough words to be one. é"}, ensure_ascii=False))
        if blank_every and i % blank_every == 0:
            lines.append("")
    end = "\r\n" if crlf else "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (end.join(lines) + end).encode())
    return str(path)


def _keys(patterns, out, parts=None):
    """``(input_uri, offset, title)`` of every item read, and no reject."""
    with TestPipeline() as p:
        read = p | ReadArticles(patterns, parts=parts)
        (items,) = read.items
        (items | beam.Map(lambda r: json.dumps([r["input_uri"], r["offset"], r["title"]]))
         | beam.io.WriteToText(str(out)))
        assert_that(read.rejects, equal_to([]), label="NoRejects")
    return [tuple(json.loads(line)) for shard in sorted(out.parent.glob(out.name + "*"))
            for line in shard.read_text().splitlines()]


def test_a_big_jsonl_file_is_cut_between_lines_into_segments_of_the_size_asked(tmp_path):
    path = _jsonl(tmp_path / "big.jsonl", 25)
    segments = plan_segments([path], 10)
    assert [len(s) for s in segments] == [1, 1, 1]
    ranges = [s[0] for s in segments]
    assert [r.first_line for r in ranges] == [1, 11, 21]
    assert ranges[0].start == 0 and ranges[-1].stop == (tmp_path / "big.jsonl").stat().st_size
    assert all(a.stop == b.start for a, b in zip(ranges, ranges[1:]))  # nothing skipped, nothing twice


def test_small_files_are_packed_into_segments_in_input_order_and_fit_as_one(tmp_path):
    files = [_jsonl(tmp_path / f"day{d}.jsonl", 4, first=10 * d) for d in range(5)]
    assert plan_segments(files, 100) == [[InputPart(f) for f in files]]
    assert plan_segments(files, 8) == [[InputPart(files[0]), InputPart(files[1])],
                                       [InputPart(files[2]), InputPart(files[3])], [InputPart(files[4])]]
    assert plan_segments(files, 0) == [[InputPart(f) for f in files]]  # 0: never cut


def test_web_pages_count_by_size_so_a_segment_of_big_pages_holds_fewer(tmp_path):
    pages = []
    for i in range(4):
        page = tmp_path / f"p{i}.html"
        page.write_text("<html><body><p>x</p>" + " " * (3 * SEGMENT_ITEM_BYTES - 100) + "</body></html>")
        pages.append(str(page))
    assert [len(s) for s in plan_segments(pages, 6)] == [2, 2]


def test_reading_every_segment_gives_exactly_the_items_one_read_gives(tmp_path):
    path = _jsonl(tmp_path / "big.jsonl", 23, bom=True, crlf=True, blank_every=7)
    whole = sorted(_keys([path], tmp_path / "whole"))
    assert len(whole) == 23 and whole[0] == (path, 1, "T0")
    pieces = []
    for number, segment in enumerate(plan_segments([path], 5)):
        pieces += _keys([path], tmp_path / f"segment{number}", parts=segment)
    assert sorted(pieces) == whole  # same input_uri and line number (offset) for every item: same ids, same order
