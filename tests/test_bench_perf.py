"""The performance harness (bench/perf.py) and the HTML pages of the corpus generator: a smoke run
on a tiny corpus (no timing assertions) and the generator's determinism."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, SHARED

BENCHMARK = SHARED / "corpus" / "extraction-benchmark"

pytestmark = pytest.mark.skipif(not (BENCHMARK / "ground-truth.json").exists(),
                                reason="../shared/corpus/extraction-benchmark not present")


def _load(name: str, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


perf = _load("bench_perf", REPO / "bench" / "perf.py")


def _generate(out, n, html_fraction=None, hashseed="0"):
    cmd = [sys.executable, str(REPO / "bench" / "make_corpus.py"), "--n", str(n), "--out", str(out),
           "--corpus", str(BENCHMARK)]
    if html_fraction is not None:
        cmd += ["--html-fraction", str(html_fraction)]
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, PYTHONHASHSEED=hashseed))
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_html_pages_are_deterministic_and_mixed_with_text(tmp_path):
    first = _generate(tmp_path / "a", 40, 0.5, hashseed="0")
    second = _generate(tmp_path / "b", 40, 0.5, hashseed="1")
    assert first == second  # byte-identical, whatever the hash seed
    pages = [k for k in first if k.startswith("html/")]
    assert len(pages) == 20
    lines = first["articles.jsonl"].decode().splitlines()
    assert len(lines) == 20
    truth = [json.loads(line) for line in first["truth.jsonl"].decode().splitlines()]
    assert sorted(t["file"] for t in truth if t["format"] == "html") == sorted(pages)
    meta = json.loads(first["corpus.json"])
    assert meta["html_pages"] == 20 and meta["n"] == 40
    page = first[pages[0]].decode()
    t = next(t for t in truth if t["file"] == pages[0])
    for needle in ("<!DOCTYPE html>", "<title>", 'property="og:title"', 'property="og:site_name"',
                   'property="article:published_time"', f'<link rel="canonical" href="{t["url"]}">',
                   "<article", "<h1>", "<p>", "Related", "newsletter", "All rights reserved"):
        assert needle in page, needle


def test_without_html_pages_the_corpus_is_unchanged(tmp_path):
    plain = _generate(tmp_path / "plain", 30)
    zero = _generate(tmp_path / "zero", 30, 0)
    assert plain == zero
    assert not any(k.startswith("html/") for k in plain)
    assert "format" not in json.loads(plain["truth.jsonl"].decode().splitlines()[0])


def test_pages_keep_the_article_ids(tmp_path):
    """A page's canonical link is the article's URL: newsbeam gives the page the id it gives the
    same article as a JSON line, and finds its title and date."""
    from pipeline.io.sources import read_file
    from pipeline.stages.clean import canonical_url, to_clean_article
    from pipeline.stages.dedup import article_id, identify

    files = _generate(tmp_path / "c", 12, 1.0)
    truth = {t["file"]: t for t in map(json.loads, files["truth.jsonl"].decode().splitlines())}
    for name, data in files.items():
        if not name.startswith("html/"):
            continue
        (item,) = list(read_file(str(tmp_path / "c" / name), data))
        article = identify(dict(to_clean_article(item), lang="en"))
        assert article["id"] == article_id(canonical_url(truth[name]["url"]), "")
        assert article["published_at"] is not None and article["title"]


def test_harness_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "perf.json"
    code = perf.main(["--n", "20", "--runs", "1", "--corpus", str(tmp_path / "corpus"), "--json", str(out),
                      "--work", str(tmp_path / "work"),
                      "--only", "cli-noner-html,cli-noner,loop-noner,loop-noner-html,trafilatura,datasketch"])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    for key in ("date", "machine", "versions", "git", "corpus", "systems", "ratios", "runs",
                "load_average_before", "load_average_after", "runner_args", "raw_runs"):
        assert key in report, key
    assert set(report["systems"]) == {"cli-noner-html", "cli-noner", "loop-noner", "loop-noner-html",
                                      "trafilatura", "datasketch"}
    for name, system in report["systems"].items():
        for key in ("wall_s", "cpu_s", "peak_rss_mib", "runs_wall_s", "counts", "failed_runs"):
            assert key in system, (name, key)
    assert code == 0, {n: s.get("error") for n, s in report["systems"].items() if s["failed_runs"]}
    assert report["corpus"]["html_pages"] == 10 and report["corpus"]["jsonl_articles"] == 10
    loop = report["systems"]["loop-noner"]
    assert list(loop["stages"]) == [s for s in perf.LOOP_STAGES if s in loop["stages"]]
    # the loop and the pipeline account for the same inputs and make the same decisions
    cli = report["systems"]["cli-noner"]["counts"]
    for key in ("inputs", "articles", "duplicates", "rejects"):
        assert loop["counts"][key] == cli[key], key
    names = {r["numerator"] + "/" + r["denominator"] for r in report["ratios"]}
    assert {"cli-noner-html/trafilatura", "cli-noner/loop-noner"} <= names
    assert "| system |" in printed and re.search(r"acceptance 1: .*(ok|NOT MET) \|", printed)
