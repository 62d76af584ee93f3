"""Tests for pipeline.io.warc: WARC / WARC.gz archives read through read_file and ReadArticles.

Every archive is written here with warcio's WARCWriter; nothing reads /work/shared.
"""
from __future__ import annotations

import base64
import gzip
import io

import pytest

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.io.sources import ReadArticles, is_reject, read_file
from pipeline.io.warc import looks_like_warc, warc_date_iso
from pipeline.records import is_skip

PAGE_UTF8 = "<html><head><title>Köln</title></head><body><p>Grüße aus Köln — “quoted”.</p></body></html>"
PAGE_LATIN1 = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
               "<title>Café</title></head><body><p>Le café était fermé à cause de la grève.</p></body></html>")
PAGE_CP1251 = "<html><body><p>Президент прибыл в Пекин во вторник.</p></body></html>"
# Not very compressible, so that cutting bytes off a gzip member cuts into this payload.
LAST_PAGE = "<html><body><p>" + " ".join(f"word{(i * 7919) % 1009}" for i in range(3000)) + "</p></body></html>"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def _response(writer, uri, body: bytes, content_type=None, status="200 OK", date="2024-03-12T18:30:00Z",
              extra_headers=()):
    headers = [("Content-Type", content_type)] if content_type else []
    headers += list(extra_headers)
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http,
                                     warc_headers_dict={"WARC-Date": date})


def build_warc(gz: bool) -> bytes:
    """warcinfo, request, 2 HTML pages (HTTP charset / meta charset), PNG, 404, revisit, last page."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    writer.write_record(writer.create_warcinfo_record("test.warc", {"software": "newsbeam tests"}))
    request = StatusAndHeaders("GET /a HTTP/1.1", [("Host", "news.example.com")], is_http_request=True)
    writer.write_record(writer.create_warc_record("https://news.example.com/a", "request",
                                                  http_headers=request))
    writer.write_record(_response(writer, "https://news.example.com/a", PAGE_UTF8.encode("utf-8"),
                                  "text/html; charset=UTF-8", date="2024-03-12T18:30:00.123456Z"))
    writer.write_record(_response(writer, "https://news.example.com/b", PAGE_LATIN1.encode("latin-1"),
                                  "text/html", date="2024-03-12T20:30:00+02:00"))
    writer.write_record(_response(writer, "https://news.example.com/logo.png", PNG, "image/png"))
    writer.write_record(_response(writer, "https://news.example.com/gone", b"<html><body>Not found</body></html>",
                                  "text/html", status="404 Not Found"))
    revisit_http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    writer.write_record(writer.create_revisit_record(
        "https://news.example.com/a", digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        refers_to_uri="https://news.example.com/a", refers_to_date="2024-03-12T18:30:00Z",
        http_headers=revisit_http))
    writer.write_record(_response(writer, "https://news.example.com/last", LAST_PAGE.encode("utf-8"),
                                  "application/xhtml+xml"))
    return buf.getvalue()


def warcio_offsets(data: bytes) -> list[int]:
    """Record offsets as warcio's own iteration reports them (the oracle)."""
    offsets = []
    iterator = ArchiveIterator(io.BytesIO(data))
    for record in iterator:
        record.content_stream().read()
        offsets.append(iterator.get_record_offset())
    return offsets


def raw_bytes(record: dict) -> bytes:
    if record["raw_encoding"] == "base64":
        return base64.b64decode(record["raw"])
    return record["raw"].encode("utf-8")


def split(records):
    items = [r for r in records if not is_reject(r) and not is_skip(r)]
    return items, [r for r in records if is_reject(r)], [r for r in records if is_skip(r)]


EXPECTED_SKIPS = ["warc warcinfo record", "warc request record", "warc response not HTML (image/png)",
                  "warc response status 404", "warc revisit record"]


@pytest.fixture(params=[False, True], ids=["warc", "warc.gz"])
def archive(request):
    gz = request.param
    return gz, build_warc(gz)


def test_complete_archive_items_skips_and_offsets(archive):
    gz, data = archive
    name = "crawl.warc.gz" if gz else "crawl.warc"
    offsets = warcio_offsets(data)
    assert len(offsets) == 8
    records = list(read_file(name, data))
    assert [r["offset"] for r in records] == offsets  # one output per record, warcio's offsets
    items, rejects, skips = split(records)
    assert rejects == []
    assert [(s["skipped"], s["input_uri"]) for s in skips] == [(reason, name) for reason in EXPECTED_SKIPS]
    assert [(i["url"], i["fetched_at"], i["html"]) for i in items] == [
        ("https://news.example.com/a", "2024-03-12T18:30:00Z", PAGE_UTF8),
        ("https://news.example.com/b", "2024-03-12T18:30:00Z", PAGE_LATIN1),  # +02:00 -> UTC
        ("https://news.example.com/last", "2024-03-12T18:30:00Z", LAST_PAGE),
    ]
    for item in items:
        assert (item["format"], item["input_uri"], item["text"], item["title"], item["warnings"]) == (
            "html", name, None, None, [])
    assert [i["offset"] for i in items] == [offsets[2], offsets[3], offsets[7]]


