"""NER benchmark: the spaCy model's raw spans vs newsbeam's post-processing, and throughput.

Usage (from the repository root, virtualenv active)::

    python bench/ner.py [--model NAME] [--runs 3] [--json OUT]
    python bench/ner.py --build-fixtures     # tests/data/ner/*.txt markup -> *.jsonl with spans

Test sets (``tests/data/ner``, written by the project; see its README): ``gold`` (the
post-processing was tuned on it) and ``heldout`` (written separately, never tuned on).

Scores, micro-averaged over all gold spans of a set:

* **strict span F1**: a predicted mention counts only if ``(start, end, label)`` equals a gold span.
* **entity F1**: per article, the set of ``(canonical, label)`` against the gold set of
  ``(canonical, label)``: what a consumer asking "articles about Xi Jinping" gets. The raw model's
  canonical name is its surface text.

Systems: ``raw`` = the model's spans (``EntityExtractor.raw_many``); ``raw+trim`` = an ablation,
the raw spans cut by ``name_bounds`` only (the gold spans exclude "the", titles and possessives,
as CoNLL does; OntoNotes, the model's training data, often includes "the"), so part of the gain
is that convention; ``post`` = ``extract_many``
(spans cut to the name, document-level labels and names, places); ``post+aliases`` = ``post`` plus
the run-level alias table built over the set's articles, as the pipeline does over a run.

Throughput: words (whitespace tokens) per CPU second (``time.process_time``, one process, so one
core), model with only its NER components, ``nlp.pipe`` batches of 32; texts = the seeds (if
present) and both test sets; median of ``--runs`` runs, for the raw model and for the full
``extract_many``.
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
from typing import Iterable, Optional

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "ner"
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
SETS = ("gold", "heldout")

_MARK = re.compile(r"\[([^\]]+)\]\(([A-Z_]+)(?:\|([^)]+))?\)")


def parse_markup(source: str, prefix: str) -> list[dict]:
    """Markup (``[surface](LABEL|Canonical)``; blank-line separated articles, one sentence per
    line, ``#`` comments) -> ``{"id", "text", "sentences", "spans"}`` with character offsets."""
    docs, block = [], []
    for line in source.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if line.strip():
            block.append(line.strip())
            continue
        if not block:
            continue
        text, spans = "", []
        for k, sentence in enumerate(block):
            if k:
                text += " "
            pos = 0
            for m in _MARK.finditer(sentence):
                text += sentence[pos:m.start()]
                start = len(text)
                text += m.group(1)
                spans.append({"start": start, "end": len(text), "label": m.group(2),
                              "canonical": m.group(3) or m.group(1)})
                pos = m.end()
            text += sentence[pos:]
        docs.append({"id": f"{prefix}-{len(docs) + 1:03d}", "text": text, "sentences": len(block), "spans": spans})
        block = []
    return docs


def load_multi() -> list[dict]:
    """``tests/data/ner/multi.txt``: articles in several languages (``"lang"`` from the ``# lang: xx``
    comment before each), parsed like the other sets."""
    docs, lang, block = [], None, []

    def flush():
        if block:
            for d in parse_markup("\n".join(block), "multi"):
                d["id"] = f"multi-{len(docs) + 1:03d}"
                d["lang"] = lang
                docs.append(d)
            block.clear()

    for line in (DATA / "multi.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# lang:"):
            flush()
            lang = line.split(":", 1)[1].strip()
        elif not line.startswith("#"):
            block.append(line)
    flush()
    return docs


#: CoNLL-style classes for the multi-language scores: the models of other languages (WikiNER) have
#: PER/ORG/LOC/MISC only, so GPE, LOC and FAC count as LOC, and other labels are left out.
CONLL = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}


def score_conll(docs: list[dict], predicted: list[list[dict]]) -> dict:
    """Strict span F1 over PER/ORG/LOC (:data:`CONLL`), and the same for places only (LOC)."""
    out = {}
    for name, keep in (("per_org_loc", {"PER", "ORG", "LOC"}), ("places", {"LOC"})):
        c = Counter()
        for doc, mentions in zip(docs, predicted):
            gold = {(s["start"], s["end"], CONLL[s["label"]]) for s in doc["spans"] if CONLL.get(s["label"]) in keep}
            pred = {(m["start"], m["end"], CONLL[m["label"]]) for m in mentions if CONLL.get(m["label"]) in keep}
            c["tp"] += len(gold & pred); c["fp"] += len(pred - gold); c["fn"] += len(gold - pred)
        out[name] = prf(c["tp"], c["fp"], c["fn"])
    return out


