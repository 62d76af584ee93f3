"""The ``newsbeam`` command.

``newsbeam run --input GLOB --output DIR [Beam options such as --runner]`` builds the graph of
``pipeline/graph.py``, runs it, checks conservation (every input item is exactly one article,
duplicate, reject or skip), publishes the datasets, runs the data quality checks
(``pipeline/quality``: results and report in ``_quality/``) and writes ``_manifest.json``.
``newsbeam validate DIR`` runs the same checks on an existing output; ``newsbeam inspect DIR``
summarises one.

Exit codes: 0 ok, 1 a check failed (validate), 2 usage, 3 conservation failure (nothing published),
4 data quality failure (published, manifest status 'degraded'). A streaming run whose job fails
exits 1 (manifest status 'failed').

Beam and the stages are imported only when a command needs them, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONSERVATION, EXIT_QUALITY = 0, 1, 2, 3, 4
#: 128 + the signal, as a shell reports a command stopped by Ctrl-C (SIGINT), SIGTERM, SIGPIPE.
EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_BROKEN_PIPE = 130, 143, 141


class ConservationError(RuntimeError):
    pass


#: newsbeam's own output flags: taken out of argv before Beam parses it.
_OUTPUT_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def _output_level(known) -> int:
    from pipeline import logs

    return logs.QUIET if known.quiet else logs.VERBOSE if known.verbose else logs.DEFAULT


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


def conservation(inputs: int, counts: dict) -> dict:
    """The invariant every run checks: inputs = articles + duplicates + rejects + skipped."""
    total = counts["articles"] + counts["duplicates"] + counts["rejects"] + counts["skipped"]
    return {"inputs": inputs, "accounted": total, "holds": inputs == total}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (switches and options without one stay as they are)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.default in (None, False, True, argparse.SUPPRESS) or not action.option_strings
                or "%(default)" in text or "default:" in text.lower()):
            return text
        return text + " (default: %(default)s)"


RUN_EPILOG = """modes:
  batch over files      newsbeam run --input 'data/**/*.html' --output OUT
  feeds, once           newsbeam run --feeds feeds.txt --output OUT
  streaming (unbounded) newsbeam run --streaming --watch 'inbox/*' --output OUT [--stop-after 60]
                        newsbeam run --streaming --feeds feeds.txt --output OUT
  from a config file    newsbeam run --config newsbeam.toml   (keys = flag names; command line wins)

Any Apache Beam pipeline option is passed through to Beam, e.g. --runner PortableRunner,
--direct_num_workers 2 --direct_running_mode multi_processing. An option that is neither
newsbeam's nor Beam's is an error.

exit codes: 0 ok, 2 usage error, 3 conservation failure (nothing published), 4 data quality
failure (published, status 'degraded'), 1 a streaming job failed, 130 Ctrl-C, 143 SIGTERM."""


def _run_parser() -> argparse.ArgumentParser:
    from pipeline.options import NewsbeamOptions

    parser = argparse.ArgumentParser(
        prog="newsbeam run", formatter_class=_HelpFormatter, allow_abbrev=False, epilog=RUN_EPILOG,
        description="Run the pipeline: read articles from files or feeds, clean, deduplicate, group "
                    "stories, extract entities, validate, and write partitioned datasets to --output.")
    general = parser.add_argument_group("run")
    general.add_argument("--config", metavar="FILE.toml", default=None,
                         help="Read options from a TOML file (keys are the flags' names: "
                              "near-threshold = 0.3, input = ['a/*.html']); the command line wins.")
    general.add_argument("--streaming", action="store_true", default=False,
                         help="Run on unbounded sources (--watch, --feeds, --pubsub-subscription) until "
                              "--stop-after or Ctrl-C, writing files as they land (see 'streaming' below).")
    NewsbeamOptions._add_argparse_args(parser)
    shown = parser.add_argument_group("what the run prints (newsbeam's own flags, not passed to Beam)")
    levels = shown.add_mutually_exclusive_group()
    levels.add_argument("-q", "--quiet", action="store_true", default=False,
                        help="Print only errors (error log lines and error messages, on standard error) and "
                             "the final summary (standard output): no progress or status lines, no warnings, "
                             "no notices.")
    levels.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="Print debug logs, every library's included (Beam, trafilatura, htmldate, ...), "
                             "and the per-page messages that are otherwise hidden.")
    beam_group = parser.add_argument_group(
        "Apache Beam (a few of Beam's options; all of them are accepted)")
    beam_group.add_argument("--runner", default=None, metavar="NAME",
                            help="DirectRunner (default, in this process), PortableRunner, DataflowRunner, "
                                 "FlinkRunner, ...")
    beam_group.add_argument("--direct_num_workers", default=None, metavar="N",
                            help="DirectRunner: workers (0: one per core).")
    beam_group.add_argument("--direct_running_mode", default=None,
                            metavar="in_memory|multi_threading|multi_processing",
                            help="DirectRunner: how the workers run.")
    return parser


def _every_option_parser() -> argparse.ArgumentParser:
    """A parser that knows newsbeam's options and every Apache Beam pipeline option (the runner
    modules that define their own are imported first), to tell a typo from a Beam option."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    import pipeline.options  # noqa: F401  (registers NewsbeamOptions)

    for module in ("apache_beam.runners.portability.flink_runner",
                   "apache_beam.runners.portability.spark_runner"):
        try:
            __import__(module)
        except Exception:  # an optional runner that cannot be imported defines no options here
            pass
    parser = _BeamArgumentParser(allow_abbrev=False, add_help=False)
    seen = set()
    for cls in PipelineOptions.__subclasses__():
        if cls.__name__ not in seen:
            seen.add(cls.__name__)
            cls._add_argparse_args(parser)
    parser.add_argument("--config", default=None)
    return parser


