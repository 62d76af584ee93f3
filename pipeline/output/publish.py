"""Publishing a batch run: staging, the swap of each dataset directory, the manifest as the commit
point, and what a killed run leaves behind.

Atomic output, and what a reader may rely on. Each dataset directory is swapped by one
``rename``, so no partition is ever half-written. Four renames are not one atomic step, so the
manifest is the commit point: ``publish`` first writes ``_publishing.json`` (a journal) and
removes the old ``_manifest.json``; :func:`write_manifest` removes the journal. A run killed at
any moment therefore leaves either the previous output with its manifest, or no manifest (and a
journal): "nothing complete", which ``newsbeam validate`` reports. Readers (DuckDB, pyarrow on
``OUT/articles/**``) should read only while ``_manifest.json`` exists, like Hadoop's ``_SUCCESS``.
The next run removes what a killed run left (its ``.staging-*`` directory, see
:func:`clean_leftovers`) and replaces every dataset.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Optional

from pipeline.output.files import DATASETS, pause_for_tests, write_bytes
from pipeline.output.ownership import pid_alive

MANIFEST = "_manifest.json"
#: Written before the first dataset is swapped, removed once the manifest is written.
JOURNAL = "_publishing.json"
STAGING_PREFIX = ".staging-"


def staging_dir(output: str) -> str:
    """A new staging directory for this run, named after its process id (so a later run can
    tell a dead run's leftovers from a live concurrent run's)."""
    import tempfile

    from pipeline.output.ownership import STAGING_MARKER

    os.makedirs(output, exist_ok=True)
    path = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=output)
    with open(os.path.join(path, STAGING_MARKER), "w", encoding="utf-8") as f:
        f.write(json.dumps({"pid": os.getpid()}))  # what makes it ours to remove later, not its name
    return path



#: In a streaming segment's staging directory (``pipeline/run/streaming.py``): its run id and,
#: once its job ended cleanly, ``ready`` with the summary its commit carries.
SEGMENT_FILE = "segment.json"


def staging_owner_alive(name: str) -> bool:
    """True when the process that made staging directory ``name`` is this one or still runs."""
    pid = name[len(STAGING_PREFIX):].split("-", 1)[0]
    return pid.isdigit() and (int(pid) == os.getpid() or pid_alive(int(pid)))


def _ready_segment(path: str) -> bool:
    try:
        with open(os.path.join(path, SEGMENT_FILE), encoding="utf-8") as f:
            return bool(json.load(f).get("ready"))
    except (OSError, ValueError, AttributeError):
        return False


def clean_leftovers(output: str) -> list[str]:
    """Remove what killed runs left in ``output``: staging directories of processes that are
    gone, ``.old-<dataset>`` folders of older versions. Returns what was removed. Only what
    newsbeam made is removed (:func:`pipeline.output.ownership.is_our_leftover`: a staging
    directory holds its marker file), never a folder because of its name. A streaming segment
    that finished but was not committed stays: the next streaming run into ``output`` commits it."""
    from pipeline.output.ownership import is_our_leftover

    removed = []
    if not os.path.isdir(output):
        return removed
    for name in sorted(os.listdir(output)):
        path = os.path.join(output, name)
        if not (name.startswith((STAGING_PREFIX, ".old-")) and is_our_leftover(path)):
            continue
        if name.startswith(STAGING_PREFIX) and (staging_owner_alive(name) or _ready_segment(path)):
            continue  # a run in progress (ours, or a concurrent one), or a segment to commit
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def interrupted_publish(output: str) -> bool:
    """True when a run was killed while publishing: some datasets may be new, some old."""
    return os.path.exists(os.path.join(output, JOURNAL))


def publish(staging: str, output: str) -> None:
    """Replace the datasets in ``output`` by the staged ones (old ones are removed, never merged).

    Writes the journal and removes the old manifest first (see the module docstring); each
    dataset is then swapped by renames, the old one moved into ``staging`` (removed with it)."""
    os.makedirs(output, exist_ok=True)
    write_bytes(os.path.join(output, JOURNAL),
                 json.dumps({"staging": os.path.basename(staging), "pid": os.getpid()}).encode())
    manifest = os.path.join(output, MANIFEST)
    if os.path.exists(manifest):
        os.remove(manifest)
    for i, dataset in enumerate(DATASETS):
        if i:
            pause_for_tests("publish")
        staged = os.path.join(staging, dataset)
        target = os.path.join(output, dataset)
        old = os.path.join(staging, f".old-{dataset}")
        if os.path.exists(old):
            shutil.rmtree(old)
        if not os.path.exists(staged):
            os.makedirs(staged)  # an empty dataset is an empty directory, not a stale one
        if os.path.exists(target):
            os.replace(target, old)
        os.replace(staged, target)
        if os.path.exists(old):
            shutil.rmtree(old)


def write_manifest(output: str, manifest: dict) -> str:
    path = os.path.join(output, MANIFEST)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    journal = os.path.join(output, JOURNAL)
    if os.path.exists(journal):  # the manifest is the commit point: the publish is complete
        os.remove(journal)
    return path


def library_versions(model: Optional[str] = None) -> dict:
    from importlib import metadata
    import platform

    names = ["newsbeam", "apache-beam", "trafilatura", "spacy", "pyarrow", "rensa", "py3langid",
             "jsonschema-rs", "ftfy", "courlan", "orjson"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    for spec in (model or "").split():
        package = spec.partition("=")[2] or spec
        try:
            versions[f"model:{package}"] = metadata.version(package.replace("_", "-"))
        except (metadata.PackageNotFoundError, ValueError):
            versions[f"model:{package}"] = None
    return versions
