"""Article-extraction benchmark: newsbeam's clean stage vs trafilatura alone.

Usage (from the repository root, virtualenv active)::

    python bench/extraction.py [--corpus DIR] [--json OUT] [--only newsbeam|trafilatura]

``DIR`` (default ``../shared/corpus/extraction-benchmark`` next to the repository) holds
``html/<page_id>.html.gz`` and ``ground-truth.json`` = ``{page_id: {"articleBody", "url"}}``.

For every page, in the same run:

* **newsbeam**: the file is read with ``pipeline.io.sources.read_file`` (same decoding as the
  pipeline), the item's ``url`` is set to the page URL from the ground truth (as a JSON input
  carrying a ``url`` would), and ``to_clean_article`` produces the cleaned ``text``; a page the
  stage rejects scores as empty text.
* **trafilatura**: ``trafilatura.extract(html, url=url)`` with its defaults, on the same
  decoded HTML string.

Only the URL is taken from the ground truth; its text is used for scoring, never for extracting.

Metric (our own implementation of the benchmark's definition): tokens are Unicode ``\\w+``
matches; shingles are all runs of 4 consecutive tokens (a text with 1-3 tokens has one shingle
of all of them; an empty text none).  Per page, over the shingle multisets: tp = sum of
min(true, predicted) counts, fp = sum of the predicted excess, fn = sum of the missed; then the
three are divided by their sum so every page weighs the same.  Precision is the mean over pages
with tp + fp > 0, recall the mean over pages with tp + fn > 0 (a page with fp = fn = 0 counts 1);
F1 is the harmonic mean of the two means.

Per-rule audit (newsbeam only, via ``explain_clean_article``): every line a cleaning rule
removed is "article" when most of its 4-token shingles occur in the ground truth (a line of 1-3
tokens: when its tokens occur contiguously in the truth), else "chrome"; a rule's precision is
chrome / removed.  Occurrences are counted as a multiset: a removed line only uses truth
shingles that the kept text and earlier removed lines have not accounted for, so the removed
second copy of a paragraph the truth has once is chrome, not article.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "extraction-benchmark"
SHINGLE = 4
EXTRACTORS = ("newsbeam", "trafilatura")

_TOKEN_RE = re.compile(r"\w+")  # str patterns are Unicode-aware


# --------------------------------------------------------------------------------------
# Metric
# --------------------------------------------------------------------------------------


def tokenize(text: Optional[str]) -> list[str]:
    return _TOKEN_RE.findall(text or "")


def shingles(tokens: Sequence[str], n: int = SHINGLE) -> Counter:
    """Multiset of n-token shingles; fewer than n tokens -> one shingle of them all."""
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def page_counts(predicted: Optional[str], truth: Optional[str]) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page, divided by their sum (all 0 when the sum is 0)."""
    pred = shingles(tokenize(predicted))
    true = shingles(tokenize(truth))
    tp = fp = fn = 0
    for sh in pred.keys() | true.keys():
        p, t = pred.get(sh, 0), true.get(sh, 0)
        tp += min(p, t)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def _page_precision(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    if tp == 0 and fp == 0:
        return 0.0
    return tp / (tp + fp)


def _page_recall(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    if tp == 0 and fn == 0:
        return 0.0
    return tp / (tp + fn)


def aggregate(counts: Iterable[tuple[float, float, float]]) -> dict:
    """Mean precision, mean recall and their harmonic mean over per-page counts."""
    counts = list(counts)
    precisions = [_page_precision(*c) for c in counts if c[0] + c[1] > 0]
    recalls = [_page_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = statistics.fmean(precisions) if precisions else 0.0
    r = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f1, "pages": len(counts)}


def score(pairs: Iterable[tuple[Optional[str], Optional[str]]]) -> dict:
    """Benchmark scores of ``(predicted, truth)`` text pairs."""
    return aggregate(page_counts(pred, truth) for pred, truth in pairs)


# --------------------------------------------------------------------------------------
# Removed-line audit
# --------------------------------------------------------------------------------------


class Truth:
    """A page's ground truth, for deciding whether removed lines were article text.

    Counts are multisets: a removed line only "uses" truth shingles that the kept text (and
    earlier removed lines) have not already accounted for.  So a removed second copy of an
    article paragraph that the truth has once is chrome (removing it lost nothing), while a
    line the truth really repeats (an interview question asked of every guest) is article.
    """

    def __init__(self, text: str, kept: str = ""):
        tokens, kept_tokens = tokenize(text), tokenize(kept)
        self._left = _grams(tokens)
        self._left.subtract(_grams(kept_tokens))

    def take_line(self, line: str) -> bool:
        """Is ``line`` article text (and consume its shingles from the truth)?

        Most of its 4-token shingles are left in the truth; a line of 1-3 tokens: its tokens
        occur contiguously in the truth (more often than already accounted for)."""
        tokens = tokenize(line)
        if not tokens:
            return False
        if len(tokens) < SHINGLE:
            grams = [tuple(tokens)]
        else:
            grams = [tuple(tokens[i:i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]
        found = 0
        for g in grams:
            if self._left[g] > 0:
                self._left[g] -= 1
                found += 1
        return found * 2 > len(grams)


def _grams(tokens: Sequence[str]) -> Counter:
    """All runs of 1..4 consecutive tokens (4-token shingles and the short-line lookups)."""
    out: Counter = Counter()
    for n in range(1, SHINGLE + 1):
        out.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def judge_lines(lines: Iterable[tuple[str, str]], truth_text: str, kept: str) -> list[tuple[str, str, bool]]:
    """``(rule, line, is_article)`` for one page's removed lines, in the order they were removed."""
    truth = Truth(truth_text, kept)
    return [(rule, line, truth.take_line(line)) for rule, line in lines]


def audit_rules(judged: Iterable[tuple[str, str, bool]]) -> dict:
    """``{rule: {"removed", "article", "precision"}}`` from ``(rule, line, is_article)``;
    precision = share of the removed lines that were not article text."""
    out: dict[str, dict] = {}
    for rule, _line, is_article in judged:
        row = out.setdefault(rule, {"removed": 0, "article": 0})
        row["removed"] += 1
        row["article"] += bool(is_article)
    for row in out.values():
        row["precision"] = (row["removed"] - row["article"]) / row["removed"]
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------
# Running the extractors
# --------------------------------------------------------------------------------------


def load_pages(corpus: Path) -> list[tuple[str, Path, dict]]:
    """``(page_id, html.gz path, truth)`` for every page in the ground truth, sorted by id."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        path = corpus / "html" / f"{page_id}.html.gz"
        if not path.exists():
            raise FileNotFoundError(path)
        pages.append((page_id, path, truth[page_id]))
    return pages


def read_item(path: Path, url: Optional[str]) -> dict:
    """The item the pipeline's reader builds for this file, with ``url`` set as a JSON input would."""
    from pipeline.io.sources import read_file

    items = [x for x in read_file(str(path), path.read_bytes()) if x.get("html")]
    if len(items) != 1:
        raise ValueError(f"{path}: the reader did not produce exactly one HTML item")
    item = dict(items[0])
    item["url"] = url
    return item


class _Clock:
    """Wall-clock and CPU seconds of a block (CPU time is steadier on a shared machine)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False


def run_newsbeam(item: dict, explain: bool = False) -> tuple[str, _Clock, list, Optional[str]]:
    """(text, clock, removed (rule, line) pairs, reject reason) for one item."""
    from pipeline.stages.base import Rejected
    from pipeline.stages.clean import explain_clean_article, to_clean_article

    text, lines, reason = "", [], None
    with _Clock() as clock:
        try:
            if explain:
                article, lines = explain_clean_article(item)
            else:
                article = to_clean_article(item)
            text = article["text"]
        except Rejected as exc:
            reason = exc.reason
    return text, clock, lines, reason


def run_trafilatura(html: str, url: Optional[str]) -> tuple[str, _Clock]:
    import trafilatura

    with _Clock() as clock:
        text = trafilatura.extract(html, url=url) or ""
    return text, clock


def run(corpus: Path = DEFAULT_CORPUS, extractors: Sequence[str] = EXTRACTORS,
        explain: bool = True, time_plain: bool = True, progress=None) -> dict:
    """Run the benchmark; returns ``{"results": {name: scores}, "rules": ..., "pages": [...]}``.

    newsbeam is timed on ``to_clean_article``; the per-rule audit (``explain``) runs
    ``explain_clean_article`` separately (untimed) and checks that it produced the same text.
    ``time_plain=False`` (tests) runs only ``explain_clean_article``, timed, to save time.
    """
    import trafilatura  # noqa: F401  (import cost outside the timings)
    import pipeline.stages.clean  # noqa: F401

    pages = load_pages(corpus)
    per_page = []
    audit: list[tuple[str, str, bool]] = []
    for n, (page_id, path, gt) in enumerate(pages, 1):
        url, body = gt.get("url") or None, gt.get("articleBody") or ""
        item = read_item(path, url)
        row = {"page_id": page_id, "url": url}
        if "newsbeam" in extractors:
            if time_plain or not explain:
                text, clock, _, reason = run_newsbeam(item)
            if explain:
                text2, clock2, lines, reason = run_newsbeam(item, explain=True)
                if time_plain and text2 != text:
                    raise AssertionError(f"{page_id}: explain_clean_article differs from to_clean_article")
                if not time_plain:
                    text, clock = text2, clock2
            row["newsbeam"] = {"counts": page_counts(text, body), "ms": clock.wall * 1000,
                               "cpu_ms": clock.cpu * 1000, "rejected": reason}
            if explain:
                judged = judge_lines(lines, body, text)
                audit.extend(judged)
                row["newsbeam"]["removed_lines"] = judged
        if "trafilatura" in extractors:
            text, clock = run_trafilatura(item["html"], url)
            row["trafilatura"] = {"counts": page_counts(text, body), "ms": clock.wall * 1000,
                                  "cpu_ms": clock.cpu * 1000}
        per_page.append(row)
        if progress:
            progress(n, len(pages))
    results = {}
    for name in extractors:
        res = aggregate(r[name]["counts"] for r in per_page)
        res["median_ms"] = statistics.median(r[name]["ms"] for r in per_page)
        res["median_cpu_ms"] = statistics.median(r[name]["cpu_ms"] for r in per_page)
        if name == "newsbeam":
            res["rejected"] = sum(1 for r in per_page if r[name]["rejected"])
        results[name] = res
    return {"results": results, "rules": audit_rules(audit) if audit else {}, "pages": per_page}


def format_report(report: dict) -> str:
    out = [f"{'extractor':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'median ms/page':>15} {'(CPU ms)':>9}"]
    for name, r in report["results"].items():
        out.append(f"{name:<12} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} "
                   f"{r['median_ms']:>15.1f} {r['median_cpu_ms']:>9.1f}")
    if report["rules"]:
        out += ["", f"{'rule':<18} {'removed':>7} {'article':>7} {'precision':>9}"]
        for rule, r in report["rules"].items():
            out.append(f"{rule:<18} {r['removed']:>7} {r['article']:>7} {r['precision']:>9.3f}")
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--json", type=Path, help="write the full report (per page too) here")
    ap.add_argument("--only", choices=EXTRACTORS, help="run one extractor")
    args = ap.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # `python bench/extraction.py` without an installed package
    report = run(args.corpus, (args.only,) if args.only else EXTRACTORS)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
