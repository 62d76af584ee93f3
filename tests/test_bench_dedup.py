"""The dedup benchmark: corpus generator (determinism, truth labels), metric, and a small run."""
import importlib.util
import json
import os
import random
import re
import subprocess
import sys

import pytest

from pipeline.stages import dedup
from pipeline.stages.dedup import article_id, dedup_in_memory, identify, normalise_for_hash
from tests.conftest import REPO, SHARED

BENCHMARK = SHARED / "corpus" / "extraction-benchmark"


def _load(name: str, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # Beam pickles bench functions by reference
        spec.loader.exec_module(module)
    return sys.modules[name]


make_corpus = _load("bench_make_corpus", REPO / "bench" / "make_corpus.py")
bench = _load("bench_dedup", REPO / "bench" / "dedup.py")

VOCAB = ("the of and to in a is that for on with was said council river bridge budget mayor vote "
         "transit library grant design engineer station harbour school teacher parent market "
         "festival storm road police court judge report hospital doctor nurse patient farmer "
         "harvest price energy wind solar turbine cable ferry port museum").split()


def _sentence(rnd: random.Random) -> str:
    return " ".join(rnd.choice(VOCAB) for _ in range(rnd.randint(8, 16))).capitalize() + "."


@pytest.fixture(scope="module")
def mini_truth(tmp_path_factory):
    """Eight handmade bodies of 4-7 paragraphs, in the benchmark's ground-truth format."""
    rnd = random.Random(0)
    truth = {}
    for i in range(8):
        paras = [" ".join(_sentence(rnd) for _ in range(rnd.randint(3, 5))) for _ in range(rnd.randint(4, 7))]
        truth[f"page{i:02d}"] = {"articleBody": "\n\n".join(paras), "url": f"https://news{i}.example/story-{i}"}
    folder = tmp_path_factory.mktemp("mini-truth")
    (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return folder


def _generate(gt, out, n=150, seed=1, hashseed="0"):
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), "--n", str(n), "--out", str(out),
                    "--seed", str(seed), "--corpus", str(gt)], check=True, env=env, capture_output=True)
    return (out / "articles.jsonl").read_bytes(), (out / "truth.jsonl").read_bytes()


