"""The extraction benchmark's metric (bench/extraction.py) on handmade texts, and newsbeam's
cleaning on the whole benchmark when the shared corpus is present."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "extraction-benchmark"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_extraction", REPO / "bench" / "extraction.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


B = _load_bench()

ARTICLE = ("The council voted on Tuesday to build a new bridge over the river, ending a debate "
           "that had divided the town for more than a decade.")
CHROME = "Sign up for our newsletter and follow us on social media for more stories like this one"


def test_tokens_and_shingles():
    assert B.tokenize("Ça va? L'été—2024_x!") == ["Ça", "va", "L", "été", "2024_x"]
    assert B.shingles(B.tokenize("a b c d e")) == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert B.shingles(["a", "b"]) == {("a", "b"): 1}  # fewer than 4 tokens: one shingle of all
    assert B.shingles([]) == {}
    assert B.shingles(B.tokenize("x y z w x y z w")) == {
        ("x", "y", "z", "w"): 2, ("y", "z", "w", "x"): 1, ("z", "w", "x", "y"): 1, ("w", "x", "y", "z"): 1}


def test_perfect_match():
    assert B.page_counts(ARTICLE, ARTICLE) == (1.0, 0.0, 0.0)
    assert B.score([(ARTICLE, ARTICLE), ("one two", "one two")]) == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "pages": 2}
    # punctuation and spacing do not matter, tokens do
    assert B.page_counts("The  council, voted!", "The council voted") == (1.0, 0.0, 0.0)


def test_empty_prediction():
    assert B.page_counts("", ARTICLE) == (0.0, 0.0, 1.0)
    # a page with nothing predicted has no precision (tp + fp == 0): only recall counts it
    s = B.score([("", ARTICLE), (ARTICLE, ARTICLE)])
    assert s["precision"] == 1.0 and s["recall"] == 0.5
    assert s["f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert B.score([("", ARTICLE)]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "pages": 1}
    assert B.page_counts("", "") == (0.0, 0.0, 0.0)


def test_extra_chrome_lowers_precision_only():
    tp, fp, fn = B.page_counts(ARTICLE + "\n\n" + CHROME, ARTICLE)
    assert fn == 0 and fp > 0 and tp + fp + fn == pytest.approx(1.0)
    s = B.score([(ARTICLE + "\n\n" + CHROME, ARTICLE)])
    assert s["recall"] == 1.0 and s["precision"] < 1.0
    # dropping half of the article lowers recall only
    half = ARTICLE[: len(ARTICLE) // 2]
    s = B.score([(half, ARTICLE)])
    assert s["precision"] == 1.0 and s["recall"] < 1.0


def test_repeats_count_as_a_multiset():
    # a duplicated paragraph is a false positive even though every shingle is "in" the truth
    s = B.score([(ARTICLE + "\n\n" + ARTICLE, ARTICLE)])
    assert s["recall"] == 1.0 and s["precision"] == pytest.approx(0.5, abs=0.05)


def test_normalisation_weighs_long_and_short_pages_equally():
    long_truth = " ".join(f"word{i}" for i in range(2000))
    short_truth = "alpha beta gamma delta epsilon zeta eta theta"
    long_counts = B.page_counts(long_truth, long_truth)                     # perfect, 1997 shingles
    short_counts = B.page_counts(short_truth + " " + CHROME, short_truth)   # mostly chrome
    assert sum(long_counts) == pytest.approx(1.0) and sum(short_counts) == pytest.approx(1.0)
    s = B.aggregate([long_counts, short_counts])
    short_p = short_counts[0] / (short_counts[0] + short_counts[1])
    assert s["precision"] == pytest.approx((1.0 + short_p) / 2)  # a mean of pages, not of shingles
    assert s["recall"] == 1.0


def test_removed_line_audit_uses_multiplicity():
    truth = B.Truth(ARTICLE + "\n\nQ: What do you cook?\n\nQ: What do you cook?", kept=ARTICLE + "\n\nQ: What do you cook?")
    assert truth.take_line("Q: What do you cook?")       # the truth has it twice, kept once
    assert not truth.take_line("Q: What do you cook?")   # a third copy is not article
    truth = B.Truth(ARTICLE, kept=ARTICLE)
    assert not truth.take_line(ARTICLE)                  # a second copy of a kept paragraph is chrome
    truth = B.Truth(ARTICLE, kept="")
    assert truth.take_line(ARTICLE)
    assert truth.take_line("new bridge")                 # short line: contiguous tokens in the truth
    assert not truth.take_line("bridge new")
    assert not truth.take_line("* * *")                  # no tokens: never article
    judged = B.judge_lines([("share", "Share"), ("edge_nav", "council"), ("edge_nav", "council")], ARTICLE, kept="")
    assert judged == [("share", "Share", False), ("edge_nav", "council", True), ("edge_nav", "council", False)]
    assert B.audit_rules(judged) == {"edge_nav": {"removed": 2, "article": 1, "precision": 0.5},
                                     "share": {"removed": 1, "article": 0, "precision": 1.0}}


def test_cli_on_a_tiny_corpus(tmp_path, capsys):
    import gzip
    import json

    (tmp_path / "html").mkdir()
    page = (f"<html><head><title>Bridge vote</title></head><body><nav><a href='/'>Home</a></nav><article>"
            f"<h1>Bridge vote</h1><p>{ARTICLE}</p><p>{ARTICLE.replace('council', 'mayor')}</p></article>"
            "</body></html>")
    (tmp_path / "html" / "p1.html.gz").write_bytes(gzip.compress(page.encode()))
    (tmp_path / "ground-truth.json").write_text(json.dumps(
        {"p1": {"articleBody": ARTICLE + "\n\n" + ARTICLE.replace("council", "mayor"),
                "url": "https://example.com/bridge"}}))
    out = tmp_path / "report.json"
    assert B.main(["--corpus", str(tmp_path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "newsbeam" in printed and "trafilatura" in printed
    report = json.loads(out.read_text())
    assert report["results"]["newsbeam"]["f1"] == pytest.approx(1.0)
    assert report["pages"][0]["url"] == "https://example.com/bridge"


@pytest.mark.skipif(not CORPUS.exists(), reason="shared extraction benchmark not available")
def test_newsbeam_on_the_benchmark():
    """newsbeam's cleaning (no trafilatura-alone run, to stay fast): F1 and every rule's precision."""
    report = B.run(CORPUS, ("newsbeam",), explain=True, time_plain=False)
    result = report["results"]["newsbeam"]
    assert result["pages"] == 181
    assert result["f1"] >= 0.965, B.format_report(report)
    assert report["rules"], "no rule removed anything: the audit is not wired"
    bad = {rule: r for rule, r in report["rules"].items() if r["precision"] < 0.5}
    assert not bad, B.format_report(report)
