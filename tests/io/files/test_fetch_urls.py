"""Where a page was fetched from (``url``, and so ``source``) next to the link it names as its own
(``canonical_url``, and so ``id``): urls.jsonl for files, the WARC target URI, a feed's link."""
from __future__ import annotations

import apache_beam as beam
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.io.files import read_file
from pipeline.io.files.inputs import NoInputError
from pipeline.io.files.read import URL_INDEX, ReadArticles, fetch_urls

# A syndicated copy: the page names its publisher's URL as canonical, but it was fetched from a
# partner's site.
PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Bridge approved</title>
<link rel="canonical" href="https://publisher.com/2024/03/12/bridge"></head><body><article>
<h1>Bridge approved</h1>
<p>The council voted on Tuesday to build a new bridge across the river, ending a decade of debate
about the crossing and its cost to the city.</p>
<p>The mayor welcomed the vote and said construction would begin next spring, once the last permits
are granted by the regional authority.</p>
<p>Opponents said they would keep campaigning against the project, which they call too expensive.</p>
</article></body></html>"""


def _through_clean_and_identify(item: dict) -> dict:
    """The clean stage with the fields it carries (its hook), language given, then identify."""
    from pipeline.records import carried_fields
    from pipeline.stages.clean import to_clean_article
    from pipeline.stages.identify import identify

    cleaned = {**to_clean_article(item), **carried_fields(item), "lang": "en"}
    return identify(cleaned)


def test_a_page_with_a_fetch_url_is_credited_to_the_site_it_was_fetched_from():
    (item,) = read_file("partner/bridge.html", PAGE.encode(), fetch_url="https://partnernews.co.uk/news/bridge?utm_source=x")
    assert item["url"] == "https://partnernews.co.uk/news/bridge?utm_source=x"
    assert item["canonical_url"] == "https://publisher.com/2024/03/12/bridge"
    article = _through_clean_and_identify(item)
    assert article["url"] == "https://partnernews.co.uk/news/bridge"  # normalised, tracking gone
    assert article["source"] == "partnernews.co.uk"
    assert article["canonical_url"] == "https://publisher.com/2024/03/12/bridge"
    # the id names the article, wherever it was fetched: the same as the publisher's own copy
    (own,) = read_file("publisher/bridge.html", PAGE.encode())
    own_article = _through_clean_and_identify(own)
    assert (own_article["url"], own_article["source"]) == ("https://publisher.com/2024/03/12/bridge",
                                                           "publisher.com")
    assert own_article["id"] == article["id"]


def test_without_a_fetch_url_a_page_keeps_its_canonical_link_as_url():
    (item,) = read_file("bridge.html", PAGE.encode())
    assert item["url"] == item["canonical_url"] == "https://publisher.com/2024/03/12/bridge"


def test_urls_jsonl_gives_the_fetch_url_of_the_files_next_to_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "bridge.html").write_text(PAGE)
    (tmp_path / "sub" / "note.txt").write_text("A headline for the note\n\nThe note's body text, with words.")
    (tmp_path / "plain.html").write_text(PAGE)
    (tmp_path / URL_INDEX).write_text(
        '{"file": "bridge.html", "url": "https://partnernews.co.uk/news/bridge"}\n\n')
    (tmp_path / "sub" / URL_INDEX).write_text('{"file": "note.txt", "url": "https://notes.example/n/1"}\n')

    transform = ReadArticles([f"{tmp_path}/**/*"])
    bridge, plain, note = (str(tmp_path / "bridge.html"), str(tmp_path / "plain.html"),
                           str(tmp_path / "sub" / "note.txt"))
    assert transform.paths == [bridge, plain, note]  # the indexes are not inputs
    assert fetch_urls(transform.paths) == {bridge: "https://partnernews.co.uk/news/bridge",
                                          note: "https://notes.example/n/1"}
    pipeline = beam.Pipeline(options=PipelineOptions(runner="FnApiRunner"))
    (items,), _rejects, _skipped, _states = pipeline | "Read" >> transform
    assert_that(items | beam.Map(lambda r: (r["input_uri"], r["url"], r.get("canonical_url"))), equal_to([
        (bridge, "https://partnernews.co.uk/news/bridge", "https://publisher.com/2024/03/12/bridge"),
        (plain, "https://publisher.com/2024/03/12/bridge", "https://publisher.com/2024/03/12/bridge"),
        (note, "https://notes.example/n/1", None)]))
    pipeline.run().wait_until_finish()


@pytest.mark.parametrize("line", ['{"file": "a.html"}', '{"file": "a.html", "url": "ftp://x/a"}', "not json"])
def test_a_malformed_urls_jsonl_stops_the_run_naming_the_line(tmp_path, line):
    (tmp_path / "a.html").write_text(PAGE)
    (tmp_path / URL_INDEX).write_text('{"file": "a.html", "url": "https://ok.example/a"}\n' + line + "\n")
    with pytest.raises(ValueError, match=f"{URL_INDEX} line 2"):
        ReadArticles([f"{tmp_path}/*"])


def test_a_glob_that_matches_only_the_index_is_no_input(tmp_path):
    (tmp_path / URL_INDEX).write_text('{"file": "a.html", "url": "https://ok.example/a"}\n')
    with pytest.raises(NoInputError, match="not articles"):
        ReadArticles([f"{tmp_path}/*.jsonl"])


def test_a_warc_page_keeps_its_target_uri_as_url_and_its_canonical_link():
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    import io

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("https://partnernews.co.uk/news/bridge", "response",
                                                  payload=io.BytesIO(PAGE.encode()), http_headers=headers))
    (item,) = [r for r in read_file("crawl.warc", buf.getvalue()) if "skipped" not in r]
    assert item["url"] == "https://partnernews.co.uk/news/bridge"
    assert item["canonical_url"] == "https://publisher.com/2024/03/12/bridge"
    assert _through_clean_and_identify(item)["source"] == "partnernews.co.uk"


def test_a_urls_jsonl_read_as_a_file_is_a_skip_not_rejects():
    (record,) = read_file(f"watched/{URL_INDEX}", b'{"file": "a.html", "url": "https://ok.example/a"}\n')
    assert record["skipped"].startswith(f"{URL_INDEX}: the fetch URLs")
