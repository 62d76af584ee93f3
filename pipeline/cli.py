"""The ``newsbeam`` command: parse and dispatch.

``newsbeam run`` reads its flags (a ``--config`` file's first, the command line's over them),
refuses what cannot work (unknown options, a missing source, an output directory newsbeam does
not own) with one line and exit 2, then hands over to :mod:`pipeline.run.batch` or
:mod:`pipeline.run.streaming`. ``newsbeam validate DIR`` and ``newsbeam inspect DIR`` check and
summarise an output (:mod:`pipeline.quality`).

Exit codes (:mod:`pipeline.run.common`): 0 ok, 1 a check failed (validate) or a streaming job
failed, 2 usage, 3 conservation failure (nothing published), 4 data quality failure (published,
status 'degraded'), 130 Ctrl-C, 143 SIGTERM, 141 a closed pipe.

Beam and the stages are imported only when a command needs them, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

from pipeline.run.common import (EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Terminated, UsageError,
                                 interrupted_exit, quiet_known_noise, stop_signals)

#: newsbeam's own output flags: taken out of argv before Beam parses it.
_OUTPUT_FLAGS = ("-q", "--quiet", "-v", "--verbose")


def _output_level(known) -> int:
    from pipeline import logs

    return logs.QUIET if known.quiet else logs.VERBOSE if known.verbose else logs.DEFAULT


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

batch output: Iceberg tables in OUT (_catalog.db, warehouse/), one commit per table per run.
  --mode append (default)        add the new rows; what is already stored is skipped or a duplicate
  --mode replace-partitions      backfill: replace the days the input covers, keep the other days
  --mode overwrite               replace EVERYTHING in the tables by this run's rows
  newsbeam inspect OUT --as-of RUN_ID    the tables as a run left them (time travel)

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


def _with_config(argv: list[str], every_option: argparse.ArgumentParser) -> tuple[list[str], dict | None]:
    """``argv`` with a ``--config`` file's flags put in front (the command line wins), and how the
    manifest names the file."""
    from pipeline import config

    probe = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    probe.add_argument("--config", default=None)
    known, rest = probe.parse_known_args(argv)
    if not known.config:
        return argv, None
    table, digest = config.load(known.config)
    file_argv = config.to_argv(table, every_option, known.config, rest)
    return file_argv + rest, config.describe(known.config, digest)


#: Flags one mode reads and the other would silently ignore: refused in the other mode.
BATCH_ONLY = {
    "--near-threshold": "streaming dedup keeps one rule in its state (estimated Jaccard >= 0.8 over "
                        "16x8 MinHash bands)",
    "--excerpt-threshold": "excerpts need the whole input: streaming does not look for them",
    "--lsh-bands": "streaming dedup keeps its own 16 bands in its state",
    "--story-threshold": "stories need the whole input: streaming does not group them yet",
    "--story-window-days": "stories need the whole input: streaming does not group them yet",
    "--story-max-bucket": "stories need the whole input: streaming does not group them yet",
}
STREAMING_ONLY = ("--watch-interval", "--window", "--allowed-lateness", "--event-time-tolerance",
                  "--segment-seconds", "--stop-after", "--poll-interval")
#: Batch runs commit to Iceberg tables; streaming keeps its dataset folders for now (issue 20).
BATCH_ONLY_VALUES = ("--mode",)


def _given_flags(argv: list[str]) -> set[str]:
    return {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}


def _check_modes(parser: argparse.ArgumentParser, known, streaming: bool, argv: list[str] = ()) -> None:
    given = _given_flags(list(argv))
    for flag in sorted(given):
        if streaming and flag in BATCH_ONLY:
            raise UsageError(f"{flag} applies to batch runs only ({BATCH_ONLY[flag]}); remove it, "
                             "or run without --streaming")
        if streaming and flag in BATCH_ONLY_VALUES:
            raise UsageError(f"{flag} applies to batch runs only (streaming writes dataset folders, not "
                             "tables, for now); remove it, or run without --streaming")
        if not streaming and flag in STREAMING_ONLY:
            raise UsageError(f"{flag} applies to streaming runs only; add --streaming (with --watch, "
                             "--feeds or --pubsub-subscription), or remove it")
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
    if known.format != "parquet" and writes_tables(known, argv):
        raise UsageError(f"--format {known.format}: a batch run or a local stream writes Iceberg tables, whose data files are "
                         "Parquet; read them as JSON with any reader (see README 'Reading the output'), or "
                         "remove --format")
    if not known.output:
        parser.error("--output is required: the directory the datasets are written to")


def _check_values(argv: list[str]) -> None:
    """Build the run's stage configs once here, so a value out of range (``--near-threshold 2``)
    is a usage error naming the flag, before anything is created."""
    from pipeline.options import NewsbeamOptions, run_config

    try:
        run_config(NewsbeamOptions(argv))
    except ValueError as e:
        raise UsageError(f"{e}") from None


def writes_tables(known, argv: list[str]) -> bool:
    """Batch runs and local streams commit to Iceberg tables; a managed runner's stream writes
    dataset folders."""
    from pipeline.options import NewsbeamOptions, local_runner

    return not known.streaming or local_runner(NewsbeamOptions(argv))


def _check_output(known, argv: list[str]) -> str:
    """The absolute output directory, once it is known newsbeam may write there (else UsageError)."""
    from pipeline.output import ownership

    output = os.path.abspath(known.output)
    try:
        ownership.check_output(output)
        if not writes_tables(known, argv):
            ownership.check_folders_layout(output)  # a managed runner's stream still writes folders
        else:
            ownership.check_tables_layout(output)
        ownership.check_inputs_outside(output, known.input or [], "--input")
        ownership.check_inputs_outside(output, known.watch or [], "--watch")
        if known.feeds:
            ownership.check_inputs_outside(output, [known.feeds], "--feeds")
    except ownership.NotOurs as e:
        raise UsageError(str(e)) from None
    return output


def run(argv: list[str]) -> int:
    parser = _run_parser()
    if "-h" in argv or "--help" in argv:
        parser.print_help()
        return EXIT_OK
    from pipeline import logs

    try:
        every_option = _every_option_parser()
        argv, config_file = _with_config(argv, every_option)
        known, _beam_flags = parser.parse_known_args(argv)
        level = _output_level(known)
        logs.configure(level)
        argv = [arg for arg in argv if arg not in _OUTPUT_FLAGS]
        _reject_unknown(argv, every_option)
        streaming = known.streaming
        _check_modes(parser, known, streaming, argv)
        _check_values(argv)
        output = _check_output(known, argv)
        if config_file:
            from pipeline.output import ownership

            ownership.check_inputs_outside(output, [config_file["file"]], "--config")
    except (UsageError, ValueError) as e:  # config.ConfigError is a ValueError
        print(f"newsbeam run: {e}", file=sys.stderr)
        return EXIT_USAGE
    if streaming:
        from pipeline.run.streaming import run_streaming

        return run_streaming(argv, quiet=level == logs.QUIET)
    from pipeline.run.batch import run_batch

    return run_batch(argv, output, level, config_file)


def _output_dir(prog: str, description: str, argv: list[str]):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("directory", metavar="DIR", help="An output directory written by 'newsbeam run'.")
    parser.add_argument("--json", metavar="FILE", default=None,
                        help="Also write the full results as JSON to FILE ('-' for standard output).")
    parser.add_argument("--as-of", metavar="SNAPSHOT|RUN_ID", default=None,
                        help="Tables output: read the tables as they were at this snapshot id or after this "
                             "run id (a run's id is in its _manifest.json and snapshot summaries). Default: now.")
    return parser


def _check_dir(directory: str) -> str | None:
    """None when DIR looks like a newsbeam output, else what to tell the person."""
    if not os.path.isdir(directory):
        return f"{directory} is not a directory; give the --output directory of a 'newsbeam run'"
    if os.path.isfile(os.path.join(directory, "_catalog.db")):
        return None  # a batch run's tables
    if not any(os.path.isdir(os.path.join(directory, d))
               for d in ("articles", "duplicates", "entities", "rejects")):
        return (f"{directory} has no articles/, duplicates/, entities/ or rejects/ folder; "
                "give the --output directory of a 'newsbeam run'")
    return None


def _check_as_of(directory: str, as_of: str | None) -> str | None:
    """None when ``--as-of`` names a snapshot or run of the tables in DIR (or is not given)."""
    if as_of is None:
        return None
    if not os.path.isfile(os.path.join(directory, "_catalog.db")):
        return f"--as-of needs a tables output; {directory} holds dataset folders"
    from pipeline.output import tables

    catalog = tables.open_catalog(directory)
    value = int(as_of) if as_of.isdigit() else as_of
    for dataset in ("articles", "duplicates", "entities", "rejects"):
        try:
            tables.resolve_snapshot(catalog.load_table(tables.identifier(dataset)), value)
            return None
        except LookupError:
            continue
        except Exception:  # a table not created yet
            continue
    return f"--as-of {as_of}: no table in {directory} has that snapshot id or run id"


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
    problem = _check_dir(args.directory) or _check_as_of(args.directory, args.as_of)
    if problem:
        print(f"newsbeam validate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from pipeline.output.publish import interrupted_publish

    if interrupted_publish(args.directory):
        print(f"newsbeam validate: FAILED: a run was killed while publishing to {args.directory} "
              "(_publishing.json is there, _manifest.json is not): its datasets may mix two runs; "
              "rerun 'newsbeam run' to replace them", file=sys.stderr)
        return EXIT_FAILED
    from pipeline.quality import runner

    results = runner.check_output(args.directory, with_manifest=args.as_of is None, as_of=args.as_of)
    json_only = args.json == "-"  # standard output is the JSON document alone; the rest goes to stderr
    print(runner.format_table(results, width=shutil.get_terminal_size((120, 24)).columns),
          file=sys.stderr if json_only else sys.stdout)
    if args.json:
        _write_json(args.json, results)
    if args.report:
        from pipeline.quality import inspect, report

        with open(args.report, "w", encoding="utf-8") as f:
            f.write(report.render(results, inspect.dataset_stats(args.directory, as_of=args.as_of),
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
    problem = _check_dir(args.directory) or _check_as_of(args.directory, args.as_of)
    if problem:
        print(f"newsbeam inspect: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from pipeline.quality.inspect import dataset_stats, format_stats

    stats = dataset_stats(args.directory, as_of=args.as_of)
    if args.json != "-":  # with --json -, standard output is the JSON document alone
        print(format_stats(args.directory, stats))
    if args.json:
        _write_json(args.json, stats)
    return EXIT_OK


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
    quiet_known_noise()
    try:
        with stop_signals():
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
