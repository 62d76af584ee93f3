"""The HTML report: charts, no network resources, and it renders in headless Chromium."""
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess

import pytest

from pipeline.quality import report, runner
from pipeline.quality.inspect import dataset_stats
from tests.quality.conftest import sample_datasets, write_manifest, write_output

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
CHROMIUM = next((shutil.which(n) for n in ("chromium-headless-shell", "chromium", "chromium-browser",
                                            "google-chrome", "google-chrome-stable") if shutil.which(n)), None)

#: anything that would make a browser fetch: src/href/srcset attributes, CSS url() and @import
REMOTE = re.compile(r"""(?:src|href|srcset|data|poster|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                    re.IGNORECASE)


@pytest.fixture
def page(output):
    results = runner.check_output(output, now=NOW)
    return report.write_report(output, results, dataset_stats(output))


def test_report_is_self_contained_with_charts(page):
    with open(page, encoding="utf-8") as f:
        html = f.read()
    assert not REMOTE.search(html)
    assert "<script" not in html and "<link" not in html
    assert html.count("<svg") >= 8 and 'class="bar"' in html
    for title in ("Articles per day", "Duplicates by kind", "Duplicates by source", "Top entities",
                  "Rejects by stage", "Rejects by reason", "Expectations per dataset"):
        assert title in html
    assert "article ids unique" in html and "Maria Lopez (PERSON)" in html


def test_the_remote_resource_check_would_catch_one():
    assert REMOTE.search('<img src="https://cdn.example/x.png">')
    assert REMOTE.search("<style>body{background:url('//cdn.example/x.png')}</style>")
    assert REMOTE.search('<style>@import "x.css";</style>')
    assert not REMOTE.search('<a title="see https://example.com">')


def test_same_output_same_report_bytes(output, page):
    with open(page, "rb") as f:
        first = f.read()
    again = report.render(runner.check_output(output, now=NOW + dt.timedelta(days=1)), dataset_stats(output))
    assert again.encode("utf-8") == first


#: what 'newsbeam run' passes (pipeline/cli.py); long globs, as real ones get
RUN = report.run_info(
    mode="batch", options={"input": ["/data/archive/2024/**/regional-papers-and-agencies/*.jsonl.gz",
                                     "/data/extra/*.html"], "feeds": "conf/feeds.txt", "runner": "FnApiRunner"},
    versions={"newsbeam": "0.1.0", "apache-beam": "2.77.0", "python": "3.11.9"}, schema_version="1.0.0",
    started_at=dt.datetime(2026, 12, 7, 13, 15, 12, 400000, tzinfo=dt.timezone.utc),
    finished_at=dt.datetime(2026, 12, 7, 13, 16, 40, tzinfo=dt.timezone.utc).timestamp(), duration_seconds=87.64)


def _words(page: str) -> str:
    """The page's text, tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_run_info_is_plain_json_with_iso_times():
    assert RUN == {"mode": "batch", "runner": "FnApiRunner", "schema_version": "1.0.0",
                   "inputs": ["--input /data/archive/2024/**/regional-papers-and-agencies/*.jsonl.gz",
                              "--input /data/extra/*.html", "--feeds conf/feeds.txt"],
                   "newsbeam_version": "0.1.0", "beam_version": "2.77.0", "started_at": "2026-12-07T13:15:12Z",
                   "finished_at": "2026-12-07T13:16:40Z", "duration_seconds": 87.6}
    assert json.loads(json.dumps(RUN)) == RUN


def test_the_header_names_the_run_inputs_versions_and_schema(output):
    results, stats = runner.check_output(output, now=NOW), dataset_stats(output)
    page = report.render(results, stats, run=RUN)
    text = _words(page)
    assert "schema version 1.0.0" in text and "?" not in text
    assert "batch on FnApiRunner; started 2026-12-07 13:15:12 UTC, finished 13:16:40 UTC, took 1 min 28 s" in text
    assert "--input /data/extra/*.html" in text and "--feeds conf/feeds.txt" in text
    assert "newsbeam 0.1.0 · Apache Beam 2.77.0" in text
    assert report.render(results, stats, run=dict(RUN)) == page  # the run is an input like the others
    assert report.render(results, stats, run=dict(RUN, finished_at="2026-12-07T13:17:00Z")) != page


def test_without_a_manifest_or_run_the_header_says_what_is_unknown(tmp_path):
    root = write_output(tmp_path / "out", sample_datasets(), manifest=False)
    text = _words(report.render(runner.check_output(root, now=NOW), dataset_stats(root)))
    assert "run not known (no _manifest.json)" in text and "schema version unknown (no _manifest.json)" in text


def test_run_from_a_manifest_takes_mode_inputs_versions_and_streaming_time(output):
    write_manifest(output, options={"input": ["in/*.jsonl"], "feeds": None, "runner": None},
                   versions={"newsbeam": "0.1.0", "apache-beam": "2.77.0"})
    run = report.run_from_output(output)
    assert run["mode"] == "batch" and run["inputs"] == ["--input in/*.jsonl"] and run["source"] == "_manifest.json"
    assert (run["newsbeam_version"], run["beam_version"], run["started_at"], run["duration_seconds"]) == \
        ("0.1.0", "2.77.0", None, None)
    text = _words(report.render(runner.check_output(output, now=NOW), dataset_stats(output), run=run))
    assert "batch; start and end not recorded in _manifest.json" in text
    assert report.run_from_output(output, live_only=True) is None  # a finished manifest: an earlier run's
    write_manifest(output, status="running", mode="streaming", elapsed_seconds=125.0,
                   options={"watch": ["inbox/*.html"], "feeds": "feeds.txt", "streaming": True})
    saved = report.run_from_output(output)  # validate --report on a streaming output
    assert saved["mode"] == "streaming" and saved["inputs"] == ["--feeds feeds.txt", "--watch inbox/*.html"]
    text = _words(report.render(runner.check_output(output, now=NOW), dataset_stats(output), run=saved))
    assert "streaming; ran 2 min 05 s (per _manifest.json)" in text
    live = report.run_from_output(output, live_only=True)  # the end of the run that is writing it
    assert "source" not in live and live["started_at"] < live["finished_at"]
    assert {k: v for k, v in live.items() if not k.endswith(("_at", "_seconds"))} == \
        {k: v for k, v in saved.items() if not k.endswith(("_at", "_seconds")) and k != "source"}


@pytest.mark.parametrize("maximum", [1, 2, 3, 7, 10, 11, 97, 100, 1234, 250_001])
def test_y_ticks_are_round_and_several(maximum):
    ticks = report.nice_ticks(maximum)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= maximum and ticks[-2] < maximum
    assert all(b - a == step for a, b in zip(ticks, ticks[1:]))
    assert str(step).rstrip("0") in ("1", "2", "5")
    assert len(ticks) >= min(4, maximum + 1) and len(ticks) <= 7


def test_day_chart_fills_missing_days_and_keeps_undated_last():
    pairs = [["2024-02-27", 3], ["2024-03-01", 1], ["undated", 2]]
    assert report.fill_days(pairs) == [["2024-02-27", 3], ["2024-02-28", 0], ["2024-02-29", 0],
                                       ["2024-03-01", 1], ["undated", 2]]
    far = [["1999-01-01", 1], ["2024-03-01", 1]]  # decades apart: one column each, not 9,000
    assert report.fill_days(far) == far


def test_a_missing_source_reads_as_such_not_as_none():
    svg = report.hbar_chart("Top sources", [["example.com", 3], [None, 2]], missing=report.NO_SOURCE)
    assert '<text x="' in svg and 'class="missing">no URL or source</text>' in svg
    assert "(none)" not in svg and "None" not in svg


def test_long_labels_are_shortened_to_fit_with_the_full_name_in_the_tooltip():
    name = "the-very-long-regional-daily-newspaper-and-gazette.example.co.uk"
    svg = report.hbar_chart("Top sources", [[name, 3], ["a.example", 1]])
    shown = re.search(r'text-anchor="end">([^<]*)</text>', svg).group(1)
    assert shown.endswith("…") and name.startswith(shown[:-1]) and f"<title>{name}: 3</title>" in svg
    assert ">a.example</text>" in svg
    assert report.text_width(shown) <= 0.46 * 500


NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless Chromium on PATH (Debian: apt-get install -y chromium-headless-shell)")

#: injected into a COPY of the report (the report itself has no script): every SVG <text>'s box,
#: transformed to page coordinates (rotated labels are measured as rotated rectangles), and each svg's
#: own box, written into the page so --dump-dom prints them
MEASURE = """<script>
(function () {
  var charts = [];
  document.querySelectorAll("svg").forEach(function (svg) {
    var r = svg.getBoundingClientRect(), fig = svg.closest("figure"), labels = [];
    svg.querySelectorAll("text").forEach(function (t) {
      var b = t.getBBox(), m = t.getScreenCTM();
      var corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
        .map(function (p) { var q = new DOMPoint(p[0], p[1]).matrixTransform(m); return [q.x, q.y]; });
      labels.push({text: t.textContent, corners: corners, width: b.width, height: b.height});
    });
    var f = fig ? fig.getBoundingClientRect() : r;
    charts.push({title: fig ? fig.querySelector("figcaption").textContent : svg.getAttribute("aria-label"),
                 box: [r.left, r.top, r.right, r.bottom], figure: [f.left, f.top, f.right, f.bottom],
                 labels: labels});
  });
  var out = document.createElement("pre");
  out.id = "label-boxes";
  out.textContent = JSON.stringify(charts);
  document.body.appendChild(out);
})();
</script>"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--proxy-server=127.0.0.1:9", "--hide-scrollbars"]


def _chromium(*args, cwd=None):
    done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def measure_labels(page: str, tmp_path, width: int = 1200) -> list[dict]:
    """Every chart's label boxes as Chromium lays the page out ``width`` pixels wide, plus a
    screenshot (``tmp_path/report-WIDTH.png``) to look at."""
    with open(page, encoding="utf-8") as f:
        text = f.read()
    measured = tmp_path / f"measured-{width}.html"
    measured.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(f"--window-size={width},4000", "--dump-dom", f"file://{measured}")
    found = re.search(r'<pre id="label-boxes">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-2000:]
    _chromium(f"--window-size={width},4000", f"--screenshot={tmp_path / f'report-{width}.png'}",
              f"file://{page}", cwd=tmp_path)
    return json.loads(html.unescape(found.group(1)))


def _overlap(a: list, b: list, tolerance: float = 0.5) -> bool:
    """Two convex polygons overlap by more than ``tolerance`` px (separating axis theorem)."""
    for poly in (a, b):
        for i in range(len(poly)):
            (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % len(poly)]
            nx, ny = y1 - y2, x2 - x1
            norm = (nx * nx + ny * ny) ** 0.5 or 1.0
            pa = [(x * nx + y * ny) / norm for x, y in a]
            pb = [(x * nx + y * ny) / norm for x, y in b]
            if min(max(pa), max(pb)) - max(min(pa), min(pb)) <= tolerance:
                return False
    return True


def layout_problems(charts: list[dict], tolerance: float = 0.5) -> list[str]:
    """Labels that stick out of their svg (clipped), overlap another label of the same chart,
    and svgs wider than their figure."""
    problems = []
    for chart in charts:
        left, top, right, bottom = chart["box"]
        if chart["box"][2] > chart["figure"][2] + tolerance or chart["box"][0] < chart["figure"][0] - tolerance:
            problems.append(f"{chart['title']}: the chart is wider than its figure")
        labels = [label for label in chart["labels"] if label["text"].strip()]
        for label in labels:
            xs = [x for x, _ in label["corners"]]
            ys = [y for _, y in label["corners"]]
            if min(xs) < left - tolerance or max(xs) > right + tolerance or \
                    min(ys) < top - tolerance or max(ys) > bottom + tolerance:
                problems.append(f"{chart['title']}: {label['text']!r} is clipped "
                                f"(x {min(xs):.0f}..{max(xs):.0f}, y {min(ys):.0f}..{max(ys):.0f} outside "
                                f"{left:.0f}..{right:.0f}, {top:.0f}..{bottom:.0f})")
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                if _overlap(a["corners"], b["corners"], tolerance):
                    problems.append(f"{chart['title']}: {a['text']!r} overlaps {b['text']!r}")
    return problems


def test_the_layout_check_catches_overlap_and_clipping():
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    diamond = [[15, 5], [20, 0], [25, 5], [20, 10]]
    assert _overlap(square, [[5, 5], [15, 5], [15, 15], [5, 15]])
    assert not _overlap(square, diamond) and not _overlap(square, [[10, 0], [20, 0], [20, 10], [10, 10]])
    rotated = [[0, 20], [20, 0], [24, 4], [4, 24]]  # a 45-degree label whose box would overlap the square's
    assert not _overlap(square, [[x + 6, y + 6] for x, y in rotated])
    chart = {"title": "t", "box": [0, 0, 100, 50], "figure": [0, 0, 100, 50], "labels": [
        {"text": "a", "corners": square}, {"text": "b", "corners": [[5, 5], [15, 5], [15, 15], [5, 15]]},
        {"text": "c", "corners": [[90, 40], [110, 40], [110, 48], [90, 48]]}]}
    problems = layout_problems([chart])
    assert problems == ["t: 'c' is clipped (x 90..110, y 40..48 outside 0..100, 0..50)", "t: 'a' overlaps 'b'"]


@NEEDS_CHROMIUM
def test_report_renders_in_headless_chromium_without_network(page, tmp_path):
    dom = _chromium("--dump-dom", f"file://{page}")
    assert "Articles per day" in dom and dom.count("<svg") >= 8
    charts = measure_labels(page, tmp_path)
    assert len(charts) >= 8 and all(label["width"] > 0 for c in charts for label in c["labels"])
    problems = layout_problems(charts)
    assert not problems, "\n".join(problems)
    assert (tmp_path / "report-1200.png").stat().st_size > 20_000  # a blank page is a few kB


@NEEDS_CHROMIUM
@pytest.mark.parametrize("width", [1200, 640])
def test_labels_neither_overlap_nor_clip_over_many_days_and_long_names(many_days_output, width, tmp_path):
    results = runner.check_output(many_days_output, now=NOW + dt.timedelta(days=365))
    page = report.write_report(many_days_output, results, dataset_stats(many_days_output), run=RUN)
    charts = measure_labels(page, tmp_path, width)
    days = next(c for c in charts if c["title"].startswith("Articles per day"))
    assert len([l for l in days["labels"] if re.fullmatch(r"\d{4}-\d\d-\d\d", l["text"])]) >= 4
    problems = layout_problems(charts)
    assert not problems, f"{len(problems)} layout problems:\n" + "\n".join(problems)


def _days(first: str, count: int, every: int = 1) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=i * every)).isoformat() for i in range(count)]


#: day axes the fixtures above do not reach: one day, big counts and 'undated', three years
#: (month labels), sparse days decades apart (no gap filling), five years of every other day
DAY_AXES = {
    "one-day": [["2024-03-12", 7]],
    "undated-big-counts": [["2024-03-10", 12_345], ["2024-03-11", 250_001], ["2024-03-12", 3], ["undated", 98_765]],
    "three-years": [[d, 1000 + (i * 37) % 900] for i, d in enumerate(_days("2022-01-01", 1096))],
    "sparse-decades": [[d, 1 + i % 4] for i, d in enumerate(_days("1990-06-15", 40, every=250))] + [["undated", 2]],
    "five-years-gappy": [[d, 1 + i % 9] for i, d in enumerate(_days("2019-01-01", 913, every=2))],
}


@NEEDS_CHROMIUM
@pytest.mark.parametrize("axis", sorted(DAY_AXES))
def test_day_axes_and_wide_names_fit(output, axis, tmp_path):
    stats = dict(dataset_stats(output), articles_per_day=DAY_AXES[axis])
    stats["top_sources"] = [["東京新聞デジタル版ニュースサイト.example.jp", 1_234_567], ["WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", 7],
                            [None, 3], ["x", 1]]
    stats["top_entities"] = [["Organisation for Economic Co-operation and Development (ORG)", 999_999]]
    page = tmp_path / "report.html"
    page.write_text(report.render(runner.check_output(output, now=NOW), stats, run=RUN), encoding="utf-8")
    charts = measure_labels(str(page), tmp_path)
    days = next(c for c in charts if c["title"].startswith("Articles per day"))
    assert days["labels"] and all(label["width"] > 0 for label in days["labels"])
    problems = layout_problems(charts)
    assert not problems, f"{len(problems)} layout problems:\n" + "\n".join(problems)