class UsageError(Exception):
    """A mistake in how newsbeam was called: one line for the person, exit 2."""


def _reject_unknown(argv: list[str], parser: argparse.ArgumentParser) -> None:
    """Raise :class:`UsageError` for an argument that is neither newsbeam's nor Beam's."""
    import difflib

    _known, unknown = parser.parse_known_args(argv)
    if not unknown:
        return
    first = unknown[0]
    if not first.startswith("-"):
        raise UsageError(f"unexpected argument {first!r}: every value belongs to an option "
                         "(e.g. --input 'data/*.html' --output OUT); quote globs so the shell leaves them alone")
    name = first.split("=", 1)[0]
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else "; see 'newsbeam run --help'"
    raise UsageError(f"unknown option {name}{hint}")


def _with_config(argv: list[str]) -> tuple[list[str], dict | None]:
    """``argv`` with a ``--config`` file's flags put in front (the command line wins), and how the
    manifest names the file."""
    from pipeline import config

    probe = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    probe.add_argument("--config", default=None)
    known, rest = probe.parse_known_args(argv)
    if not known.config:
        return argv, None
    table, digest = config.load(known.config)
    file_argv = config.to_argv(table, _every_option_parser(), known.config, rest)
    return file_argv + rest, config.describe(known.config, digest)


def _check_modes(parser: argparse.ArgumentParser, known, streaming: bool) -> None:
    if streaming:
        if known.input:
            parser.error("--streaming reads unbounded sources: use --watch GLOB for folders "
                         "(--input is for batch runs)")
        if not (known.feeds or known.watch or known.pubsub_subscription):
            parser.error("--streaming needs a source: --feeds FILE, --watch GLOB and/or "
                         "--pubsub-subscription SUBSCRIPTION")
    elif known.watch or known.pubsub_subscription:
        parser.error("--watch and --pubsub-subscription are unbounded sources: add --streaming")
    elif not known.input and not known.feeds:
        parser.error("give --input GLOB (files such as 'data/**/*.jsonl') and/or --feeds FILE (feed URLs)")
    if not known.output:
        parser.error("--output is required: the directory the datasets are written to")


def _check_output(known) -> str:
    """The absolute output directory, once it is known newsbeam may write there (else UsageError)."""
    from pipeline.io import ownership

    output = os.path.abspath(known.output)
    try:
        ownership.check_output(output)
        ownership.check_inputs_outside(output, known.input or [], "--input")
        ownership.check_inputs_outside(output, known.watch or [], "--watch")
        if known.feeds:
            ownership.check_inputs_outside(output, [known.feeds], "--feeds")
    except ownership.NotOurs as e:
        raise UsageError(str(e)) from None
    return output


def _check_runner(options) -> None:
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.runner import create_runner

    runner = options.view_as(StandardOptions).runner
    if runner is None:
        return
    try:
        create_runner(runner)
    except (ValueError, ImportError) as e:
        raise UsageError(f"--runner {runner}: {e}") from None


