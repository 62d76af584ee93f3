"""Tests for pipeline.io.sources: globs, format detection, decoding, field mapping, Beam read.

Every fixture is written here into tmp_path or built in memory; nothing reads /work/shared.
"""
from __future__ import annotations

import base64
import gzip
import os

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.io.files.decode import looks_like_text, utf8_looks_like_text
from pipeline.io.sources import (
    MAX_DECOMPRESSED_BYTES,
    NoInputError,
    ReadArticles,
    expand_inputs,
    is_reject,
    read_file,
    split_headline,
)

ARTICLE = ("BEIJING (AP) — Russian President Vladimir Putin arrived in Beijing on Tuesday.\n\n"
           "He will meet Chinese leader Xi Jinping during the two-day visit.\n")


def read(path: str, data: bytes | str) -> list[dict]:
    return list(read_file(path, data.encode("utf-8") if isinstance(data, str) else data))


def one(path: str, data: bytes | str) -> dict:
    records = read(path, data)
    assert len(records) == 1, records
    return records[0]


def raw_bytes(record: dict) -> bytes:
    """The reject's raw field back as bytes, whichever lossless encoding make_reject chose."""
    if record["raw_encoding"] == "base64":
        return base64.b64decode(record["raw"])
    return record["raw"].encode("utf-8")


def items(records):
    return [r for r in records if not is_reject(r)]


def rejects(records):
    return [r for r in records if is_reject(r)]


# ---------------------------------------------------------------------------- globs

def test_expand_inputs_recursive_glob_sorted_and_deduplicated(tmp_path):
    for rel in ["a/2.jsonl.gz", "a/b/1.jsonl.gz", "c/d/e/3.jsonl.gz", "a/skip.txt", "top.jsonl.gz"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "dir.jsonl.gz").mkdir()  # a directory that matches: skipped

    got = expand_inputs([f"{tmp_path}/**/*.jsonl.gz", f"{tmp_path}/a/2.jsonl.gz"])

    assert got == [f"{tmp_path}/a/2.jsonl.gz", f"{tmp_path}/a/b/1.jsonl.gz",
                   f"{tmp_path}/c/d/e/3.jsonl.gz", f"{tmp_path}/top.jsonl.gz"]


def test_expand_inputs_keeps_paths_as_given(tmp_path, monkeypatch):
    (tmp_path / "x.txt").write_text("hello")
    monkeypatch.chdir(tmp_path)
    assert expand_inputs(["x.txt"]) == ["x.txt"]
    assert expand_inputs(["*.txt"]) == ["x.txt"]


