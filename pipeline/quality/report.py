"""``OUT/_quality/report.html``: one self-contained page, readable offline.

Charts are inline SVG drawn here (no JavaScript, no fonts, styles, or scripts from a CDN:
GE's own Data Docs load theirs from the network and show unstyled offline). The page has no
clock of its own: what it says about the run (times, inputs, versions) comes in ``run``, so the
same output and the same ``run`` give the same bytes.

Labels are laid out from an estimate of their width (``text_width``, DejaVu Sans metrics, the
widest of the usual sans fonts): long names are shortened to fit (the full name is in the bar's
tooltip), day labels are thinned to what fits side by side, and a test measures the result in
headless Chromium.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import unicodedata

from pipeline.quality.runner import QUALITY_DIR, REPORT_FILE, summary

PASS, FAIL, BAR, GRID = "#2e7d32", "#c62828", "#3f6fb5", "#e4e4e4"

#: chart text size (px) and the font box of a line of it (DejaVu Sans ascent/descent)
FONT = 12
ASCENT, DESCENT = 0.93 * FONT, 0.24 * FONT

#: what a chart shows for a missing value, by chart (None keys in the stats)
NO_SOURCE = "no URL or source"
MISSING = "missing"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1b1b1b;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.ok{background:#2e7d32}.bad{background:#c62828}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(480px,100%),1fr));gap:16px}
figure{margin:0;border:1px solid #e3e3e3;border-radius:6px;padding:8px 12px;background:#fafafa;min-width:0}
figcaption{font-weight:600;margin-bottom:4px} svg text{font-size:12px;fill:#333} svg text.missing{font-style:italic;fill:#666}
svg.chart-svg{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f3f3f3} td.pass{color:#2e7d32;font-weight:600} td.fail{color:#c62828;font-weight:600}
table.run{width:auto;margin:8px 0} table.run th{background:none;color:#555;font-weight:600;padding-left:0}
.counts span{margin-right:18px} .empty{color:#777;font-style:italic} code{font-size:12px;word-break:break-all}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- text and axes

#: advance widths in em of DejaVu Sans for printable ASCII (space .. ~)
_ASCII_EM = [
    .318, .401, .460, .838, .636, .950, .780, .275, .390, .390, .500, .838, .318, .361, .318, .337,
    .636, .636, .636, .636, .636, .636, .636, .636, .636, .636, .337, .337, .838, .838, .838, .531,
    1.000, .684, .686, .698, .770, .632, .575, .775, .752, .295, .295, .656, .557, .863, .748, .787,
    .603, .787, .695, .635, .611, .732, .684, .989, .685, .611, .685, .390, .337, .390, .838, .500,
    .500, .613, .635, .550, .635, .615, .352, .635, .634, .278, .278, .579, .278, .974, .634, .612,
    .635, .635, .411, .521, .392, .634, .592, .818, .592, .592, .525, .636, .337, .636, .838]


def text_width(text: str, size: float = FONT) -> float:
    """Estimated width in px of ``text`` at ``size`` px: an upper bound for the usual sans fonts
    (DejaVu Sans is the widest of them), a little over to be safe."""
    em = 0.0
    for ch in str(text):
        code = ord(ch)
        if 32 <= code < 127:
            em += _ASCII_EM[code - 32]
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.east_asian_width(ch) in ("W", "F") or ch == "…":
            em += 1.0
        else:
            em += 0.8
    return em * size * 1.05


def fit(text: str, room: float, size: float = FONT) -> str:
    """``text`` shortened with an ellipsis to fit ``room`` px (whole, when it fits)."""
    text = str(text)
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def nice_ticks(maximum: float, count: int = 5) -> list[int]:
    """Round y-axis values from 0 to at least ``maximum``: about ``count`` intervals of 1, 2 or 5
    times a power of ten (whole numbers: the charts count rows)."""
    maximum = max(1, maximum)
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * power for m in (1, 2, 5, 10) if m * power >= raw), 10 * power)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _num(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _label(key, missing: str) -> tuple[str, str]:
    """(text, css class) of a category: a missing key reads as what it is, in italics."""
    return (missing, ' class="missing"') if key is None or key == "" else (str(key), "")


def _empty(title: str) -> str:
    return f'<figure class="chart"><figcaption>{_e(title)}</figcaption><p class="empty">no rows</p></figure>'


def _svg(title: str, width: float, height: float, parts: list[str], label: str | None = None) -> str:
    return (f'<figure class="chart"><figcaption>{_e(title)}</figcaption>'
            f'<svg class="chart-svg" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="img" aria-label="{_e(label or title)}">{"".join(parts)}</svg></figure>')


# --------------------------------------------------------------------------- charts


def hbar_chart(title: str, pairs: list, color: str = BAR, width: int = 500, missing: str = MISSING) -> str:
    """Horizontal bars, one per [label, value]; labels left (shortened to fit, in full in the
    tooltip), values right of each bar."""
    if not pairs:
        return _empty(title)
    row, gap = 22, 6
    labels = [_label(k, missing) for k, _ in pairs]
    values = [_num(v) for _, v in pairs]
    value_w = max(text_width(v) for v in values) + gap
    label_w = min(max(text_width(t) for t, _ in labels) + 1, width * 0.46) + gap
    plot = width - label_w - value_w - 4
    top = max(v for _, v in pairs) or 1
    height = row * len(pairs) + 6
    parts = []
    for i, ((text, css), (key, value), shown) in enumerate(zip(labels, pairs, values)):
        y = i * row + 3
        w = max(1.0, plot * value / top)
        parts.append(f'<text x="{label_w - gap:.1f}" y="{y + 15}" text-anchor="end"{css}>'
                     f'{_e(fit(text, label_w - gap))}</text>')
        parts.append(f'<rect class="bar" x="{label_w:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{color}"><title>{_e(text)}: {shown}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{shown}</text>')
    return _svg(title, width, height, parts)


def _as_date(label):
    try:
        return _dt.date.fromisoformat(label) if isinstance(label, str) and len(label) == 10 else None
    except ValueError:
        return None


#: a per-day axis gets a column for every day between its first and last when the span is at most this
MAX_FILLED_DAYS = 3 * 366


def fill_days(pairs: list) -> list:
    """[day, count] pairs with the days that have no rows put back as 0 (so gaps show as gaps),
    labels that are not days (``undated``) kept after them."""
    dated = [(d, v) for d, v in ((_as_date(k), v) for k, v in pairs) if d is not None]
    other = [[k, v] for k, v in pairs if _as_date(k) is None]
    if len(dated) < 2:
        return [list(p) for p in pairs]
    first, last = min(d for d, _ in dated), max(d for d, _ in dated)
    if (last - first).days + 1 > MAX_FILLED_DAYS:
        return [list(p) for p in pairs]
    have = {d: v for d, v in dated}
    days = [first + _dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [[d.isoformat(), have.get(d, 0)] for d in days] + other


def _label_candidates(labels: list[str], min_gap: int) -> list[int]:
    """Indices worth a label, most regular first. Consecutive days: every day, every 2/7/14 days
    from the first, or month starts (every 1, 2, 3, 6 or 12 months, or years). Days with gaps: the
    first day present in each such period of months or years. Other labels: every ``min_gap``-th.
    Labels that are not days (``undated``) are always candidates."""
    dates = [_as_date(l) for l in labels]
    extra = {i for i, d in enumerate(dates) if d is None}
    days = [(i, d) for i, d in enumerate(dates) if d is not None]
    if len(days) < 2:
        return sorted({i for i, _ in days} | extra)
    consecutive = all((b[1] - a[1]).days == 1 for a, b in zip(days, days[1:]))
    need = min_gap * ((days[-1][1] - days[0][1]).days + 1) / len(days)  # days between two labels
    if consecutive:
        for every in (1, 2, 7, 14):
            if every >= need:
                return sorted({i for i, d in days if (d - days[0][1]).days % every == 0} | extra)
    months = next((m for m in (1, 2, 3, 6, 12) if 28 * m >= need), None)
    if months is not None:
        period = lambda d: (d.year * 12 + d.month - 1) // months  # noqa: E731
    else:
        years = math.ceil(need / 365)
        period = lambda d: d.year // years  # noqa: E731
    if consecutive:  # period starts only: 1 Jan, 1 Apr, ...
        return sorted({i for i, d in days if period(d) != period(d - _dt.timedelta(days=1))} | extra)
    first: dict[int, int] = {}
    for i, d in days:
        first.setdefault(period(d), i)
    return sorted(set(first.values()) | extra)


def column_chart(title: str, pairs: list, color: str = BAR, width: int = 500, missing: str = MISSING) -> str:
    """Vertical bars over an ordered axis (days, gaps filled with 0): round y ticks with
    gridlines, x labels horizontal and thinned to what fits side by side."""
    if not pairs:
        return _empty(title)
    filled = fill_days(pairs)
    dates = [d for d in (_as_date(k) for k, _ in filled) if d is not None]
    if len(dates) > 1 and (dates[-1] - dates[0]).days + 1 > len(dates):
        title += " (days with no articles left out)"  # too many days to fill in: the axis is not to scale
    pairs = filled
    labels = [_label(k, missing) for k, _ in pairs]
    ticks = nice_ticks(max(v for _, v in pairs))
    top = ticks[-1]
    widths = [text_width(t) for t, _ in labels]
    half = max(widths) / 2
    tick_w = max(text_width(_num(t)) for t in ticks)
    pad_top, gap = 10, 8
    left = max(tick_w + 10, half + 2)
    right = half + 2
    plot_w = width - left - right
    plot_h = 150
    base = pad_top + plot_h
    label_y = base + 9 + ASCENT  # the label's top clears the "0" tick label beside it
    height = label_y + DESCENT + 4
    step = plot_w / len(pairs)
    bar = step if step < 4 else min(step * 0.8, 36.0)  # many days: touching bars, an area
    crisp = ' shape-rendering="crispEdges"' if step < 4 else ""
    parts = []
    for t in ticks:
        y = base - plot_h * t / top
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#999" if t == 0 else GRID}"/>')
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{_num(t)}</text>')
    for i, ((text, _css), (_key, value)) in enumerate(zip(labels, pairs)):
        h = plot_h * value / top
        x = left + i * step + (step - bar) / 2
        parts.append(f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{bar:.2f}" '
                     f'height="{h:.2f}" fill="{color}"{crisp}><title>{_e(text)}: {_num(value)}</title></rect>')
    # labels: regular candidates, then drop any that would touch the one before (a label that is
    # not a day, such as 'undated', wins over the day before it)
    min_gap = max(1, math.ceil((max(widths) + gap) / step))
    shown: list[int] = []
    for i in _label_candidates([t for t, _ in labels], min_gap):
        center = left + (i + 0.5) * step
        while shown and center - (left + (shown[-1] + 0.5) * step) < (widths[i] + widths[shown[-1]]) / 2 + gap:
            if _as_date(labels[i][0]) is not None:
                break  # a day too close to the one before: no label
            shown.pop()  # 'undated' (or another non-day) replaces the day before it
        else:
            shown.append(i)
    for i in shown:
        text, css = labels[i]
        cx = left + (i + 0.5) * step
        parts.append(f'<line x1="{cx:.1f}" y1="{base:.1f}" x2="{cx:.1f}" y2="{base + 4:.1f}" stroke="#999"/>')
        parts.append(f'<text x="{cx:.1f}" y="{label_y:.1f}" text-anchor="middle"{css}>{_e(text)}</text>')
    return _svg(title, width, height, parts)


def results_chart(lines: list[dict], width: int = 500) -> str:
    """Checks per dataset, passed and failed, as stacked horizontal bars."""
    per: dict[str, list[int]] = {}
    for line in lines:
        ok_fail = per.setdefault(line["dataset"], [0, 0])
        ok_fail[1 if line["failed"] else 0] += 1
    title = "Expectations per dataset"
    if not per:
        return _empty(title)
    row, gap = 24, 6
    notes = {d: f"{ok} passed" + (f", {bad} failed" if bad else "") for d, (ok, bad) in per.items()}
    label_w = max(text_width(d) for d in per) + gap
    plot = width - label_w - max(text_width(n) for n in notes.values()) - gap - 4
    top = max(a + b for a, b in per.values()) or 1
    height = row * len(per) + 6
    parts = []
    for i, (dataset, (ok, bad)) in enumerate(per.items()):
        y = i * row + 3
        w_ok, w_bad = plot * ok / top, plot * bad / top
        parts.append(f'<text x="{label_w - gap:.1f}" y="{y + 15}" text-anchor="end">{_e(dataset)}</text>')
        parts.append(f'<rect class="bar" x="{label_w:.1f}" y="{y + 2}" width="{w_ok:.1f}" height="{row - 6}" '
                     f'fill="{PASS}"><title>{_e(dataset)}: {ok} passed</title></rect>')
        if bad:
            parts.append(f'<rect class="bar" x="{label_w + w_ok:.1f}" y="{y + 2}" width="{w_bad:.1f}" '
                         f'height="{row - 6}" fill="{FAIL}"><title>{_e(dataset)}: {bad} failed</title></rect>')
        parts.append(f'<text x="{label_w + w_ok + w_bad + 4:.1f}" y="{y + 15}">{notes[dataset]}</text>')
    return _svg(title, width, height, parts, label="expectations passed and failed")


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


# --------------------------------------------------------------------------- the run


def _iso(value) -> str | None:
    """An ISO 8601 UTC time (``2026-12-07T13:15:12Z``) from epoch seconds, a datetime or a string."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=0).isoformat() + "Z"
    return str(value)


