"""Watched folders: new or changed files under the ``--watch`` globs, read like batch inputs."""
from __future__ import annotations

from typing import Optional, Tuple

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from pipeline.io.source import Source
from pipeline.io.stream.base import NAMESPACE, STORE_LOCK
from pipeline.io.stream.ticks import Ticks

__all__ = ["WATCHED_FILE", "WatchFiles", "load_watched"]


WATCHED_FILE = "watched.json"


def load_watched(state_dir: Optional[str]) -> dict[str, str]:
    """``path -> "size:mtime"`` of the files earlier runs read (``<state dir>/watched.json``)."""
    import json
    import os

    if not state_dir:
        return {}
    try:
        with open(os.path.join(state_dir, WATCHED_FILE), encoding="utf-8") as f:
            return {str(k): str(v) for k, v in json.load(f).items()}
    except (OSError, ValueError):
        return {}


class _NewOrChangedFn(beam.DoFn):
    """``(path, "size:mtime")`` -> the path, when the file is new or changed since last seen.

    What was seen is kept in Beam state and, bundle by bundle, in ``<state dir>/watched.json``,
    which the next run (or the next segment of a local run) starts from.
    """

    SEEN = ReadModifyWriteStateSpec("seen", StrUtf8Coder())

    def __init__(self, seed: Optional[dict] = None, state_dir: Optional[str] = None):
        self.seed = seed or {}
        self.state_dir = state_dir
        self.changed = Metrics.counter(NAMESPACE, "watched_files")

    def start_bundle(self):
        self._new: dict = {}

    def process(self, element, seen=beam.DoFn.StateParam(SEEN)):
        path, version = element
        if (seen.read() or self.seed.get(path)) == version:
            return
        seen.write(version)
        self._new[path] = version
        self.changed.inc()
        yield path

    def finish_bundle(self):
        if not self._new or not self.state_dir:
            return
        import json
        import os

        from pipeline.io.feeds.state import atomic_write

        with STORE_LOCK:
            known = load_watched(self.state_dir)
            known.update(self._new)
            os.makedirs(self.state_dir, exist_ok=True)
            atomic_write(os.path.join(self.state_dir, WATCHED_FILE),
                         json.dumps(dict(sorted(known.items())), indent=0).encode())
        self._new = {}


def _path_and_version(metadata):
    return metadata.path, f"{metadata.size_in_bytes}:{metadata.last_updated_in_seconds}"


class WatchFiles(beam.PTransform):
    """New or changed files under the globs, checked every ``interval`` seconds (``--watch-interval``),
    read like batch inputs: a :class:`~pipeline.io.source.Source`. With ``scans_root`` (the streaming output),
    every scan of a glob is counted as a ``scans`` count there (the manifest's ``scans``)."""

    def __init__(self, patterns: list[str], interval: float, start: Optional[float] = None,
                 stop: Optional[float] = None, state_dir: Optional[str] = None, paced: bool = False,
                 scans_root: Optional[str] = None, limits=None):
        super().__init__()
        self.limits = limits  # the run's --max-file-bytes ... (None: the defaults)
        self.patterns = list(patterns)
        self.interval = interval
        self.start = start
        self.stop = stop
        self.state_dir = state_dir
        self.paced = paced  # the local runner: see Ticks
        self.scans_root = scans_root

    def expand(self, pbegin):
        from apache_beam.io import fileio

        from pipeline.io.files.read import ReadFileFn

        # fileio.MatchContinuously(has_deduplication=False) is PeriodicImpulse | pattern | MatchAll;
        # spelled out here so that the ticks can be paced
        matches = []
        for i, pattern in enumerate(self.patterns):
            scans = (pbegin
                     | f"Ticks{i}" >> Ticks(self.start, self.stop, self.interval, self.paced)
                     | f"Pattern{i}" >> beam.Map(lambda _tick, pattern=pattern: pattern))
            if self.scans_root:
                from pipeline.output.live import CountLive

                scans | f"CountScans{i}" >> CountLive("scans", self.scans_root)
            matches.append(scans | f"Match{i}" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW))
        files = matches[0] if len(matches) == 1 else matches | "AllMatches" >> beam.Flatten()
        read = (files
                | "Version" >> beam.Map(_path_and_version).with_output_types(Tuple[str, str])
                | "NewOrChanged" >> beam.ParDo(_NewOrChangedFn(load_watched(self.state_dir), self.state_dir))
                | "ReadFiles" >> beam.ParDo(ReadFileFn(self.limits)).with_outputs("rejects", "skipped", main="items"))
        return Source((read.items,), read.rejects, read.skipped)

