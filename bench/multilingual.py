"""The multilingual dev set (tests/stages/clean/multilingual.py: ja, zh, ko, th, ar, ru, tr in
three page templates, pages written for newsbeam) through the clean stage and trafilatura:
F1 with bench/extraction.py's metric, rejected pages, and per-page results.

    python bench/multilingual.py [--json OUT]
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


def run() -> dict:
    import trafilatura

    from pipeline.stages.base import Rejected
    from pipeline.stages.clean import to_clean_article
    from tests.stages.clean.multilingual import pages, truth

    B = _bench()
    rows, ours, theirs = [], [], []
    for page_id, story, _template, html in pages():
        row = {"page": page_id}
        try:
            article = to_clean_article({"html": html, "format": "html", "input_uri": page_id})
            text = article["text"]
            row.update(title=article["title"], authors=article["authors"],
                       published_at=article["published_at"],
                       published_precision=article.get("published_precision"))
        except Rejected as exc:
            text, row["rejected"] = "", exc.reason
        row["f1"] = B.score([(text, truth(story))])["f1"]
        if _template != "flat":  # (the flat template has no metadata but its <title>)
            row["time_ok"] = row.get("published_at") == story.published_utc
            row["authors_ok"] = row.get("authors") == [story.author]
        row["title_ok"] = row.get("title") == story.title
        rows.append(row)
        ours.append((text, truth(story)))
        theirs.append((trafilatura.extract(html) or "", truth(story)))
    def rate(key):
        judged = [r[key] for r in rows if key in r]
        return f"{sum(judged)}/{len(judged)}"

    return {"newsbeam": B.score(ours), "trafilatura": B.score(theirs),
            "rejected": sum("rejected" in r for r in rows), "title": rate("title_ok"),
            "authors": rate("authors_ok"), "time": rate("time_ok"), "pages": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    report = run()
    for row in report["pages"]:
        print(json.dumps(row, ensure_ascii=False))
    print(json.dumps({k: report[k] for k in ("newsbeam", "trafilatura", "rejected", "title", "authors", "time")}))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
