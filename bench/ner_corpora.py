"""Entity quality rules measured on whole corpora (no gold spans needed), per corpus:

* ``breaks``: entity rows (one per article, canonical, label) whose text spans a line break
  (must be 0);
* ``known_orgs``: mentions of the curated company/product names (``ORG_NAMES``) and the label they got;
* ``ai_place``: "AI" labelled GPE/LOC; ``georgia``: the country code "Georgia" got and its US context;
* ``common_aliases``: one-word canonical names that are common words aliased to a longer name;
* ``acronyms``: acronyms joined to their expansion within an article;
* ``with_entities``: share of articles with at least one entity, by detected language.

Corpora: ``bench`` = the ground-truth article bodies of /work/shared/corpus/extraction-benchmark
(181 news pages); ``seeds`` = the five seed articles; ``multi`` = tests/data/ner/multi.txt (the
project's French/German/Spanish/Italian... articles, markup as in tests/data/ner). Usage::

    python bench/ner_corpora.py [--corpus bench seeds multi] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))


def corpus(name: str) -> list[tuple[str, str]]:
    """``(id, text)`` of a corpus's articles."""
    if name == "bench":
        truth = json.loads((SHARED / "extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
        return [(k, v["articleBody"]) for k, v in sorted(truth.items()) if v.get("articleBody")]
    if name == "seeds":
        return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((SHARED / "seeds").glob("*.txt"))]
    if name == "multi":
        sys.path.insert(0, str(REPO / "bench"))
        import ner  # noqa: E402

        return [(d["id"], d["text"]) for d in ner.parse_markup((REPO / "tests/data/ner/multi.txt").read_text(
            encoding="utf-8"), "multi")]
    raise ValueError(name)


def measure(name: str, extract) -> dict:
    from pipeline.stages.entities import AliasCountsFn, alias_evidence, apply_aliases, gazetteer, summarise
    from pipeline.stages.language import detect_language

    docs = corpus(name)
    langs = [detect_language(t)[0] for _, t in docs]
    found = extract([t for _, t in docs], langs)
    fn = AliasCountsFn()
    acc = fn.create_accumulator()
    for ms in found:
        acc = fn.add_input(acc, alias_evidence(ms))
    table = fn.extract_output(acc)
    found = [apply_aliases(ms, table, gazetteer()) for ms in found]
    rows = [e for ms in found for e in summarise(ms)]
    breaks = [e["text"] for e in rows if "\n" in e["text"] or "\r" in e["text"]]
    from pipeline.stages.entities.labels import ORG_NAMES
    known = Counter((m["canonical"], m["label"]) for ms in found for m in ms if m["canonical"] in ORG_NAMES)
    by_lang: dict[str, list[int]] = {}
    for lang, ms in zip(langs, found):
        by_lang.setdefault(lang, [0, 0])
        by_lang[lang][0] += 1
        by_lang[lang][1] += bool(ms)
    return {
        "articles": len(docs), "rows": len(rows), "breaks": len(breaks), "break_examples": breaks[:8],
        "known_orgs": {f"{c}/{lab}": n for (c, lab), n in sorted(known.items())},
        "known_orgs_right": sum(n for (c, lab), n in known.items() if lab == "ORG"),
        "known_orgs_total": sum(known.values()),
        "ai_place": sum(1 for ms in found for m in ms if m["canonical"] == "AI" and m["label"] in ("GPE", "LOC")),
        "georgia": dict(Counter(f'{m["label"]}/{m.get("country_code")}' for ms in found for m in ms
                                if m["canonical"] == "Georgia")),
        "person_aliases": len(table.get("person", {})),
        "with_entities": {lang: f"{n_ent}/{n}" for lang, (n, n_ent) in sorted(by_lang.items())},
        "with_entities_share": round(sum(bool(ms) for ms in found) / max(1, len(found)), 3),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", nargs="*", default=["bench", "seeds", "multi"])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from pipeline.stages.entities import EntityExtractor
    try:  # multi-language extraction where the stage has it
        from pipeline.stages.entities import MultiExtractor

        multi = MultiExtractor()
        extract = multi.extract_many
    except ImportError:
        ex = EntityExtractor()
        extract = lambda texts, langs: [ex.extract(t) if l == "en" else [] for t, l in zip(texts, langs)]  # noqa: E731
    results = {}
    for name in args.corpus:
        try:
            results[name] = measure(name, extract)
        except (FileNotFoundError, ValueError) as e:
            results[name] = {"missing": str(e)}
        print(name, json.dumps(results[name], ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