def run_inputs(options: dict) -> list[str]:
    """What a run read, as the options that named it: ``--input GLOB``, ``--feeds FILE``,
    ``--watch GLOB``, ``--pubsub-subscription NAME``."""
    out = []
    for flag, key in (("--input", "input"), ("--feeds", "feeds"), ("--watch", "watch"),
                      ("--pubsub-subscription", "pubsub_subscription")):
        value = (options or {}).get(key)
        for item in ([value] if isinstance(value, str) else value or []):
            out.append(f"{flag} {item}")
    return out


def run_info(*, mode: str | None, options: dict, versions: dict, schema_version: str | None,
             started_at=None, finished_at=None, duration_seconds: float | None = None,
             source: str | None = None) -> dict:
    """The ``run`` of ``render``/``write_report``: plain JSON values. ``options`` and ``versions``
    are the manifest's (``run.common.manifest_options``, ``publish.library_versions``); times are epoch seconds,
    datetimes or ISO strings (``newsbeam run`` passes the end of the pipeline: the report is
    written after it, by the quality step); ``source`` names where the values came from when not
    from the run itself (``_manifest.json``)."""
    run = {
        "mode": mode,
        "inputs": run_inputs(options),
        "runner": (options or {}).get("runner"),
        "schema_version": schema_version,
        "newsbeam_version": (versions or {}).get("newsbeam"),
        "beam_version": (versions or {}).get("apache-beam"),
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "duration_seconds": None if duration_seconds is None else round(float(duration_seconds), 1),
    }
    if source:
        run["source"] = source
    return run


