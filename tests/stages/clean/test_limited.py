"""Tests for pipeline.stages.clean.limited: the clean stage under the run's limits.

The time limit is enforced by a worker process that is killed on an overrun (issue 23): a
pathological page costs its own budget and no more, the next pages are cleaned as usual, and the
checks on raw input (the depth that explains an empty page) run in linear time inside the budget.
"""
from __future__ import annotations

import pickle
import re
import time

import pytest

from pipeline.limits import Limits
from pipeline.stages.base import Rejected
from pipeline.stages.clean import limited
from pipeline.stages.clean.limited import MAX_HTML_DEPTH, LimitedClean, html_depth
from tests.test_hostile import GOOD

#: The old, quadratic scanner: html_depth must count exactly what it counted.
_OLD_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")


def old_html_depth(html: str, stop_at: int = MAX_HTML_DEPTH) -> int:
    depth = deepest = 0
    for match in _OLD_TAG_RE.finditer(html):
        closing, tag, selfclosing = match.groups()
        if selfclosing or tag.lower() in limited._VOID_TAGS:
            continue
        depth = depth - 1 if closing else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                break
    return deepest


def page(name: str) -> dict:
    title, text = GOOD[name]
    return {"html": f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                    f"<p>{text}</p></article></body></html>",
            "format": "html", "input_uri": f"{name}.html"}


def attribute_bomb(attributes: int) -> dict:
    """One element with many distinct attributes: libxml2's duplicate check makes the parse
    quadratic (40k attributes: ~13 s; 900k: hours)."""
    attrs = "".join(f" a{i}" for i in range(attributes))
    return {"html": f"<html><body><div{attrs}><p>{GOOD['ferry'][1]}</p></div></body></html>",
            "format": "html", "input_uri": "bomb.html"}


def sleepy(item: dict) -> dict:
    """A stand-in extraction that overruns any budget, unless the item says otherwise."""
    if item.get("sleep"):
        time.sleep(item["sleep"])
    return {"echo": item.get("text")}


def test_an_overrun_is_killed_and_the_next_pages_are_cleaned():
    clean = LimitedClean(Limits(extract_timeout=3))
    try:
        assert clean(page("ferry"))["title"] == GOOD["ferry"][0]
        first = clean._worker._proc
        started = time.monotonic()
        with pytest.raises(Rejected, match=r"extraction took over --extract-timeout 3 seconds"):
            clean(attribute_bomb(900_000))
        # far below the minutes the page's extraction would take if it were waited for
        assert time.monotonic() - started < 3 + 30
        assert first.poll() is not None  # the overrunning process is gone, not left running
        assert clean(page("library"))["title"] == GOOD["library"][0]  # (starts the replacement worker)
        for name in ("orchard", "bridge"):  # cleaned, not timed out behind the abandoned page
            assert clean(page(name))["title"] == GOOD[name][0]
        assert clean._worker.started == 2  # one replacement, reused for every later page
    finally:
        clean.close()


def test_one_worker_is_reused_across_items():
    clean = LimitedClean(Limits(extract_timeout=10), fn=sleepy)
    try:
        assert [clean({"text": str(i)})["echo"] for i in range(20)] == [str(i) for i in range(20)]
        assert clean._worker.started == 1
    finally:
        clean.close()


def test_a_slow_item_is_rejected_on_time_and_the_worker_replaced():
    clean = LimitedClean(Limits(extract_timeout=0.5), fn=sleepy)
    try:
        started = time.monotonic()
        with pytest.raises(Rejected, match=r"extraction took over --extract-timeout 0.5 seconds"):
            clean({"text": "x", "sleep": 60})
        assert time.monotonic() - started < 30  # the item sleeps 60 s: it was not waited for
        assert clean({"text": "y"}) == {"echo": "y"}
        assert clean._worker.started == 2
    finally:
        clean.close()


def test_it_pickles_without_its_process_and_each_copy_has_its_own():
    clean = LimitedClean(Limits(extract_timeout=10), fn=sleepy)
    try:
        clean({"text": "a"})
        copy = pickle.loads(pickle.dumps(clean))
        assert copy._worker is None and copy.limits == clean.limits
        assert copy({"text": "b"}) == {"echo": "b"}
        assert copy._worker._proc.pid != clean._worker._proc.pid
        copy.close()
    finally:
        clean.close()


