"""A batch run: options -> graph -> run -> conservation -> commit -> quality -> manifest -> summary.

The CLI has parsed and checked the command line (``pipeline/cli.py``); this module is what a run
is. Its rows are staged as Parquet under ``OUT/.staging-*`` by the Beam job and committed to the
Iceberg tables in OUT (``pipeline/output/tables.py``: one commit per table, one run id) only when
conservation holds (every input item is one article, duplicate, reject or skip). The manifest
``OUT/_manifest.json`` describes the last run, from its commit (snapshot ids, rows, files).

Append mode reads the tables' current snapshots first: the graph deduplicates against the stored
rows as of those (``pipeline/stages/history.py``). Another run that commits articles into the same
OUT in the meantime makes those decisions stale: the commit then stops, nothing of this run is
committed, and the run says so (exit 1; rerunning deduplicates against both). With the embedded
catalog, the check and the commit hold a lock file (``OUT/_catalog.lock``), so no commit slips in
between them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import time
from typing import NamedTuple

from pipeline.run.common import (EXIT_CONSERVATION, EXIT_FAILED, EXIT_OK, EXIT_QUALITY,
                                 EXIT_USAGE, STOP_SIGNAL, ConservationError, Terminated, UsageError, add_counters,
                                 as_stop, child_main, conservation, counters, die_with_parent, effective_configuration,
                                 interrupted_exit, manifest_options, model_name, print_quality_failures,
                                 print_summary, quality_step, run_child, schema_version)


def check_runner(options) -> None:
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.runner import create_runner

    runner = options.view_as(StandardOptions).runner
    if runner is None:
        return
    try:
        create_runner(runner)
    except (ValueError, ImportError) as e:
        raise UsageError(f"--runner {runner}: {e}") from None


def check_model(options) -> None:
    if not options.entities:
        return
    from pipeline.stages.entities import ModelNotInstalled, resolve_model

    try:
        resolve_model(options.ner_model)
    except ModelNotInstalled as e:
        raise UsageError(f"{e} Or run with --no-entities.") from None



class StaleHistory(RuntimeError):
    """Another run committed to the tables this run deduplicated against (append mode)."""


def input_fingerprint(options) -> str:
    """sha256 over every input file's path, size and content sha256 (and the feed list's), sorted:
    the same input gives the same fingerprint, whatever its files' times."""
    from pipeline.io.files.inputs import expand_inputs
    from pipeline.output.files import sha256_file

    paths = list(expand_inputs(options.input)) if options.input else []
    if options.feeds:
        paths.append(options.feeds)
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        local = path.removeprefix("file://")
        if "://" in local:
            digest.update(f"{path}\0remote\n".encode())
            continue
        digest.update(f"{path}\0{os.path.getsize(local)}\0{sha256_file(local)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def commit(output: str, staging: str, state_dir: str, mode: str, run_id: str, summary: dict,
           base: dict) -> tuple[dict, float]:
    """The run's staged rows into the tables, then its feed states: ``(snapshot stats per
    table, seconds)``. Raises :class:`StaleHistory` (nothing committed) when append mode
    deduplicated against snapshots another run has since moved past. Once the check passed, the
    staging directory says the run is ready to commit: killed from there on, the next run into
    ``output`` finishes this commit (:func:`pipeline.run.commits.recover_pending`)."""
    from pipeline.output import tables
    from pipeline.run.commits import BATCH, commit_lock, finish_commit, signals_held, write_segment
    from pipeline.stages.history import KEY_TABLES

    with commit_lock(output), signals_held():
        catalog = tables.open_catalog(output)  # inside the lock: two first runs create the namespace once
        if mode == "append":
            now = tables.current_snapshots(catalog, KEY_TABLES)
            moved = {d: (base.get(d), now[d]) for d in KEY_TABLES if now[d] != base.get(d)}
            if moved:
                raise StaleHistory(", ".join(f"{d} {old} -> {new}" for d, (old, new) in moved.items()))
        pending = {"run_id": run_id, "ready": True, "kind": BATCH, "mode": mode, "summary": summary}
        write_segment(staging, pending)
        return finish_commit(output, staging, state_dir, pending, locked=True)


