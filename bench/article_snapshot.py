"""Snapshot of what the clean stage makes of the extraction-benchmark pages (or any folder of
HTML pages), for before/after comparisons of a change: one JSON line per page with the
article's text, title, authors, dates, site name and word count (or the reject reason), plus
the benchmark's F1 (bench/extraction.py's metric) when the corpus has ground truth.

    python bench/article_snapshot.py OUT.jsonl [--corpus DIR]
    python bench/article_snapshot.py --diff BEFORE.jsonl AFTER.jsonl
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _bench():
    spec = importlib.util.spec_from_file_location("bench_extraction", HERE / "extraction.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


FIELDS = ("title", "authors", "published_at", "published_precision", "site_name", "url", "text")


def snapshot(corpus: Path, out: Path) -> dict:
    from pipeline.stages.base import Rejected
    from pipeline.stages.clean import to_clean_article
    from pipeline.stages.identify import identify

    B = _bench()
    pairs = []
    with out.open("w", encoding="utf-8") as fh:
        for page_id, path, truth in B.load_pages(corpus):
            item = B.read_item(path, truth.get("url"))
            row = {"page": page_id}
            try:
                article = to_clean_article(item)
                row.update({k: article.get(k) for k in FIELDS})
                row["word_count"] = identify(article)["word_count"]  # the record's
                row["date_source"] = article["provenance"].get("date_source")
            except Rejected as exc:
                row["rejected"] = exc.reason
            pairs.append((row.get("text") or "", truth.get("articleBody")))
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return B.score(pairs)


def diff(before: Path, after: Path) -> None:
    a = {r["page"]: r for r in map(json.loads, before.open(encoding="utf-8"))}
    b = {r["page"]: r for r in map(json.loads, after.open(encoding="utf-8"))}
    changed = {}
    for page in sorted(a):
        for key in sorted(set(a[page]) | set(b.get(page, {}))):
            if a[page].get(key) != b.get(page, {}).get(key):
                changed.setdefault(key, []).append(page)
                if key != "text":
                    print(f"{page[:12]} {key}: {a[page].get(key)!r} -> {b[page].get(key)!r}")
                else:
                    print(f"{page[:12]} text: {len(a[page].get(key) or '')} -> {len(b[page].get(key) or '')} chars")
    print({k: len(v) for k, v in changed.items()} or "identical")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus" / "extraction-benchmark")
    ap.add_argument("--diff", nargs=2, type=Path)
    args = ap.parse_args(argv)
    if args.diff:
        diff(*args.diff)
        return 0
    print(json.dumps(snapshot(args.corpus, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