def _check_model(options) -> None:
    if not options.entities:
        return
    from pipeline.stages.entities import ModelNotInstalled, resolve_model

    try:
        resolve_model(options.ner_model)
    except ModelNotInstalled as e:
        raise UsageError(f"{e} Or run with --no-entities.") from None


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, systemd): stop as Ctrl-C does, exit 143."""


#: The stop signal received during this command, if any: Beam wraps an exception raised inside a
#: running stage (``RuntimeError: KeyboardInterrupt [while running 'Clean/...']``), so the run asks
#: here whether the failure was really the person stopping it.
_STOP_SIGNAL: list[int] = []


def _stop(signum, _frame):
    import logging

    _STOP_SIGNAL.append(signum)
    logging.disable(logging.CRITICAL)  # the runner logs the stop as a failed bundle, with a traceback
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _install_stop_handlers() -> list:
    """Ctrl-C and SIGTERM raise in the main thread (SIGINT left alone where it is ignored, as for
    a background job); returns what to restore."""
    if threading.current_thread() is not threading.main_thread():
        return []
    restore = [(signal.SIGTERM, signal.signal(signal.SIGTERM, _stop))]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        restore.append((signal.SIGINT, signal.signal(signal.SIGINT, _stop)))
    return restore


def _as_stop(error: Exception) -> BaseException:
    """The KeyboardInterrupt/Terminated a runner error stands for, when a stop signal caused it."""
    if not _STOP_SIGNAL:
        return error
    return Terminated() if _STOP_SIGNAL[-1] == signal.SIGTERM else KeyboardInterrupt()


def interrupted_exit(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def run(argv: list[str]) -> int:
    parser = _run_parser()
    if "-h" in argv or "--help" in argv:
        parser.print_help()
        return EXIT_OK
    from pipeline import logs

    try:
        argv, config_file = _with_config(argv)
        known, _beam_flags = parser.parse_known_args(argv)
        level = _output_level(known)
        logs.configure(level)
        argv = [arg for arg in argv if arg not in _OUTPUT_FLAGS]
        _reject_unknown(argv, _every_option_parser())
        streaming = known.streaming
        _check_modes(parser, known, streaming)
        output = _check_output(known)
        if config_file:
            from pipeline.io import ownership

            ownership.check_inputs_outside(output, [config_file["file"]], "--config")
    except (UsageError, ValueError) as e:  # config.ConfigError is a ValueError
        print(f"newsbeam run: {e}", file=sys.stderr)
        return EXIT_USAGE
    if streaming:
        from pipeline.streaming import run_streaming

        return run_streaming(argv, quiet=level == logs.QUIET)

    from pipeline.io.feedstate import FeedStateError
    from pipeline.io.sources import NoInputError

    import apache_beam as beam

    from pipeline import graph, progress
    from pipeline.io import ownership, sinks
    from pipeline.options import NewsbeamOptions, local_runner

    options = NewsbeamOptions(argv)
    try:
        _check_runner(options)
        _check_model(options)
    except UsageError as e:
        print(f"newsbeam run: {e}", file=sys.stderr)
        return EXIT_USAGE
    created = ownership.adopt(output)
    state_dir = os.path.abspath(options.state) if options.state else os.path.join(output, "_state")
    for name in sinks.clean_leftovers(output):
        if level > logs.QUIET:
            print(f"newsbeam: removed {name} left in {output} by an interrupted run", file=sys.stderr)
    if sinks.interrupted_publish(output) and level > logs.QUIET:
        print(f"newsbeam: an earlier run was killed while publishing to {output}; this run "
              "replaces every dataset", file=sys.stderr)
    staging = sinks.staging_dir(output)
    started, started_at = time.monotonic(), time.time()
    published = False
    # progress: counting steps write under the staging directory, a driver thread shows their sum
    progress_dir = progress.progress_dir(staging) if level > logs.QUIET and local_runner(options) else None
    try:
        pipeline = beam.Pipeline(options=options)
        try:
            graph.build(pipeline, options, staging, state_dir, progress=progress_dir)
        except (NoInputError, FeedStateError) as e:
            print(f"newsbeam: {e}", file=sys.stderr)
            shutil.rmtree(staging, ignore_errors=True)
            ownership.abandon(output, created)
            return EXIT_USAGE
        try:
            with progress.shown(progress_dir, started=started, entities=options.entities):
                result = pipeline.run()
                result.wait_until_finish()
        except Exception as error:  # a stop signal arrives wrapped by the runner
            stop = _as_stop(error)
            if stop is error:
                raise
            raise stop from None
        metrics = counters(result)

        counts, _files = sinks.dataset_counts(staging)
        inputs = sinks.read_input_count(staging)
        skipped = sinks.read_skip_counts(staging)
        counts_row = {"inputs": inputs, "articles": counts["articles"], "duplicates": counts["duplicates"],
                      "rejects": counts["rejects"], "skipped": sum(skipped.values())}
        check = conservation(inputs, counts_row)
        if not check["holds"]:
            raise ConservationError(
                f"conservation violated: {inputs} inputs but {check['accounted']} accounted for "
                f"({counts_row}); the output was NOT published, staged files are in {staging}. "
                "This is a newsbeam bug: please report it with the input.")

        sinks.publish(staging, output)
        published = True
        if options.feeds:  # the feed state advances only when the run's output is published
            from pipeline.io.feedstate import FeedStateStore
            from pipeline.io.live import merge_states

            merge_states(FeedStateStore(state_dir), staging)
        counts, files = sinks.dataset_counts(output)
        from pipeline.quality.report import run_info

        options_row, versions = _manifest_options(options), sinks.library_versions(_model_name(options))
        run_row = run_info(mode="batch", options=options_row, versions=versions, schema_version=_schema_version(),
                           started_at=started_at, finished_at=time.time(), duration_seconds=time.monotonic() - started)
        interrupted = None
        try:
            quality, failed = _quality_step(output, options.quality, run=run_row)
        except KeyboardInterrupt as e:  # the datasets are whole: commit them, without the checks
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            interrupted, (quality, failed) = e, ({"status": "skipped"}, [])
        manifest = {
            "status": "degraded" if failed else "ok",
            "counts": counts_row,
            "datasets": {name: {"rows": counts[name]} for name in sinks.DATASETS},
            "skipped_by_reason": skipped,
            "conservation": check,
            "files": files,
            "options": options_row,
            "configuration": _effective_configuration(options, argv, config_file),
            "versions": versions,
            "schema_version": _schema_version(),
            "quality": quality,
        }
        sinks.write_manifest(output, manifest)
        shutil.rmtree(staging, ignore_errors=True)
        if interrupted is not None:
            how = "stopped by SIGTERM" if isinstance(interrupted, Terminated) else "interrupted (Ctrl-C)"
            print(f"newsbeam: {how} during the quality checks; {output} has this run's datasets and "
                  "manifest (quality: skipped); 'newsbeam validate' runs the checks", file=sys.stderr)
            return interrupted_exit(interrupted)
        _print_summary(output, counts_row, counts, skipped, metrics, time.monotonic() - started)
        if failed:
            _print_quality_failures(output, failed)
            return EXIT_QUALITY
        return EXIT_OK
    except ConservationError as e:
        print(f"newsbeam: {e}", file=sys.stderr)
        return EXIT_CONSERVATION
    except KeyboardInterrupt as e:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        shutil.rmtree(staging, ignore_errors=True)
        how = "stopped by SIGTERM" if isinstance(e, Terminated) else "interrupted (Ctrl-C)"
        if published:
            print(f"newsbeam: {how} after publishing; {output} has the new datasets but no final "
                  "manifest yet: rerun to complete it", file=sys.stderr)
        elif sinks.interrupted_publish(output):
            print(f"newsbeam: {how} while publishing; rerun to replace every dataset in {output}",
                  file=sys.stderr)
        else:
            ownership.abandon(output, created)
            print(f"newsbeam: {how}; nothing was published ({output} keeps what it had)", file=sys.stderr)
        return interrupted_exit(e)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _quality_step(output: str, enabled: bool, run: dict | None = None) -> tuple[dict, list[str]]:
    """GE suites and row checks over every published partition; results and report in _quality/.

    ``run`` (``pipeline.quality.report.run_info``) is what the report says about the run; without
    it, the live manifest of a streaming run in progress when there is one, else only the versions."""
    from pipeline.quality import runner

    directory = os.path.join(output, runner.QUALITY_DIR)
    if not enabled:
        shutil.rmtree(directory, ignore_errors=True)  # no stale results from an earlier run
        return {"status": "skipped"}, []
    from pipeline.quality import inspect, report

    results = runner.check_output(output)
    runner.write_results(output, results)
    if run is None:  # a caller that passes none (streaming): its live manifest, else what this code knows
        from pipeline.io.sinks import library_versions

        run = report.run_from_output(output, live_only=True) or report.run_info(
            mode=None, options={}, versions=library_versions(), schema_version=_schema_version())
    report.write_report(output, results, inspect.dataset_stats(output), run=run)
    failed = runner.failures(results)
    return {"status": "failed" if failed else "passed", "partitions": len(results["partitions"]),
            "failed": failed, "results": f"{runner.QUALITY_DIR}/{runner.RESULTS_FILE}",
            "report": f"{runner.QUALITY_DIR}/{runner.REPORT_FILE}"}, failed


def _print_quality_failures(output: str, failed: list[str]) -> None:
    print(f"newsbeam: {len(failed)} data quality check(s) failed; the datasets are published but "
          "_manifest.json says status 'degraded':", file=sys.stderr)
    for line in failed[:20]:
        print(f"  - {line}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more", file=sys.stderr)
    print(f"  see {os.path.join(output, '_quality', 'report.html')}; fix the input or the stage named, "
          "or rerun with --no-quality to skip the checks", file=sys.stderr)


def _output_dir(prog: str, description: str, argv: list[str]):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("directory", metavar="DIR", help="An output directory written by 'newsbeam run'.")
    parser.add_argument("--json", metavar="FILE", default=None,
                        help="Also write the full results as JSON to FILE ('-' for standard output).")
    return parser


def _check_dir(directory: str) -> str | None:
    """None when DIR looks like a newsbeam output, else what to tell the person."""
    if not os.path.isdir(directory):
        return f"{directory} is not a directory; give the --output directory of a 'newsbeam run'"
    if not any(os.path.isdir(os.path.join(directory, d))
               for d in ("articles", "duplicates", "entities", "rejects")):
        return (f"{directory} has no articles/, duplicates/, entities/ or rejects/ folder; "
                "give the --output directory of a 'newsbeam run'")
    return None


def _write_json(target: str, data) -> None:
    import json

    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if target == "-":
        print(text)
    else:
        with open(target, "w", encoding="utf-8") as f:
            f.write(text + "\n")


def validate(argv: list[str]) -> int:
    """The quality checks of 'run' over an existing output, plus the manifest and checksums."""
    parser = _output_dir("newsbeam validate", "Check an output directory: every row against its JSON "
                         "Schema, the Great Expectations suites of schemas/expectations over every "
                         "partition, the manifest and file checksums. Exit 0 when all pass, 1 otherwise.",
                         argv)
    parser.add_argument("--report", metavar="FILE", default=None,
                        help="Also write the HTML report (charts and results) to FILE.")
    args = parser.parse_args(argv)
    problem = _check_dir(args.directory)
    if problem:
        print(f"newsbeam validate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from pipeline.io.sinks import interrupted_publish

    if interrupted_publish(args.directory):
        print(f"newsbeam validate: FAILED: a run was killed while publishing to {args.directory} "
              "(_publishing.json is there, _manifest.json is not): its datasets may mix two runs; "
              "rerun 'newsbeam run' to replace them", file=sys.stderr)
        return EXIT_FAILED
    from pipeline.quality import runner

    results = runner.check_output(args.directory, with_manifest=True)
    json_only = args.json == "-"  # standard output is the JSON document alone; the rest goes to stderr
    print(runner.format_table(results, width=shutil.get_terminal_size((120, 24)).columns),
          file=sys.stderr if json_only else sys.stdout)
    if args.json:
        _write_json(args.json, results)
    if args.report:
        from pipeline.quality import inspect, report

        with open(args.report, "w", encoding="utf-8") as f:
            f.write(report.render(results, inspect.dataset_stats(args.directory),
                                  run=report.run_from_output(args.directory)))
    failed = runner.failures(results)
    checks = len(runner.summary(results))
    if failed:
        print(f"\nFAILED: {len(failed)} check(s) in {len(results['partitions'])} partitions:", file=sys.stderr)
        for line in failed:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_FAILED
    print(f"\nOK: {checks} checks passed over {len(results['partitions'])} partitions",
          file=sys.stderr if json_only else sys.stdout)
    return EXIT_OK


def inspect(argv: list[str]) -> int:
    """A terminal summary of an output directory."""
    args = _output_dir("newsbeam inspect", "Summarise an output directory: partitions, row counts, "
                       "top sources, entities and reject reasons.", argv).parse_args(argv)
    problem = _check_dir(args.directory)
    if problem:
        print(f"newsbeam inspect: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from pipeline.quality.inspect import dataset_stats, format_stats

    stats = dataset_stats(args.directory)
    if args.json != "-":  # with --json -, standard output is the JSON document alone
        print(format_stats(args.directory, stats))
    if args.json:
        _write_json(args.json, stats)
    return EXIT_OK


def _schema_version() -> str:
    from pipeline.records import SCHEMA_VERSION

    return SCHEMA_VERSION


def _model_name(options) -> str | None:
    if not options.entities:
        return None
    try:
        from pipeline.stages.entities import resolve_model

        return resolve_model(options.ner_model)
    except Exception:
        return options.ner_model


def _manifest_options(options) -> dict:
    """The options that shape the output (paths made relative-free, runner kept)."""
    from pipeline.options import NewsbeamOptions

    mine = options.view_as(NewsbeamOptions).get_all_options(drop_default=False, retain_unknown_options=False)
    keep = ("input", "feeds", "fetch_articles", "allow_private_hosts", "format", "entities", "ner_model",
            "ner_batch_size", "near_threshold", "excerpt_threshold", "lsh_bands", "story_threshold",
            "story_window_days", "story_max_bucket", "quality", "runner")
    return {k: mine.get(k) for k in keep}


def _effective_configuration(options, argv: list[str], config_file: dict | None) -> dict:
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


def _print_summary(output: str, row: dict, counts: dict, skipped: dict, metrics: dict, seconds: float) -> None:
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


def _quiet_known_noise() -> None:
    """newsbeam's log handler at the default level: library noise (Beam's warning at import that
    optional GCP client libraries are missing, trafilatura's per-page notes, ...) at debug level
    (see pipeline/logs.py); ``run`` sets the level of -q/-v."""
    from pipeline import logs

    logs.configure(logs.DEFAULT)


def version_line() -> str:
    """``newsbeam 0.1.0 (apache-beam 2.77.0, Python 3.11.7)``, without importing Beam."""
    import platform
    from importlib import metadata

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"newsbeam {installed('newsbeam')} (apache-beam {installed('apache-beam')}, "
            f"Python {platform.python_version()})")


COMMANDS_HELP = """commands:
  run        process input files, feeds or streams into datasets (newsbeam run --help)
  validate   check an output directory; exit 1 on a failed check (newsbeam validate --help)
  inspect    summarise an output directory (newsbeam inspect --help)
  help       this text, or 'newsbeam help COMMAND'