def plan_input_segments(options, mode: str) -> list:
    """The run's input as segments of ``--segment-items`` (:func:`pipeline.io.files.segments.plan_segments`):
    ``[None]`` (one job over every input) unless a local runner reads more input than one segment
    holds. replace-partitions runs as one job: its commit replaces the days the whole input
    covers, which a first segment cannot know."""
    from pipeline.io.files import expand_inputs
    from pipeline.io.files.segments import plan_segments
    from pipeline.options import local_runner

    if not options.input or options.segment_items <= 0 or not local_runner(options):
        return [None]
    from pipeline.io.files.read import URL_INDEX

    files = [p for p in expand_inputs(options.input) if os.path.basename(p) != URL_INDEX]  # not articles
    segments = plan_segments(files, options.segment_items)
    if len(segments) > 1 and mode == "replace-partitions":
        print(f"newsbeam: the input is larger than --segment-items {options.segment_items}, but "
              "--mode replace-partitions runs as one job (its commit replaces every day the input "
              "covers): memory grows with the input; split the input by days into separate runs if it "
              "does not fit", file=sys.stderr)
        return [None]
    return segments if len(segments) > 1 else [None]


def _keep_rows(staging: str, rows_dir: str, segment: int) -> None:
    """A committed segment's staged dataset files, moved under ``rows_dir`` (same partition
    folders, names prefixed by the segment): the quality step checks the whole run's rows there."""
    from pipeline.output.files import DATASETS

    for dataset in DATASETS:
        base = os.path.join(staging, dataset)
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.endswith((".parquet", ".jsonl.gz")):
                    rel = os.path.relpath(dirpath, staging)
                    os.makedirs(os.path.join(rows_dir, rel), exist_ok=True)
                    os.replace(os.path.join(dirpath, name), os.path.join(rows_dir, rel, f"s{segment:05d}-{name}"))


class _Segment(NamedTuple):
    """What one job (the whole run, or one segment of it) did: its rows' counts and its commit."""

    counts_row: dict
    skipped: dict
    metrics: dict
    stats: dict
    commit_seconds: float


def _run_job(options, staging: str, state_dir: str, base: dict, level: int, parts, with_feeds: bool,
             started: float) -> dict:
    """Build and run one job (the whole run, or one segment's) into ``staging``; its counters.
    Raises NoInputError, FeedStateError or a stop."""
    import apache_beam as beam

    from pipeline import graph, logs, progress
    from pipeline.options import local_runner

    # progress: counting steps write under the staging directory, a driver thread shows their sum
    progress_dir = progress.progress_dir(staging) if level > logs.QUIET and local_runner(options) else None
    pipeline = beam.Pipeline(options=options)
    graph.build(pipeline, options, staging, state_dir, progress=progress_dir, snapshots=base,
                parts=parts, feeds=with_feeds)
    try:
        # a segment's progress counts its own items: its rate from its own start
        with progress.shown(progress_dir, started=time.monotonic() if parts else started, entities=options.entities):
            result = pipeline.run()
            result.wait_until_finish()
    except Exception as error:  # a stop signal arrives wrapped by the runner
        stop = as_stop(error)
        if stop is error:
            raise
        raise stop from None
    if STOP_SIGNAL:  # the stop was raised where Python ignores it (a finalizer, a thread): still a stop
        raise as_stop(RuntimeError("stopped"))
    return counters(result)


class SegmentFailed(RuntimeError):
    """A segment's job in its child process ended with an error (its traceback is above)."""


