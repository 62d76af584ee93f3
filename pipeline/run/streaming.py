"""``newsbeam run --streaming``: run the streaming graph, keep the manifest fresh, show a status line.

The job itself is :func:`pipeline.graph.build_streaming`; this module is the driver around it:

* the output is a live Hive tree (files land while the job runs, see ``pipeline/output/live.py``);
  like a batch run, a new run replaces what an earlier run left in ``--output``;
* a background thread rewrites ``_manifest.json`` (``status: running``) every few seconds from
  the files that have landed, and prints a status line (feed polls, folder scans, inputs, articles,
  duplicates, rejects, time since the last file);
* ``--stop-after SECONDS`` stops the sources (feed ticks, folder matches) at that time; the job
  then drains and the final manifest is written (``status: complete``) with conservation checked.
  A Pub/Sub job has no end of its own: it is cancelled after ``--stop-after`` (Dataflow: drain it
  from the console or with ``gcloud dataflow jobs drain`` instead for a clean stop).

Local runs use the FnApiRunner in streaming mode: elements flow through as they arrive (measured:
a stateful step sees each poll's items at once), but its watermark timers fire immediately, so
the dedup state expires on access instead (``StreamingDedup(timers=False)``); on Dataflow/Flink
the TTL timers are used as well. The FnApiRunner's memory also grows with every poll and a
process does not give it back when a job ends, so a local stream runs as a series of jobs
(``--segment-seconds``), each in a child process (``python -m pipeline.run.streaming JOB.json``,
see :func:`segment_main`): the driver keeps the manifest and the status line, adds up the
counters each child writes, and starts the next child from the state the last one left.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time

from pipeline.run.common import add_counters, die_with_parent, run_child

REFRESH_SECONDS = 2.0
STATUS_EVERY = 5.0


def _clear_output(output: str) -> None:
    from pipeline.output.live import DATASETS, STREAM_DIR

    for name in list(DATASETS) + [STREAM_DIR, "_quality"]:
        path = os.path.join(output, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
    manifest = os.path.join(output, "_manifest.json")
    if os.path.exists(manifest):
        os.remove(manifest)


def live_manifest(output: str, status: str, options_row: dict, versions: dict, schema_version: str,
                  started: float, segments: "Segments | None" = None) -> tuple[dict, dict]:
    """The manifest of a streaming output as it is now, and its counts row.

    ``segments``: a local stream's commits so far and the segment in progress (tables layout);
    None: a managed runner's stream, whose files land in ``output``'s dataset folders."""
    from pipeline.run.common import conservation
    from pipeline.output.live import live_counts

    if segments is None:
        row, counts, skipped, files = live_counts(output)
    else:
        row, counts, skipped = segments.totals()
        files = []
    base = {k: row[k] for k in ("inputs", "articles", "duplicates", "rejects", "skipped")}
    check = conservation(row["inputs"], base)
    if status == "running":
        check["in_flight"] = row["inputs"] - check["accounted"]
    manifest = {
        "status": status,
        "mode": "streaming",
        "counts": base,
        "polls": row["polls"],
        "scans": row["scans"],
        "datasets": {name: {"rows": counts[name]} for name in counts},
        "skipped_by_reason": skipped,
        "conservation": check,
        "options": options_row,
        "versions": versions,
        "schema_version": schema_version,
        "elapsed_seconds": round(time.time() - started, 1),
    }
    if segments is not None and segments.commits:
        manifest.update(layout="tables", commit=segments.commit_row(), tables=segments.tables)
    else:
        manifest.update(files=files)
        if segments is not None:
            manifest["layout"] = "tables"
    return manifest, row


class Segments:
    """A local stream's segments: what the committed ones added up to (this run's counts), and
    the staging directory of the one running (its files count as in flight)."""

    ROW_KEYS = ("inputs", "articles", "duplicates", "rejects", "skipped", "polls", "scans")

    def __init__(self, fingerprint: str):
        import collections

        self.fingerprint = fingerprint
        self.row = dict.fromkeys(self.ROW_KEYS, 0)
        self.counts: collections.Counter = collections.Counter({d: 0 for d in ("articles", "duplicates",
                                                                                "entities", "rejects")})
        self.skipped: collections.Counter = collections.Counter()
        self.commits: list[str] = []
        self.seconds = 0.0
        self.tables: dict = {}
        self.staging: str | None = None
        self.lock = threading.Lock()

    @staticmethod
    def staged(staging: str | None):
        from pipeline.output.live import live_counts

        if staging is None or not os.path.isdir(staging):
            return None
        return live_counts(staging)

    def totals(self) -> tuple[dict, dict, dict]:
        with self.lock:
            row, counts, skipped = dict(self.row), dict(self.counts), dict(self.skipped)
            staging = self.staging
        live = self.staged(staging)
        if live is not None:
            live_row, live_counts_, live_skipped, _files = live
            row = {k: row[k] + live_row[k] for k in self.ROW_KEYS}
            counts = {k: counts.get(k, 0) + live_counts_.get(k, 0) for k in sorted(set(counts) | set(live_counts_))}
            skipped = {k: skipped.get(k, 0) + live_skipped.get(k, 0) for k in sorted(set(skipped) | set(live_skipped))}
        return row, counts, dict(sorted(skipped.items()))

    def last_file_age(self, now: float) -> float | None:
        from pipeline.output.live import newest_file_age

        live = self.staged(self.staging)
        return None if live is None else newest_file_age(live[3], self.staging, now)

    def committed(self, run_id: str, staged: tuple, stats: dict, seconds: float) -> None:
        row, counts, skipped, _files = staged
        with self.lock:
            self.row = {k: self.row[k] + row[k] for k in self.ROW_KEYS}
            self.counts.update(counts)
            self.skipped.update(skipped)
            self.seconds += seconds
            self.staging = None
            if stats:
                import pipeline.output.tables as tables

                self.commits.append(run_id)
                self.tables = {name: dict(stats[name], table=".".join(tables.identifier(name))) for name in stats}

    def commit_row(self) -> dict:
        return {"run_id": self.commits[-1], "mode": "append", "seconds": round(self.seconds, 3),
                "input_fingerprint": self.fingerprint, "segments": len(self.commits)}


def sources_fingerprint(options) -> str:
    """sha256 over what a stream reads (feed list file, watched patterns, subscription)."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("feeds", "watch", "pubsub_subscription"):
        digest.update(f"{name}\0{getattr(options, name, None)!r}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def status_line(row: dict, skipped: dict, elapsed: float, last_file_age) -> str:
    from pipeline.io.feeds.poll import SKIP_NOT_MODIFIED

    not_modified = skipped.get(SKIP_NOT_MODIFIED, 0)
    age = "no file yet" if last_file_age is None else f"last file {last_file_age:.0f}s ago"
    return (f"newsbeam [{elapsed:5.0f}s] polls {row['polls']} (304: {not_modified})  scans {row['scans']}  "
            f"inputs {row['inputs']}  "
            f"articles {row['articles']}  duplicates {row['duplicates']}  rejects {row['rejects']}  "
            f"skipped {row['skipped']}  {age}")


class _Refresher(threading.Thread):
    def __init__(self, output: str, make_manifest, started: float, quiet: bool = False, last_file_age=None):
        super().__init__(name="newsbeam-manifest", daemon=True)
        self.output = output
        self.last_file_age = last_file_age
        self.make_manifest = make_manifest
        self.started = started
        self.quiet = quiet
        self.stopped = threading.Event()

    def run(self):
        from pipeline.output import publish
        from pipeline.output.live import newest_file_age

        last_status = 0.0
        while not self.stopped.wait(REFRESH_SECONDS):
            try:
                manifest, row = self.make_manifest("running")
                publish.write_manifest(self.output, manifest)
            except Exception as exc:  # a file replaced under us: try again next time
                print(f"newsbeam: manifest refresh skipped ({exc!r})", file=sys.stderr)
                continue
            now = time.time()
            if not self.quiet and now - last_status >= STATUS_EVERY:
                last_status = now
                age = (self.last_file_age(now) if self.last_file_age is not None
                       else newest_file_age(manifest["files"], self.output, now))
                print(status_line(row, manifest["skipped_by_reason"], now - self.started, age),
                      file=sys.stderr, flush=True)


def segment_bounds(now: float, stop, segment_seconds: float, local: bool,
                   poll_interval: float = 0.0, watch_interval: float = 0.0) -> tuple[float, object, bool]:
    """``(start, stop, is_last)`` of the next job of a stream.

    The local runner's memory grows with every poll (measured with paced ticks, see
    ``pipeline.io.stream.ticks.Ticks``: ~0.26 MB per poll) and only the end of the process gives it
    back, so a local stream runs as jobs of ``segment_seconds``, each in its own child process;
    each starts from the feed state, the files seen and the dedup entries the previous ones left.
    Other runners run one job.

    A segment is rounded up to whole ``poll_interval`` (feeds polled; 0: none), so a new job never
    polls a feed early; without feeds, to whole ``watch_interval`` (folders watched; 0: none). With
    both, the feeds' interval decides: a folder scanned a little early costs nothing (and with the
    defaults, 300 s and 5 s, a whole number of polls is a whole number of scans too).
    """
    if not local or segment_seconds <= 0:
        return now, stop, True
    interval = poll_interval if poll_interval > 0 else watch_interval
    if interval > 0:  # whole intervals, so a new job never polls early
        segment_seconds = math.ceil(segment_seconds / interval) * interval
    end = now + segment_seconds
    if stop is not None and stop <= end:
        return now, stop, True
    return now, end, False


def dedup_seed(output: str, horizon_seconds: float, tolerance_seconds: float) -> dict:
    """The dedup entries of the canonical articles already stored: those within the horizon of
    the newest event time among them (event time, as the dedup state itself expires). Read from
    the tables (every committed run and segment), or from the dataset folders of a managed
    runner's stream."""
    import datetime as _dt

    from pipeline.io.stream import event_time
    from pipeline.output import tables
    from pipeline.schemas import json_record
    from pipeline.stages.dedup.streaming import seed_entries

    columns = ["id", "text", "content_hash", "published_at", "fetched_at", "url", "provenance"]
    if tables.has_tables(output):
        try:
            stored = _stored_within_horizon(output, columns, horizon_seconds, tolerance_seconds)
        except Exception as exc:  # no articles table yet (nothing committed)
            from pyiceberg.exceptions import NoSuchTableError

            if not isinstance(exc, NoSuchTableError):
                raise
            stored = []
    else:
        import pyarrow.parquet as pq

        from pipeline.output.files import list_dataset_files

        stored = [row for rel in list_dataset_files(output, "articles") if rel.endswith(".parquet")
                  for row in pq.read_table(os.path.join(output, rel), columns=columns).to_pylist()]
    now = _dt.datetime.now(_dt.timezone.utc)
    timed = []
    for row in stored:
        row = json_record(row, "articles")  # as the stages see records: ISO timestamps
        moment, _source = event_time(row, now, tolerance_seconds)
        timed.append((row, int(moment.timestamp() * 1_000_000)))
    if not timed:
        return {}
    newest = max(micros for _row, micros in timed)
    oldest = newest - int(horizon_seconds * 1_000_000)
    return seed_entries([(row, micros) for row, micros in timed if micros > oldest])


def _stored_within_horizon(output: str, columns: list[str], horizon_seconds: float,
                           tolerance_seconds: float) -> list[dict]:
    """The stored articles (``columns``) that may be within the horizon of the newest event time:
    two timestamp columns of every row first, then the text only of rows published from the
    cut-off on (day partitions pruned), or undated, or dated implausibly early (their event time
    is the fetch time). A job's start then costs the horizon's articles, not the whole history."""
    import datetime as _dt

    from pyiceberg.expressions import GreaterThanOrEqual, IsNull, LessThan

    from pipeline.io.stream import event_time
    from pipeline.io.stream.event_time import EARLIEST_PLAUSIBLE
    from pipeline.output import tables
    from pipeline.schemas import json_record

    now = _dt.datetime.now(_dt.timezone.utc)
    times = tables.read_table(output, "articles", columns=("published_at", "fetched_at")).to_pylist()
    if not times:
        return []
    newest = max(event_time(json_record(row, "articles"), now, tolerance_seconds)[0] for row in times)
    cutoff = (newest - _dt.timedelta(seconds=horizon_seconds)).isoformat()
    # separate scans: pyiceberg 0.12 fails planning Or(range, IsNull) over the null partition
    # (as tables.stored_keys says); a row is in at most one of them
    scans = (GreaterThanOrEqual("published_at", cutoff), IsNull("published_at"),
             LessThan("published_at", EARLIEST_PLAUSIBLE.isoformat()))
    return [row for where in scans
            for row in tables.read_table(output, "articles", columns=tuple(columns), row_filter=where).to_pylist()]


def streaming_options(argv: list[str]):
    """The options of a streaming run: streaming on, and the local default runner named, so
    the driver and every segment job read the same options from the same argv."""
    from apache_beam.options.pipeline_options import StandardOptions

    from pipeline.options import NewsbeamOptions

    options = NewsbeamOptions(argv)
    standard = options.view_as(StandardOptions)
    standard.streaming = True
    if standard.runner in (None, "DirectRunner"):
        standard.runner = "FnApiRunner"  # the DirectRunner would try to download Prism first (see the module docstring)
    return options


def run_job(options, output: str, state_dir: str, start: float, stop, seed_dedup: bool,
            run_started=None, stored: str | None = None) -> dict[str, int]:
    """Build and run one job of the stream until its sources stop; its counters.

    ``output``: where its files land (a segment's staging directory, or the output of a managed
    runner's stream). ``seed_dedup``: start the dedup state from the articles already stored in
    ``stored`` (default ``output``). ``run_started``: when the run (not this job) started, for
    ``--retry-now``.
    Raises ``NoInputError`` / ``FeedStateError`` for a source that cannot be read.
    """
    import apache_beam as beam

    from pipeline import graph
    from pipeline.run.common import counters

    seed = (dedup_seed(stored or output, options.dedup_horizon, options.event_time_tolerance)
            if seed_dedup else None)
    pipeline = beam.Pipeline(options=options)
    graph.build_streaming(pipeline, options, output, state_dir, start=start, stop=stop, dedup_seed=seed,
                          run_started=run_started)
    result = pipeline.run()
    if options.pubsub_subscription and options.stop_after:
        result.wait_until_finish(duration=int(options.stop_after * 1000))
        try:
            result.cancel()
        except Exception:  # already done, or the runner cannot cancel
            pass
    else:
        result.wait_until_finish()
    return counters(result)


def segment_main(spec_path: str) -> int:
    """A segment job in a child process (``python -m pipeline.run.streaming JOB.json``).

    ``JOB.json`` holds the run's argv, the output and state directories, the segment's start and
    stop and whether to seed dedup; the job's counters are written to ``spec["result"]`` (JSON)
    for the driver, which only reads them after a clean exit.
    """
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    die_with_parent(spec["driver_pid"])  # first: the imports below take seconds

    from pipeline.run.common import child_main, quiet_known_noise

    quiet_known_noise()
    return child_main(spec, lambda: run_job(streaming_options(spec["argv"]), spec["output"], spec["state_dir"],
                                            spec["start"], spec["stop"], spec["seed_dedup"], spec.get("run_started"),
                                            spec.get("stored")))


class SegmentFailed(RuntimeError):
    """A segment job's child process ended with an error (``code``: its exit code, or minus the
    signal that killed it)."""

    def __init__(self, index: int, code: int):
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        super().__init__(f"streaming job {index} {how}")
        self.index = index
        self.code = code


def run_segment_child(spec: dict, workdir: str) -> dict[str, int]:
    """Run one segment job in a child process; its counters. Raises :class:`SegmentFailed`."""
    index = spec["index"]
    spec = dict(spec, result=os.path.join(workdir, f"job-{index}.result.json"))
    spec_path = os.path.join(workdir, f"job-{index}.json")
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    code = run_child("pipeline.run.streaming", spec_path)
    if code != 0:
        raise SegmentFailed(index, code)
    with open(spec["result"], encoding="utf-8") as f:
        return json.load(f)["counters"]


def run_segment(segments: Segments, index: int, argv: list[str], output: str, state_root: str,
                start: float, stop, run_started: float, workdir: str, options_row: dict) -> dict[str, int]:
    """One segment of a local stream: its job in a child process writes into a staging directory
    with its own copy of the state; once the job ended cleanly, its rows and its state are
    committed together. A job that fails or is stopped commits nothing: its inputs are read again."""
    from pipeline.output import publish
    from pipeline.output.live import live_counts
    from pipeline.run.commits import (discard_segment, finish_commit, new_run_id, segment_state,
                                      write_segment)

    run_id = new_run_id()
    staging = publish.staging_dir(output)
    write_segment(staging, {"run_id": run_id, "ready": False})
    work = segment_state(state_root, run_id)
    with segments.lock:
        segments.staging = staging
    spec = {"index": index, "argv": list(argv), "output": staging, "stored": output, "state_dir": work,
            "start": start, "stop": stop, "seed_dedup": True, "run_started": run_started,
            "driver_pid": os.getpid()}
    try:
        job_metrics = run_segment_child(spec, workdir)
    except BaseException:
        with segments.lock:
            segments.staging = None
        discard_segment(staging, state_root, run_id)
        raise
    staged = live_counts(staging)
    row, _counts, skipped, _files = staged
    summary = {"options": options_row, "streaming-segment": index,
               "stream-counts": {k: row[k] for k in Segments.ROW_KEYS}, "skipped-by-reason": skipped}
    segment = {"run_id": run_id, "ready": True, "kind": "segment", "summary": summary}
    write_segment(staging, segment)
    from pipeline.output.files import pause_for_tests

    pause_for_tests("segment-commit")  # tests: SIGKILL between a segment's end and its commit
    stats, seconds = finish_commit(output, staging, state_root, segment)
    segments.committed(run_id, staged, stats, seconds)
    return job_metrics


def run_streaming(argv: list[str], quiet: bool = False) -> int:
    """Run until the sources end (``--stop-after``) or forever; exit code as for batch, and 1
    (2 for a source that cannot be read) when a job fails. ``quiet`` (``-q``): no status line."""
    from pipeline.run.common import (EXIT_CONSERVATION, EXIT_FAILED, EXIT_OK, EXIT_QUALITY, EXIT_USAGE,
                                     manifest_options, model_name, print_quality_failures, quality_step,
                                     schema_version as current_schema_version, stop_signals)
    from pipeline.output import publish
    from pipeline.io.feeds.state import FeedStateError
    from pipeline.io.files import NoInputError
    from pipeline.options import local_runner

    options = streaming_options(argv)
    for flag, value, used in (("--poll-interval", options.poll_interval, options.feeds),
                              ("--watch-interval", options.watch_interval, options.watch)):
        if used and not value > 0:
            print(f"newsbeam run: error: {flag} must be a number of seconds above 0 (got {value:g})",
                  file=sys.stderr)
            return EXIT_USAGE
    output = os.path.abspath(options.output)
    from pipeline.output.ownership import adopt

    adopt(output)  # the CLI checked that the directory is newsbeam's (pipeline/output/ownership.py)
    local = local_runner(options)
    state_dir = os.path.abspath(options.state) if options.state else os.path.join(output, "_state")
    segments = Segments(sources_fingerprint(options)) if local else None
    if local:
        from pipeline.run.commits import recover_pending

        # each segment job is a commit to the tables; what a killed run finished is committed now
        for run_id in recover_pending(output, state_dir):
            print(f"newsbeam: committed segment {run_id}, which a stopped run had finished", file=sys.stderr)
    else:
        _clear_output(output)  # a managed runner's stream still writes dataset folders
    started = time.time()
    stop = started + options.stop_after if options.stop_after else None

    options_row = dict(manifest_options(options), streaming=True, retry_now=options.retry_now,
                       poll_interval=options.poll_interval,
                       watch=options.watch, watch_interval=options.watch_interval, pubsub_subscription=options.pubsub_subscription,
                       window=options.window, dedup_horizon=options.dedup_horizon, stop_after=options.stop_after)
    versions = publish.library_versions(model_name(options))
    schema_version = current_schema_version()

    progress = {"jobs": 0}  # how many jobs have started (local runs: one per segment)

    def make_manifest(status):
        manifest, row = live_manifest(output, status, options_row, versions, schema_version, started, segments)
        manifest["jobs"] = progress["jobs"]
        return manifest, row

    refresher = _Refresher(output, make_manifest, started, quiet=quiet,
                           last_file_age=segments.last_file_age if segments is not None else None)
    refresher.start()
    print(f"newsbeam: streaming into {output}"
          + (f" for {options.stop_after:.0f} s" if options.stop_after else " until interrupted (Ctrl-C)"),
          file=sys.stderr, flush=True)
    metrics: dict = {}
    failure = None
    workdir = tempfile.mkdtemp(prefix="newsbeam-jobs-")
    next_start = None  # when the next job may start: the end of the last job's segment
    with stop_signals():  # SIGTERM stops the run as Ctrl-C does, manifest included
        try:
            while True:
                # Locally: a series of jobs, each in a child process (see segment_bounds); elsewhere one job here.
                now = time.time()
                if progress["jobs"] and stop is not None and now >= stop:
                    break  # the last segment's job ran past the end: nothing left to run
                if next_start is not None and now < next_start:
                    # A job ends once its last tick is handled, before its segment does; its sources'
                    # next tick is due at the segment's end, so the next job waits for it (started at
                    # once, it would poll every feed early: each time a job had started).
                    time.sleep(next_start - now)
                    now = time.time()
                seg_start, seg_stop, last = segment_bounds(
                    now, stop, options.segment_seconds, local,
                    poll_interval=options.poll_interval if options.feeds else 0.0,
                    watch_interval=options.watch_interval if options.watch else 0.0)
                progress["jobs"] += 1
                if local:
                    job_metrics = run_segment(segments, progress["jobs"], argv, output, state_dir, seg_start,
                                              seg_stop, started, workdir, options_row)
                else:
                    try:
                        job_metrics = run_job(options, output, state_dir, seg_start, seg_stop, seed_dedup=False,
                                              run_started=started)
                    except (NoInputError, FeedStateError) as e:
                        print(f"newsbeam: {e}", file=sys.stderr)
                        return EXIT_USAGE
                metrics = add_counters(metrics, job_metrics)
                if last:
                    break
                next_start = seg_stop
        except KeyboardInterrupt:
            print("newsbeam: interrupted; writing the manifest of what landed", file=sys.stderr)
        except SegmentFailed as e:
            failure = e
        finally:
            refresher.stopped.set()
            refresher.join()
            shutil.rmtree(workdir, ignore_errors=True)

    if failure is not None:
        manifest, _row = make_manifest("failed")
        manifest["error"] = str(failure)
        publish.write_manifest(output, manifest)
        if failure.code == EXIT_USAGE and failure.index == 1:
            return EXIT_USAGE  # the first job could not read a source: its message says which
        print(f"newsbeam: {failure}; the run stops here (see its error above). {output} keeps what "
              "landed before, and _manifest.json says status 'failed'", file=sys.stderr)
        return EXIT_FAILED

    manifest, row = make_manifest("complete")
    from pipeline.quality.report import run_info

    run_row = run_info(mode="streaming", options=options_row, versions=versions, schema_version=schema_version,
                       started_at=started, finished_at=time.time(), duration_seconds=time.time() - started)
    quality, failed = quality_step(output, options.quality, run=run_row)
    manifest["quality"] = quality
    if failed:
        manifest["status"] = "degraded"
    publish.write_manifest(output, manifest)
    check = manifest["conservation"]
    print(f"newsbeam: wrote {output} (streaming, {time.time() - started:.0f} s)")
    print(f"  inputs {row['inputs']} = articles {row['articles']} + duplicates {row['duplicates']}"
          f" + rejects {row['rejects']} + skipped {row['skipped']}   (polls: {row['polls']}, scans: {row['scans']}, jobs: {progress['jobs']})")
    for reason, n in manifest["skipped_by_reason"].items():
        print(f"    skipped {n}: {reason}")
    for key, value in metrics.items():
        if key.startswith(("stream/", "dedup_stream/", "fetch/")):
            print(f"    {key}  {value}")
    if not check["holds"]:
        print(f"newsbeam: conservation violated: {check}; this is a newsbeam bug, please report it",
              file=sys.stderr)
        return EXIT_CONSERVATION
    if failed:
        print_quality_failures(output, failed)
        return EXIT_QUALITY
    return EXIT_OK


if __name__ == "__main__":
    from pipeline.run.streaming import segment_main as _segment_main  # the importable module's, not __main__'s

    _code = _segment_main(sys.argv[1])
    from pipeline.stages.clean.limited import stop_workers

    stop_workers()  # os._exit runs no finalizers: reap the extraction workers first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_code)  # not a clean interpreter exit: a runner thread left behind must not hold the child open
