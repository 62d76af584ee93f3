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


def test_the_near_index_is_read_by_day_partition_at_a_snapshot(tmp_path):
    """tables.stored_near_index: the rows of the days asked for plus the undated ones, as of the
    snapshot given (a later commit is not seen), with the sketch and keys as written; no table or
    no snapshot: nothing."""
    import datetime as dt

    from pipeline.output.files import parquet_bytes
    from pipeline.stages.dedup.near import NearDedupConfig
    from pipeline.stages.dedup.stored import near_index_row
    from tests.stages.dedup.samples import article

    config = NearDedupConfig()

    def rows_of(*articles):
        return [near_index_row(dict(a, story_id=a["id"]), config.features(a)) for a in articles]

    def stage(name, rows):
        path = tmp_path / name / "part-00000.parquet"
        path.parent.mkdir(parents=True)
        path.write_bytes(parquet_bytes("near_index", [{k: v for k, v in r.items() if k != "dt"} for r in rows]))
        return [str(path)]

    catalog = tables.open_catalog(tmp_path / "out")
    assert tables.stored_near_index(catalog, 1) == []  # no table yet
    april1, april20, undated = rows_of(article(story(1, 300), published_at="2024-04-01T09:00:00Z"),
                                       article(story(2, 300), published_at="2024-04-20T09:00:00Z"),
                                       article(story(3, 300)))
    first = tables.commit_run(catalog, {"near_index": stage("a", [april1, april20, undated])}, run_id="r1")
    tables.commit_run(catalog, {"near_index": stage("b", rows_of(
        article(story(4, 300), published_at="2024-04-02T09:00:00Z")))}, run_id="r2")
    read = tables.stored_near_index(catalog, first["near_index"], (dt.date(2024, 3, 30), dt.date(2024, 4, 3)))
    assert sorted(r["id"] for r in read) == sorted([april1["id"], undated["id"]])
    assert len(tables.stored_near_index(catalog, first["near_index"])) == 3
    assert tables.stored_near_index(catalog, None) == []
    [row] = [r for r in read if r["id"] == april1["id"]]
    assert (row["sketch"], row["keys"], row["shingles"]) == (april1["sketch"], april1["keys"], april1["shingles"])
