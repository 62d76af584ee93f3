"""The soak benchmark's memory figures: process tree, per-job peaks and lows, slopes."""
import os
import subprocess
import sys
import time

from tests.conftest import REPO
from tests.test_bench_dedup import _load

soak = _load("bench_soak", REPO / "bench" / "soak.py")


def test_descendants_follow_the_whole_tree_and_nothing_else():
    parent_of = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
    assert sorted(soak.descendants(10, parent_of)) == [10, 11, 12, 13]
    assert soak.descendants(13, parent_of) == [13]


def test_tree_rss_counts_a_child_process():
    child = subprocess.Popen([sys.executable, "-c", "import sys; b = bytearray(64 << 20); sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        for _ in range(100):  # until the child has its 64 MiB
            if soak.rss_kib(child.pid) > 60 << 10:
                break
            time.sleep(0.05)
        tree, mine = soak.tree_rss_kib(os.getpid())
        assert tree >= mine + soak.rss_kib(child.pid) - 1024  # the child is in the sum
        assert soak.rss_kib(child.pid) > 60 << 10
    finally:
        child.communicate(b"")


def test_memory_summary_per_job_and_slopes():
    # three jobs after a one-minute warm-up, each peaking at the same height: a flat sawtooth
    samples = [(0.0, 100 << 10, 50 << 10, 0)]
    for job, start in ((1, 10), (2, 70), (3, 130), (4, 190)):
        samples += [(start + 0.0, 300 << 10, 50 << 10, job), (start + 30.0, 600 << 10, 50 << 10, job),
                    (start + 55.0, 900 << 10, 50 << 10, job)]
    cut_short = samples + [(249.0, 200 << 10, 50 << 10, 5)]  # the last job, stopped at its start
    summary = soak.memory_summary(cut_short, seconds=250)
    assert [j["peak_mib"] for j in summary["jobs_memory"]] == [900.0] * 4 + [200.0]
    # lows after each job's start-up (the 300 MiB sample is a child still importing)
    assert [j["low_mib"] for j in summary["jobs_memory"]] == [600.0] * 4 + [200.0]
    assert summary["job_peak_slope_mib_per_minute_after_warmup"] == 0.0
    assert summary["rss_mib_max"] == 900.0
    # a growing one: each later job peaks 100 MiB higher, one job a minute
    growing = [(t, kib + (job * 100 << 10), d, job) for t, kib, d, job in samples]
    slope = soak.memory_summary(growing, seconds=250)["job_peak_slope_mib_per_minute_after_warmup"]
    assert abs(slope - 100.0) < 1e-6