examples:
  newsbeam run --input 'examples/articles/**/*' --output out
  newsbeam run --streaming --watch 'inbox/*' --output live --stop-after 60
  newsbeam inspect out"""


def _main_parser(commands) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=COMMANDS_HELP,
        description="Streaming ingestion pipeline for news articles on Apache Beam: clean, "
                    "deduplicate, group stories, extract entities, validate, write partitioned datasets.")
    parser.add_argument("command", choices=list(commands) + ["help"], help="what to do (see below)")
    parser.add_argument("--version", action="version", version=version_line())
    return parser


def _dispatch(argv: list[str]) -> int:
    commands = {"run": run, "validate": validate, "inspect": inspect}
    parser = _main_parser(commands)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] in ("--version", "-V", "version"):
        print(version_line())
        return EXIT_OK
    if argv[0] == "help":
        if len(argv) > 1 and argv[1] in commands:
            return commands[argv[1]](["--help"])
        parser.print_help()
        return EXIT_OK if len(argv) == 1 else EXIT_USAGE
    if argv[0] not in commands:
        import difflib

        close = difflib.get_close_matches(argv[0], list(commands) + ["help"], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        print(f"newsbeam: unknown command {argv[0]!r}; {hint}commands: run, validate, inspect, help "
              "(newsbeam --help)", file=sys.stderr)
        return EXIT_USAGE
    return commands[argv[0]](argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_known_noise()
    restore = _install_stop_handlers()
    try:
        return _dispatch(argv)
    except SystemExit as e:  # argparse errors and --help
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    except KeyboardInterrupt as e:  # outside run's own handling (imports, validate, inspect)
        print("newsbeam: stopped by SIGTERM" if isinstance(e, Terminated) else "newsbeam: interrupted",
              file=sys.stderr)
        return interrupted_exit(e)
    except BrokenPipeError:  # 'newsbeam inspect OUT | head': the reader has what it wanted
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        for signum, handler in restore:
            signal.signal(signum, handler)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def entry_point() -> None:
    """The ``newsbeam`` console script: exit with main's code, quietly on a broken pipe."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
