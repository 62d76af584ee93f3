"""The whole pipeline through the `newsbeam` command, on examples/ and (when present) the seeds."""
import json
import os
import subprocess
import sys

import pytest

from pipeline.io.ownership import MARKER
from pipeline.stages.validate import validation_errors
from tests.conftest import REPO, SEEDS, dataset_records, needs_seeds, table_rows

EXAMPLES = REPO / "examples" / "articles"


def newsbeam(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def manifest(out):
    return json.loads((out / "_manifest.json").read_text())


def articles(out):
    """The articles table as JSON records (read through the catalog), by id."""
    return sorted(table_rows(out, "articles"), key=lambda r: r["id"])


def duplicates(out):
    return table_rows(out, "duplicates")


def rejects(out):
    return dataset_records(out, "rejects")


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples") / "out"
    result = newsbeam("run", "--input", f"{EXAMPLES}/**/*", "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_help_is_fast_and_lists_the_options():
    result = newsbeam("run", "--help")
    assert result.returncode == 0 and "--no-entities" in result.stdout and "--format" in result.stdout


def test_examples_add_up_and_print_a_summary(example_run):
    out, result = example_run
    counts = manifest(out)["counts"]
    assert counts == {"inputs": 10, "articles": 5, "duplicates": 2, "rejects": 3, "skipped": 0}
    assert manifest(out)["conservation"]["holds"] is True
    assert "inputs 10 = articles 5 + duplicates 2 + rejects 3 + skipped 0" in result.stdout
    assert "clean/out" in result.stdout and "time" in result.stdout


def test_examples_duplicates_point_at_kept_articles(example_run):
    out, _ = example_run
    kept = {a["id"]: a for a in articles(out)}
    dups = duplicates(out)
    assert len(dups) == 2 and all(d["duplicate_of"] in kept for d in dups)
    # the syndicated HTML copy of the bridge story and the wire copy of the wind-farm story
    titles = sorted(kept[d["duplicate_of"]]["title"] for d in dups)
    assert titles == ["Offshore wind farm wins approval for port expansion",
                      "Riverside council approves new pedestrian bridge after two-year debate"]


def test_examples_articles_are_clean_valid_and_annotated(example_run):
    out, _ = example_run
    rows = articles(out)
    langs = sorted(r["lang"] for r in rows)
    assert langs == ["en", "en", "en", "en", "fr"]
    for row in rows:
        assert validation_errors(row, "articles") == [], row["id"]
        assert "Share on" not in row["text"] and "Read more" not in row["text"]
    bridge = next(r for r in rows if r["title"].startswith("Riverside"))
    people = {(e["canonical"], e["label"]) for e in bridge["entities"]}
    assert ("Helen Ortiz", "PERSON") in people
    assert len(table_rows(out, "entities")) > 5
    # the French article was read by the French model, and the manifest names both models with versions
    french = next(r for r in rows if r["lang"] == "fr")
    assert french["entities"] and french["provenance"]["entities"] is None
    versions = manifest(out)["versions"]
    assert versions.get("model:fr_core_news_sm") and any(
        k.startswith("model:en_core_web") and v for k, v in versions.items()), versions


def test_examples_every_bad_item_is_a_reject_with_a_reason(example_run):
    out, _ = example_run
    rows = rejects(out)
    assert len(rows) == 3
    by_uri = {(os.path.basename(r["input_uri"]), r["offset"]): r for r in rows}
    assert by_uri[("empty.txt", 0)]["stage"] == "read"
    assert by_uri[("wire.jsonl", 3)]["raw"] == "this line is not JSON {"
    assert all(r["reason"] and r["stage"] for r in rows)


def test_two_runs_give_the_same_rows_and_input_order_does_not_matter(example_run, tmp_path):
    out, _ = example_run
    inputs = sorted(EXAMPLES.iterdir())
    args = []
    for path in reversed(inputs):
        args += ["--input", path]
    again = tmp_path / "again"
    assert newsbeam("run", *args, "--output", again).returncode == 0

    def rows(root, dataset):
        return sorted(json.dumps(r, sort_keys=True) for r in table_rows(root, dataset))

    for dataset in ("articles", "duplicates", "entities", "rejects"):
        assert rows(out, dataset) == rows(again, dataset), dataset
    assert manifest(out)["commit"]["input_fingerprint"] == manifest(again)["commit"]["input_fingerprint"]


def test_rerun_appends_and_skips_what_it_already_ingested(tmp_path):
    out = tmp_path / "out"
    assert newsbeam("run", "--input", f"{EXAMPLES}/**/*", "--output", out, "--no-entities").returncode == 0
    assert newsbeam("run", "--input", EXAMPLES / "wire.jsonl", "--output", out, "--no-entities").returncode == 0
    m = manifest(out)
    assert m["counts"] == {"inputs": 6, "articles": 0, "duplicates": 0, "rejects": 0, "skipped": 6}
    assert m["skipped_by_reason"] == {"already ingested": 6}
    assert len(articles(out)) == 5  # a rerun never erases
    assert not any(p.name.startswith(".") and p.name != MARKER for p in out.iterdir())  # no leftovers


def test_no_match_is_a_clear_usage_error(tmp_path):
    result = newsbeam("run", "--input", tmp_path / "nothing-*.txt", "--output", tmp_path / "out")
    assert result.returncode == 2 and "no files match" in result.stderr


def test_jsonl_format_is_for_streaming_folders_only(tmp_path):
    out = tmp_path / "out"
    result = newsbeam("run", "--input", EXAMPLES / "wire.jsonl", "--output", out, "--no-entities", "--format", "jsonl")
    assert result.returncode == 2 and "Iceberg tables" in result.stderr and not out.exists()


@needs_seeds
def test_seeds_acceptance(tmp_path):
    out = tmp_path / "out"
    result = newsbeam("run", "--input", f"{SEEDS}/*.txt", "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    m = manifest(out)
    c = m["counts"]
    assert c["inputs"] == 5 and c["articles"] + c["duplicates"] + c["rejects"] + c["skipped"] == 5
    rows = articles(out)
    assert rows
    for row in rows:
        assert validation_errors(row, "articles") == [], row["id"]
    # the full wire story is the canonical copy of its story, without its repeated photo captions
    full = next(r for r in rows if r["provenance"]["input_uri"].endswith("002_ba7f2b871816635f.txt"))
    caption = "Russia’s President Vladimir Putin, center, arrives at Beijing Capital International Airport"
    assert full["text"].count(caption) <= 1
    assert "Gabuev told The Associated Press" in full["text"]
    assert ("Vladimir Putin", "PERSON") in {(e["canonical"], e["label"]) for e in full["entities"]}


def test_conservation_check_flags_any_mismatch():
    from pipeline.run.common import conservation

    counts = {"articles": 5, "duplicates": 2, "rejects": 3, "skipped": 0}
    assert conservation(10, counts)["holds"] is True
    assert conservation(11, counts) == {"inputs": 11, "accounted": 10, "holds": False}


def test_default_runner_does_not_try_to_download_prism(tmp_path, caplog):
    import logging

    from pipeline.cli import main

    with caplog.at_level(logging.INFO):
        assert main(["run", "--input", str(EXAMPLES / "wire.jsonl"), "--output", str(tmp_path / "out"),
                     "--no-entities"]) == 0
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "DirectRunner" in messages and "Prism" not in messages


@needs_seeds
def test_seeds_dedup_and_stories(tmp_path):
    out = tmp_path / "out"
    result = newsbeam("run", "--input", f"{SEEDS}/*.txt", "--output", out, "--no-entities")
    assert result.returncode == 0, result.stderr[-3000:]
    kept = {r["provenance"]["input_uri"][-24:-21]: r for r in articles(out)}
    dups = duplicates(out)
    dup = {d["provenance"]["input_uri"][-24:-21]: d for d in dups}
    assert set(kept) == {"001", "002", "003", "004"} and set(dup) == {"000"}
    assert dup["000"]["duplicate_of"] == kept["002"]["id"] and dup["000"]["kind"] == "excerpt"
    story = kept["002"]["story_id"]
    assert kept["001"]["story_id"] == kept["003"]["story_id"] == story == dup["000"]["story_id"]
    assert kept["004"]["story_id"] != story


BENCHMARK = SEEDS.parent / "extraction-benchmark"


@pytest.mark.skipif(not BENCHMARK.exists(), reason="../shared/corpus/extraction-benchmark not present")
def test_benchmark_pages_through_the_cli_give_the_stage_texts(tmp_path):
    """What bench/extraction.py scores is what `newsbeam run` writes."""
    from pipeline.io.sources import read_file
    from pipeline.stages.clean import to_clean_article

    out = tmp_path / "out"
    pattern = f"{BENCHMARK}/html/*.html.gz"
    assert newsbeam("run", "--input", pattern, "--output", out, "--no-entities").returncode == 0
    written = {r["provenance"]["input_uri"]: r["text"] for r in articles(out)}
    written.update({r["provenance"]["input_uri"]: r["text"] for r in duplicates(out)})
    pages = sorted(BENCHMARK.glob("html/*.html.gz"))
    assert len(pages) == len(written) == 181
    for page in pages:
        item = next(read_file(str(page), page.read_bytes()))
        assert written[str(page)] == to_clean_article(item)["text"], page.name


STORY = [
    "The city council voted on Tuesday to expand the riverside tram line by four stations, ending a dispute that had delayed the project for almost two years.",
    "Supporters said the extension would link the northern suburbs with the hospital district and cut commuting times for thousands of nurses and students.",
    "Opponents on the council argued that the budget of 310 million euros left too little room for repairs to the ageing bus depots on the east side.",
    "The transport department expects construction to begin next spring, once the environmental review of the old harbour embankment is complete.",
    "Shop owners along the planned route asked for compensation during the works, and the mayor promised a fund to cover lost trade for small businesses.",
    "A regional audit last year criticised the tram operator for cost overruns on an earlier extension, which opened fourteen months behind schedule.",
    "The operator has since replaced its chief engineer and moved to fixed-price contracts, a change the council majority cited as a reason for its confidence.",
    "Residents of the harbour quarter, where two of the new stations will be built, will be invited to public hearings on noise and tree removal in March.",
]


def _edit_words(text: str, every: int) -> str:
    """Replace every ``every``-th word: a copy with about 100/every % word edits."""
    words = text.split()
    return " ".join("revised" if i % every == every - 1 else w for i, w in enumerate(words))


def test_cli_dedup_finds_edited_copies_and_records_updates_with_a_diff(tmp_path):
    original = "\n\n".join(STORY)
    lines = [
        {"url": "https://wire.example/tram", "title": "Council backs tram extension", "text": original,
         "published_at": "2024-03-05T08:00:00Z"},
        # another site, about 10% of the words changed: a near duplicate
        {"url": "https://daily.example/news/tram-vote", "title": "Tram line to grow",
         "text": _edit_words(original, 10), "published_at": "2024-03-05T09:30:00Z"},
        # the wire page fetched again after a correction: same URL, newer, one sentence changed
        {"url": "https://wire.example/tram", "title": "Council backs tram extension", "published_at": "2024-03-05T12:00:00Z",
         "text": original.replace("310 million euros", "330 million euros, revised upwards in January,")},
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out"
    result = newsbeam("run", "--input", tmp_path / "in.jsonl", "--output", out, "--no-entities")
    assert result.returncode == 0, result.stderr[-3000:]
    kept = articles(out)
    assert len(kept) == 1 and "330 million euros" in kept[0]["text"]
    dups = sorted(duplicates(out), key=lambda d: d["kind"])
    assert [d["kind"] for d in dups] == ["near", "update"]
    near, update = dups
    assert near["url"] == "https://daily.example/news/tram-vote" and near["duplicate_of"] == kept[0]["id"]
    assert 0.3 <= near["similarity"] < 0.8
    assert update["duplicate_of"] == kept[0]["id"] and "310 million euros" not in kept[0]["text"]
    assert update["diff"]["chars_added"] > update["diff"]["chars_removed"] > 0
