"""The HTML report: charts, no network resources, and it renders in headless Chromium."""
import datetime as dt
import os
import re
import shutil
import subprocess

import pytest

from pipeline.quality import report, runner
from pipeline.quality.inspect import dataset_stats

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


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on PATH (Debian: apt-get install chromium-headless-shell)")
def test_report_renders_in_headless_chromium_without_network(page, tmp_path):
    shot = tmp_path / "report.png"
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--proxy-server=127.0.0.1:9", "--dump-dom", f"file://{page}"],
        capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Articles per day" in dom.stdout and dom.stdout.count("<svg") >= 8
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                    f"--screenshot={shot}", "--window-size=1200,1600", f"file://{page}"],
                   capture_output=True, timeout=120, check=True, cwd=tmp_path)
    assert shot.stat().st_size > 20_000  # a blank page is a few kB; charts and tables are not