def test_expand_inputs_file_scheme_is_local(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    assert expand_inputs([f"file://{tmp_path}/*.txt"]) == [f"{tmp_path}/a.txt"]


def test_expand_inputs_no_match_says_what_to_do(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    pattern = f"{tmp_path}/*.jsonl"
    with pytest.raises(NoInputError) as info:
        expand_inputs([f"{tmp_path}/*.txt", pattern])
    assert isinstance(info.value, ValueError)
    assert info.value.pattern == pattern
    message = str(info.value)
    assert f"no files match {pattern!r}" in message
    assert "quote the pattern" in message


def test_expand_inputs_directory_suggests_recursive_pattern(tmp_path):
    with pytest.raises(NoInputError, match=r"is a directory.*\*\*"):
        expand_inputs([str(tmp_path)])


# ---------------------------------------------------------------------------- gzip

def test_gzip_detected_by_content_despite_misleading_name():
    payload = b'{"url": "https://ex.com/a", "text": "Body one."}\n{"url": "https://ex.com/b", "text": "Body two."}\n'
    records = read("dump.jsonl", gzip.compress(payload))  # gzip bytes, no .gz in the name
    assert [(r["format"], r["offset"], r["url"], r["text"]) for r in records] == [
        ("jsonl", 1, "https://ex.com/a", "Body one."),
        ("jsonl", 2, "https://ex.com/b", "Body two."),
    ]
    assert all(r["input_uri"] == "dump.jsonl" for r in records)


def test_gz_name_is_stripped_for_format_detection():
    record = one("page.html.gz", gzip.compress(b"<html><body><p>Hi</p></body></html>"))
    assert record["format"] == "html"
    assert record["input_uri"] == "page.html.gz"


def test_gz_name_on_plain_bytes_is_read_as_is():
    assert one("story.txt.gz", ARTICLE)["text"] == ARTICLE


def test_truncated_gzip_is_one_reject_with_the_file_bytes():
    data = gzip.compress(b'{"text": "x"}\n' * 1000)[:40]
    record = one("dump.txt.gz", data)
    assert is_reject(record)
    assert record["stage"] == "read"
    assert record["reason"].startswith("gzip stream truncated: ")
    assert record["raw_encoding"] == "base64"
    assert raw_bytes(record) == data


def test_corrupt_gzip_is_one_reject_with_the_file_bytes():
    data = gzip.compress(b'{"text": "x"}\n' * 1000)
    data = data[:20] + bytes(b ^ 0xFF for b in data[20:40]) + data[40:]
    record = one("dump.jsonl.gz", data)
    assert is_reject(record)
    assert record["reason"].startswith("corrupt gzip stream: ")
    assert raw_bytes(record) == data


def test_truncated_jsonl_gz_keeps_complete_lines_and_rejects_the_cut_one():
    lines = [b'{"text": "Article number %d has words in it."}' % i for i in range(2000)]
    data = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
    records = read("dump.jsonl.gz", data[: len(data) // 2])
    items = [r for r in records if not is_reject(r)]
    [cut] = [r for r in records if is_reject(r)]
    assert 100 < len(items) < 2000
    assert [i["offset"] for i in items] == list(range(1, len(items) + 1))
    assert cut["offset"] == len(items) + 1
    assert "gzip stream truncated" in cut["reason"] and f"line {len(items) + 1} is incomplete" in cut["reason"]


def test_gzip_over_the_size_cap_is_rejected_naming_the_flag():
    from pipeline.limits import Limits

    records = list(read_file("big.txt.gz", gzip.compress(b"a" * 1001), Limits(max_file_bytes=1000)))
    [record] = records
    assert record["reason"].startswith("decompressed size is over --max-file-bytes 1,000 (a gzip bomb")
    assert MAX_DECOMPRESSED_BYTES == 256 * 1024 * 1024


# ---------------------------------------------------------------------------- decoding

@pytest.mark.parametrize("data", [b"", b"   \n\t\n", gzip.compress(b"", mtime=0)])
def test_empty_file_is_rejected(data):
    record = one("empty.txt", data)
    assert is_reject(record)
    assert record["reason"] == "empty input file"
    assert record["input_uri"] == "empty.txt"


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4,
    bytes((i * 7919) % 256 for i in range(4000)),  # deterministic noise
    bytes(b for b in bytes((i * 104729 + 7) % 256 for i in range(4000)) if b),  # noise without NUL
    b"\x01\x02\x03\x04\x05\x06\x07\x08 mostly control characters \x0e\x0f\x10\x11\x12\x13\x14",
], ids=["png", "noise", "noise-without-nul", "control-characters"])
def test_binary_junk_is_rejected_with_raw_bytes(data):
    record = one("article.txt", data)
    assert record["reason"] == "not text: could not decode as UTF-8 or detect a charset"
    assert raw_bytes(record) == data


@given(st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x00\x01\x0b\x1f\x7f\x80\x85\x9f\xa0\xc2")),
               max_size=300))
@settings(max_examples=400, deadline=None)
def test_utf8_control_count_on_bytes_agrees_with_the_decoded_text(text):
    """The byte-level count used for UTF-8 input decides exactly as the one on the string."""
    assert utf8_looks_like_text(text.encode("utf-8"), len(text)) == looks_like_text(text)


def test_a_page_with_a_few_c1_controls_is_text_but_many_are_binary():
    page = "<p>" + "caf\u00e9 " * 200 + "</p>"
    assert utf8_looks_like_text((page + "\x85" * 5).encode(), len(page) + 5)
    assert not utf8_looks_like_text((page + "\x85" * 400).encode(), len(page) + 400)
    assert is_reject(one("page.html", (page + "\x85" * 400).encode()))


def test_latin1_text_is_decoded():
    text = ("Grève à Paris\n\nLe café était fermé à cause de la grève. "
            "Les employés ont manifesté devant la préfecture.\n")
    record = one("article.txt", text.encode("latin-1"))
    assert not is_reject(record)
    assert record["title"] == "Grève à Paris"
    assert "Le café était fermé à cause de la grève." in record["text"]


@pytest.mark.parametrize("charset,body", [
    ("shift_jis", "東京で会談が行われた。両首脳は協力を確認した。"),
    ("windows-1251", "Президент прибыл в Пекин во вторник."),
    ("iso-8859-1", "“Quoted” café"),  # read as windows-1252, like browsers do
])
def test_html_declared_charset_is_used(charset, body):
    page = f'<html><head><meta charset="{charset}"></head><body><p>{body}</p></body></html>'
    codec = "cp1252" if charset == "iso-8859-1" else charset
    record = one("page.html", page.encode(codec))
    assert record["html"] == page


def test_utf8_bom_is_stripped():
    record = one("a.json", b"\xef\xbb\xbf" + orjson.dumps({"text": "Body."}))
    assert record["text"] == "Body."


def test_utf16_with_bom_is_decoded():
    record = one("a.txt", ("Headline Of The Day Here\n\n" + ARTICLE).encode("utf-16"))
    assert record["title"] == "Headline Of The Day Here"
    assert record["text"] == ARTICLE.rstrip("\n")


@pytest.mark.parametrize("data,charset,expected", [
    ("Grève".encode("latin-1"), "ISO-8859-1", "Grève"),                       # HTTP charset (as cp1252)
    ('<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251"), None,
     '<meta charset="windows-1251"><p>Привет</p>'),                            # meta charset
    ('<meta charset="utf-8"><p>Привет</p>'.encode("cp1251"), "windows-1251",
     '<meta charset="utf-8"><p>Привет</p>'),                                   # HTTP wins over meta
    ("<p>Grüße</p>".encode("utf-8"), "x-bogus", "<p>Grüße</p>"),              # unknown label: passed over
    ("<p>Le café était fermé à cause de la grève.</p>".encode("latin-1"), "utf-8",
     "<p>Le café était fermé à cause de la grève.</p>"),                      # bytes not UTF-8: detected
    ("\ufeff<p>Grüße</p>".encode("utf-8"), "windows-1251", "<p>Grüße</p>"),  # BOM wins
])
def test_decode_html_charset_order(data, charset, expected):
    from pipeline.io.sources import decode_html

    assert decode_html(data, charset) == expected


# ---------------------------------------------------------------------------- txt

def test_txt_headline_becomes_title():
    content = "Putin begins visit in China underscoring ties amid Ukraine war\n" + ARTICLE
    record = one("s.txt", content)
    assert record["format"] == "txt"
    assert record["offset"] == 0
    assert record["title"] == "Putin begins visit in China underscoring ties amid Ukraine war"
    assert record["text"] == ARTICLE.rstrip("\n")
    assert record["html"] is None and record["url"] is None and record["authors"] == []


def test_txt_section_label_is_not_the_title():
    content = ("News\n\nPutin concludes a trip to China by emphasizing its ties to Russia\n\n"
               "Share on facebook\n\n" + ARTICLE)
    record = one("s.txt", content)
    assert record["title"] == "Putin concludes a trip to China by emphasizing its ties to Russia"
    assert record["text"].startswith("News\n\n\nShare on facebook")
    assert "Putin concludes" not in record["text"]


def test_txt_date_and_labels_before_headline_are_skipped():
    title, text = split_headline("Friday, 22 November 2024\nTrending\nAsiaPolitics\n\n"
                                 "Russia's implications from Putin's visit to China\n\nBody text here.")
    assert title == "Russia's implications from Putin's visit to China"
    assert text == "Friday, 22 November 2024\nTrending\nAsiaPolitics\n\n\nBody text here."


def test_txt_first_line_sentence_means_no_title():
    content = ("Russia and China have forged an informal alliance that is now complicated by the war.\n"
               "Short Line That Is Not Used As A Title\n")
    record = one("s.txt", content)
    assert record["title"] is None
    assert record["text"] == content


@pytest.mark.parametrize("line,expected", [
    ("Is this the end of the Belt and Road?", "Is this the end of the Belt and Road?"),
    ("Markets rally after surprise rate cut!", "Markets rally after surprise rate cut!"),
    ("BREAKING NEWS FROM THE WIRE", None),           # all caps boilerplate
    ("By Jane Doe and John Roe", None),               # byline
    ("The minister said the plan was final:", None),  # ends like a sentence
    (" ".join(["word"] * 26), None),                  # too many words
])
def test_headline_rules(line, expected):
    title, _ = split_headline(line + "\n\nThe body follows here and ends with a period.")
    assert title == expected


def test_unknown_extension_plain_text_is_txt():
    record = one("article", "Headline without an extension\n\nBody.")
    assert (record["format"], record["title"], record["text"]) == ("txt", "Headline without an extension", "Body.")


# ---------------------------------------------------------------------------- html

def test_html_file_carries_markup_and_canonical_url():
    page = ('<!DOCTYPE html><html><head><title>T</title>'
            '<link href="https://news.example.com/a?x=1&amp;y=2" rel="canonical"></head>'
            '<body><p>Hello</p></body></html>')
    record = one("p.htm", page)
    assert record["format"] == "html"
    assert record["html"] == page
    assert record["text"] is None and record["title"] is None
    assert record["url"] == "https://news.example.com/a?x=1&y=2"


def test_txt_containing_html_is_html():
    page = "\n  <html><body><div><p>Body</p></div></body></html>"
    record = one("saved.txt", page)
    assert record["format"] == "html"
    assert record["html"] == page
    assert record["url"] is None


# ---------------------------------------------------------------------------- json

def test_json_single_object_offset_zero():
    record = one("a.json", orjson.dumps({"headline": "H", "body": "Text.", "link": "https://x.org/1"}))
    assert (record["format"], record["offset"], record["title"], record["text"], record["url"]) == \
        ("json", 0, "H", "Text.", "https://x.org/1")


def test_json_array_one_item_per_element_with_index_offsets():
    doc = [{"title": "A", "text": "Alpha."}, 42, {"title": "C", "text": "Gamma."}, {"title": "D"}]
    records = read("arr.json", orjson.dumps(doc))
    assert [(r["offset"], r.get("title"), is_reject(r)) for r in records] == [
        (1, "A", False), (2, None, True), (3, "C", False), (4, None, True)]
    assert records[1]["reason"] == "array element 2 is not a JSON object"
    assert records[1]["raw"] == "42"
    assert records[3]["reason"].startswith("no article text: expected one of the fields text, content, body, html")
    assert orjson.loads(records[3]["raw"]) == {"title": "D"}


def test_json_named_file_holding_jsonl_is_read_as_jsonl():
    data = b'{"text": "one"}\n{"text": "two"}\n'
    records = read("lies.json", data)
    assert [(r["format"], r["offset"], r["text"]) for r in records] == [("jsonl", 1, "one"), ("jsonl", 2, "two")]


def test_jsonl_named_file_holding_pretty_json_is_read_as_json():
    data = orjson.dumps([{"text": "one"}, {"text": "two"}], option=orjson.OPT_INDENT_2)
    records = read("lies.jsonl", data)
    assert [(r["format"], r["offset"], r["text"]) for r in records] == [("json", 1, "one"), ("json", 2, "two")]


def test_invalid_json_document_is_one_reject():
    record = one("bad.json", b'{"text": "unterminated')
    assert record["reason"].startswith("invalid JSON: ")
    assert record["raw"] == '{"text": "unterminated'


# ---------------------------------------------------------------------------- jsonl

def test_jsonl_bad_lines_are_rejected_and_reading_goes_on():
    lines = [
        b'{"url": "https://ex.com/1", "text": "First."}',
        b"",
        b"this is not json",
        b'{"url": "https://ex.com/4", "text": "Fourth."}',
        b"[1, 2]",
        b'{"url": "https://ex.com/6", "text": "Sixth."}',
        b'{"url": "https://ex.com/7", "text": "Trunc',  # truncated last line, no newline
    ]
    records = read("d.jsonl", b"\n".join(lines))
    assert [(r["offset"], is_reject(r)) for r in records] == [
        (1, False), (3, True), (4, False), (5, True), (6, False), (7, True)]
    good = items(records)
    assert [r["url"] for r in good] == ["https://ex.com/1", "https://ex.com/4", "https://ex.com/6"]
    bad = rejects(records)
    assert bad[0]["reason"].startswith("invalid JSON on line 3: ")
    assert bad[0]["raw"] == "this is not json"
    assert bad[1]["reason"] == "invalid JSON on line 5: expected an object, got list"
    assert bad[2]["reason"].startswith("invalid JSON on line 7: ")
    assert bad[2]["raw"] == '{"url": "https://ex.com/7", "text": "Trunc'
    assert all(r["input_uri"] == "d.jsonl" and r["stage"] == "read" for r in bad)


def test_jsonl_crlf_and_ndjson_extension():
    records = read("d.ndjson", b'{"text": "a"}\r\n{oops\r\n{"text": "b"}\r\n')
    assert [(r["format"], r["text"]) for r in items(records)] == [("jsonl", "a"), ("jsonl", "b")]
    [bad] = rejects(records)
    assert (bad["offset"], bad["raw"]) == (2, "{oops")


# ---------------------------------------------------------------------------- field mapping

def test_field_aliases_are_mapped():
    obj = {
        "canonical_url": "https://ex.com/story",
        "headline": "The headline",
        "maintext": "The body.",
        "date_publish": "2023-10-17 09:30:00",
        "author": "Jane Doe",
        "source": {"name": "Example News", "url": "https://ex.com"},
        "unrelated": 1,
    }
    record = one("a.jsonl", orjson.dumps(obj))
    assert record == {
        "input_uri": "a.jsonl", "offset": 1, "format": "jsonl",
        "url": "https://ex.com/story", "title": "The headline", "text": "The body.", "html": None,
        "published_at": "2023-10-17 09:30:00", "authors": ["Jane Doe"], "source": "Example News",
    }


def test_more_aliases_and_author_lists():
    obj = {"link": "https://ex.com/2", "content": "Plain body.", "pubDate": "Tue, 17 Oct 2023 00:00:00 GMT",
           "authors": ["A. One", {"name": "B. Two"}, "", None], "source_domain": "ex.com"}
    record = one("a.json", orjson.dumps(obj))
    assert (record["url"], record["text"], record["published_at"], record["authors"], record["source"]) == \
        ("https://ex.com/2", "Plain body.", "Tue, 17 Oct 2023 00:00:00 GMT", ["A. One", "B. Two"], "ex.com")


@pytest.mark.parametrize("value,expected", [
    (1697500800, "2023-10-17T00:00:00Z"),
    (1697500800.9, "2023-10-17T00:00:00Z"),
    (1697500800000, "2023-10-17T00:00:00Z"),  # milliseconds
    (1000000000000, "2001-09-09T01:46:40Z"),  # 13 digits: milliseconds (from September 2001 on)
    # 12 digits are neither (seconds after year 5138, milliseconds before September 2001): no date, not 1978
    (253402300800, "253402300800"),
])
def test_unix_timestamp_becomes_iso_utc(value, expected):
    record = one("a.json", orjson.dumps({"text": "x", "published": value}))
    assert record["published_at"] == expected


def test_html_in_content_field_goes_to_html():
    markup = '<div class="article"><p>First paragraph.</p><p>Second.</p></div>'
    record = one("a.json", orjson.dumps({"title": "T", "content": markup}))
    assert record["html"] == markup
    assert record["text"] is None


def test_plain_text_starting_with_angle_bracket_stays_text():
    record = one("a.json", orjson.dumps({"text": "<3 fans cheered as the team won 3 < 4"}))
    assert record["text"] == "<3 fans cheered as the team won 3 < 4"
    assert record["html"] is None


def test_object_without_text_is_rejected_with_the_object():
    line = b'{"url": "https://ex.com/x", "title": "Only a title", "text": "   "}'
    record = one("a.jsonl", line)
    assert record["reason"].startswith("no article text: a link-only record")
    assert record["raw"] == line.decode()
    assert record["offset"] == 1


def test_hostile_object_fields_do_not_break_the_reader():
    # "provenance"/"offset" keys inside an input object must not leak into the reject row.
    record = one("a.json", orjson.dumps({"provenance": "AP", "offset": "abc", "title": ["x"]}))
    assert is_reject(record)
    assert (record["input_uri"], record["offset"]) == ("a.json", 0)


# ---------------------------------------------------------------------------- Beam

def test_read_articles_in_a_pipeline(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A headline for the test\n\nBody A.")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "Body B."}\nnot json\n'))
    (tmp_path / "empty.txt").write_bytes(b"")
    # a feed without entries saved as .txt: detected by content, one skip
    (tmp_path / "feed.txt").write_text('<?xml version="1.0"?><rss version="2.0"><channel>'
                                       '<title>Nothing yet</title></channel></rss>')
    a, b, empty, feed = (str(tmp_path / "sub" / "a.txt"), str(tmp_path / "b.jsonl.gz"),
                         str(tmp_path / "empty.txt"), str(tmp_path / "feed.txt"))

    transform = ReadArticles([f"{tmp_path}/**/*.txt", f"{tmp_path}/*.gz"])
    assert transform.paths == [b, empty, feed, a]

    pipeline = beam.Pipeline(options=PipelineOptions(runner="FnApiRunner"))
    (got_items,), got_rejects, got_skipped, _states = pipeline | "Read" >> transform
    assert_that(got_items | beam.Map(lambda r: (r["input_uri"], r["offset"], r["format"], r["title"], r["text"])),
                equal_to([(a, 0, "txt", "A headline for the test", "Body A."),
                          (b, 1, "jsonl", None, "Body B.")]), label="Items")
    assert_that(got_rejects | beam.Map(lambda r: (r["input_uri"], r["offset"], r["reason"][:22])),
                equal_to([(b, 2, "invalid JSON on line 2"), (empty, 0, "empty input file")]),
                label="Rejects")
    assert_that(got_skipped, equal_to([{"skipped": "feed has no entries", "input_uri": feed, "offset": 0}]),
                label="Skipped")
    result = pipeline.run()
    result.wait_until_finish()

    counters = {c.key.metric.name: c.committed
                for c in result.metrics().query(MetricsFilter().with_namespace("read"))["counters"]}
    assert counters == {"files": 4, "inputs": 5, "rejected": 2, "skipped": 1}


def test_read_articles_fails_at_build_time_on_bad_glob(tmp_path):
    with pytest.raises(NoInputError):
        ReadArticles([f"{tmp_path}/nothing/*.jsonl"])


def test_unreadable_file_becomes_a_reject(tmp_path):
    from pipeline.io.sources import ReadFileFn

    path = str(tmp_path / "gone.txt")  # listed, then deleted before the read
    [out] = list(ReadFileFn().process(path))
    assert out.tag == "rejects"
    assert out.value["reason"].startswith("cannot read file: ")
    assert out.value["input_uri"] == path


def test_read_file_fn_tags_the_item_of_a_one_item_file_only_when_asked(tmp_path):
    """ReadArticleParts cleans a page where it was read and spreads only many-item files; the
    streaming watcher (which does not ask) gets every item on the main output."""
    from pipeline.io.sources import ReadFileFn

    page = tmp_path / "page.txt"
    page.write_text("A headline\n\nBody of the only article.")
    lines = tmp_path / "two.jsonl"
    lines.write_text('{"text": "One."}\n{"text": "Two."}\nnot json\n')
    tagged = ReadFileFn(tag_only_items=True)
    [only] = list(tagged.process(str(page)))
    assert only.tag == ReadFileFn.ONLY_ITEM and only.value["input_uri"] == str(page)
    out = list(tagged.process(str(lines)))
    assert [r["text"] for r in out if isinstance(r, dict)] == ["One.", "Two."]
    assert [r.tag for r in out if not isinstance(r, dict)] == ["rejects"]
    assert [r["input_uri"] for r in ReadFileFn().process(str(page))] == [str(page)]


def test_read_article_parts_split_one_item_files_from_spread_items(tmp_path):
    from pipeline.io.sources import ReadArticleParts

    (tmp_path / "page.txt").write_text("A headline\n\nBody A.")
    (tmp_path / "two.jsonl").write_text('{"text": "One."}\n{"text": "Two."}\n')
    pipeline = beam.Pipeline(options=PipelineOptions(runner="FnApiRunner"))
    (only, spread), rejects, skipped, _states = pipeline | ReadArticleParts([f"{tmp_path}/*"])
    assert_that(only | "OnlyUri" >> beam.Map(lambda r: r["input_uri"]), equal_to([str(tmp_path / "page.txt")]),
                label="Only")
    assert_that(spread | "SpreadText" >> beam.Map(lambda r: r["text"]), equal_to(["One.", "Two."]), label="Spread")
    assert_that(rejects, equal_to([]), label="Rejects")
    assert_that(skipped, equal_to([]), label="Skipped")
    pipeline.run().wait_until_finish()
