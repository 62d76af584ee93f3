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
import sys
import tempfile
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONSERVATION, EXIT_QUALITY = 0, 1, 2, 3, 4


class ConservationError(RuntimeError):
    pass


def _run_parser() -> argparse.ArgumentParser:
    from pipeline.options import NewsbeamOptions

    parser = argparse.ArgumentParser(
        prog="newsbeam run",
        description="Run the pipeline in batch over input files. Any other Apache Beam pipeline "
                    "option (--runner, --direct_num_workers, ...) is passed through to Beam.")
    NewsbeamOptions._add_argparse_args(parser)
    shown = parser.add_argument_group("what the run prints (newsbeam's own flags, not passed to Beam)")
    levels = shown.add_mutually_exclusive_group()
    levels.add_argument("-q", "--quiet", action="store_true", default=False,
                        help="Print only errors (error log lines and error messages, on standard error) and "
                             "the final summary (standard output): no progress lines, no warnings, no notices. "
                             "(A --streaming run keeps its status line.)")
    levels.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="Print debug logs, every library's included (Beam, trafilatura, htmldate, ...), "
                             "and the per-page messages that are otherwise hidden.")
    return parser


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


def run(argv: list[str]) -> int:
    parser = _run_parser()
    known, _beam_flags = parser.parse_known_args(argv)
    from pipeline import logs

    level = _output_level(known)
    logs.configure(level)
    argv = [arg for arg in argv if arg not in _OUTPUT_FLAGS]
    streaming = "--streaming" in argv
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
    if streaming:
        from pipeline.streaming import run_streaming

        return run_streaming(argv)

    from pipeline.io.feedstate import FeedStateError
    from pipeline.io.sources import NoInputError

    import apache_beam as beam

    from pipeline import graph, progress
    from pipeline.io import sinks
    from pipeline.options import NewsbeamOptions, local_runner

    options = NewsbeamOptions(argv)
    output = os.path.abspath(options.output)
    os.makedirs(output, exist_ok=True)
    state_dir = os.path.abspath(options.state) if options.state else os.path.join(output, "_state")
    for name in sinks.clean_leftovers(output):
        if level > logs.QUIET:
            print(f"newsbeam: removed {name} left in {output} by an interrupted run", file=sys.stderr)
    if sinks.interrupted_publish(output) and level > logs.QUIET:
        print(f"newsbeam: an earlier run was killed while publishing to {output}; this run "
              "replaces every dataset", file=sys.stderr)
    staging = sinks.staging_dir(output)
    started = time.monotonic()
    # progress: counting steps write under the staging directory, a driver thread shows their sum
    progress_dir = progress.progress_dir(staging) if level > logs.QUIET and local_runner(options) else None
    try:
        pipeline = beam.Pipeline(options=options)
        try:
            graph.build(pipeline, options, staging, state_dir, progress=progress_dir)
        except (NoInputError, FeedStateError) as e:
            print(f"newsbeam: {e}", file=sys.stderr)
            return EXIT_USAGE
        with progress.shown(progress_dir, started=started, entities=options.entities):
            result = pipeline.run()
            result.wait_until_finish()
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
        if options.feeds:  # the feed state advances only when the run's output is published
            from pipeline.io.feedstate import FeedStateStore
            from pipeline.io.live import merge_states

            merge_states(FeedStateStore(state_dir), staging)
        counts, files = sinks.dataset_counts(output)
        quality, failed = _quality_step(output, options.quality)
        manifest = {
            "status": "degraded" if failed else "ok",
            "counts": counts_row,
            "datasets": {name: {"rows": counts[name]} for name in sinks.DATASETS},
            "skipped_by_reason": skipped,
            "conservation": check,
            "files": files,
            "options": _manifest_options(options),
            "versions": sinks.library_versions(_model_name(options)),
            "schema_version": _schema_version(),
            "quality": quality,
        }
        sinks.write_manifest(output, manifest)
        _print_summary(output, counts_row, counts, skipped, metrics, time.monotonic() - started)
        shutil.rmtree(staging, ignore_errors=True)
        if failed:
            _print_quality_failures(output, failed)
            return EXIT_QUALITY
        return EXIT_OK
    except ConservationError as e:
        print(f"newsbeam: {e}", file=sys.stderr)
        return EXIT_CONSERVATION
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _quality_step(output: str, enabled: bool) -> tuple[dict, list[str]]:
    """GE suites and row checks over every published partition; results and report in _quality/."""
    from pipeline.quality import runner

    directory = os.path.join(output, runner.QUALITY_DIR)
    if not enabled:
        shutil.rmtree(directory, ignore_errors=True)  # no stale results from an earlier run
        return {"status": "skipped"}, []
    from pipeline.quality import inspect, report

    results = runner.check_output(output)
    runner.write_results(output, results)
    report.write_report(output, results, inspect.dataset_stats(output))
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
    print(runner.format_table(results, width=shutil.get_terminal_size((120, 24)).columns))
    if args.json:
        _write_json(args.json, results)
    if args.report:
        from pipeline.quality import inspect, report

        with open(args.report, "w", encoding="utf-8") as f:
            f.write(report.render(results, inspect.dataset_stats(args.directory)))
    failed = runner.failures(results)
    checks = len(runner.summary(results))
    if failed:
        print(f"\nFAILED: {len(failed)} check(s) in {len(results['partitions'])} partitions:", file=sys.stderr)
        for line in failed:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_FAILED
    print(f"\nOK: {checks} checks passed over {len(results['partitions'])} partitions")
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_known_noise()
    parser = argparse.ArgumentParser(
        prog="newsbeam",
        description="Streaming ingestion pipeline for news articles on Apache Beam: clean, "
                    "deduplicate, group stories, extract entities, validate, write partitioned datasets.")
    commands = {"run": run, "validate": validate, "inspect": inspect}
    parser.add_argument("command", choices=list(commands),
                        help="run: process input files into datasets; validate DIR: check an output "
                             "(exit 1 on a failed check); inspect DIR: summarise an output "
                             "(see 'newsbeam COMMAND --help')")
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] not in commands:
        parser.error(f"unknown command {argv[0]!r}; try 'newsbeam --help'")
    try:
        return commands[argv[0]](argv[1:])
    except SystemExit as e:  # argparse errors
        return int(e.code or 0)


if __name__ == "__main__":
    sys.exit(main())