def segment_main(spec_path: str) -> int:
    """One segment's job in a child process (``python -m pipeline.run.batch JOB.json``): the local
    runner keeps the memory a job used until its process ends, so a run in segments runs each
    job in a process of its own and commits in the parent. Writes the job's counters to
    ``spec["result"]``; exit 0, 2 (usage: the message is printed), 130 (stopped)."""
    import json

    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    die_with_parent(spec["parent_pid"])  # first: the imports below take seconds
    from pipeline import logs
    from pipeline.io.files.segments import InputPart
    from pipeline.options import NewsbeamOptions

    logs.configure(spec["level"])
    parts = [InputPart(*part) for part in spec["parts"]]
    return child_main(spec, lambda: _run_job(NewsbeamOptions(spec["argv"]), spec["staging"], spec["state_dir"],
                                             spec["base"], spec["level"], parts, spec["feeds"], spec["started"]))


def _job_in_child(argv: list[str], staging: str, state_dir: str, base: dict, level: int, parts,
                  with_feeds: bool, started: float) -> dict:
    """:func:`_run_job` in a child process (:func:`segment_main`); its counters."""
    import json

    from pipeline.io.files import NoInputError

    spec = {"argv": list(argv), "staging": staging, "state_dir": state_dir, "base": base, "level": level,
            "parts": [list(p) for p in parts], "feeds": with_feeds, "started": started,
            "parent_pid": os.getpid(), "result": os.path.join(staging, "_job.result.json")}
    spec_path = os.path.join(staging, "_job.json")
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    code = run_child("pipeline.run.batch", spec_path)
    if code == EXIT_USAGE:
        raise NoInputError("", "the segment's job found no input (see above)")
    if code != 0:
        raise SegmentFailed(f"the segment's job exited with code {code}")
    with open(spec["result"], encoding="utf-8") as f:
        return json.load(f)["counters"]


def _run_segment(options, argv: list[str], output: str, staging: str, state_dir: str, mode: str, run_id: str,
                 summary: dict, fingerprint, level: int, parts, with_feeds: bool, started: float) -> _Segment:
    """Run one job (in this process, or in a child for one segment of several), check its
    conservation and commit it; raises ConservationError, StaleHistory, CommitError,
    NoInputError, FeedStateError, SegmentFailed or a stop."""
    from pipeline.output import datasets, tables
    from pipeline.output.files import dataset_counts
    from pipeline.stages.history import KEY_TABLES

    base = (tables.current_snapshots(tables.open_catalog(output), KEY_TABLES)
            if mode == "append" and tables.has_tables(output) else {})
    if parts is None:
        metrics = _run_job(options, staging, state_dir, base, level, parts, with_feeds, started)
    else:
        metrics = _job_in_child(argv, staging, state_dir, base, level, parts, with_feeds, started)
    counts, _files = dataset_counts(staging)
    inputs = datasets.read_input_count(staging)
    skipped = datasets.read_skip_counts(staging)
    counts_row = {"inputs": inputs, "articles": counts["articles"], "duplicates": counts["duplicates"],
                  "rejects": counts["rejects"], "skipped": sum(skipped.values())}
    check = conservation(inputs, counts_row)
    if not check["holds"]:
        raise ConservationError(
            f"conservation violated: {inputs} inputs but {check['accounted']} accounted for "
            f"({counts_row}); nothing of this job was committed, staged files are in {staging}. "
            "This is a newsbeam bug: please report it with the input.")
    summary = dict(summary, **{"input-fingerprint": fingerprint()})  # after the build: a missing input said so
    stats, commit_seconds = commit(output, staging, state_dir, mode, run_id, summary, base)
    return _Segment(counts_row, skipped, metrics, stats, commit_seconds)


