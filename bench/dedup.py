"""Dedup benchmark: newsbeam's identify -> ExactDedup -> NearDedup on a corpus with known truth.

Usage (from the repository root, virtualenv active)::

    python bench/make_corpus.py --n 20000 --out /tmp/nd20k
    python bench/dedup.py --corpus /tmp/nd20k [--runs 3] [--json OUT] [--no-beam]
                          [--near-threshold T] [--excerpt-threshold T] [--bands B] [--rows R]
                          [--anchors A] [--sample-every S] [--max-bucket M] [--sketch-size K]

What runs (no cleaning, no language detection, no NER):

* **pure**: the stage's functions in a plain loop: ``identify`` per article, then
  ``dedup_in_memory`` (exact collapse by id and by content hash, ``near_features`` per unique
  article, candidate pairs, verification on the sketches, greedy resolution);
* **beam**: ``ReadFromText -> parse -> ApplyStage(identify) -> ExactDedup -> NearDedup ->
  WriteToText`` on the FnApiRunner (one process), and the same pipeline without the two dedup
  transforms (read, parse, identify, write) as the baseline that isolates the dedup stage.

Reported:

* quality, from ``truth.jsonl``: a copy counts as found when it is in ``duplicates`` pointing at
  its original or at another copy of the same original, or when it is the article its family
  was folded into (the original is a duplicate pointing at it: e.g. a chrome-wrapped copy has
  more words than the original and ranks first). Recall per kind and per group; precision over
  all duplicate decisions (a decision is right when both articles derive from the same
  original; a distinct or mix article in a decision is always wrong), and per decision kind;
* throughput in articles/s on one core, median of ``--runs``, per wall second and per CPU
  second of the process (the machine may be shared): the stage's own per-article work
  (shingling, MinHash, keys, sketch: ``near_features``; the acceptance figure, per CPU
  second), ``identify`` (a stage of its own), the whole in-memory dedup, the Beam pipeline end
  to end, and the dedup stage inside Beam (pipeline minus baseline);
* state per article: the verification features that NearDedup shuffles (pickled), the
  candidate keys, the shingle set the previous design kept, and a streaming state built from
  the same parts.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ACCEPT_PRECISION = 0.99
ACCEPT_RECALL = 0.95
ACCEPT_THROUGHPUT = 3000
ACCEPT_GROUPS = ("edit<=10", "excerpt>=50")
STAGE_WORK = "pure features (shingles, MinHash, keys, sketch)"
# The acceptance figure: the whole dedup stage (exact + near, features included) without Beam.
STAGE_ALONE = "pure whole dedup in memory (exact + near, after identify)"
STREAM_BUDGET = 1024


# --------------------------------------------------------------------------- input


def to_record(obj: dict, offset: int = 0, input_uri: str = "articles.jsonl") -> dict:
    """A corpus line as the clean stage would hand it to identify."""
    return {
        "url": obj.get("url"),
        "source": obj.get("source"),
        "title": obj.get("title"),
        "text": obj.get("text") or "",
        "lang": "en",
        "published_at": obj.get("published") or obj.get("published_at"),
        "fetched_at": None,
        "authors": [],
        "provenance": {"input_uri": input_uri, "offset": offset, "format": "jsonl"},
    }


def parse_line(line: str) -> dict:
    # every URL is unique in the corpus, so the offset never decides anything: 0 in both runs
    return to_record(json.loads(line))


def load(corpus: Path, limit: Optional[int] = None) -> tuple[list[dict], dict[str, dict]]:
    records, truth = [], {}
    with open(corpus / "articles.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                break
            records.append(parse_line(line))
    with open(corpus / "truth.jsonl", encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            truth[t["id"]] = t
    return records, truth


# --------------------------------------------------------------------------- metric


class Outcome:
    """What dedup decided: kept ids and ``{dup_id: (duplicate_of, kind, similarity)}``."""

    def __init__(self, kept: Iterable[str], duplicates: dict[str, tuple]):
        self.kept = set(kept)
        self.duplicates = dict(duplicates)

    @classmethod
    def from_records(cls, kept: Iterable[dict], duplicates: Iterable[dict]) -> "Outcome":
        return cls((a["id"] for a in kept),
                   {d["id"]: (d["duplicate_of"], d["kind"], d["similarity"]) for d in duplicates})


def score(truth: dict[str, dict], outcome: Outcome) -> dict:
    """Recall per kind and group, precision over all duplicate decisions (see module doc)."""
    family = {i: t.get("family") for i, t in truth.items()}
    legit: dict[str, str] = {}  # family -> the article it was folded into
    for i, t in truth.items():
        if t["kind"] == "original":
            dup = outcome.duplicates.get(i)
            legit[t["family"]] = dup[0] if dup else i

    def found(i: str) -> bool:
        fam = family[i]
        dup = outcome.duplicates.get(i)
        if dup is not None:
            return family.get(dup[0]) == fam
        return legit.get(fam) == i

    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, t in truth.items():
        if i not in outcome.kept and i not in outcome.duplicates:
            continue  # not in this run (--limit)
        if t["family"] is None:
            ok = i not in outcome.duplicates  # distinct/mix: right when kept
        elif t["kind"] == "original":
            ok = i in outcome.kept or found(i)
        else:
            ok = found(i)
        for table, key in ((per_kind, t["kind"]), (per_group, t["group"])):
            table[key][0] += ok
            table[key][1] += 1

    right = Counter()
    total = Counter()
    wrong_examples = []
    for i, (target, kind, sim) in sorted(outcome.duplicates.items()):
        fam = family.get(i)
        ok = fam is not None and family.get(target) == fam
        total[kind] += 1
        right[kind] += ok
        if not ok and len(wrong_examples) < 20:
            wrong_examples.append({"id": i, "kind": truth.get(i, {}).get("kind"), "decision": kind,
                                   "similarity": sim, "target": target,
                                   "target_kind": truth.get(target, {}).get("kind")})
    near_total = total["near"] + total["excerpt"]
    near_right = right["near"] + right["excerpt"]
    return {
        "recall_by_group": {g: {"found": v[0], "n": v[1], "rate": v[0] / v[1]} for g, v in sorted(per_group.items())},
        "recall_by_kind": {k: {"found": v[0], "n": v[1], "rate": v[0] / v[1]} for k, v in sorted(per_kind.items())},
        "precision": sum(right.values()) / sum(total.values()) if total else 1.0,
        "near_precision": near_right / near_total if near_total else 1.0,
        "decisions": {k: {"right": right[k], "n": total[k]} for k in sorted(total)},
        "wrong_examples": wrong_examples,
    }


def _kind_order(kind: str) -> tuple:
    head, _, num = kind.partition("_")
    return (head, int(num) if num.isdigit() else -1)


def acceptance(quality: dict, stage_per_s: float) -> dict:
    """The issue's targets; ``stage_per_s``: the whole dedup stage without Beam, per CPU second."""
    out = {"near_precision": quality["near_precision"] >= ACCEPT_PRECISION,
           "precision": quality["precision"] >= ACCEPT_PRECISION,
           "throughput": stage_per_s >= ACCEPT_THROUGHPUT}
    for g in ACCEPT_GROUPS:
        out[f"recall {g}"] = quality["recall_by_group"].get(g, {"rate": 0})["rate"] >= ACCEPT_RECALL
    return out


