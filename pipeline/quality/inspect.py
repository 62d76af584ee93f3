"""What is in an output directory: partitions, counts, top sources, entities, rejects.

Reads only the columns it counts (no Great Expectations, no Beam pipeline), so
``newsbeam inspect`` answers in about the time Beam and pyarrow take to import.
"""
from __future__ import annotations

import json
import os
from collections import Counter

from pipeline.quality.runner import DATASETS, discover, read_partition

TOP = 10
UNDATED = "undated"
#: how the terminal shows a source that is None (an article with no URL and no source field)
NO_SOURCE = "(no URL or source)"

#: columns read per dataset for the counts below
COLUMNS = {
    "articles": ["source", "lang", "dt"],
    "duplicates": ["kind", "source"],
    "entities": ["canonical", "label"],
    "rejects": ["stage", "reason"],
}


def reason_head(reason: str, limit: int = 70) -> str:
    """A reason without its particulars ('does not match x.json: /a: ...' -> 'does not match x.json'),
    so rejects group by kind of reason, not by record."""
    head = (reason or "").split(": ")[0].split("; ")[0].strip()
    return head if len(head) <= limit else head[:limit - 1] + "…"


def _ranked(counter: Counter, top: int | None = None) -> list[list]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [[k, v] for k, v in (items[:top] if top else items)]


def dataset_stats(root: str, as_of=None) -> dict:
    """Counts for the report and ``inspect``: plain lists of [key, count], deterministic order.
    ``root``: a tables output (now, or ``as_of`` a snapshot id or run id) or a folder output."""
    parts = discover(root, as_of=as_of)
    counters = {name: Counter() for name in (
        "per_day", "per_lang", "sources", "dup_kind", "dup_source", "entities", "entity_labels",
        "reject_stage", "reject_reason")}
    rows = {d: 0 for d in DATASETS}
    partitions = {d: [] for d in DATASETS}
    for part in parts:
        table = read_partition(root, part, columns=COLUMNS[part.dataset])
        n = table.num_rows
        rows[part.dataset] += n
        partitions[part.dataset].append([part.path, n])
        cols = {c: table.column(c).to_pylist() for c in table.column_names}
        if part.dataset == "articles":
            counters["per_day"][part.values.get("dt") or UNDATED] += n
            counters["per_lang"].update(cols["lang"])
            counters["sources"].update(s or None for s in cols["source"])  # None: no URL, no source
        elif part.dataset == "duplicates":
            counters["dup_kind"].update(cols["kind"])
            counters["dup_source"].update(s or None for s in cols["source"])
        elif part.dataset == "entities":
            counters["entities"].update(f"{c} ({l})" for c, l in zip(cols["canonical"], cols["label"]))
            counters["entity_labels"].update(cols["label"])
        else:
            counters["reject_stage"].update(cols["stage"])
            counters["reject_reason"].update(f"{s}: {reason_head(r)}" for s, r in zip(cols["stage"], cols["reason"]))
    manifest_path = os.path.join(root, "_manifest.json")
    manifest = None
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    days = sorted(counters["per_day"].items(), key=lambda kv: (kv[0] == UNDATED, kv[0]))
    return {
        "rows": rows,
        "partitions": partitions,
        "articles_per_day": [[k, v] for k, v in days],
        "articles_per_lang": _ranked(counters["per_lang"]),
        "top_sources": _ranked(counters["sources"], TOP),
        "duplicates_by_kind": _ranked(counters["dup_kind"]),
        "duplicates_by_source": _ranked(counters["dup_source"], TOP),
        "top_entities": _ranked(counters["entities"], 15),
        "entity_labels": _ranked(counters["entity_labels"]),
        "rejects_by_stage": _ranked(counters["reject_stage"]),
        "rejects_by_reason": _ranked(counters["reject_reason"], TOP),
        "manifest": None if manifest is None else {
            "status": manifest.get("status"), "schema_version": manifest.get("schema_version"),
            "counts": manifest.get("counts"), "quality": (manifest.get("quality") or {}).get("status")},
    }


def format_stats(root: str, stats: dict) -> str:
    """The terminal summary of ``newsbeam inspect``."""
    out = [f"newsbeam output {root}"]
    m = stats["manifest"]
    if m:
        out.append(f"  manifest: status {m['status']}, quality {m['quality']}, schema {m['schema_version']}")
        c = m.get("counts") or {}
        if c:
            out.append(f"  inputs {c.get('inputs')} = articles {c.get('articles')} + duplicates "
                       f"{c.get('duplicates')} + rejects {c.get('rejects')} + skipped {c.get('skipped')}")
    else:
        out.append("  no _manifest.json: not written by a finished 'newsbeam run'")
    out.append("")
    out.append("  dataset      rows  partitions")
    for d in DATASETS:
        out.append(f"  {d:<10} {stats['rows'][d]:>6}  {len(stats['partitions'][d]):>10}")

    def block(title, pairs, missing="(missing)"):
        if not pairs:
            return
        pairs = [[missing if k is None else k, v] for k, v in pairs]
        out.append("")
        out.append(f"  {title}")
        width = max(len(str(k)) for k, _ in pairs)
        top = max(v for _, v in pairs)
        for k, v in pairs:
            bar = "#" * max(1, round(20 * v / top))
            out.append(f"    {str(k):<{width}}  {v:>6}  {bar}")

    block("articles per day", stats["articles_per_day"])
    block("articles per language", stats["articles_per_lang"])
    block("top sources", stats["top_sources"], NO_SOURCE)
    block("duplicates by kind", stats["duplicates_by_kind"])
    block("top entities (articles mentioning)", stats["top_entities"][:TOP])
    block("rejects by stage", stats["rejects_by_stage"])
    block("top reject reasons", stats["rejects_by_reason"])
    out.append("")
    out.append("  partitions")
    for d in DATASETS:
        for path, n in stats["partitions"][d]:
            out.append(f"    {path:<60} {n:>6}")
    return "\n".join(out)
