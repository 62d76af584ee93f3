"""Dataflow flex-template entry point: build the newsbeam graph and submit it, without waiting.

Why not ``newsbeam run``: the CLI stages into a local directory, waits for the job and then
publishes, checks conservation and writes ``_manifest.json`` with local file operations. On
Dataflow the launcher VM exits once the job is submitted and the output lives on GCS, so this
entry point writes the datasets straight under ``--output`` (a fresh ``gs://`` prefix per run)
and leaves the manifest and quality report to a later step (see deploy/dataflow/README.md).

Template parameters arrive as ``--name=value`` (names as in metadata.json, the option's ``dest``
with underscores); :func:`translate` turns them into the CLI's flags (``entities=false`` ->
``--no-entities``). Everything else is a Beam/Dataflow option and passes through unchanged.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

REMOTE = ("gs://",)


def _actions() -> dict[str, argparse.Action]:
    """Every flag newsbeam and Beam know, by dest and by long option name."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.options import NewsbeamOptions

    parser = argparse.ArgumentParser(add_help=False)
    seen = set()
    todo = [PipelineOptions]
    while todo:  # every PipelineOptions subclass, once (NewsbeamOptions included)
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    for cls in [NewsbeamOptions] + [c for c in seen if c is not NewsbeamOptions]:
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # a flag two subclasses both declare
            continue
    found = {}
    for action in parser._actions:
        for flag in action.option_strings:
            found[flag.lstrip("-")] = action
        found.setdefault(action.dest, action)
    return found


def _is_flag(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))


def translate(argv: list[str]) -> list[str]:
    """Template parameters (``--near_threshold=0.3``, ``--entities=false``) -> CLI flags."""
    actions = _actions()
    out = []
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            out.append(arg)
            continue
        name, value = arg[2:].split("=", 1)
        action = actions.get(name) or actions.get(name.replace("-", "_"))
        if action is None:
            out.append(arg)
            continue
        flag = max(action.option_strings, key=len)
        if _is_flag(action):
            wanted = value.strip().lower() in ("true", "1", "yes")
            # store_false flags (--no-entities) turn an option off: give them when the value is false
            if wanted == isinstance(action, argparse._StoreTrueAction):
                out.append(flag)
            continue
        if isinstance(action, argparse._AppendAction):
            # a template parameter holds one string: a repeatable option takes a comma-separated list
            out.extend(f"{flag}={part.strip()}" for part in value.split(",") if part.strip())
            continue
        out.append(f"{flag}={value}")
    return out


def _check_paths(options) -> None:
    """Local paths mean nothing on Dataflow workers: say so before anything is submitted."""
    from apache_beam.options.pipeline_options import TestOptions

    if options.view_as(TestOptions).dry_run:
        return
    paths = {"--output": [options.output]} | {"--input": list(options.input or [])}
    for flag, values in paths.items():
        for value in values:
            if value and not value.startswith(REMOTE):
                raise SystemExit(f"launch.py: {flag} {value} is not a gs:// path; Dataflow workers only "
                                 "see Cloud Storage. Copy the inputs with 'gcloud storage cp' and give "
                                 "gs://BUCKET/... paths.")
    from apache_beam.io.filesystems import FileSystems

    existing = FileSystems.match([options.output.rstrip("/") + "/**"], limits=[1])[0].metadata_list
    if existing:
        raise SystemExit(f"launch.py: {options.output} is not empty; give each run a fresh --output "
                         "prefix (e.g. gs://BUCKET/newsbeam/$(date +%Y%m%dT%H%M)) so runs never mix.")


def with_image_defaults(argv: list[str]) -> list[str]:
    """Workers run the template's own image (newsbeam and the model preinstalled, nothing staged)."""
    image = os.environ.get("NEWSBEAM_WORKER_IMAGE")
    given = {arg.split("=", 1)[0] for arg in argv}
    extra = []
    if image and "--sdk_container_image" not in given:
        extra.append(f"--sdk_container_image={image}")
    if (image or "--sdk_container_image" in given) and "--sdk_location" not in given:
        extra.append("--sdk_location=container")
    return argv + extra


def build(argv: list[str]):
    """The pipeline and its options, graph wired, not yet run (the dry-run tests use this)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions

    from pipeline import graph
    from pipeline.options import NewsbeamOptions

    options = NewsbeamOptions(translate(with_image_defaults(argv)))
    if not options.output:
        raise SystemExit("launch.py: the output parameter is required (a gs:// prefix)")
    _check_paths(options)
    output = options.output.rstrip("/")
    state_dir = options.state or f"{output}/_state"
    pipeline = beam.Pipeline(options=options)
    if options.view_as(StandardOptions).streaming and hasattr(graph, "build_streaming"):
        graph.build_streaming(pipeline, options, output, state_dir, start=time.time(), stop=None)
    else:
        graph.build(pipeline, options, output, state_dir)
    return pipeline, options


def main(argv: list[str] | None = None):
    logging.getLogger().setLevel(logging.INFO)
    pipeline, _options = build(list(sys.argv[1:] if argv is None else argv))
    return pipeline.run()  # the launcher exits once the job is submitted; do not wait


if __name__ == "__main__":
    main()
