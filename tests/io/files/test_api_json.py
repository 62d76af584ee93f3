"""JSON from news APIs (NewsAPI, NYT Top Stories / Article Search, GDELT) and --field-map.

Every response below is written here, in the shape each API documents."""
from __future__ import annotations

import orjson
import pytest

from pipeline.io.files import read_file
from pipeline.io.files.json import parse_field_map

NEWSAPI = {"status": "ok", "totalResults": 2, "articles": [
    {"source": {"id": "bbc-news", "name": "BBC News"}, "author": "Jane Doe", "title": "Storm hits coast",
     "description": "A storm hit the coast on Monday.", "url": "https://www.bbc.co.uk/news/uk-1",
     "urlToImage": "https://img.example/x.jpg", "publishedAt": "2024-03-12T18:30:00Z",
     "content": "A powerful storm hit the southern coast on Monday night, cutting power to thousands of "
                "homes, officials said… [+2841 chars]"},
    {"source": {"id": None, "name": "Example"}, "author": None, "title": "Teaser only",
     "description": "Only a <b>teaser</b> here.", "url": "https://ex.com/2", "urlToImage": None,
     "publishedAt": "2024-03-13T08:00:00Z", "content": None}]}

NYT_SEARCH = {"status": "OK", "response": {"docs": [{
    "web_url": "https://www.nytimes.com/2024/03/12/nyregion/bridge.html",
    "abstract": "The council approved the bridge.", "snippet": "The council approved the bridge.",
    "lead_paragraph": "The City Council voted on Tuesday to build a new bridge across the river.",
    "source": "The New York Times", "headline": {"main": "Council Approves Bridge", "print_headline": "Bridge"},
    "pub_date": "2024-03-12T18:30:05+0000",
    "byline": {"original": "By Maria Lopez", "person": [{"firstname": "Maria", "lastname": "Lopez"}]}}]}}

NYT_TOP = {"status": "OK", "results": [{"title": "Markets rally", "abstract": "Stocks rose on Tuesday.",
                                        "url": "https://www.nytimes.com/2024/03/12/business/markets.html",
                                        "byline": "By John Roe", "published_date": "2024-03-12T14:30:05-04:00"}]}

GDELT = {"articles": [{"url": "https://www.lemonde.fr/a.html", "url_mobile": "", "title": "Grève dans les transports",
                       "seendate": "20240312T183000Z", "socialimage": "", "domain": "lemonde.fr",
                       "language": "French", "sourcecountry": "France"}]}


def read(name: str, doc, field_map=()) -> list[dict]:
    return list(read_file(name, orjson.dumps(doc), field_map=field_map))


def test_a_newsapi_response_is_one_item_per_article_and_its_excerpts_are_summaries():
    first, second = read("newsapi.json", NEWSAPI)
    assert (first["offset"], second["offset"]) == (1, 2)
    assert first["url"] == "https://www.bbc.co.uk/news/uk-1"
    assert first["source"] == "BBC News" and first["authors"] == ["Jane Doe"]
    assert first["published_at"] == "2024-03-12T18:30:00Z"
    # content is cut by the API ("[+2841 chars]"): a summary, without the marker
    assert first["text"].endswith("officials said") and first["text_kind"] == "summary"
    assert second["text"] == "Only a teaser here." and second["text_kind"] == "summary"


def test_nyt_article_search_and_top_stories():
    (doc,) = read("nyt.json", NYT_SEARCH)
    assert doc["title"] == "Council Approves Bridge"
    assert doc["url"] == "https://www.nytimes.com/2024/03/12/nyregion/bridge.html"
    assert doc["text"] == "The City Council voted on Tuesday to build a new bridge across the river."
    assert doc["text_kind"] == "summary"
    assert doc["authors"] == ["By Maria Lopez"]  # the byline as given; the clean stage splits names
    assert doc["published_at"] == "2024-03-12T18:30:05+0000"
    (top,) = read("top.json", NYT_TOP)
    assert (top["text"], top["text_kind"], top["published_at"]) == (
        "Stocks rose on Tuesday.", "summary", "2024-03-12T14:30:05-04:00")


def test_a_full_text_is_full_and_wins_over_a_description():
    (item,) = read("a.json", {"title": "T", "description": "Teaser.", "body": "The whole article text."})
    assert item["text"] == "The whole article text."
    assert "text_kind" not in item  # full: the default


def test_a_gdelt_link_list_keeps_its_metadata_and_says_why_it_has_no_text():
    (record,) = read("gdelt.json", GDELT)
    assert record["reason"].startswith("no article text: a link-only record")
    mapped = parse_field_map("text=title")  # e.g. a dump that put the text in another field
    (item,) = read("gdelt.json", GDELT, mapped)
    assert item["published_at"] == "2024-03-12T18:30:00Z"  # seendate, UTC
    assert item["source"] == "lemonde.fr"
    assert item["declared_lang"] == "fr"  # "French"


def test_field_map_reads_nested_fields_and_wins_over_common_names():
    fm = parse_field_map("text=payload.body,published_at=meta.date,title=meta.heads.0,language=meta.lang")
    doc = {"title": "Ignored", "payload": {"body": "Custom body text here."},
           "meta": {"date": 1710268200, "heads": ["Hello"], "lang": "de-AT"}}
    (item,) = read("c.jsonl", doc, fm)
    assert (item["text"], item["title"], item["published_at"], item["declared_lang"]) == (
        "Custom body text here.", "Hello", "2024-03-12T18:30:00Z", "de")
    fm = parse_field_map("summary=teaser")
    (item,) = read("c.json", {"teaser": "Just a teaser."}, fm)
    assert (item["text"], item["text_kind"]) == ("Just a teaser.", "summary")


@pytest.mark.parametrize("spec, message", [
    ("text", "is not FIELD=PATH"),
    ("txt=body", "unknown field 'txt'"),
    ("text=a..b", "empty key"),
    ("text=a,text=b", "mapped twice"),
])
def test_a_malformed_field_map_says_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_field_map(spec)


def test_a_malformed_field_map_is_a_usage_error(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "a.json").write_text('{"text": "x"}')
    code = main(["run", "--input", str(tmp_path / "a.json"), "--output", str(tmp_path / "out"),
                 "--field-map", "text"])
    assert code == 2
    assert "--field-map: 'text' is not FIELD=PATH" in capsys.readouterr().err


def test_field_map_in_a_config_file(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "a.json").write_text('{"text": "x"}')
    (tmp_path / "run.toml").write_text('field-map = "nonsense=body"\n')
    code = main(["run", "--config", str(tmp_path / "run.toml"), "--input", str(tmp_path / "a.json"),
                 "--output", str(tmp_path / "out")])
    assert code == 2
    assert "unknown field 'nonsense'" in capsys.readouterr().err
