"""Progress of a batch run while Beam runs it: how many inputs were read, how many articles went
through entity extraction, how many rows reached the writers, the rate and the time.

Beam's FnApiRunner runs the whole job inside ``pipeline.run()``, and with ``--direct_running_mode
multi_processing`` the steps run in other processes, so the counts travel by files:

* :class:`CountProgress` is a leaf step (it outputs nothing) that :func:`pipeline.graph.build` hangs
  off the PCollections worth watching. Each DoFn instance counts its elements and, at most every
  ``every`` seconds and at the end of each bundle, rewrites one small file
  ``DIR/<kind>-<pid>-<random>.json`` (``{"kind": ..., "count": ...}``, written to a temporary name
  and renamed). Per element it costs a counter increment and a clock read; it never touches the
  element, so no output row and no conservation count changes.
* :func:`read_counts` adds up the files per kind; :func:`format_line` renders one line.
* :class:`Reporter` (a background thread in the driver, used through :func:`shown`) shows them:
  on a terminal a live line redrawn every :data:`TTY_REFRESH` seconds (tqdm; log lines and other
  writes to ``sys.stderr`` are printed above it, whole lines at a time), left on screen with the
  final counts when the job ends; otherwise one plain line every :data:`PLAIN_EVERY` seconds (none
  for a shorter run) and, when it printed any, a last line with the final counts.

``NEWSBEAM_PROGRESS_EVERY=SECONDS`` changes the plain period (tests use a fraction of a second);
the steps then flush at least as often.

The counts are a view of the work under way, not the run's accounting: a retried bundle may count
twice here. The summary and ``_manifest.json`` still come from the written datasets.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from typing import Callable, Iterable, Optional

import apache_beam as beam

ENV_EVERY = "NEWSBEAM_PROGRESS_EVERY"
PROGRESS_DIR = "_progress"
#: Seconds between two plain progress lines (stderr not a terminal), unless ENV_EVERY says otherwise.
PLAIN_EVERY = 10.0
#: Seconds between two redraws of the live line on a terminal.
TTY_REFRESH = 0.5
#: Longest time a counting step keeps a count before writing it (also bounded by the plain period).
FLUSH_EVERY = 1.0

#: The end of the last line: what the run does between the job's end and its summary.
DONE = " | job done; checking and publishing the output"

#: What is counted, in the order shown.
INPUTS, ENTITIES, ARTICLES, DUPLICATES, REJECTS = "inputs", "entities", "articles", "duplicates", "rejects"


def plain_every() -> float:
    """Seconds between plain lines: ``NEWSBEAM_PROGRESS_EVERY`` when set to a number > 0."""
    try:
        value = float(os.environ.get(ENV_EVERY, ""))
    except ValueError:
        return PLAIN_EVERY
    return value if value > 0 else PLAIN_EVERY


def flush_every() -> float:
    """Seconds a counting step may keep its count unwritten."""
    return min(FLUSH_EVERY, plain_every())


def progress_dir(staging: str) -> str:
    return os.path.join(staging, PROGRESS_DIR)


# --------------------------------------------------------------------------- reading and formatting


def read_counts(directory: str) -> dict[str, int]:
    """The counts of every counting step's file under ``directory``, added up per kind. Files
    being replaced or not (yet) whole are skipped: they are read again at the next tick."""
    totals: dict[str, int] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return totals
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                data = json.load(f)
            kind, count = str(data["kind"]), int(data["count"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        totals[kind] = totals.get(kind, 0) + count
    return totals


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def format_line(counts: dict[str, int], elapsed: float, entities: bool = False,
                read_seconds: Optional[float] = None) -> str:
    """One progress line, e.g. ``newsbeam [0:42] read 1448 inputs (34.5/s) | entities 700 |
    out: 148 articles, 42 duplicates, 10 rejects``. ``entities``: the run extracts entities;
    ``read_seconds``: the time the inputs took to read so far (default ``elapsed``), which the
    rate is over, so it does not sink while later stages run."""
    inputs = counts.get(INPUTS, 0)
    seconds = elapsed if read_seconds is None else read_seconds
    rate = inputs / seconds if seconds > 0 else 0.0
    parts = [f"read {inputs} inputs ({rate:.1f}/s)"]
    if entities:
        parts.append(f"entities {counts.get(ENTITIES, 0)}")
    parts.append(f"out: {counts.get(ARTICLES, 0)} articles, {counts.get(DUPLICATES, 0)} duplicates, "
                 f"{counts.get(REJECTS, 0)} rejects")
    return f"newsbeam [{_clock(elapsed)}] " + " | ".join(parts)


# --------------------------------------------------------------------------- the counting step


def _write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


class _CountFn(beam.DoFn):
    """Count elements; write the count to this instance's own file, rate-limited (see the module
    docstring). A file that cannot be written turns the counting off: progress never fails a run."""

    def __init__(self, kind: str, directory: str, every: float):
        self.kind = kind
        self.directory = directory
        self.every = every

    def setup(self):
        self._path = os.path.join(self.directory, f"{self.kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
        self._count = 0
        self._written = 0
        self._due = 0.0  # the first element is written at once: the line moves as soon as work does
        self._on = True

    def process(self, _element):
        self._count += 1
        if self._on and time.monotonic() >= self._due:
            self._flush()

    def finish_bundle(self):
        if self._on and self._count != self._written:
            self._flush()

    def _flush(self):
        self._due = time.monotonic() + self.every
        try:
            os.makedirs(self.directory, exist_ok=True)
            _write_json(self._path, {"kind": self.kind, "count": self._count})
            self._written = self._count
        except OSError:  # e.g. a remote worker without the driver's directory
            self._on = False


class CountProgress(beam.PTransform):
    """A leaf step counting the elements of a PCollection as ``kind`` into ``directory``."""

    def __init__(self, kind: str, directory: str, every: Optional[float] = None):
        super().__init__()
        self.kind = kind
        self.directory = directory
        self.every = flush_every() if every is None else every

    def expand(self, pcoll):
        return pcoll | "Count" >> beam.ParDo(_CountFn(self.kind, self.directory, self.every))


# --------------------------------------------------------------------------- showing it


class _LinesAbove:
    """Stands in for ``sys.stderr`` while a live line is shown: whole lines written to it are
    printed above the line (``tqdm.write``), a partial line waits for its end."""

    def __init__(self, stream, write_line: Callable[[str], None]):
        self._stream = stream
        self._write_line = write_line
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                done, self._pending = self._pending.rsplit("\n", 1)
                self._write_line(done)
        return len(text)

    def flush(self) -> None:
        pass

    def close_pending(self) -> None:
        with self._lock:
            if self._pending:
                self._write_line(self._pending)
                self._pending = ""

    def __getattr__(self, name):  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


class Reporter:
    """Shows the counts under ``directory`` on ``stream`` (see the module docstring).

    ``tick(now)`` does one step and is what the thread calls; tests call it directly with their
    own times. ``started``: the run's start (``time.monotonic()``), for the elapsed time."""

    def __init__(self, directory: str, stream, tty: bool, started: float, entities: bool = False,
                 every: Optional[float] = None):
        self.directory = directory
        self.stream = stream
        self.tty = tty
        self.started = started
        self.entities = entities
        self.every = plain_every() if every is None else every
        self.printed = 0
        self._inputs, self._inputs_at = 0, started
        self._next = started + self.every
        self._bar = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._stderr_before = None

    def line(self, now: float) -> str:
        counts = read_counts(self.directory)
        inputs = counts.get(INPUTS, 0)
        if inputs != self._inputs:  # the rate is over the time until the last input read
            self._inputs, self._inputs_at = inputs, now
        return format_line(counts, now - self.started, self.entities, self._inputs_at - self.started)

    def tick(self, now: float) -> None:
        if self.tty:
            self._bar.ncols = terminal_width(self.stream)
            self._bar.set_description_str(self.line(now), refresh=True)
        elif now >= self._next:
            self._next = now + self.every
            self._print(self.line(now))

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        self.printed += 1

    def start(self, thread: bool = True) -> "Reporter":
        """Open the live line (terminal) and start the thread that ticks (``thread=False``: the
        caller ticks, as tests do)."""
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=None, file=self.stream, bar_format="{desc}", leave=False,
                             ncols=terminal_width(self.stream), nrows=24, mininterval=0, delay=0)
            # nrows: a terminal that says 0 rows (a new pseudo-terminal, `script`) made tqdm count -1
            # rows and draw nothing; one line is drawn, any count above 1 will do
            if sys.stderr is self.stream:  # log lines and other stderr writes go above the line
                self._stderr_before = sys.stderr
                sys.stderr = _LinesAbove(self.stream, lambda text: tqdm.write(text, file=self.stream))
        if thread:
            self._thread = threading.Thread(target=self._loop, name="newsbeam-progress", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        period = TTY_REFRESH if self.tty else min(self.every, TTY_REFRESH)
        while True:
            try:
                self.tick(time.monotonic())
            except Exception:  # never let the display break a run
                pass
            if self._stop.wait(period):
                return

    def stop(self, finished: bool = True) -> None:
        """Stop the thread. ``finished`` (the job ended): the live line shows the final counts and
        stays, followed by a line saying the job is done, or a last plain line with them and
        :data:`DONE` is printed (when any was): the summary comes only after the output is checked
        and published.
        After an error or Ctrl-C the live line is cleared and no plain line is printed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._stderr_before is not None:
            replaced, sys.stderr = sys.stderr, self._stderr_before
            self._stderr_before = None
            if isinstance(replaced, _LinesAbove):
                replaced.close_pending()
        if self._bar is not None:
            if finished:  # the last counts stay on screen, above the summary
                self._bar.set_description_str(self.line(time.monotonic()), refresh=True)
            self._bar.leave = finished
            self._bar.close()
            self._bar = None
            if finished:  # its own line: at the end of the live one a narrow terminal would cut it
                print("newsbeam:" + DONE.replace(" |", "", 1), file=self.stream, flush=True)
        elif finished and self.printed:
            self._print(self.line(time.monotonic()) + DONE)


@contextlib.contextmanager
def shown(directory: Optional[str], stream=None, started: Optional[float] = None, entities: bool = False,
          tty: Optional[bool] = None):
    """Show progress from ``directory`` on ``stream`` (default ``sys.stderr``) while the block
    runs; nothing when ``directory`` is None (``-q``, or a runner whose workers cannot write there).
    ``tty`` defaults to whether ``stream`` is a terminal (``TERM=dumb`` counts as not one)."""
    if directory is None:
        yield None
        return
    stream = sys.stderr if stream is None else stream
    if tty is None:
        tty = _is_terminal(stream)
    reporter = Reporter(directory, stream, tty, time.monotonic() if started is None else started,
                        entities).start()
    finished = False
    try:
        yield reporter
        finished = True
    finally:
        reporter.stop(finished)


def terminal_width(stream) -> int:
    """Columns for the live line: the terminal's, less one (a full line wraps on some
    terminals); ``COLUMNS`` or 80 when the terminal does not say (a new pseudo-terminal says 0)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            columns = 80
    return max(columns - 1, 20)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def count_steps(parts: Iterable[tuple[str, str, object]], directory: Optional[str]) -> None:
    """Hang a :class:`CountProgress` off each ``(label, kind, pcoll)``; nothing when ``directory``
    is None."""
    if directory is None:
        return
    for label, kind, pcoll in parts:
        pcoll | label >> CountProgress(kind, directory)


def upstream(pcoll, step: str, hops: int = 8):
    """The PCollection that the step whose label contains ``/step`` produced, walking up from
    ``pcoll`` through main inputs (at most ``hops`` steps); ``pcoll`` itself when there is none.
    For a composite whose own output comes only when it has seen everything (the entity stage's
    run-wide alias table), this finds the output that moves while the work is under way."""
    node = pcoll
    for _ in range(hops):
        producer = getattr(node, "producer", None)
        if producer is None or not producer.inputs:
            break
        if f"/{step}" in producer.full_label:
            return node
        node = producer.inputs[0]
    return pcoll
