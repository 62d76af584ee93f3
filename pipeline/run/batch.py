"""A batch run: options -> graph -> run -> conservation -> publish -> quality -> manifest -> summary.

The CLI has parsed and checked the command line (``pipeline/cli.py``); this module is what a run
is. Its datasets are staged under ``OUT/.staging-*`` and published only when conservation holds
(every input item is one article, duplicate, reject or skip).
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time

from pipeline.run.common import (EXIT_CONSERVATION, EXIT_OK, EXIT_QUALITY, EXIT_USAGE, ConservationError,
                                 Terminated, UsageError, as_stop, conservation, counters, effective_configuration,
                                 interrupted_exit, manifest_options, model_name, print_quality_failures,
                                 print_summary, quality_step, schema_version)


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



def run_batch(argv: list[str], output: str, level: int, config_file: dict | None) -> int:
    """Run the pipeline over bounded inputs into ``output``; the process exit code."""
    from pipeline import logs

    from pipeline.io.feeds.state import FeedStateError
    from pipeline.io.files import NoInputError

    import apache_beam as beam

    from pipeline import graph, progress
    from pipeline.output import datasets, ownership, publish
    from pipeline.output.files import DATASETS, dataset_counts
    from pipeline.options import NewsbeamOptions, local_runner

    options = NewsbeamOptions(argv)
    try:
        check_runner(options)
        check_model(options)
    except UsageError as e:
        print(f"newsbeam run: {e}", file=sys.stderr)
        return EXIT_USAGE
    created = ownership.adopt(output)
    state_dir = os.path.abspath(options.state) if options.state else os.path.join(output, "_state")
    for name in publish.clean_leftovers(output):
        if level > logs.QUIET:
            print(f"newsbeam: removed {name} left in {output} by an interrupted run", file=sys.stderr)
    if publish.interrupted_publish(output) and level > logs.QUIET:
        print(f"newsbeam: an earlier run was killed while publishing to {output}; this run "
              "replaces every dataset", file=sys.stderr)
    staging = publish.staging_dir(output)
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
            stop = as_stop(error)
            if stop is error:
                raise
            raise stop from None
        metrics = counters(result)

        counts, _files = dataset_counts(staging)
        inputs = datasets.read_input_count(staging)
        skipped = datasets.read_skip_counts(staging)
        counts_row = {"inputs": inputs, "articles": counts["articles"], "duplicates": counts["duplicates"],
                      "rejects": counts["rejects"], "skipped": sum(skipped.values())}
        check = conservation(inputs, counts_row)
        if not check["holds"]:
            raise ConservationError(
                f"conservation violated: {inputs} inputs but {check['accounted']} accounted for "
                f"({counts_row}); the output was NOT published, staged files are in {staging}. "
                "This is a newsbeam bug: please report it with the input.")

        publish.publish(staging, output)
        published = True
        if options.feeds:  # the feed state advances only when the run's output is published
            from pipeline.io.feeds.fetch import merge_states
            from pipeline.io.feeds.state import FeedStateStore

            merge_states(FeedStateStore(state_dir), staging)
        counts, files = dataset_counts(output)
        from pipeline.quality.report import run_info

        options_row, versions = manifest_options(options), publish.library_versions(model_name(options))
        run_row = run_info(mode="batch", options=options_row, versions=versions, schema_version=schema_version(),
                           started_at=started_at, finished_at=time.time(), duration_seconds=time.monotonic() - started)
        interrupted = None
        try:
            quality, failed = quality_step(output, options.quality, run=run_row)
        except KeyboardInterrupt as e:  # the datasets are whole: commit them, without the checks
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            interrupted, (quality, failed) = e, ({"status": "skipped"}, [])
        manifest = {
            "status": "degraded" if failed else "ok",
            "counts": counts_row,
            "datasets": {name: {"rows": counts[name]} for name in DATASETS},
            "skipped_by_reason": skipped,
            "conservation": check,
            "files": files,
            "options": options_row,
            "configuration": effective_configuration(options, argv, config_file),
            "versions": versions,
            "schema_version": schema_version(),
            "quality": quality,
        }
        publish.write_manifest(output, manifest)
        shutil.rmtree(staging, ignore_errors=True)
        if interrupted is not None:
            how = "stopped by SIGTERM" if isinstance(interrupted, Terminated) else "interrupted (Ctrl-C)"
            print(f"newsbeam: {how} during the quality checks; {output} has this run's datasets and "
                  "manifest (quality: skipped); 'newsbeam validate' runs the checks", file=sys.stderr)
            return interrupted_exit(interrupted)
        print_summary(output, counts_row, counts, skipped, metrics, time.monotonic() - started)
        if failed:
            print_quality_failures(output, failed)
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
        elif publish.interrupted_publish(output):
            print(f"newsbeam: {how} while publishing; rerun to replace every dataset in {output}",
                  file=sys.stderr)
        else:
            ownership.abandon(output, created)
            kept = "it was not created" if created else f"{output} keeps what it had"
            print(f"newsbeam: {how}; nothing was published ({kept})", file=sys.stderr)
        return interrupted_exit(e)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

