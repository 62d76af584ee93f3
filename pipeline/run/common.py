"""What every run shares: exit codes, the stop signals, conservation, the quality step, the
manifest's option rows and the summary. ``run/batch.py`` and ``run/streaming.py`` are the two runs."""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONSERVATION, EXIT_QUALITY = 0, 1, 2, 3, 4
#: 128 + the signal, as a shell reports a command stopped by Ctrl-C (SIGINT), SIGTERM, SIGPIPE.
EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_BROKEN_PIPE = 130, 143, 141


class ConservationError(RuntimeError):
    pass


class UsageError(Exception):
    """A mistake in how newsbeam was called: one line for the person, exit 2."""


def counters(result) -> dict[str, int]:
    """Every user counter as 'namespace/name' -> value (committed, else attempted)."""
    from apache_beam.metrics.metric import MetricsFilter

    values: dict[str, int] = {}
    try:
        query = result.metrics().query(MetricsFilter())
    except Exception:  # some runners do not report metrics
        return values
    for c in query.get("counters", []):
        key = f"{c.key.metric.namespace}/{c.key.metric.name}"
        value = c.committed if c.committed is not None else c.attempted
        values[key] = values.get(key, 0) + int(value or 0)
    return dict(sorted(values.items()))


def add_counters(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """Two jobs' counters added up, key by key (sorted keys)."""
    return {key: total.get(key, 0) + more.get(key, 0) for key in sorted(set(total) | set(more))}


def conservation(inputs: int, counts: dict) -> dict:
    """The invariant every run checks: inputs = articles + duplicates + rejects + skipped."""
    total = counts["articles"] + counts["duplicates"] + counts["rejects"] + counts["skipped"]
    return {"inputs": inputs, "accounted": total, "holds": inputs == total}


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, systemd): stop as Ctrl-C does, exit 143."""


#: The stop signal received during this command, if any: Beam wraps an exception raised inside a
#: running stage (``RuntimeError: KeyboardInterrupt [while running 'Clean/...']``), so the run asks
#: here whether the failure was really the person stopping it.
STOP_SIGNAL: list[int] = []


def _on_stop_signal(signum, _frame):
    import logging

    STOP_SIGNAL.append(signum)
    logging.disable(logging.CRITICAL)  # the runner logs the stop as a failed bundle, with a traceback
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def stop_signals():
    """For the block: Ctrl-C raises KeyboardInterrupt and SIGTERM (``docker stop``, systemd, ``kill``)
    :class:`Terminated`, in the main thread, so every command stops the same way (SIGINT is left
    alone where it is ignored, as for a background job). The CLI, the streaming driver and each
    streaming job use it; without it SIGTERM killed a process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restore = [(signal.SIGTERM, signal.signal(signal.SIGTERM, _on_stop_signal))]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        restore.append((signal.SIGINT, signal.signal(signal.SIGINT, _on_stop_signal)))
    try:
        yield
    finally:
        for signum, handler in restore:
            signal.signal(signum, handler)


def as_stop(error: Exception) -> BaseException:
    """The KeyboardInterrupt/Terminated a runner error stands for, when a stop signal caused it."""
    if not STOP_SIGNAL:
        return error
    return Terminated() if STOP_SIGNAL[-1] == signal.SIGTERM else KeyboardInterrupt()