def test_errors_in_the_worker_are_raised_in_the_caller():
    clean = LimitedClean(Limits(extract_timeout=10))
    try:
        with pytest.raises(Rejected, match="neither text nor html"):
            clean({"input_uri": "empty"})
    finally:
        clean.close()


def test_without_a_timeout_it_runs_in_process():
    clean = LimitedClean(Limits(extract_timeout=0))
    assert clean(page("ferry"))["title"] == GOOD["ferry"][0]
    assert clean._worker is None


def test_html_depth_counts_as_before():
    samples = [
        "<html><body><div><p>x<br></div></body></html>", "<a/><b><c/></b>", "<a href='x/'><b>",
        "<div a='<div>'><div>", "</div></div><div>", "<a <b <c>", "<a/ ><B/><DIV><div>", "<a>" * 300,
        "<1><a2><a2/></a2>", "<<a>>", "<a\n/>", "<a>/<b>", "<div>" * 10 + "<a" * 5,
    ]
    for sample in samples:
        assert html_depth(sample) == old_html_depth(sample), sample
        assert html_depth(sample, 3) == old_html_depth(sample, 3), sample


def _scanned(html: str) -> int:
    """Characters the scanner inspects, counted by instrumenting the two primitives it uses."""
    counted = [0]

    class Counting(str):
        def find(self, sub, start=0, end=None):
            found = str.find(self, sub, start)
            counted[0] += (found if found >= 0 else len(self)) - start + 1
            return found

    pattern = limited._TAG_START_RE

    class CountingRe:
        def search(self, string, pos=0):
            match = pattern.search(string, pos)
            counted[0] += (match.end() if match else len(string)) - pos + 1
            return match

    original = limited._TAG_START_RE
    limited._TAG_START_RE = CountingRe()
    try:
        html_depth(Counting(html))
    finally:
        limited._TAG_START_RE = original
    return counted[0]


@pytest.mark.parametrize("unit", ["<a", "<a ", "<div>", "</a", "<a/", "<a <", "<" , "<a>x</a>"])
def test_html_depth_is_linear_in_the_page(unit):
    """Size sweep: the work grows with the page, not with its square (the old regex needed
    2 min 50 s for 160,000 ``<a``)."""
    sizes = [10_000, 40_000, 160_000]
    work = [_scanned(unit * n) for n in sizes]
    for small, big, n_small, n_big in zip(work, work[1:], sizes, sizes[1:]):
        assert big <= small * (n_big / n_small) * 1.1 + 100, (unit, work)
    # and in practice: 160,000 "<a" (the page) well under a second, 1 MB too
    started = time.monotonic()
    assert html_depth("<a" * 500_000) == 0
    assert time.monotonic() - started < 60  # the quadratic regex: over 15 minutes


def test_a_page_of_tag_starts_is_rejected_within_the_budget():
    """The issue's page: 160,000 ``<a`` yield no text; explaining why (the depth check) now runs
    in linear time and inside the budget."""
    clean = LimitedClean(Limits(extract_timeout=5))
    try:
        clean(page("ferry"))  # the worker is up
        started = time.monotonic()
        with pytest.raises(Rejected) as caught:
            clean({"html": "<a" * 160_000, "format": "html", "input_uri": "a.html"})
        assert time.monotonic() - started < 5 + 30  # the quadratic check took 2 min 50 s
        assert "no article text" in caught.value.reason or "--extract-timeout 5" in caught.value.reason
    finally:
        clean.close()


def test_the_worker_does_not_outlive_a_killed_parent(tmp_path):
    """kill -9 of the process running LimitedClean, while its worker is busy for an hour: the
    worker goes too (no orphan burning a core on a hostile page)."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:0] = {[p for p in sys.path if p]!r}\n"
        "from pipeline.limits import Limits\n"
        "from pipeline.stages.clean.limited import LimitedClean\n"
        "from tests.stages.clean.test_limited import sleepy\n"
        "clean = LimitedClean(Limits(extract_timeout=3600), fn=sleepy)\n"
        "clean({'text': 'up'})\n"
        "print(clean._worker._proc.pid, flush=True)\n"
        "clean({'sleep': 3600})\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        # reaped by init once it exits; a zombie of ours it is not (its parent was the killed one)
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the worker outlived its killed parent by 10 s")