def test_truncated_final_record_is_one_reject_and_earlier_records_are_kept(archive):
    gz, data = archive
    name = "crawl.warc.gz" if gz else "crawl.warc"
    last = warcio_offsets(data)[-1]
    cut = data[:-40]  # cut into the last record's payload (its gzip member, for .gz)
    records = list(read_file(name, cut))
    items, rejects, skips = split(records)
    assert [i["url"] for i in items] == ["https://news.example.com/a", "https://news.example.com/b"]
    assert [s["skipped"] for s in skips] == EXPECTED_SKIPS
    [reject] = rejects
    assert reject["stage"] == "read"
    assert reject["reason"].startswith("truncated WARC record: Content-Length ")
    assert "bytes present" in reject["reason"]
    assert (reject["input_uri"], reject["offset"]) == (name, last)
    assert raw_bytes(reject) == cut[last:]  # the bytes of the record, as far as they go
    assert records[-1] is reject


def test_record_cut_inside_its_headers(archive):
    gz, data = archive
    last = warcio_offsets(data)[-1]
    cut = data[:last + 30]  # "WARC/1.0\r\nWARC-Type: respo"
    records = list(read_file("crawl.warc", cut))
    items, rejects, skips = split(records)
    assert len(items) == 2 and len(skips) == 5
    [reject] = rejects
    assert reject["offset"] == last
    assert raw_bytes(reject) == cut[last:]
    assert "WARC" in reject["reason"] and "the rest of the file is not read" in reject["reason"]


def test_warc_detected_by_content_whatever_the_name(archive):
    gz, data = archive
    assert looks_like_warc(data)
    records = list(read_file("download.bin", data))
    items, rejects, skips = split(records)
    assert len(items) == 3 and len(skips) == 5 and rejects == []
    assert items[0]["input_uri"] == "download.bin"


def test_corrupt_middle_record_is_rejected_and_reading_resumes(archive):
    gz, data = archive
    offsets = warcio_offsets(data)
    broken = bytearray(data)
    start = offsets[3]  # the Latin-1 page
    broken[start:start + 12] = b"XXXXXXXXXXXX"  # its WARC/1.0 line, or its gzip header
    records = list(read_file("crawl.warc", bytes(broken)))
    items, rejects, skips = split(records)
    assert [i["url"] for i in items] == ["https://news.example.com/a", "https://news.example.com/last"]
    assert [s["skipped"] for s in skips] == EXPECTED_SKIPS
    [reject] = rejects
    assert reject["offset"] == start
    assert reject["reason"].startswith("corrupt WARC")
    assert raw_bytes(reject) == bytes(broken[start:offsets[4]])  # exactly the damaged record


def test_whole_file_gzip_is_read_too():
    plain = build_warc(gz=False)
    records = list(read_file("crawl.warc.gz", gzip.compress(plain)))
    items, rejects, skips = split(records)
    assert len(items) == 3 and len(skips) == 5 and rejects == []
    assert [r["offset"] for r in records] == warcio_offsets(plain)  # offsets in the decompressed stream


def test_payload_over_the_cap_is_rejected_naming_the_limit(monkeypatch):
    from pipeline.io.files import decode

    monkeypatch.setattr(decode, "MAX_DECOMPRESSED_BYTES", 1000)
    records = list(read_file("crawl.warc.gz", build_warc(gz=True)))
    items, rejects, _ = split(records)
    assert [i["url"] for i in items] == ["https://news.example.com/a", "https://news.example.com/b"]
    [reject] = rejects
    assert reject["reason"] == "warc record payload exceeds 1000 bytes limit"


