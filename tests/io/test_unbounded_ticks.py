"""Paced ticks: on the local runner a stream runs one bundle per tick, not a busy loop of bundles."""
import time

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.io.unbounded import Ticks, seconds_until_tick


def test_seconds_until_tick():
    assert seconds_until_tick(100.0, 2.0, 3, 10, now=104.5) == 1.5   # tick 3 is at 106
    assert seconds_until_tick(100.0, 2.0, 3, 10, now=107.0) == 0.0   # overdue: at once
    assert seconds_until_tick(100.0, 2.0, 10, 10, now=90.0) == 0.0   # no tick left
    assert seconds_until_tick(100.0, 2.0, 0, 10, now=50.0) == 2.0    # never more than one interval


class _Record(beam.DoFn):
    """Appends a line per bundle and per element to a file (the DoFn runs in this process)."""

    def __init__(self, path):
        self.path = path

    def start_bundle(self):
        with open(self.path, "a") as f:
            f.write("bundle\n")

    def process(self, tick):
        with open(self.path, "a") as f:
            f.write(f"tick {tick}\n")


def test_paced_ticks_fire_each_tick_once_in_one_bundle_each(tmp_path):
    log = tmp_path / "log.txt"
    start = time.time() + 0.5
    options = PipelineOptions(["--runner=FnApiRunner", "--streaming"])
    with beam.Pipeline(options=options) as p:
        p | Ticks(start, start + 2.5, 0.5, paced=True) | beam.ParDo(_Record(str(log)))
    lines = log.read_text().splitlines()
    ticks = [float(line.split()[1]) for line in lines if line.startswith("tick")]
    assert ticks == pytest.approx([start + 0.5 * i for i in range(5)], abs=1e-5)
    # Beam's PeriodicImpulse on this runner: a bundle of the whole fused stage many times a second
    assert lines.count("bundle") <= len(ticks) + 2