def _read(folder):
    articles = [json.loads(line) for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    truth = [json.loads(line) for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    return articles, truth


# ---------------------------------------------------------------- corpus generator

def test_make_corpus_is_deterministic_for_a_seed(mini_truth, tmp_path):
    first = _generate(mini_truth, tmp_path / "a", hashseed="0")
    again = _generate(mini_truth, tmp_path / "b", hashseed="12345")  # no set-order dependence
    other = _generate(mini_truth, tmp_path / "c", seed=2)
    assert first == again
    assert first != other


def _words(text):
    return re.findall(r"\w+", text.casefold())


def _shingles(text):
    w = _words(text)
    return {tuple(w[i:i + 5]) for i in range(max(1, len(w) - 4))}


def test_make_corpus_labels_tell_the_truth(mini_truth, tmp_path):
    _generate(mini_truth, tmp_path, n=150)
    articles, truth = _read(tmp_path)
    assert len(articles) == len(truth) == 150
    assert len({a["url"] for a in articles}) == 150
    bodies = {v["url"]: v["articleBody"] for v in json.loads((mini_truth / "ground-truth.json").read_text()).values()}
    kinds = {t["kind"].split("_")[0] for t in truth}
    assert {"original", "exact", "edit", "excerpt", "chrome", "distinct"} <= kinds
    for a, t in zip(articles, truth):
        assert t["url"] == a["url"] and t["id"] == article_id(a["url"], a["text"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["published"]) and a["source"] in a["url"]
        kind, family = t["kind"], t["family"]
        if kind in ("distinct", "mix"):
            assert family is None
            for body in bodies.values():  # no long verbatim runs from any original
                sh = _shingles(a["text"])
                assert len(sh & _shingles(body)) / len(sh) <= (0.5 if kind == "mix" else 0.2)
            continue
        original = bodies[family]
        if kind == "original":
            assert a["text"] == original.strip() and a["url"] == family
        elif kind == "exact":
            assert a["url"] != family and normalise_for_hash(a["text"]) == normalise_for_hash(original)
        elif kind.startswith("edit_"):
            k = int(kind.split("_")[1])
            assert t["k"] == k and t["group"] == ("edit<=10" if k <= 10 else "edit>=20")
            assert normalise_for_hash(a["text"]) != normalise_for_hash(original)
            changed = abs(len(_words(a["text"])) - len(_words(original)))
            assert changed <= round(len(original.split()) * k / 100)
        elif kind.startswith("excerpt_"):
            pct = int(kind.split("_")[1])
            assert t["pct"] == pct and t["group"] == ("excerpt>=50" if pct >= 50 else "excerpt<50")
            assert normalise_for_hash(a["text"]) in normalise_for_hash(original)
            assert pct == len(_words(a["text"])) * 100 // len(_words(original))
        else:
            assert kind == "chrome" and t["chrome_words"] > 0
            assert all(p in a["text"] for p in original.split("\n\n"))
            assert len(_words(a["text"])) == len(_words(original)) + t["chrome_words"]
    distinct = [_shingles(a["text"]) for a, t in zip(articles, truth) if t["kind"] == "distinct"]
    for i, x in enumerate(distinct):  # distinct articles are not near-dups of each other
        for y in distinct[i + 1:]:
            assert len(x & y) / len(x | y) < 0.3


# ---------------------------------------------------------------- metric

def _t(kind, family, group=None):
    return {"kind": kind, "family": family, "group": group or kind.split("_")[0]}


def test_score_counts_copies_found_via_family_and_decisions_by_family():
    truth = {
        "o1": _t("original", "F1"), "e1": _t("exact", "F1"), "c1": _t("chrome", "F1"),
        "x1": _t("edit_5", "F1", "edit<=10"), "m1": _t("excerpt_60", "F1", "excerpt>=50"),
        "o2": _t("original", "F2"), "x2": _t("edit_8", "F2", "edit<=10"),
        "d1": _t("distinct", None), "d2": _t("distinct", None),
    }
    outcome = bench.Outcome(
        kept=["c1", "o2", "x2", "d1"],
        duplicates={
            "o1": ("c1", "excerpt", 1.0),  # the family was folded into its chrome copy: c1 counts found
            "e1": ("c1", "exact", 1.0),
            "x1": ("o1", "near", 0.4),  # into its own family: found
            "m1": ("d1", "excerpt", 0.9),  # wrong family: missed, and a wrong decision
            "d2": ("d1", "near", 0.35),  # a distinct article merged: wrong
        })
    q = bench.score(truth, outcome)
    g = q["recall_by_group"]
    assert g["chrome"]["rate"] == 1.0 and g["exact"]["rate"] == 1.0 and g["original"]["rate"] == 1.0
    assert g["edit<=10"] == {"found": 1, "n": 2, "rate": 0.5}  # x2 left canonical next to o2
    assert g["excerpt>=50"]["rate"] == 0.0 and g["distinct"] == {"found": 1, "n": 2, "rate": 0.5}
    assert q["precision"] == 3 / 5 and q["near_precision"] == 2 / 4
    assert q["decisions"]["exact"] == {"right": 1, "n": 1}
    assert {w["id"] for w in q["wrong_examples"]} == {"m1", "d2"}
    assert bench.acceptance(q, 5000)["throughput"] and not bench.acceptance(q, 5000)["recall edit<=10"]


def test_the_benchmark_runs_on_a_small_corpus(mini_truth, tmp_path, capsys):
    _generate(mini_truth, tmp_path / "c", n=120)
    out = tmp_path / "result.json"
    assert bench.main(["--corpus", str(tmp_path / "c"), "--runs", "1", "--no-beam", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["n"] == 120 and result["state"]["streaming_state"]["max"] <= 1024
    assert "| edit<=10 |" in capsys.readouterr().out


# ---------------------------------------------------------------- the real benchmark, small

@pytest.mark.skipif(not (BENCHMARK / "ground-truth.json").exists(), reason="../shared/corpus/extraction-benchmark not present")
def test_dedup_meets_the_acceptance_thresholds_on_2000_benchmark_articles(tmp_path):
    bodies = make_corpus.load_bodies(BENCHMARK)
    articles, truth, _meta = make_corpus.build(bodies, 2000, seed=3)
    make_corpus.write(tmp_path, articles, truth, _meta)
    records, truth_by_id = bench.load(tmp_path)
    kept, dups = dedup_in_memory([identify(r) for r in records])
    outcome = bench.Outcome.from_records(kept, dups)
    q = bench.score(truth_by_id, outcome)
    assert q["precision"] >= 0.99 and q["near_precision"] >= 0.99
    assert q["recall_by_group"]["edit<=10"]["rate"] >= 0.95
    assert q["recall_by_group"]["excerpt>=50"]["rate"] >= 0.95
    # the Beam transforms decide exactly the same, whatever the order the file is read in
    params = {"near_threshold": dedup.NEAR_THRESHOLD, "excerpt_threshold": dedup.EXCERPT_THRESHOLD,
              "bands": dedup.NEAR_BANDS, "rows": dedup.NEAR_ROWS, "anchors": dedup.ANCHORS, "sample_every": dedup.SAMPLE_EVERY,
              "max_bucket": dedup.MAX_BUCKET, "sketch_size": dedup.SKETCH_SIZE}
    beam_outcome, _clock = bench.run_beam(tmp_path, params)
    assert beam_outcome.kept == outcome.kept and beam_outcome.duplicates == outcome.duplicates
