"""Near copies and excerpts against history (issue 20): run 1 stores an article; run 2, into the
same OUT, brings it with 10% of its words edited at another URL, its first three paragraphs at a
third URL, and an unrelated article. Each run is a ``newsbeam run`` process (``--no-entities
--no-quality``, FnApiRunner, as in tests/test_table_runs.py); the tables are read back through the
catalog, the near_index table included.
"""
from __future__ import annotations

import json

from pipeline.output import tables
from tests.conftest import table_rows
from tests.stages.dedup.samples import edited, story
from tests.test_table_runs import manifest, run, write

#: five paragraphs of 80 words
PARAGRAPHS = [story(100 + i, 80) for i in range(5)]


def line(name: str, paragraphs: list[str], day: int) -> str:
    return json.dumps({"url": f"https://news{len(name)}.example/{name}", "title": f"Report {name}",
                       "text": "\n\n".join(paragraphs), "published": f"2024-04-{day:02d}T09:00:00Z"})


def near_rows(out) -> list[dict]:
    return sorted(tables.read_table(out, "near_index").to_pylist(), key=lambda r: r["id"])


def test_a_later_near_copy_and_excerpt_are_duplicates_of_the_stored_article(tmp_path):
    one, two, out = tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "out"
    write(one, [line("original", PARAGRAPHS, 1)])
    write(two, [line("edited", [edited(p, 0.10, seed=i) for i, p in enumerate(PARAGRAPHS)], 2),
                line("teaser", PARAGRAPHS[:3], 3),
                line("unrelated", [story(200 + i, 80) for i in range(5)], 2)])

    run(one, out)
    [stored] = table_rows(out, "articles")
    first_index = near_rows(out)
    assert [(r["id"], r["story_id"]) for r in first_index] == [(stored["id"], stored["story_id"])]
    assert not {"text", "title", "url"} & set(first_index[0]) and len(first_index[0]["sketch"]) == 128

    second = run(two, out)
    dups = {r["url"].rsplit("/", 1)[1]: r for r in table_rows(out, "duplicates")}
    assert set(dups) == {"edited", "teaser"}
    for name, kind in (("edited", "near"), ("teaser", "excerpt")):
        dup = dups[name]
        assert (dup["duplicate_of"], dup["kind"], dup["story_id"]) == (stored["id"], kind, stored["story_id"])
        assert dup["provenance"]["decisions"][-1] == f"duplicate:{kind}:{stored['id']}:stored"
    assert dups["teaser"]["similarity"] >= 0.8 and 0.3 <= dups["edited"]["similarity"] < 1.0
    articles = {r["url"].rsplit("/", 1)[1]: r for r in table_rows(out, "articles")}
    assert set(articles) == {"original", "unrelated"}
    assert articles["original"] == stored  # the stored row is never rewritten
    assert "near_of_stored" in second.stdout and "excerpt_of_stored" in second.stdout

    # the index gains the new article only; run 1's row is as it was
    after = near_rows(out)
    assert {r["id"] for r in after} == {stored["id"], articles["unrelated"]["id"]}
    assert [r for r in after if r["id"] == stored["id"]] == first_index

    # rerunning run 2: nothing new
    before = {d: table_rows(out, d) for d in ("articles", "duplicates")}
    run(two, out)
    counts = manifest(out)["counts"]
    assert (counts["articles"], counts["duplicates"], counts["skipped"]) == (0, 0, 3)
    assert {d: table_rows(out, d) for d in ("articles", "duplicates")} == before and near_rows(out) == after