def test_http_charset_missing_type_chunked_and_gzip_encoding():
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    writer.write_record(_response(writer, "http://ru.example.com/", PAGE_CP1251.encode("cp1251"),
                                  "text/html; charset=windows-1251"))
    writer.write_record(_response(writer, "http://ex.com/untyped", b"<!DOCTYPE html><html><body><p>Hi</p></body></html>"))
    writer.write_record(_response(writer, "http://ex.com/blob", PNG))
    body = gzip.compress(PAGE_UTF8.encode("utf-8"))
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    writer.write_record(_response(writer, "http://ex.com/chunked", chunked, "text/html; charset=utf-8",
                                  extra_headers=[("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]))
    writer.write_record(_response(writer, "http://ex.com/moved", b"", "text/html", status="301 Moved Permanently"))
    writer.write_record(_response(writer, "http://ex.com/feed", b"<rss/>", "application/rss+xml"))
    records = list(read_file("x.warc.gz", buf.getvalue()))
    assert [r.get("skipped") or r["url"] for r in records] == [
        "http://ru.example.com/", "http://ex.com/untyped", "warc response not HTML (no Content-Type)",
        "http://ex.com/chunked", "warc response status 301", "warc response not HTML (application/rss+xml)"]
    assert records[0]["html"] == PAGE_CP1251
    assert records[3]["html"] == PAGE_UTF8


def test_metadata_resource_and_non_http_records_are_skipped():
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    writer.write_record(writer.create_warc_record("https://ex.com/a", "metadata", payload=io.BytesIO(b"outlinks: x"),
                                                  warc_content_type="application/warc-fields"))
    writer.write_record(writer.create_warc_record("https://ex.com/r.html", "resource",
                                                  payload=io.BytesIO(b"<html></html>"), warc_content_type="text/html"))
    writer.write_record(writer.create_warc_record("dns:ex.com", "response", payload=io.BytesIO(b"ex.com. 1 IN A 1.2.3.4"),
                                                  warc_content_type="text/dns"))
    records = list(read_file("x.warc", buf.getvalue()))
    assert [r["skipped"] for r in records] == [
        "warc metadata record", "warc resource record", "warc response not HTTP (dns)"]


@pytest.mark.parametrize("data,reason", [
    (b"", "empty input file"),
    (gzip.compress(b"", mtime=0), "empty input file"),
    (b"this is not a web archive\n", "not a WARC file"),
    (gzip.compress(b"this is not a web archive either\n", mtime=0), "not a WARC file"),
])
def test_warc_name_without_warc_content_is_one_reject(data, reason):
    [record] = list(read_file("broken.warc.gz" if data[:2] == b"\x1f\x8b" else "broken.warc", data))
    assert is_reject(record)
    assert record["reason"].startswith(reason)


@pytest.mark.parametrize("value,expected", [
    ("2024-03-12T18:30:00Z", "2024-03-12T18:30:00Z"),
    ("2024-03-12T18:30:00.123456Z", "2024-03-12T18:30:00Z"),
    ("2024-03-12T20:30:00+02:00", "2024-03-12T18:30:00Z"),
    ("2024-03-12T18:30:00", "2024-03-12T18:30:00Z"),
    ("not a date", None),
    (None, None),
])
def test_warc_date_iso(value, expected):
    assert warc_date_iso(value) == expected


# ---------------------------------------------------------------------------- Beam

def test_read_articles_with_warc_files(tmp_path):
    full = build_warc(gz=True)
    (tmp_path / "a.warc.gz").write_bytes(full)
    (tmp_path / "b.warc").write_bytes(build_warc(gz=False)[:-40])  # truncated final record
    (tmp_path / "c.bin").write_bytes(full)  # detected by content
    a, b, c = (str(tmp_path / n) for n in ("a.warc.gz", "b.warc", "c.bin"))

    pipeline = beam.Pipeline(options=PipelineOptions(runner="FnApiRunner"))
    (items,), rejects, skipped, _states = pipeline | "Read" >> ReadArticles([f"{tmp_path}/*"])
    assert_that(items | beam.Map(lambda r: (r["input_uri"], r["url"], r["fetched_at"])),
                equal_to([(path, url, "2024-03-12T18:30:00Z") for path in (a, b, c)
                          for url in ("https://news.example.com/a", "https://news.example.com/b",
                                      "https://news.example.com/last") if (path, url) != (b, "https://news.example.com/last")]),
                label="Items")
    assert_that(rejects | beam.Map(lambda r: (r["input_uri"], r["reason"].split(":")[0])),
                equal_to([(b, "truncated WARC record")]), label="Rejects")
    assert_that(skipped | beam.Map(lambda r: (r["input_uri"], r["skipped"])),
                equal_to([(path, reason) for path in (a, b, c) for reason in EXPECTED_SKIPS]), label="Skipped")
    result = pipeline.run()
    result.wait_until_finish()

    counters = {m.key.metric.name: m.committed
                for m in result.metrics().query(MetricsFilter().with_namespace("read"))["counters"]}
    assert counters == {"files": 3, "inputs": 24, "rejected": 1, "skipped": 15}