# --------------------------------------------------------------------------- runs


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_pure(records: list[dict], params: dict) -> tuple[Outcome, dict, list]:
    from pipeline.stages import dedup

    with Clock() as t_identify:
        identified = [dedup.identify(r) for r in records]
    with Clock() as t_features:
        feats = [dedup.near_features(a, params["bands"], params["rows"], params["anchors"],
                                     params["sketch_size"], params["sample_every"]) for a in identified]
    with Clock() as t_all:
        kept, dups = dedup.dedup_in_memory(identified, dedup.NearDedupConfig(**params))
    timings = {"identify": (t_identify.wall, t_identify.cpu),
               "features": (t_features.wall, t_features.cpu),
               "in_memory_dedup": (t_all.wall, t_all.cpu)}
    return Outcome.from_records(kept, dups), timings, feats


def _beam_pipeline(corpus: Path, out: str, params: dict, dedup_stage: bool):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.stages.base import ApplyStage
    from pipeline.stages.dedup import STAGE_IDENTIFY, ExactDedup, NearDedup, NearDedupConfig, identify

    options = PipelineOptions(["--runner=FnApiRunner", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as p:
        records = (p | "Read" >> beam.io.ReadFromText(str(corpus / "articles.jsonl"))
                   | "Parse" >> beam.Map(parse_line))
        identified = (records | "Identify" >> ApplyStage(STAGE_IDENTIFY, identify)).records
        if dedup_stage:
            exact = identified | "ExactDedup" >> ExactDedup()
            kept, _rejects, dups = (exact.records, exact.duplicates) | "NearDedup" >> NearDedup(
                NearDedupConfig(**params))
            rows = ((kept | "KeptRows" >> beam.Map(lambda a: json.dumps(["k", a["id"]])),
                     dups | "DupRows" >> beam.Map(lambda d: json.dumps(
                         ["d", d["id"], d["duplicate_of"], d["kind"], d["similarity"]])))
                    | "Rows" >> beam.Flatten())
        else:
            rows = identified | "Rows" >> beam.Map(lambda a: json.dumps(["k", a["id"]]))
        rows | "Write" >> beam.io.WriteToText(out, shard_name_template="")


def run_beam(corpus: Path, params: dict, dedup_stage: bool = True) -> tuple[Outcome, tuple]:
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        out = os.path.join(tmp, "rows.jsonl")
        with Clock() as clock:
            _beam_pipeline(corpus, out, params, dedup_stage)
        kept, dups = [], {}
        with open(out, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row[0] == "k":
                    kept.append(row[1])
                else:
                    dups[row[1]] = (row[2], row[3], row[4])
    return Outcome(kept, dups), (clock.wall, clock.cpu)


# --------------------------------------------------------------------------- state


def state_sizes(feats: list, records: list[dict], sample: int = 2000) -> dict:
    """Bytes per article: what NearDedup keeps and shuffles, and a streaming state from it."""
    from pipeline.stages import dedup

    shuffled = [len(pickle.dumps(f._replace(keys=[]), protocol=pickle.HIGHEST_PROTOCOL)) for f in feats]
    sketch = [4 + len(f.sketch.hashes) for f in feats]  # count (uint32) + hashes
    keys = [len(f.keys) for f in feats]
    step = max(1, len(records) // sample)
    old_sets = [len(pickle.dumps(dedup.shingle_hashes(r["text"]), protocol=pickle.HIGHEST_PROTOCOL))
                for r in records[::step]]
    # what the streaming dedup (dedup_stream.py) keeps: one entry per bucket the article joins
    from pipeline.stages import dedup_stream

    stream = []
    for r in records[::step]:
        _key, buckets, entry = dedup_stream.sketch(dedup.identify(r))
        stream.append(len(buckets) * len(entry.encode()))
    # if the streaming dedup used the batch features: one record per article (8-byte id, 4-byte
    # word count, 4-byte publication time, the sketch) and one 8-byte id per key in its bucket
    batch_as_stream = [8 + 4 + 4 + s + 8 * k for s, k in zip(sketch, keys)]

    def stats(v):
        v = sorted(v)
        return {"mean": round(statistics.fmean(v), 1), "p50": v[len(v) // 2],
                "p99": v[min(len(v) - 1, int(0.99 * len(v)))], "max": v[-1]}

    return {"verification_features_pickled": stats(shuffled), "sketch": stats(sketch),
            "keys_per_article": stats(keys), "key_bytes": stats([8 * k for k in keys]),
            "previous_design_shingle_set_pickled": stats(old_sets),
            "streaming_state": stats(stream),
            "batch_features_as_streaming_state": stats(batch_as_stream),
            "streaming_within_budget": sum(s <= STREAM_BUDGET for s in stream) / len(stream)}


# --------------------------------------------------------------------------- report


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def median_rates(n: int, runs: list[tuple[float, float]]) -> dict:
    return {"wall_per_s": round(statistics.median(_rate(n, w) for w, _c in runs)),
            "cpu_per_s": round(statistics.median(_rate(n, c) for _w, c in runs)),
            "runs_wall_s": [round(w, 3) for w, _c in runs]}


def markdown(result: dict) -> str:
    q = result["quality"]
    lines = [f"corpus: {result['corpus']} ({result['n']} articles, {result['words_per_article']} words each on "
             f"average), params: {json.dumps(result['params'])}", ""]
    lines += ["| group | found / n | recall |", "|---|---|---|"]
    for g, v in q["recall_by_group"].items():
        lines.append(f"| {g} | {v['found']} / {v['n']} | {v['rate']:.4f} |")
    lines += ["", "| kind | found / n | recall |", "|---|---|---|"]
    for k in sorted(q["recall_by_kind"], key=_kind_order):
        if k.startswith("excerpt_"):
            continue
        v = q["recall_by_kind"][k]
        lines.append(f"| {k} | {v['found']} / {v['n']} | {v['rate']:.4f} |")
    buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for k, v in q["recall_by_kind"].items():
        if k.startswith("excerpt_"):
            pct = int(k.split("_")[1])
            lo = min(90, pct // 10 * 10)
            b = buckets[f"excerpt {lo}-{lo + 9}%"]
            b[0] += v["found"]
            b[1] += v["n"]
    for k in sorted(buckets):
        v = buckets[k]
        lines.append(f"| {k} | {v[0]} / {v[1]} | {v[0] / v[1]:.4f} |")
    lines += ["", f"precision (all duplicate decisions): {q['precision']:.4f}; "
                  f"near-dup precision (near + excerpt): {q['near_precision']:.4f}",
              "decisions: " + ", ".join(f"{k} {v['right']}/{v['n']}" for k, v in q["decisions"].items())]
    if q["wrong_examples"]:
        lines.append("first wrong decisions: " + "; ".join(
            f"{w['kind']} -> {w['target_kind']} ({w['decision']} {w['similarity']})" for w in q["wrong_examples"][:8]))
    t = result["throughput"]
    lines += ["", f"| throughput (articles/s, one core, median of {len(next(iter(t.values()))['runs_wall_s'])}) "
                  "| per wall s | per CPU s |", "|---|---|---|"]
    for name, v in t.items():
        if isinstance(v, dict) and "wall_per_s" in v:
            lines.append(f"| {name} | {v['wall_per_s']:,} | {v['cpu_per_s']:,} |")
    if "pure_over_beam_stage" in t:
        lines.append(f"\npure features / Beam dedup stage (CPU): {t['pure_over_beam_stage']:.1f}x; "
                     f"pure features / Beam end to end: {t['pure_over_beam_total']:.1f}x")
    if "beam_equals_pure" in result:
        lines.append(f"Beam decisions identical to the in-memory run: {result['beam_equals_pure']}")
    s = result["state"]
    lines += ["", "| state per article (bytes) | mean | p50 | p99 | max |", "|---|---|---|---|---|"]
    for name, v in s.items():
        if isinstance(v, dict):
            lines.append(f"| {name} | {v['mean']} | {v['p50']} | {v['p99']} | {v['max']} |")
    lines.append(f"\nstreaming state within {STREAM_BUDGET} bytes: {100 * s['streaming_within_budget']:.2f}% of articles")
    lines += ["", "acceptance: " + ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in result["acceptance"].items())
              + f" (throughput: {STAGE_ALONE}, per CPU second)"]
    if "load_average" in result:
        lines.append(f"load average at the end: {result['load_average']} (other processes share the cores)")
    return "\n".join(lines)


def main(argv=None) -> int:
    from pipeline.stages import dedup

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="directory from bench/make_corpus.py")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="first N articles only")
    ap.add_argument("--no-beam", action="store_true", help="pure functions only")
    ap.add_argument("--json", type=Path, default=None, help="also write the result as JSON")
    ap.add_argument("--near-threshold", type=float, default=dedup.NEAR_THRESHOLD)
    ap.add_argument("--excerpt-threshold", type=float, default=dedup.EXCERPT_THRESHOLD)
    ap.add_argument("--bands", type=int, default=dedup.NEAR_BANDS)
    ap.add_argument("--rows", type=int, default=dedup.NEAR_ROWS)
    ap.add_argument("--anchors", type=int, default=dedup.ANCHORS)
    ap.add_argument("--sample-every", type=int, default=dedup.SAMPLE_EVERY)
    ap.add_argument("--max-bucket", type=int, default=dedup.MAX_BUCKET)
    ap.add_argument("--sketch-size", type=int, default=dedup.SKETCH_SIZE)
    args = ap.parse_args(argv)
    params = {"near_threshold": args.near_threshold, "excerpt_threshold": args.excerpt_threshold,
              "bands": args.bands, "rows": args.rows, "anchors": args.anchors, "sample_every": args.sample_every, "max_bucket": args.max_bucket,
              "sketch_size": args.sketch_size}

    records, truth = load(args.corpus, args.limit)
    n = len(records)
    dedup.identify(records[0])  # build the text tables once, outside the timings

    pure_runs, outcome, feats = [], None, None
    for _ in range(args.runs):
        outcome, timings, feats = run_pure(records, params)
        pure_runs.append(timings)
    quality = score(truth, outcome)

    def runs_of(name):
        return [r[name] for r in pure_runs]

    per_article = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(runs_of("identify"), runs_of("features"))]
    throughput = {
        STAGE_WORK: median_rates(n, runs_of("features")),
        "pure identify (own stage: ids, content hash, word count)": median_rates(n, runs_of("identify")),
        "pure identify + features": median_rates(n, per_article),
        STAGE_ALONE: median_rates(n, runs_of("in_memory_dedup")),
    }
    words = sum(len(r["text"].split()) for r in records)
    result = {"corpus": str(args.corpus), "n": n, "words_per_article": round(words / n), "params": params,
              "quality": quality, "throughput": throughput}
    if not args.no_beam and args.limit is None:
        beam_runs, base_runs, beam_outcome = [], [], None
        for _ in range(args.runs):
            beam_outcome, clock = run_beam(args.corpus, params, dedup_stage=True)
            beam_runs.append(clock)
            _o, base = run_beam(args.corpus, params, dedup_stage=False)
            base_runs.append(base)
        stage = [(w - bw, c - bc) for (w, c), (bw, bc) in zip(beam_runs, base_runs)]
        throughput["beam end to end (read, identify, dedup, write)"] = median_rates(n, beam_runs)
        throughput["beam baseline (read, identify, write)"] = median_rates(n, base_runs)
        throughput["beam dedup stage (end to end minus baseline)"] = median_rates(n, stage)
        pure = throughput[STAGE_WORK]["cpu_per_s"]
        throughput["pure_over_beam_stage"] = pure / throughput["beam dedup stage (end to end minus baseline)"]["cpu_per_s"]
        throughput["pure_over_beam_total"] = pure / throughput["beam end to end (read, identify, dedup, write)"]["cpu_per_s"]
        result["beam_equals_pure"] = (beam_outcome.kept == outcome.kept
                                      and beam_outcome.duplicates == outcome.duplicates)
        result["beam_quality"] = {k: score(truth, beam_outcome)[k] for k in ("precision", "near_precision")}
    result["state"] = state_sizes(feats, records)
    result["acceptance"] = acceptance(quality, throughput[STAGE_ALONE]["cpu_per_s"])
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
