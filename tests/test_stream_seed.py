"""A stream's job starts its dedup state from the stored articles within the horizon of the
newest one (``pipeline.run.streaming.dedup_seed``), reading the text only of those: a job's start
costs the horizon's articles, not the whole history."""
from __future__ import annotations

import json

from pipeline.run.streaming import dedup_seed
from pipeline.stages.dedup.streaming import Entry
from tests.conftest import table_rows
from tests.test_table_runs import line, run, write


def seeded_ids(seed: dict) -> set[str]:
    return {Entry.decode(raw).article_id for entries in seed.values() for raw in entries}


def test_the_seed_holds_the_articles_within_the_horizon_of_the_newest(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out"
    write(inp, [line("d", day, day) for day in range(1, 10)])  # April 1-9, one article a day
    run(inp, out)
    by_url = {r["url"]: r["id"] for r in table_rows(out, "articles")}
    three_days = dedup_seed(str(out), 3 * 86400 + 60, 600)
    assert seeded_ids(three_days) == {by_url[f"https://news.example/d/{day}"] for day in (6, 7, 8, 9)}
    everything = dedup_seed(str(out), 10 * 365 * 86400, 600)
    assert seeded_ids(everything) == set(by_url.values())

    # an undated article's event time is when it was read (now): the newest, and alone in the horizon
    undated = json.loads(line("u", 0, 1))
    undated.pop("published")
    write(inp, [json.dumps(undated)])
    run(inp, out)
    assert seeded_ids(dedup_seed(str(out), 3 * 86400, 600)) == {
        r["id"] for r in table_rows(out, "articles") if r["url"] == "https://news.example/u/0"}
