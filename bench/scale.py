"""Scale: memory and CPU per article as the input grows, and an append's cost as the tables grow.

Usage (from the repository root, virtualenv active)::

    python bench/scale.py [--ns 4000,32000,100000] [--append-n 1000] [--append-into 10000,100000]
                          [--date-span-days 30] [--work DIR] [--json OUT] [--cli-args "FLAGS"]

For every N in ``--ns`` and ``--append-into`` (sorted, each once): a corpus from
``bench/make_corpus.py --n N --seed 1 --date-span-days D`` (JSON lines; kept under ``--work`` for
the next run), then ``newsbeam run --input articles.jsonl --output OUT_N --no-entities`` with the
default options otherwise (so the default ``--segment-items``), measured by ``bench/perf.py``'s
``run_measured``: wall, CPU of the process tree, peak RSS of the whole process tree (``/proc``
sampled every 0.2 s). Then, for every N in ``--append-into``, a second corpus of ``--append-n``
articles (``--seed 2``: other copies of the same originals, so the append finds duplicates among
the stored rows) appended into OUT_N, measured the same way: what an hourly run costs when the
tables hold N articles.

``--date-span-days 30``: originals published over 30 days and copies up to 3 days later (a month
of news: every segment's days overlap every other's, the hard case for the history read; the
default corpus spreads over five years of the benchmark pages' own dates, ~1,500 day partitions).

Reported: per N the run's figures and CPU ms per input item; the acceptance ratios (issue 20):
peak tree RSS <= 3 GiB at every N, CPU per item at the largest N / at the smallest <= 1.2, append
wall time into the largest base / into the smallest <= 1.3. Medians need ``--runs`` > 1 (each run
starts from a fresh output).
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.perf import git_state, machine_info, run_measured  # noqa: E402  (one sampler for every benchmark)

GIB = 1024


def corpus(work: Path, n: int, seed: int, span: int) -> Path:
    where = work / f"corpus-{n}-s{seed}-d{span}"
    if not (where / "corpus.json").exists():
        subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), "--n", str(n), "--seed", str(seed),
                        "--date-span-days", str(span), "--out", str(where)], check=True, stdout=subprocess.DEVNULL)
    return where / "articles.jsonl"


def newsbeam(inputs: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "run", "--input", str(inputs), "--output", str(out),
            "--no-entities", *extra]


def manifest_row(out: Path) -> dict:
    manifest = json.loads((out / "_manifest.json").read_text())
    return {"counts": manifest["counts"], "segments": manifest["commit"].get("segments") or 1,
            "total_articles": manifest["tables"]["articles"]["total_rows"]}


def measured(cmd: list[str], log: Path, n_items: int) -> dict:
    result = run_measured(cmd, log)
    if result["exit"] != 0:
        raise SystemExit(f"{shlex.join(cmd)} exited {result['exit']}; see {log}")
    result["cpu_ms_per_item"] = 1000 * result["cpu_s"] / n_items
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ns", default="4000,32000,100000")
    ap.add_argument("--append-n", type=int, default=1000)
    ap.add_argument("--append-into", default="10000,100000")
    ap.add_argument("--date-span-days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/newsbeam-scale"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cli-args", default="", help="extra newsbeam run flags, one shell-quoted string")
    args = ap.parse_args(argv)
    ns = sorted({int(x) for x in args.ns.split(",") if x})
    bases = sorted({int(x) for x in args.append_into.split(",") if x})
    extra = shlex.split(args.cli_args)
    args.work.mkdir(parents=True, exist_ok=True)
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine_info(),
              "git": git_state(), "date_span_days": args.date_span_days, "cli_args": extra, "runs": {}, "appends": {}}
    append_input = corpus(args.work, args.append_n, 2, args.date_span_days) if bases else None
    for n in sorted(set(ns) | set(bases)):
        inputs = corpus(args.work, n, 1, args.date_span_days)
        tries = []
        for r in range(args.runs):
            out = args.work / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            row = measured(newsbeam(inputs, out, extra), args.work / f"run-{n}-{r}.log", n)
            row.update(manifest_row(out))
            tries.append(row)
            print(f"N={n} run {r + 1}: {row['wall_s']:.0f} s wall, {row['cpu_ms_per_item']:.1f} CPU ms/item, "
                  f"peak {row['peak_rss_mib']:.0f} MiB, {row['segments']} segment(s)", flush=True)
            if n in bases:
                appended = measured(newsbeam(append_input, out, extra), args.work / f"append-{n}-{r}.log",
                                    args.append_n)
                appended.update(manifest_row(out))
                report["appends"].setdefault(str(n), []).append(appended)
                print(f"  append {args.append_n} into {n}: {appended['wall_s']:.1f} s wall, "
                      f"peak {appended['peak_rss_mib']:.0f} MiB", flush=True)
        report["runs"][str(n)] = tries

    def median(rows, key):
        return statistics.median(r[key] for r in rows)

    summary = {str(n): {k: median(report["runs"][str(n)], k) for k in ("wall_s", "cpu_s", "cpu_ms_per_item",
                                                                        "peak_rss_mib")} for n in ns}
    checks = {"peak_rss_mib_max": max(v["peak_rss_mib"] for v in summary.values()),
              "peak_rss_within_3gib": all(v["peak_rss_mib"] <= 3 * GIB for v in summary.values())}
    if len(ns) > 1:
        ratio = summary[str(ns[-1])]["cpu_ms_per_item"] / summary[str(ns[0])]["cpu_ms_per_item"]
        checks.update(cpu_per_item_ratio=ratio, cpu_per_item_within_1_2x=ratio <= 1.2)
    if len(bases) > 1:
        walls = {b: median(report["appends"][str(b)], "wall_s") for b in bases}
        ratio = walls[bases[-1]] / walls[bases[0]]
        checks.update(append_wall_s=walls, append_ratio=ratio, append_within_1_3x=ratio <= 1.3)
    report.update(summary=summary, checks=checks)
    print(json.dumps({"summary": summary, "checks": checks}, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
