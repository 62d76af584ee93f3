"""Limits for hostile input (pipeline/limits.py): each one as a pure function, fast."""
from __future__ import annotations

import gzip
import json
import time

import pytest

from pipeline.io import feeds
from pipeline.io.sources import is_reject, read_file
from pipeline.limits import RAW_PREVIEW_BYTES, Limits, over
from pipeline.stages import clean
from pipeline.stages.base import Rejected
from tests.test_hostile import GOOD, entity_bomb_feed

TEXT = GOOD["ferry"][1]


def test_reason_names_sizes_the_flag_and_what_to_do():
    assert over("page", 62_914_560, "max_page_bytes", 10_485_760) == (
        "page is 62,914,560 bytes, over --max-page-bytes 10,485,760; raise the limit to process it")


def test_page_over_the_limit_is_a_reject_with_a_preview_only():
    page = "<html><body>" + f"<p>{TEXT}</p>" * 400 + "</body></html>"
    [record] = read_file("big.html", page.encode(), Limits(max_page_bytes=100_000))
    assert is_reject(record)
    assert record["reason"].startswith(f"page is {len(page):,} bytes, over --max-page-bytes 100,000")
    assert len(record["raw"]) == min(len(page), RAW_PREVIEW_BYTES)
    [item] = read_file("big.html", page.encode(), Limits(max_page_bytes=len(page)))
    assert not is_reject(item)


def test_jsonl_line_over_the_item_limit_is_rejected_alone():
    lines = [json.dumps({"text": TEXT}), json.dumps({"text": TEXT * 50}), json.dumps({"text": TEXT})]
    records = list(read_file("a.jsonl", "\n".join(lines).encode(), Limits(max_item_bytes=5000)))
    assert [is_reject(r) for r in records] == [False, True, False]
    assert "line 2 is" in records[1]["reason"] and "--max-item-bytes 5,000" in records[1]["reason"]


def test_gzip_bomb_stops_at_the_file_limit_quickly():
    bomb = gzip.compress(bytes(50 * 1024 * 1024), compresslevel=1)
    started = time.monotonic()
    [record] = read_file("bomb.txt.gz", bomb, Limits(max_file_bytes=1024 * 1024))
    assert time.monotonic() - started < 30
    assert "over --max-file-bytes 1,048,576 (a gzip bomb" in record["reason"]
    assert len(record["raw"]) <= 2 * RAW_PREVIEW_BYTES


def test_entity_bomb_feed_is_refused_before_parsing():
    started = time.monotonic()
    [record] = read_file("bomb.xml", entity_bomb_feed())
    assert time.monotonic() - started < 30  # expanding the bomb would not finish
    assert is_reject(record) and "declares XML entities" in record["reason"]
    # a feed with a plain DOCTYPE (no internal entities) is still read
    ok = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" '
          b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
          b"<item><title>x</title><description>" + TEXT.encode() + b"</description></item></channel></rss>")
    assert not feeds.declares_entities(ok)
    [item] = read_file("ok.xml", ok)
    assert not is_reject(item)


def _padded(bomb: bytes) -> bytes:
    return bomb.replace(b'<?xml version="1.0"?>\n', b'<?xml version="1.0"?>\n<!--' + b" " * 70_000 + b"-->\n")


def _encoded(bomb: bytes, encoding: str) -> bytes:
    return bomb.decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>').encode(encoding)


@pytest.mark.parametrize("make", [_padded, lambda b: _encoded(b, "cp037"), lambda b: _encoded(b, "utf-16"),
                                  lambda b: _encoded(b, "utf-32")],
                         ids=["doctype-past-64KiB", "ebcdic", "utf-16", "utf-32"])
