"""Commits of staged rows to the tables, shared by batch runs and local stream segments.

A run (or segment) stages its rows under ``OUT/.staging-<pid>-*`` and, holding the commit lock,
commits them with ``tables.commit_run`` (one commit per table, one run id). Before the commit it
writes ``segment.json`` (:data:`pipeline.output.publish.SEGMENT_FILE`) with ``ready: true``, the
mode and the summary, and removes it once everything is done, so a process killed in between
leaves a staging directory the next run finishes (:func:`recover_pending`): ``commit_run`` with
the same run id commits only the tables that lack it. Feed and watch state move only after the
rows they cover are committed.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import signal
import time
import uuid


def new_run_id() -> str:
    """``2026-12-07T10:00:00Z-3f2a9c``: when the run started, and a random suffix."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{now}-{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def commit_lock(output: str):
    """An exclusive lock on ``OUT/_catalog.lock`` for the check-then-commit of a run (embedded
    catalog; two runs on one machine). Waits for the other run's commit, which takes seconds."""
    import fcntl

    with open(os.path.join(output, "_catalog.lock"), "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block ends (the few hundred ms of a commit), so a stop
    never leaves some tables with this run and others without; SIGKILL cannot be held."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def staged_files(staging: str, index: bool = False) -> dict[str, list[str]]:
    """dataset -> its staged Parquet files. ``index``: the index datasets too (a batch run stages
    them, and commits them even empty, so an overwrite leaves no stale index rows; a stream
    segment has none, and its commits leave those tables alone)."""
    from pipeline.output.files import DATASETS, INDEX_DATASETS, list_dataset_files

    datasets = DATASETS + INDEX_DATASETS if index else DATASETS
    return {d: [os.path.join(staging, rel) for rel in list_dataset_files(staging, d) if rel.endswith(".parquet")]
            for d in datasets}


# --------------------------------------------------------------------------- segments -> commits

#: Under the state directory: each segment job's own copy of the feed and watch state. It
#: replaces the state only after the segment's rows are committed, so the state never says an
#: input was handled before its rows are in the tables.
STATE_COPIES = ".segments"


def segment_state(state_root: str, run_id: str) -> str:
    """A copy of the committed feed/watch state for one segment job to work on."""
    work = os.path.join(state_root, STATE_COPIES, run_id)
    os.makedirs(work, exist_ok=True)
    if os.path.isdir(state_root):
        for name in sorted(os.listdir(state_root)):
            path = os.path.join(state_root, name)
            if os.path.isfile(path) and not name.endswith(".tmp"):
                shutil.copy2(path, os.path.join(work, name))
    return work


def publish_state(state_root: str, run_id: str) -> None:
    """A committed segment's state becomes the state (file by file, each an atomic rename)."""
    work = os.path.join(state_root, STATE_COPIES, run_id)
    if not os.path.isdir(work):
        return
    for name in sorted(os.listdir(work)):
        if not name.endswith(".tmp"):
            os.replace(os.path.join(work, name), os.path.join(state_root, name))
    shutil.rmtree(work, ignore_errors=True)


def discard_segment(staging: str, state_root: str, run_id: str) -> None:
    """An unfinished segment: its rows are not committed and its state is dropped, so its inputs
    are read again by the next job or run (nothing lost, nothing twice)."""
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(os.path.join(state_root, STATE_COPIES, run_id), ignore_errors=True)


#: ``segment.json`` ``kind``: a local stream's segment (its state is a copy under the state
#: directory) or a batch run (its new feed states are a file in its staging directory)
SEGMENT, BATCH = "segment", "batch"


def finish_commit(output: str, staging: str, state_root: str, pending: dict, *,
                  locked: bool = False) -> tuple[dict, float]:
    """Commit what ``pending`` (a ready ``segment.json``) describes, then move the state it
    covers, then drop the staging directory: ``(snapshot stats per table, seconds)``.

    A stream segment without rows commits nothing (only its state moves): no stats. Calling it
    again after a kill finishes the same commit (``commit_run`` skips the tables that already
    hold the run id). ``locked``: the caller holds the commit lock and blocks the stop signals."""
    from pipeline.output import tables
    from pipeline.output.publish import SEGMENT_FILE

    staged = staged_files(staging, index=pending.get("kind", SEGMENT) == BATCH)
    with contextlib.ExitStack() as held:
        if not locked:
            held.enter_context(commit_lock(output))
            held.enter_context(signals_held())
        catalog = tables.open_catalog(output)
        started = time.monotonic()
        committed = {}
        if pending.get("kind", SEGMENT) == BATCH or any(staged.values()):
            committed = tables.commit_run(catalog, staged, pending.get("mode", "append"), run_id=pending["run_id"],
                                          summary=pending["summary"])
        seconds = time.monotonic() - started
        if pending.get("kind", SEGMENT) == BATCH:
            from pipeline.io.feeds.fetch import STATE_STAGING_FILE, merge_states
            from pipeline.io.feeds.state import FeedStateStore

            if os.path.exists(os.path.join(staging, STATE_STAGING_FILE)):
                merge_states(FeedStateStore(state_root), staging)
        else:
            publish_state(state_root, pending["run_id"])
        os.remove(os.path.join(staging, SEGMENT_FILE))  # first: a half-removed staging dir is no pending commit
    if pending.get("kind", SEGMENT) != BATCH:
        shutil.rmtree(staging, ignore_errors=True)  # a batch run removes its staging after its quality checks
    return tables.snapshot_stats(catalog, committed), seconds


def read_segment(staging: str) -> dict | None:
    from pipeline.output.publish import SEGMENT_FILE

    try:
        with open(os.path.join(staging, SEGMENT_FILE), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_segment(staging: str, segment: dict) -> None:
    from pipeline.io.feeds.state import atomic_write
    from pipeline.output.publish import SEGMENT_FILE

    atomic_write(os.path.join(staging, SEGMENT_FILE), json.dumps(segment, sort_keys=True).encode())


def recover_pending(output: str, state_root: str) -> list[str]:
    """What killed runs left: a batch run or stream segment that was ready to commit but whose
    commit did not happen or stopped between two tables is committed now, with its state; a
    stream segment whose job had not ended is discarded, with its state copy. Returns the run
    ids committed."""
    from pipeline.output.publish import STAGING_PREFIX, staging_owner_alive

    recovered: list[str] = []
    if not os.path.isdir(output):
        return recovered
    for name in sorted(os.listdir(output)):
        staging = os.path.join(output, name)
        if not (name.startswith(STAGING_PREFIX) and os.path.isdir(staging)) or staging_owner_alive(name):
            continue
        segment = read_segment(staging)
        if segment is None:
            continue  # nothing ready to commit: publish.clean_leftovers removes it
        if segment.get("ready"):
            finish_commit(output, staging, state_root, segment)
            shutil.rmtree(staging, ignore_errors=True)
            recovered.append(segment["run_id"])
        else:
            discard_segment(staging, state_root, segment["run_id"])
    copies = os.path.join(state_root, STATE_COPIES)
    if os.path.isdir(copies):  # state copies of segments no staging directory refers to any more
        live = {(read_segment(os.path.join(output, name)) or {}).get("run_id")
                for name in os.listdir(output) if name.startswith(STAGING_PREFIX)}
        for run_id in os.listdir(copies):
            if run_id not in live:
                shutil.rmtree(os.path.join(copies, run_id), ignore_errors=True)
    return recovered