def interrupted_exit(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


# --------------------------------------------------------------------------- jobs in child processes

#: How long an interrupted job in a child process (a stream's or a batch run's segment) may take
#: to stop before it is killed.
INTERRUPT_GRACE_SECONDS = 30.0


def die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel kill this job when its parent dies (SIGKILL, a crash), instead of
    letting it run on, unwatched; elsewhere nothing is done."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent_pid:  # the parent died before the kernel was told
        os._exit(1)


def child_main(spec: dict, job) -> int:
    """The body of a job's child process: ``job()`` (its counters) with the stop signals on; the
    counters go to ``spec["result"]`` (JSON) for the parent, which reads them after exit 0 only.
    Exit 2 for a missing input or broken feed state (the message printed), 130 when stopped."""
    import json

    from pipeline.io.feeds.state import FeedStateError, atomic_write
    from pipeline.io.files import NoInputError

    try:
        with stop_signals():
            try:
                metrics = job()
            except Exception as error:  # a stop signal raised inside a stage arrives wrapped by the runner
                stop = as_stop(error)
                if stop is error:
                    raise
                raise stop from None
    except (NoInputError, FeedStateError) as e:
        print(f"newsbeam: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the exit short
        return EXIT_INTERRUPTED
    atomic_write(spec["result"], json.dumps({"counters": metrics}, sort_keys=True).encode())
    return 0


def run_child(module: str, spec_path: str) -> int:
    """``python -m module spec_path`` (a job in a child process), waited for: its exit code.
    Ctrl-C or SIGTERM here stops the child too (:func:`stop_child`) and is raised; a child that
    alone was stopped by Ctrl-C raises KeyboardInterrupt here."""
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", module, spec_path])
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        stop_child(proc)
        raise
    if code == EXIT_INTERRUPTED:  # a SIGINT that reached the child only: stop like Ctrl-C
        raise KeyboardInterrupt
    return code


def stop_child(proc) -> None:
    """After Ctrl-C or SIGTERM: let the child (a ``subprocess.Popen``) stop (a terminal sent it
    SIGINT too; if not, send it SIGTERM, which it takes as Ctrl-C even where SIGINT is ignored),
    then kill it if it does not stop within :data:`INTERRUPT_GRACE_SECONDS`."""
    import subprocess

    try:
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=INTERRUPT_GRACE_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        proc.kill()
        proc.wait()


def quality_step(output: str, enabled: bool, run: dict | None = None,
                 rows: str | None = None) -> tuple[dict, list[str]]:
    """GE suites and row checks over every published partition; results and report in _quality/.

    ``run`` (``pipeline.quality.report.run_info``) is what the report says about the run; without
    it, the live manifest of a streaming run in progress when there is one, else only the versions.
    ``rows``: where the rows to check are when they are not all of ``output``: a batch run checks
    its staged files (exactly the rows its commit added), their references resolved against the
    committed tables in ``output``."""
    from pipeline.quality import runner

    directory = os.path.join(output, runner.QUALITY_DIR)
    if not enabled:
        shutil.rmtree(directory, ignore_errors=True)  # no stale results from an earlier run
        return {"status": "skipped"}, []
    from pipeline.quality import inspect, report

    if rows is not None:
        results = runner.check_output(rows, refs_root=output)
    else:
        results = runner.check_output(output)
    runner.write_results(output, results)
    if run is None:  # a caller that passes none (streaming): its live manifest, else what this code knows
        from pipeline.output.publish import library_versions

        run = report.run_from_output(output, live_only=True) or report.run_info(
            mode=None, options={}, versions=library_versions(), schema_version=schema_version())
    report.write_report(output, results, inspect.dataset_stats(rows or output), run=run)
    failed = runner.failures(results)
    from pipeline.output.files import sha256_file

    written = {"results": f"{runner.QUALITY_DIR}/{runner.RESULTS_FILE}", "report": f"{runner.QUALITY_DIR}/{runner.REPORT_FILE}"}
    # the files' sha256 in the manifest: validate finds a results file or report edited after the run
    hashes = {f"{key}_sha256": sha256_file(os.path.join(output, rel)) for key, rel in written.items()}
    return {"status": "failed" if failed else "passed", "partitions": len(results["partitions"]),
            "failed": failed, **written, **hashes}, failed


def print_quality_failures(output: str, failed: list[str]) -> None:
    print(f"newsbeam: {len(failed)} data quality check(s) failed; the datasets are published but "
          "_manifest.json says status 'degraded':", file=sys.stderr)
    for line in failed[:20]:
        print(f"  - {line}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more", file=sys.stderr)
    print(f"  see {os.path.join(output, '_quality', 'report.html')}; fix the input or the stage named, "
          "or rerun with --no-quality to skip the checks", file=sys.stderr)


def schema_version() -> str:
    from pipeline.records import SCHEMA_VERSION

    return SCHEMA_VERSION


def model_name(options) -> str | None:
    """The NER models this run uses: ``PACKAGE`` when only English is covered, else
    ``"en=PACKAGE fr=PACKAGE ..."`` (every installed default model counts, given or not)."""
    if not options.entities:
        return None
    try:
        from pipeline.stages.entities.model import resolve_models

        models = resolve_models(options.ner_model)
    except Exception:
        given = options.ner_model
        return " ".join(given) if isinstance(given, (list, tuple)) else given
    if list(models) == ["en"]:
        return models["en"]
    return " ".join(f"{lang}={package}" for lang, package in models.items())


def manifest_options(options) -> dict:
    """The options that shape the output (paths made relative-free, runner kept)."""
    from pipeline.options import NewsbeamOptions

    mine = options.view_as(NewsbeamOptions).get_all_options(drop_default=False, retain_unknown_options=False)
    keep = ("input", "feeds", "fetch_articles", "allow_private_hosts", "format", "entities", "ner_model",
            "ner_batch_size", "near_threshold", "excerpt_threshold", "lsh_bands", "story_threshold",
            "story_window_days", "story_max_bucket", "quality", "runner")
    return {k: mine.get(k) for k in keep}


def effective_configuration(options, argv: list[str], config_file: dict | None) -> dict:
    """Every newsbeam option's value for this run (defaults included), the Beam options given, and
    the config file they came from: what it takes to run it again."""
    from pipeline.options import NewsbeamOptions

    values = options.view_as(NewsbeamOptions).get_all_options(drop_default=False, retain_unknown_options=False)
    parser = argparse.ArgumentParser(add_help=False)
    NewsbeamOptions._add_argparse_args(parser)
    mine = {action.dest for action in parser._actions}
    newsbeam = {k: v for k, v in sorted(values.items()) if k in mine}
    given = options.get_all_options(drop_default=True, retain_unknown_options=False)
    beam_given = {k: v for k, v in sorted(given.items()) if k not in newsbeam}
    return {"newsbeam": newsbeam, "beam": beam_given, "config_file": config_file, "argv": list(argv)}


def print_summary(output: str, row: dict, counts: dict, skipped: dict, metrics: dict, seconds: float) -> None:
    out = sys.stdout
    print(f"newsbeam: wrote {output}", file=out)
    print(f"  inputs {row['inputs']} = articles {row['articles']} + duplicates {row['duplicates']}"
          f" + rejects {row['rejects']} + skipped {row['skipped']}   (entities rows: {counts['entities']})",
          file=out)
    for reason, n in skipped.items():
        print(f"    skipped {n}: {reason}", file=out)
    if metrics:
        print("  stage counters:", file=out)
        width = max(len(k) for k in metrics)
        for key, value in metrics.items():
            print(f"    {key:<{width}}  {value}", file=out)
    print(f"  time {seconds:.1f} s", file=out)


def quiet_known_noise() -> None:
    """newsbeam's log handler at the default level: library noise (Beam's warning at import that
    optional GCP client libraries are missing, trafilatura's per-page notes, ...) at debug level
    (see pipeline/logs.py); ``run`` sets the level of -q/-v."""
    from pipeline import logs

    logs.configure(logs.DEFAULT)