def test_entity_declarations_are_seen_wherever_and_however_encoded(make):
    """On 34b91f7 only the first 64 KiB of raw bytes were checked: a DOCTYPE padded past them, or
    declared in EBCDIC, reached the parser (9.97 MB feed: 2 min 34 s, 9.2 GiB RSS, 943 MB reject)."""
    data = make(entity_bomb_feed())
    assert feeds.declares_entities(data)
    # as a polled feed (--feeds hands the body to parse_feed) and as a file: one small reject, no parsing
    [polled] = feeds.parse_feed(data, "https://feeds.example/bomb.xml")
    assert is_reject(polled) and "declares XML entities" in polled["reason"]
    [record] = read_file("bomb.xml", data)
    assert is_reject(record)
    assert len(polled["raw"]) <= 2 * RAW_PREVIEW_BYTES and len(record["raw"]) <= 2 * RAW_PREVIEW_BYTES


def test_a_charset_given_only_by_the_server_is_how_the_guard_reads_the_feed():
    body = entity_bomb_feed().decode().replace('<?xml version="1.0"?>\n', "").encode("cp037")
    assert not feeds.declares_entities(body)  # as bytes it is no XML at all
    assert feeds.declares_entities(body, {"content-type": "application/xml; charset=cp037"})


def test_feed_entries_over_the_limit_are_one_reject():
    items = "".join(f"<item><title>t{i}</title><description>{TEXT}</description></item>" for i in range(30))
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    records = list(read_file("many.rss", doc, Limits(max_feed_entries=20)))
    assert sum(not is_reject(r) for r in records) == 20
    [reject] = [r for r in records if is_reject(r)]
    assert reject["reason"].startswith("feed is 30 entries, over --max-feed-entries 20;")
    assert "entries 21 to 30 were not read" in reject["reason"]


def test_jsonl_with_a_binary_line_keeps_its_good_lines():
    data = (json.dumps({"text": TEXT}).encode() + b"\n\x00\x01\x02\xff\xfe binary\n"
            + json.dumps({"text": TEXT + " More."}).encode() + b"\n")
    records = list(read_file("a.jsonl", data))
    assert [(is_reject(r), r["offset"]) for r in records] == [(False, 1), (True, 2), (False, 3)]
    assert records[1]["reason"] == "line 2 is not text (binary or undecodable bytes)"


def slow_extraction(item):
    """Runs in LimitedClean's worker process (so a module-level function, not a monkeypatch)."""
    if not item.get("fast"):
        time.sleep(60)
    return {}


def test_extraction_time_limit_rejects_a_slow_item():
    limited = clean.LimitedClean(Limits(extract_timeout=0.3), fn=slow_extraction)
    try:
        assert limited({"fast": True}) == {}  # the worker process is up (its start is not timed)
        started = time.monotonic()
        with pytest.raises(Rejected, match=r"extraction took over --extract-timeout 0.3 seconds"):
            limited({"html": "<p>x</p>"})
        assert time.monotonic() - started < 30  # the extraction sleeps 60 s: not waited for
    finally:
        limited.close()


def test_limited_clean_keeps_good_items_and_passes_rejects_through():
    limited = clean.LimitedClean(Limits(extract_timeout=10))
    article = limited({"text": f"{GOOD['ferry'][0]}\n\n{TEXT}", "format": "txt", "input_uri": "a"})
    assert "ferry terminal" in article["text"]
    with pytest.raises(Rejected, match="over --max-page-bytes 100"):
        clean.LimitedClean(Limits(max_page_bytes=100))({"text": TEXT, "format": "txt"})


def test_deep_nesting_is_explained():
    deep = "<html><body>" + "<div>" * 5000 + f"<p>{TEXT}</p>" + "</div>" * 5000 + "</body></html>"
    assert clean.html_depth(deep) > clean.MAX_HTML_DEPTH
    assert clean.html_depth(f"<html><body><div><p>{TEXT}<br></div></body></html>") == 3
    with pytest.raises(Rejected, match="nests elements more than 256 deep"):
        clean.LimitedClean()({"html": deep, "format": "html", "input_uri": "deep.html"})


def test_max_ner_chars_is_a_limit_with_a_flag():
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.limits import MAX_NER_CHARS
    from pipeline.options import run_config

    config = run_config(PipelineOptions(["--max-ner-chars", "5000"]))
    assert config.limits.max_ner_chars == 5000 and config.entities.max_chars == 5000
    assert run_config(PipelineOptions([])).entities.max_chars == MAX_NER_CHARS == Limits().max_ner_chars
