"""The performance harness (bench/perf.py) and the HTML pages of the corpus generator: a smoke run
on a tiny corpus (no timing assertions) and the generator's determinism."""
import html
import importlib.util
import json
import os
import re
import subprocess
import sys

import lxml.html
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
make_corpus = _load("bench_make_corpus", REPO / "bench" / "make_corpus.py")


def _generate(out, n, html_fraction=None, hashseed="0", date_span_days=None):
    cmd = [sys.executable, str(REPO / "bench" / "make_corpus.py"), "--n", str(n), "--out", str(out),
           "--corpus", str(BENCHMARK)]
    if html_fraction is not None:
        cmd += ["--html-fraction", str(html_fraction)]
    if date_span_days is not None:
        cmd += ["--date-span-days", str(date_span_days)]
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
    assert meta["html_pages"] == 20 and meta["n"] == 40 and meta["html_templates"] >= 50
    # whole real pages (their head, scripts, navigation) around the generated article
    templates = {t["template"] for t in truth if t["format"] == "html"}
    assert len(templates) == 20  # round robin over the templates
    ground = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    articles = {a["url"]: a for a in map(json.loads, lines)}
    plain = {json.loads(a)["url"]: json.loads(a) for a in
             _generate(tmp_path / "plain", 40)["articles.jsonl"].decode().splitlines()}
    for name in pages:
        page = first[name].decode()
        t = next(t for t in truth if t["file"] == name)
        assert t["url"] not in articles
        article = plain[t["url"]]
        assert page.startswith("<!DOCTYPE html>") and "<script" in page and len(page) > 20000
        doc = lxml.html.document_fromstring(page)
        assert [x.get("href") for x in doc.iter("link") if x.get("rel") == "canonical"] == [t["url"]], name
        assert {x.get("content") for x in doc.iter("meta") if x.get("property") == "og:url"} == {t["url"]}, name
        assert {x.get("content") for x in doc.iter("meta")
                if x.get("property") == "article:published_time"} == {article["published"]}, name
        assert doc.find(".//title").text.startswith(article["title"]), name
        text = re.sub(r"\s+", " ", html.unescape(page))
        for para in make_corpus.paragraphs(article["text"]):
            assert re.sub(r"\s+", " ", para) in text, name
        # the template's own article paragraphs are gone (unless the article is that story)
        body = ground[t["template"]]["articleBody"]
        longest = re.sub(r"\s+", " ", max(make_corpus.paragraphs(body), key=len))
        assert longest not in text or longest in re.sub(r"\s+", " ", article["text"]), name


def test_templates_are_real_pages_with_their_article_replaceable():
    templates = make_corpus.load_templates(BENCHMARK)
    ground = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    assert 50 <= len(templates) <= len(ground)
    for t in templates[:10]:
        n, cover, left = make_corpus.template_fit(t.page, ground[t.page_id]["articleBody"])
        assert n >= make_corpus.MIN_TEMPLATE_PARAS and cover >= make_corpus.MIN_TEMPLATE_COVER
        assert left <= make_corpus.MAX_TEMPLATE_LEFT


def test_date_span_keeps_the_texts_and_narrows_the_dates(tmp_path):
    wide = _generate(tmp_path / "wide", 300)
    narrow = _generate(tmp_path / "narrow", 300, date_span_days=7)
    assert narrow == _generate(tmp_path / "again", 300, date_span_days=7)
    wide_rows = [json.loads(x) for x in wide["articles.jsonl"].decode().splitlines()]
    rows = [json.loads(x) for x in narrow["articles.jsonl"].decode().splitlines()]
    assert [r["text"] for r in rows] == [r["text"] for r in wide_rows]  # same articles, other dates
    days = {r["published"][:10] for r in rows}
    assert len(days) <= 7 + 3 + 2  # originals within 7 days, copies up to 3 days later (5% before)
    assert len({r["published"][:10] for r in wide_rows}) > 100
    assert json.loads(narrow["corpus.json"])["date_span_days"] == 7


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
                      "--work", str(tmp_path / "work"), "--cli-args", "--max-feed-entries 1000",
                      "--only", "cli-noner-html,cli-noner,loop-noner,loop-noner-html,trafilatura,datasketch"])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    for key in ("date", "machine", "versions", "git", "corpus", "systems", "ratios", "runs",
                "load_average_before", "load_average_after", "runner_args", "raw_runs", "cli_args"):
        assert key in report, key
    assert set(report["systems"]) == {"cli-noner-html", "cli-noner", "loop-noner", "loop-noner-html",
                                      "trafilatura", "datasketch"}
    for name, system in report["systems"].items():
        for key in ("wall_s", "cpu_s", "peak_rss_mib", "runs_wall_s", "counts", "failed_runs"):
            assert key in system, (name, key)
    assert code == 0, {n: s.get("error") for n, s in report["systems"].items() if s["failed_runs"]}
    assert report["corpus"]["html_pages"] == 10 and report["corpus"]["jsonl_articles"] == 10
    assert report["corpus"]["date_span_days"] == perf.DATE_SPAN_DAYS and report["cli_args"] == ["--max-feed-entries",
                                                                                             "1000"]
    loop = report["systems"]["loop-noner"]
    assert list(loop["stages"]) == [s for s in perf.LOOP_STAGES if s in loop["stages"]]
    # the loop and the pipeline account for the same inputs and make the same decisions
    cli = report["systems"]["cli-noner"]["counts"]
    for key in ("inputs", "articles", "duplicates", "rejects"):
        assert loop["counts"][key] == cli[key], key
    names = {r["numerator"] + "/" + r["denominator"] for r in report["ratios"]}
    assert {"cli-noner-html/trafilatura", "cli-noner/loop-noner"} <= names
    assert "| system |" in printed and re.search(r"acceptance 1: .*(ok|NOT MET) \|", printed)


def test_cli_args_reach_every_cli_system(tmp_path):
    for name, spec in perf.SYSTEMS.items():
        cmd = perf.system_command(name, spec, tmp_path, tmp_path, tmp_path / "r.json", ("--extract-timeout", "0"))
        if spec["kind"] == "cli":
            assert cmd[-2:] == ["--extract-timeout", "0"], name
        else:
            assert "--extract-timeout" not in cmd, name


def test_default_systems_cover_the_acceptance_ratios():
    default = perf.choose_systems(set())
    assert list(default) == perf.DEFAULT_SYSTEMS
    assert all(spec["inputs"] == "html" for spec in default.values())
    accepted = [(num, den) for _label, num, den, _kind, target in perf.RATIOS if target and num in default]
    assert {("cli-noner-html", "trafilatura"), ("cli-noner-html", "loop-noner-html"),
            ("cli-ner-html", "loop-ner-html"), ("cli-ner-2cores-html", "cli-ner-html")} <= set(accepted)
    assert all(den in default for _num, den in accepted)
    assert "trafilatura-meta" in default
    assert set(perf.choose_systems(set(), {"all"})) == set(perf.SYSTEMS)
    mixed = perf.choose_systems(set(), {"mixed"}, {"2cores"})
    assert {"cli-noner", "loop-ner", "cli-ner-html"} <= set(mixed) and "cli-ner-2cores" not in mixed
    assert set(perf.choose_systems({"peer"})) == {"trafilatura", "trafilatura-meta", "trafilatura-2procs", "spacy",
                                                  "datasketch"}
    # both cores on both sides: newsbeam's 2-core run is compared with trafilatura in 2 processes too
    assert ("cli-noner-2cores-html", "trafilatura-2procs") in {(n, d) for _l, n, d, _k, _t in perf.RATIOS}
