"""Stories against history (issues 20 and 22): a follow-up arriving in a later run joins the
earlier story. Run 1 commits a story; run 2, into the same OUT, brings a reworded follow-up (a
paraphrase: not a near-duplicate), an unrelated article about the same city, and a rewrite of the
story published beyond the story window. Each run is a ``newsbeam run`` process (``--no-entities
--no-quality``, FnApiRunner, as in tests/test_table_runs.py); the tables are read back through the
catalog, the story index included.
"""
from __future__ import annotations

import json

import pytest

from pipeline.output import tables
from tests.conftest import table_rows
from tests.stages.stories.samples import ALL_FIXTURES
from tests.test_table_runs import ARGS, manifest, run, write


def line(name: str, day: int) -> str:
    title, text, _entities = ALL_FIXTURES[name]
    return json.dumps({"url": f"https://news.example/{name}", "title": title, "text": text,
                       "published": f"2024-04-{day:02d}T09:00:00Z"})


def stories_of(out) -> dict[str, tuple[str, str]]:
    """url name -> (id, story_id) of the stored articles."""
    return {r["url"].rsplit("/", 1)[1]: (r["id"], r["story_id"]) for r in table_rows(out, "articles")}


def index_rows(out) -> list[dict]:
    return sorted(tables.read_table(out, "story_index").to_pylist(), key=lambda r: r["id"])


def test_a_follow_up_in_a_later_run_joins_the_stored_story_and_an_unrelated_article_does_not(tmp_path):
    one, two, out = tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "out"
    write(one, [line("bridge", 1)])
    write(two, [line("bridge_paraphrase", 2), line("fire", 2), line("bridge_rewrite", 12)])

    run(one, out)
    [(bridge, bridge_story)] = stories_of(out).values()
    assert bridge_story == bridge
    first_index = index_rows(out)
    assert [(r["id"], r["story_id"]) for r in first_index] == [(bridge, bridge)]
    assert not {"text", "title", "url"} & set(first_index[0]) and first_index[0]["terms"]

    second = run(two, out)
    stored = stories_of(out)
    assert stored["bridge"] == (bridge, bridge)  # the stored row is never rewritten
    assert stored["bridge_paraphrase"][1] == bridge  # the follow-up joins run 1's story
    assert stored["fire"][1] == stored["fire"][0]  # same city and mayor, another event: its own story
    assert stored["bridge_rewrite"][1] == stored["bridge_rewrite"][0]  # 11 days later: beyond the window
    assert manifest(out)["counts"]["duplicates"] == 0  # a rewrite, not a copy
    assert "joined_stored" in second.stdout and "stored_leaders_read" in second.stdout

    # the index gains the new leaders only; run 1's row is as it was
    after = index_rows(out)
    assert {r["id"] for r in after} == {bridge, stored["fire"][0], stored["bridge_rewrite"][0]}
    assert [r for r in after if r["id"] == bridge] == first_index

    # rerunning run 2: nothing new, and the same story ids
    run(two, out)
    assert stories_of(out) == stored and len(index_rows(out)) == 3


@pytest.mark.parametrize("args", [["--no-quality", "--runner=FnApiRunner"], ARGS], ids=["entities-on", "no-entities"])
def test_the_seeds_over_two_runs_get_the_story_ids_of_one_run(tmp_path, args):
    """Run 1: the full wire story (002) and the other story (004); run 2: the rewritten copy (001),
    the paraphrase (003) and the excerpt (000). Plain-text dates do not bound the window. Every
    copy of the first story takes 002's story id, as in one run of all five; 004 keeps its own.
    The excerpt (000) is an excerpt duplicate of the stored 002, with its similarity, as in one run
    (near dedup against history, the near_index table). With only the 64 heaviest terms of 002
    stored, 003 and 000 made a second story."""
    import shutil

    from tests.conftest import SEEDS

    first, second, out = tmp_path / "one", tmp_path / "two", tmp_path / "out"
    for folder, numbers in ((first, ("002", "004")), (second, ("000", "001", "003"))):
        folder.mkdir()
        for number in numbers:
            [seed] = SEEDS.glob(f"{number}_*.txt")
            shutil.copy(seed, folder / seed.name)
    run(f"{first}/*.txt", out, args=args)
    run(f"{second}/*.txt", out, args=args)
    story = {r["provenance"]["input_uri"].rsplit("/", 1)[1][:3]: (r["id"], r["story_id"])
             for r in table_rows(out, "articles") + table_rows(out, "duplicates")}
    assert set(story) == {"000", "001", "002", "003", "004"}
    wire = story["002"][0]
    assert {n: s for n, (_id, s) in story.items() if n != "004"} == dict.fromkeys(("000", "001", "002", "003"), wire)
    assert story["004"][1] == story["004"][0] != wire
    [excerpt] = table_rows(out, "duplicates")
    assert excerpt["provenance"]["input_uri"].rsplit("/", 1)[1][:3] == "000"
    assert (excerpt["duplicate_of"], excerpt["kind"], excerpt["similarity"]) == (wire, "excerpt", 0.8378)


def test_the_story_index_is_read_by_day_partition_at_a_snapshot(tmp_path):
    """tables.stored_story_index: the leaders of the days asked for plus the undated ones, as of
    the snapshot given (a later commit is not seen); no table or no snapshot: nothing."""
    import datetime as dt

    from pipeline.output.files import parquet_bytes
    from pipeline.stages.stories import leader_index_row
    from tests.stages.stories.samples import make

    def stage(name, *articles):
        rows = [leader_index_row(dict(a, story_id=a["id"])) for a in articles]
        path = tmp_path / name / "part-00000.parquet"
        path.parent.mkdir(parents=True)
        path.write_bytes(parquet_bytes("story_index", [{k: v for k, v in r.items() if k != "dt"} for r in rows]))
        return [str(path)]

    catalog = tables.open_catalog(tmp_path / "out")
    assert tables.stored_story_index(catalog, 1) == []  # no table yet
    april1, april20, undated = (make("bridge", "2024-04-01T09:00:00Z"), make("fire", "2024-04-20T09:00:00Z"),
                                make("strike"))
    first = tables.commit_run(catalog, {"story_index": stage("a", april1, april20, undated)}, run_id="r1")
    tables.commit_run(catalog, {"story_index": stage("b", make("library", "2024-04-02T09:00:00Z"))}, run_id="r2")
    days = (dt.date(2024, 3, 30), dt.date(2024, 4, 3))
    read = tables.stored_story_index(catalog, first["story_index"], days)
    assert sorted(r["id"] for r in read) == sorted([april1["id"], undated["id"]])
    assert len(tables.stored_story_index(catalog, first["story_index"])) == 3
    assert tables.stored_story_index(catalog, None, days) == []
    [row] = [r for r in read if r["id"] == april1["id"]]
    assert row["story_id"] == april1["id"] and row["date_trusted"] and row["terms"][0]["weight"] > 0