def evaluate_multi(runs: int = 1) -> dict:
    """Per language: before (the English model only, as newsbeam had: other languages got no
    entities; and, for reference, the English model run on them anyway) and after (the model of the
    language, else the gazetteer fallback); throughput of each language's path."""
    from pipeline.stages.entities import EntityExtractor, MultiExtractor

    docs = load_multi()
    english = EntityExtractor()
    multi = MultiExtractor()
    results: dict = {}
    for lang in sorted({d["lang"] for d in docs}):
        sub = [d for d in docs if d["lang"] == lang]
        texts = [d["text"] for d in sub]
        after = multi.extract_many(texts, [lang] * len(texts))
        words = sum(len(t.split()) for t in texts)
        rates = []
        for _ in range(runs):
            t0 = time.process_time()
            multi.extract_many(texts, [lang] * len(texts))
            rates.append(words / max(1e-9, time.process_time() - t0))
        results[lang] = {
            "articles": len(sub), "sentences": sum(d["sentences"] for d in sub),
            "gold_spans": sum(len(d["spans"]) for d in sub),
            "path": "model " + multi.models[lang] if lang in multi.models else "gazetteer fallback",
            "before": score_conll(sub, [[] for _ in sub]),
            "english_model": score_conll(sub, english.extract_many(texts)),
            "after": score_conll(sub, after),
            "words_per_cpu_s": round(statistics.median(rates)),
        }
    return results


def load_set(name: str) -> list[dict]:
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_fixtures() -> None:
    for name in SETS:
        docs = parse_markup((DATA / f"{name}.txt").read_text(encoding="utf-8"), name)
        with open(DATA / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{name}: {len(docs)} articles, {sum(d['sentences'] for d in docs)} sentences, "
              f"{sum(len(d['spans']) for d in docs)} spans")


# --------------------------------------------------------------------------- scoring

def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def score(docs: list[dict], predicted: list[list[dict]]) -> dict:
    """Strict span and entity (canonical, label) scores of predicted mentions against the gold."""
    span, ent = Counter(), Counter()
    for doc, mentions in zip(docs, predicted):
        gold = {(s["start"], s["end"], s["label"]) for s in doc["spans"]}
        pred = {(m["start"], m["end"], m["label"]) for m in mentions}
        span["tp"] += len(gold & pred); span["fp"] += len(pred - gold); span["fn"] += len(gold - pred)
        gold_e = {(s["canonical"], s["label"]) for s in doc["spans"]}
        pred_e = {(m["canonical"], m["label"]) for m in mentions}
        ent["tp"] += len(gold_e & pred_e); ent["fp"] += len(pred_e - gold_e); ent["fn"] += len(gold_e - pred_e)
    return {"span": prf(span["tp"], span["fp"], span["fn"]), "entity": prf(ent["tp"], ent["fp"], ent["fn"])}


def systems(extractor, docs: list[dict]) -> dict[str, list[list[dict]]]:
    """Mentions of every doc under each system (raw, post, post+aliases)."""
    from pipeline.stages.entities import AliasCountsFn, alias_evidence, apply_aliases, name_bounds

    texts = [d["text"] for d in docs]
    raw = extractor.raw_many(texts)
    trimmed = []  # ablation: only the span boundaries (no "the", possessive, title), labels as the model said
    for mentions, text in zip(raw, texts):
        cut = []
        for m in mentions:
            lo, hi = name_bounds(m["text"], m["label"])
            start, end = m["start"] + lo, m["start"] + hi
            cut.append({**m, "start": start, "end": end, "text": text[start:end], "canonical": text[start:end]})
        trimmed.append(cut)
    post = extractor.extract_many(texts)
    fn = AliasCountsFn()
    acc = fn.create_accumulator()
    for mentions in post:
        acc = fn.add_input(acc, alias_evidence(mentions))
    table = fn.extract_output(acc)
    aliased = [apply_aliases(ms, table, extractor.gazetteer) for ms in post]
    return {"raw": raw, "raw+trim": trimmed, "post": post, "post+aliases": aliased}


