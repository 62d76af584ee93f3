"""``OUT/_quality/report.html``: one self-contained page, readable offline.

Charts are inline SVG drawn here (no JavaScript, no fonts, styles, or scripts from a CDN:
GE's own Data Docs load theirs from the network and show unstyled offline). The page carries
no timestamp, so the same output gives the same bytes.
"""
from __future__ import annotations

import html
import os

from pipeline.quality.runner import QUALITY_DIR, REPORT_FILE, summary

PASS, FAIL, BAR = "#2e7d32", "#c62828", "#3f6fb5"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1b1b1b;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.ok{background:#2e7d32}.bad{background:#c62828}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
figure{margin:0;border:1px solid #e3e3e3;border-radius:6px;padding:8px 12px;background:#fafafa}
figcaption{font-weight:600;margin-bottom:4px} svg text{font-size:12px;fill:#333}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f3f3f3} td.pass{color:#2e7d32;font-weight:600} td.fail{color:#c62828;font-weight:600}
.counts span{margin-right:18px} .empty{color:#777;font-style:italic} code{font-size:12px;word-break:break-all}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _short(label: str, limit: int = 38) -> str:
    label = str(label)
    return label if len(label) <= limit else label[:limit - 1] + "…"


def hbar_chart(title: str, pairs: list, color: str = BAR, width: int = 500) -> str:
    """Horizontal bars, one per [label, value]; labels left, values right of each bar."""
    if not pairs:
        return f'<figure class="chart"><figcaption>{_e(title)}</figcaption><p class="empty">no rows</p></figure>'
    row, label_w, value_w = 22, 200, 48
    plot = width - label_w - value_w
    top = max(v for _, v in pairs) or 1
    height = row * len(pairs) + 6
    parts = [f'<svg class="chart-svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_e(title)}">']
    for i, (label, value) in enumerate(pairs):
        y = i * row + 3
        w = max(1.0, plot * value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(_short(label))}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{color}"><title>{_e(label)}: {value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{value}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{_e(title)}</figcaption>{"".join(parts)}</figure>'


def column_chart(title: str, pairs: list, color: str = BAR, width: int = 500) -> str:
    """Vertical bars over an ordered axis (days); every label shown when there is room."""
    if not pairs:
        return f'<figure class="chart"><figcaption>{_e(title)}</figcaption><p class="empty">no rows</p></figure>'
    height, bottom, left = 200, 60, 36
    plot_w, plot_h = width - left - 8, height - bottom - 10
    top = max(v for _, v in pairs) or 1
    step = plot_w / len(pairs)
    every = max(1, len(pairs) // 24)
    parts = [f'<svg class="chart-svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_e(title)}">',
             f'<line x1="{left}" y1="{10 + plot_h}" x2="{width - 8}" y2="{10 + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="16" text-anchor="end">{top}</text>',
             f'<text x="{left - 4}" y="{10 + plot_h}" text-anchor="end">0</text>']
    for i, (label, value) in enumerate(pairs):
        h = plot_h * value / top
        x = left + i * step
        parts.append(f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{10 + plot_h - h:.1f}" '
                     f'width="{max(1.0, step * 0.8):.1f}" height="{h:.1f}" fill="{color}">'
                     f'<title>{_e(label)}: {value}</title></rect>')
        if i % every == 0:
            cx, cy = x + step / 2, 14 + plot_h
            parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" '
                         f'transform="rotate(-45 {cx:.1f} {cy:.1f})">{_e(label)}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{_e(title)}</figcaption>{"".join(parts)}</figure>'


def results_chart(lines: list[dict], width: int = 500) -> str:
    """Checks per dataset, passed and failed, as stacked horizontal bars."""
    per: dict[str, list[int]] = {}
    for line in lines:
        ok_fail = per.setdefault(line["dataset"], [0, 0])
        ok_fail[1 if line["failed"] else 0] += 1
    row, label_w = 24, 90
    plot = width - label_w - 150
    top = max((a + b for a, b in per.values()), default=1) or 1
    height = row * len(per) + 6
    parts = [f'<svg class="chart-svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="expectations passed and failed">']
    for i, (dataset, (ok, bad)) in enumerate(per.items()):
        y = i * row + 3
        w_ok, w_bad = plot * ok / top, plot * bad / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(dataset)}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w_ok:.1f}" height="{row - 6}" '
                     f'fill="{PASS}"><title>{dataset}: {ok} passed</title></rect>')
        if bad:
            parts.append(f'<rect class="bar" x="{label_w + w_ok:.1f}" y="{y + 2}" width="{w_bad:.1f}" '
                         f'height="{row - 6}" fill="{FAIL}"><title>{dataset}: {bad} failed</title></rect>')
        parts.append(f'<text x="{label_w + w_ok + w_bad + 4:.1f}" y="{y + 15}">{ok} passed'
                     f'{f", {bad} failed" if bad else ""}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>Expectations per dataset</figcaption>{"".join(parts)}</figure>'


def _partitions(line: dict) -> str:
    if not line["failed"]:
        return str(line["partitions"])
    return f"{len(line['failed'])}/{line['partitions']} failed"


def _results_table(lines: list[dict]) -> str:
    rows = ['<table class="results"><thead><tr><th>result</th><th>dataset</th><th>expectation</th>'
            '<th>partitions</th><th>unexpected</th><th>examples / failing partitions</th></tr></thead><tbody>']
    for line in lines:
        ok = not line["failed"]
        detail = ""
        if not ok:
            examples = ", ".join(_e(x) for x in line["examples"][:3])
            where = ", ".join(_e(p) for p in line["failed"][:3]) + (" …" if len(line["failed"]) > 3 else "")
            detail = f"<code>{examples}</code><br>in {where}"
        rows.append(f'<tr><td class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</td>'
                    f'<td>{_e(line["dataset"])}</td><td>{_e(line["expectation"])}</td>'
                    f'<td>{_partitions(line)}</td>'
                    f'<td>{"" if ok else line["unexpected"]}</td><td>{detail}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def render(results: dict, stats: dict, title: str = "newsbeam data quality") -> str:
    """The whole page as a string (pure)."""
    lines = summary(results)
    ok = results["success"]
    failed = sum(1 for line in lines if line["failed"])
    counts = "".join(f'<span><b>{_e(d)}</b> {n}</span>' for d, n in stats["rows"].items())
    manifest = stats.get("manifest") or {}
    charts = [
        column_chart("Articles per day (dt partition)", stats["articles_per_day"]),
        hbar_chart("Articles per language", stats["articles_per_lang"]),
        hbar_chart("Top sources (articles)", stats["top_sources"]),
        hbar_chart("Duplicates by kind", stats["duplicates_by_kind"]),
        hbar_chart("Duplicates by source", stats["duplicates_by_source"]),
        hbar_chart("Top entities (articles mentioning)", stats["top_entities"]),
        hbar_chart("Rejects by stage", stats["rejects_by_stage"], color=FAIL),
        hbar_chart("Rejects by reason", stats["rejects_by_reason"], color=FAIL),
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p><span class="status {"ok" if ok else "bad"}">{"all checks passed" if ok else f"{failed} checks failed"}</span>
 &nbsp;schema version {_e(manifest.get("schema_version") or "?")}</p>
<p class="counts">{counts}</p>
<h2>Expectations</h2>
<div class="grid">{results_chart(lines)}</div>
{_results_table(lines)}
<h2>Datasets</h2>
<div class="grid">{"".join(charts)}</div>
<p class="empty">Written by newsbeam from {_e(QUALITY_DIR)}/results.json; checks: {len(lines)} expectations over
{len(results["partitions"])} partitions.</p>
</body></html>
"""


def write_report(root: str, results: dict, stats: dict) -> str:
    path = os.path.join(root, QUALITY_DIR, REPORT_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render(results, stats))
    os.replace(tmp, path)
    return path