def run_batch(argv: list[str], output: str, level: int, config_file: dict | None) -> int:
    """Run the pipeline over bounded inputs into the tables of ``output``; the process exit code.
    A local run over more input than ``--segment-items`` runs one job per segment, each its own
    commit, each deduplicated against the commits before it (append mode's history stages)."""
    from pipeline import logs

    from pipeline.io.feeds.state import FeedStateError
    from pipeline.io.files import NoInputError

    from pipeline.output import ownership, publish, tables
    from pipeline.output.files import DATASETS
    from pipeline.options import NewsbeamOptions
    from pipeline.run.commits import new_run_id, recover_pending

    options = NewsbeamOptions(argv)
    try:
        check_runner(options)
        check_model(options)
    except UsageError as e:
        print(f"newsbeam run: {e}", file=sys.stderr)
        return EXIT_USAGE
    created = ownership.adopt(output)
    state_dir = os.path.abspath(options.state) if options.state else os.path.join(output, "_state")
    for pending_id in recover_pending(output, state_dir):
        print(f"newsbeam: finished the commit of run {pending_id}, which was stopped while committing",
              file=sys.stderr)
    for name in publish.clean_leftovers(output):
        if level > logs.QUIET:
            print(f"newsbeam: removed {name} left in {output} by an interrupted run", file=sys.stderr)
    mode = options.mode
    started, started_at = time.monotonic(), time.time()
    try:
        segments = plan_input_segments(options, mode)
    except NoInputError as e:
        print(f"newsbeam: {e}", file=sys.stderr)
        ownership.abandon(output, created)
        return EXIT_USAGE
    run_id = new_run_id()
    configuration = effective_configuration(options, argv, config_file)
    fingerprints: list[str] = []

    def fingerprint() -> str:
        if not fingerprints:
            fingerprints.append(input_fingerprint(options))
        return fingerprints[0]

    many = len(segments) > 1
    rows_dir = publish.staging_dir(output) if many else None  # the committed segments' rows, for the quality step
    staging = None
    done: list[_Segment] = []
    try:
        for number, parts in enumerate(segments, start=1):
            staging = publish.staging_dir(output)
            segment_id = f"{run_id}-s{number}" if many else run_id
            summary = {"options": configuration["newsbeam"]}
            if many:
                summary.update({"run": run_id, "segment": f"{number}/{len(segments)}"})
                if level > logs.QUIET:
                    print(f"newsbeam: segment {number} of {len(segments)} "
                          f"(--segment-items {options.segment_items})", file=sys.stderr)
            try:
                done.append(_run_segment(options, argv, output, staging, state_dir, mode if number == 1 else "append",
                                         segment_id, summary, fingerprint, level, parts, number == 1, started))
            except (NoInputError, FeedStateError) as e:
                print(f"newsbeam: {e}", file=sys.stderr)
                shutil.rmtree(staging, ignore_errors=True)
                if not done:
                    ownership.abandon(output, created)
                return EXIT_USAGE
            except StaleHistory as e:
                print(f"newsbeam: another run committed to {output} while this one ran ({e}); this run "
                      "deduplicated against the tables as they were, so NOTHING of "
                      + (f"segment {number} (or later) was committed ({len(done)} segment(s) were). " if done
                         else "it was committed. ")
                      + "Rerun it: it will deduplicate against both (and skip what is committed).", file=sys.stderr)
                shutil.rmtree(staging, ignore_errors=True)
                return EXIT_FAILED
            except tables.CommitError as e:
                print(f"newsbeam: the commit to {output} failed: {e}", file=sys.stderr)
                shutil.rmtree(staging, ignore_errors=True)
                return EXIT_FAILED
            if many:
                _keep_rows(staging, rows_dir, number)
                shutil.rmtree(staging, ignore_errors=True)
        rows = rows_dir if many else staging
        from pipeline.quality.report import run_info

        last = done[-1]
        counts_row, skipped, metrics = {}, {}, {}
        for seg in done:
            counts_row = add_counters(counts_row, seg.counts_row)
            skipped = add_counters(skipped, seg.skipped)
            metrics = add_counters(metrics, seg.metrics)
        counts_row = {k: counts_row[k] for k in ("inputs", "articles", "duplicates", "rejects", "skipped")}
        check = conservation(counts_row["inputs"], counts_row)
        commit_seconds = sum(seg.commit_seconds for seg in done)
        stats = last.stats  # the tables as the last commit left them (as a stream's manifest says)
        options_row, versions = manifest_options(options), publish.library_versions(model_name(options))
        run_row = run_info(mode="batch", options=options_row, versions=versions, schema_version=schema_version(),
                           started_at=started_at, finished_at=time.time(), duration_seconds=time.monotonic() - started)
        interrupted = None
        try:
            quality, failed = quality_step(output, options.quality, run=run_row, rows=rows)
        except KeyboardInterrupt as e:  # the tables are committed: write the manifest, without the checks
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            interrupted, (quality, failed) = e, ({"status": "skipped"}, [])
        table_rows = {name: sum(seg.stats[name]["added_rows"] for seg in done) for name in DATASETS}
        # several segments: run_id is the last one's (each segment's is RUN-sN), as for a stream
        commit_row = {"run_id": f"{run_id}-s{len(done)}" if many else run_id, "mode": mode,
                      "seconds": round(commit_seconds, 3), "input_fingerprint": fingerprint()}
        if many:
            commit_row["segments"] = len(done)
        manifest = {
            "status": "degraded" if failed else "ok",
            "layout": "tables",
            "commit": commit_row,
            "tables": {name: dict(stats[name], table=".".join(tables.identifier(name))) for name in DATASETS},
            "counts": counts_row,
            "datasets": {name: {"rows": table_rows[name]} for name in DATASETS},
            "skipped_by_reason": skipped,
            "conservation": check,
            "options": options_row,
            "configuration": configuration,
            "versions": versions,
            "schema_version": schema_version(),
            "quality": quality,
        }
        publish.write_manifest(output, manifest)
        shutil.rmtree(rows, ignore_errors=True)
        if interrupted is not None:
            how = "stopped by SIGTERM" if isinstance(interrupted, Terminated) else "interrupted (Ctrl-C)"
            print(f"newsbeam: {how} during the quality checks; {output} has this run's commit and "
                  "manifest (quality: skipped); 'newsbeam validate' runs the checks", file=sys.stderr)
            return interrupted_exit(interrupted)
        print_summary(output, counts_row, {name: table_rows[name] for name in DATASETS}, skipped, metrics,
                      time.monotonic() - started)
        if level > logs.QUIET:
            what = f"{len(done)} commits" if many else "commit"
            print(f"  {what} {run_id} ({mode}): {commit_seconds:.2f} s; tables now hold "
                  + ", ".join(f"{name} {stats[name]['total_rows']}" for name in DATASETS))
        if failed:
            print_quality_failures(output, failed)
            return EXIT_QUALITY
        return EXIT_OK
    except ConservationError as e:
        print(f"newsbeam: {e}", file=sys.stderr)
        return EXIT_CONSERVATION
    except KeyboardInterrupt as e:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        for path in (staging, rows_dir):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        how = "stopped by SIGTERM" if isinstance(e, Terminated) else "interrupted (Ctrl-C)"
        if done and len(done) == len(segments):
            print(f"newsbeam: {how} after the commit; {output} has this run's rows but no manifest of "
                  "it yet ('newsbeam inspect' reads the tables)", file=sys.stderr)
        elif done:
            print(f"newsbeam: {how} in segment {len(done) + 1} of {len(segments)}; the {len(done)} segment(s) "
                  f"before it are committed to {output}. Rerun the same command: it skips what is "
                  "committed ('already ingested') and goes on", file=sys.stderr)
        else:
            ownership.abandon(output, created)
            kept = "it was not created" if created else f"the tables in {output} keep their last commit"
            print(f"newsbeam: {how}; nothing was committed ({kept})", file=sys.stderr)
        return interrupted_exit(e)
    except BaseException:
        for path in (staging, rows_dir):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        raise


if __name__ == "__main__":
    sys.exit(segment_main(sys.argv[1]))