def evaluate(extractor, name: str) -> dict:
    docs = load_set(name)
    out = {"articles": len(docs), "sentences": sum(d["sentences"] for d in docs),
           "gold_spans": sum(len(d["spans"]) for d in docs)}
    for system, predicted in systems(extractor, docs).items():
        out[system] = score(docs, predicted)
    return out


def throughput(extractor, texts: list[str], runs: int) -> dict:
    """Words per CPU second (median of ``runs``), raw model and full post-processing. The load
    average is recorded: on a shared machine, other jobs slow a process down even in CPU time."""
    import os

    words = sum(len(t.split()) for t in texts)
    tokens = sum(len(extractor.nlp.tokenizer(t)) for t in texts)
    result = {"words": words, "spacy_tokens": tokens, "texts": len(texts), "load_before": os.getloadavg()[0]}
    for label, fn in (("raw", extractor.raw_many), ("post", extractor.extract_many)):
        fn(texts)  # warm up: model, gazetteer, word list, vocabulary (a worker's steady state)
        rates = []
        for _ in range(runs):
            t0 = time.process_time()
            fn(texts, batch_size=32)
            rates.append(words / (time.process_time() - t0))
        result[f"{label}_words_per_cpu_s"] = round(statistics.median(rates))
        result[f"{label}_runs"] = [round(r) for r in rates]
    result["load_after"] = os.getloadavg()[0]
    return result


def bench_texts() -> list[str]:
    texts = [d["text"] for name in SETS for d in load_set(name)]
    if SEEDS.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return texts


def main(argv: Optional[Iterable[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="spaCy model (default: as the pipeline resolves it)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--build-fixtures", action="store_true")
    ap.add_argument("--multi", action="store_true", help="only the multi-language set (tests/data/ner/multi.txt)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.build_fixtures:
        build_fixtures()
        return 0
    sys.path.insert(0, str(REPO))
    if args.multi:
        multi = evaluate_multi(args.runs)
        print(f"{'lang':4} {'path':34} {'spans':>5}  {'before F1':>9} {'en model F1':>11} {'after P':>7} {'after R':>7} "
              f"{'after F1':>8} {'places F1':>9} {'words/CPU-s':>11}")
        for lang, r in multi.items():
            a = r["after"]["per_org_loc"]
            print(f"{lang:4} {r['path']:34} {r['gold_spans']:5}  {r['before']['per_org_loc']['f1']:9.3f} "
                  f"{r['english_model']['per_org_loc']['f1']:11.3f} {a['precision']:7.3f} {a['recall']:7.3f} "
                  f"{a['f1']:8.3f} {r['after']['places']['f1']:9.3f} {r['words_per_cpu_s']:11}")
        if args.json:
            Path(args.json).write_text(json.dumps(multi, indent=2, sort_keys=True) + "\n")
        return 0
    from pipeline.stages.entities import EntityExtractor

    ex = EntityExtractor(args.model)
    results = {"model": ex.description, "components": list(ex.nlp.pipe_names)}
    for name in SETS:
        results[name] = evaluate(ex, name)
    results["throughput"] = throughput(ex, bench_texts(), args.runs)
    print(f"model {results['model']} components {results['components']}")
    for name in SETS:
        r = results[name]
        print(f"\n{name}: {r['articles']} articles, {r['sentences']} sentences, {r['gold_spans']} gold spans")
        print(f"  {'system':14} {'span P':>7} {'span R':>7} {'span F1':>8} {'ent P':>7} {'ent R':>7} {'ent F1':>7}")
        for system in ("raw", "raw+trim", "post", "post+aliases"):
            s, e = r[system]["span"], r[system]["entity"]
            print(f"  {system:14} {s['precision']:7.3f} {s['recall']:7.3f} {s['f1']:8.3f} "
                  f"{e['precision']:7.3f} {e['recall']:7.3f} {e['f1']:7.3f}")
    t = results["throughput"]
    print(f"\nthroughput ({t['words']} words = {t['spacy_tokens']} spaCy tokens, {t['texts']} texts, "
          f"median of {args.runs}, load average {t['load_before']:.2f} -> {t['load_after']:.2f}): "
          f"raw {t['raw_words_per_cpu_s']} words/CPU-s {t['raw_runs']}, "
          f"post {t['post_words_per_cpu_s']} words/CPU-s {t['post_runs']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