def run_from_manifest(manifest: dict) -> dict:
    """``run_info`` from a ``_manifest.json`` (``newsbeam validate --report``): a batch manifest
    records no times, a streaming one its ``elapsed_seconds``."""
    options = manifest.get("options") or {}
    mode = manifest.get("mode") or ("streaming" if options.get("streaming") else "batch")
    return run_info(mode=mode, options=options, versions=manifest.get("versions") or {},
                    schema_version=manifest.get("schema_version"),
                    duration_seconds=manifest.get("elapsed_seconds"), source="_manifest.json")


def run_from_output(root: str, live_only: bool = False) -> dict | None:
    """``run_from_manifest`` of ``root/_manifest.json``; None when there is none (or it is not
    JSON). With ``live_only`` (the end of a streaming run that passed no ``run``), only a live
    manifest (status 'running', so this run's: a finished one is an earlier run's), and its
    times are the run's own: started = when it was written minus its ``elapsed_seconds``,
    finished = now."""
    path = os.path.join(root, "_manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        written = os.path.getmtime(path)
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or (live_only and manifest.get("status") != "running"):
        return None
    run = run_from_manifest(manifest)
    if live_only and isinstance(manifest.get("elapsed_seconds"), (int, float)):
        import time

        started, finished = written - manifest["elapsed_seconds"], time.time()
        run.update(started_at=_iso(started), finished_at=_iso(finished),
                   duration_seconds=round(finished - started, 1))
        del run["source"]
    return run


def _when(iso: str | None, same_day_as: str | None = None) -> str:
    text = iso.replace("T", " ").rstrip("Z")
    if same_day_as and same_day_as[:10] == iso[:10]:
        text = text[11:]
    return text + (" UTC" if iso.endswith("Z") else "")


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _run_header(run: dict | None, manifest: dict) -> str:
    schema = (run or {}).get("schema_version") or manifest.get("schema_version")
    rows = []
    if run:
        started, finished, seconds = run.get("started_at"), run.get("finished_at"), run.get("duration_seconds")
        when = []
        if started:
            when.append(f"started {_when(started)}")
        if finished:
            when.append(f"finished {_when(finished, started)}")
        if seconds is not None:
            took = duration_text(seconds)
            when.append(f"took {took}" if started or finished else
                        f"ran {took}" + (f" (per {run['source']})" if run.get("source") else ""))
        if not when:
            when.append("start and end not recorded" + (f" in {run['source']}" if run.get("source") else ""))
        mode = run.get("mode") or "mode not recorded"
        runner = f" on {run['runner']}" if run.get("runner") else ""
        rows.append(("run", f"{_e(mode)}{_e(runner)}; " + _e(", ".join(when))))
        inputs = run.get("inputs") or []
        rows.append(("input", " ".join(f"<code>{_e(i)}</code>" for i in inputs) if inputs
                     else '<span class="empty">not recorded</span>'))
        rows.append(("versions", f"newsbeam {_e(run.get('newsbeam_version') or 'unknown')} · "
                                 f"Apache Beam {_e(run.get('beam_version') or 'unknown')}"))
    else:
        rows.append(("run", '<span class="empty">' + ("not given to the report" if manifest else
                                                       "not known (no _manifest.json)") + "</span>"))
    rows.append(("schema version", _e(schema) if schema else '<span class="empty">unknown (no _manifest.json)</span>'))
    return '<table class="run"><tbody>' + "".join(
        f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows) + "</tbody></table>"


def render(results: dict, stats: dict, title: str = "newsbeam data quality", run: dict | None = None) -> str:
    """The whole page as a string (pure: the same arguments give the same string). ``run`` is
    ``run_info(...)``: mode, inputs, times, versions and schema version of the run that wrote
    the output; without it the schema version comes from the output's ``_manifest.json``."""
    lines = summary(results)
    ok = results["success"]
    failed = sum(1 for line in lines if line["failed"])
    counts = "".join(f'<span><b>{_e(d)}</b> {_num(n)}</span>' for d, n in stats["rows"].items())
    manifest = stats.get("manifest") or {}
    charts = [
        column_chart("Articles per day (dt partition)", stats["articles_per_day"]),
        hbar_chart("Articles per language", stats["articles_per_lang"]),
        hbar_chart("Top sources (articles)", stats["top_sources"], missing=NO_SOURCE),
        hbar_chart("Duplicates by kind", stats["duplicates_by_kind"]),
        hbar_chart("Duplicates by source", stats["duplicates_by_source"], missing=NO_SOURCE),
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
<p><span class="status {"ok" if ok else "bad"}">{"all checks passed" if ok else f"{failed} checks failed"}</span></p>
{_run_header(run, manifest)}
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


def write_report(root: str, results: dict, stats: dict, run: dict | None = None) -> str:
    path = os.path.join(root, QUALITY_DIR, REPORT_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render(results, stats, run=run))
    os.replace(tmp, path)
    return path
