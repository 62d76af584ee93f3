"""Which directories newsbeam may write into: nothing a user owns is ever deleted or overwritten.

Two layouts: a batch run's Iceberg tables (``_catalog.db``, ``warehouse/newsbeam/<table>/``:
:data:`TABLE_FILE`) and a streaming run's dataset folders (``articles/dt=.../part-*``, the only
batch layout up to schema 2.0.0). One output holds one layout: :func:`check_tables_layout` and
:func:`check_folders_layout` refuse to mix them.

A run replaces the datasets of its ``--output`` directory, so before any work the CLI checks
that the directory is newsbeam's to replace: it does not exist yet, or it is empty, or it is a
newsbeam output (it holds the :data:`MARKER` file, or a manifest or publish journal) and every
file in it has a name newsbeam gives its files. Anything else (a user's ``mydata.csv`` dropped
into ``OUT/articles/``, a home folder, the folder the input files live in) is refused with the
path that made the decision, and nothing is touched. Input paths inside the output are refused
too: a run would replace its own inputs.
"""
from __future__ import annotations

import glob
import json
import os
import re
from typing import Iterable, Optional

#: Written into every output directory newsbeam creates or adopts.
MARKER = ".newsbeam"
DATASETS = ("articles", "duplicates", "entities", "rejects")
#: Top-level entries of an output directory, beside the datasets, whose contents newsbeam owns.
OWNED_DIRS = ("_quality", "_state", "_stream")
OWNED_FILES = (MARKER, "_manifest.json", "_manifest.json.tmp", "_publishing.json", "_publishing.json.tmp",
               "_catalog.db", "_catalog.db-journal", "_catalog.db-wal", "_catalog.db-shm", "_catalog.lock")
#: The embedded catalog's warehouse (pyiceberg writes it; newsbeam's tables only).
WAREHOUSE = "warehouse"
#: What pyiceberg names a file of a newsbeam table, relative to the warehouse.
TABLE_FILE = re.compile(r"newsbeam/(articles|duplicates|entities|rejects|story_index|near_index)/"
                        r"(data/([A-Za-z_]+=[^/]+/)*[A-Za-z0-9_.-]+\.parquet"
                        r"|metadata/[A-Za-z0-9_.-]+\.(metadata\.json|avro))")
#: Leftovers of an interrupted run (see ``sinks.clean_leftovers``): a name is not enough, a
#: staging directory is newsbeam's only when it holds :data:`STAGING_MARKER` (or its maker runs),
#: an ``.old-<dataset>`` folder only when it holds nothing but data files newsbeam names.
LEFTOVER = re.compile(r"\.(staging|old)-[^/]+")
#: Written into every staging directory when it is made (``publish.staging_dir``).
STAGING_MARKER = ".newsbeam-staging"
#: What the writers name a data file: ``[dt=...][/lang=...]/part-....(parquet|jsonl.gz)[.tmp]``.
DATA_FILE = re.compile(r"(dt=[^/]+/)?(lang=[^/]+/)?part-[A-Za-z0-9_.-]+\.(parquet|jsonl\.gz)(\.tmp)?")
PARTITION_DIR = re.compile(r"(dt=[^/]+)(/lang=[^/]+)?")


class NotOurs(ValueError):
    """The output directory holds something newsbeam did not write (the message says what)."""


def _is_newsbeam_output(directory: str, names: Iterable[str]) -> bool:
    names = set(names)
    if MARKER in names or "_publishing.json" in names:
        return True
    if "_manifest.json" in names:
        try:
            with open(os.path.join(directory, "_manifest.json"), encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and "counts" in manifest and "schema_version" in manifest
    return False


def foreign_path(directory: str) -> Optional[str]:
    """The first path under ``directory`` that newsbeam did not write, or None when it may write
    there (absent, empty, or a newsbeam output holding only newsbeam's files)."""
    if not os.path.exists(directory):
        return None
    if not os.path.isdir(directory):
        return directory
    names = sorted(os.listdir(directory))
    if not names:
        return None
    if not _is_newsbeam_output(directory, names):
        return os.path.join(directory, names[0])
    for name in names:
        path = os.path.join(directory, name)
        if name in OWNED_FILES and os.path.isfile(path):
            continue
        if name in OWNED_DIRS and os.path.isdir(path) and not os.path.islink(path):
            continue
        if LEFTOVER.fullmatch(name) and is_our_leftover(path):
            continue
        if name == WAREHOUSE and os.path.isdir(path) and not os.path.islink(path):
            stray = _foreign_in_warehouse(path)
            if stray is None:
                continue
            return stray
        if name in DATASETS and os.path.isdir(path) and not os.path.islink(path):
            stray = _foreign_in_dataset(path)
            if stray is None:
                continue
            return stray
        return path
    return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_our_leftover(path: str) -> bool:
    """A ``.staging-*`` folder newsbeam made (it holds :data:`STAGING_MARKER`, or the process
    named in it still runs and is making it), or an ``.old-*`` folder of newsbeam's data files
    only; never decided by the name alone."""
    name = os.path.basename(path)
    if not os.path.isdir(path) or os.path.islink(path):
        return False
    if name.startswith(".staging-"):
        if os.path.isfile(os.path.join(path, STAGING_MARKER)):
            return True
        pid = name[len(".staging-"):].split("-", 1)[0]
        return pid.isdigit() and (int(pid) == os.getpid() or pid_alive(int(pid)))
    if name.startswith(".old-") and name[len(".old-"):] in DATASETS:
        return _foreign_in_dataset(path) is None
    return False


def _foreign_in_warehouse(root: str) -> Optional[str]:
    for current, dirs, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(current, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path) or not TABLE_FILE.fullmatch(rel):
                return path
        dirs.sort()
    return None


def _has_folder_datasets(directory: str) -> bool:
    return any(os.path.isdir(os.path.join(directory, d)) for d in DATASETS)


def check_tables_layout(directory: str) -> None:
    """A batch run commits to tables: raise :class:`NotOurs` when ``directory`` holds dataset
    folders (a streaming output, or a batch output of schema 2.0.0 and earlier)."""
    if os.path.isdir(directory) and _has_folder_datasets(directory):
        raise NotOurs(f"--output {directory} holds dataset folders (articles/dt=.../part-*.parquet: a streaming "
                      "output, or a batch output of newsbeam schema 2.0.0 or earlier); batch runs now commit "
                      "to Iceberg tables and do not mix the two layouts. Give a new --output directory; the "
                      "folders stay readable as they are, and rerunning their input into the new directory "
                      "puts the same articles into tables")


def check_folders_layout(directory: str) -> None:
    """A streaming run writes dataset folders: raise :class:`NotOurs` when ``directory`` holds tables."""
    if os.path.isfile(os.path.join(directory, "_catalog.db")):
        raise NotOurs(f"--output {directory} holds Iceberg tables (a batch run's); streaming runs still "
                      "write dataset folders and do not mix the two layouts: give another --output directory")


def _foreign_in_dataset(root: str) -> Optional[str]:
    for current, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(current, root)
        if rel_dir != "." and not PARTITION_DIR.fullmatch(rel_dir):
            return current
        for name in sorted(files):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            path = os.path.join(current, name)
            if os.path.islink(path) or not DATA_FILE.fullmatch(rel):
                return path
        dirs.sort()
    return None


def check_output(directory: str) -> None:
    """Raise :class:`NotOurs` unless newsbeam may write its datasets into ``directory``."""
    stray = foreign_path(directory)
    if stray is None:
        return
    if stray == directory:
        raise NotOurs(f"--output {directory} is a file, not a directory; give a directory "
                      "(it is created if missing)")
    raise NotOurs(f"--output {directory} holds {stray}, which newsbeam did not write; newsbeam "
                  "replaces the datasets of its output directory, so it refuses to run there. "
                  "Give a new or empty directory, or one an earlier newsbeam run wrote")


def _literal_base(pattern: str) -> str:
    """The part of a glob before its first wildcard, as a directory."""
    parts = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    base = os.sep.join(parts) or "."
    if not glob.has_magic(pattern) and not os.path.isdir(pattern):
        base = os.path.dirname(pattern) or "."
    return base


def _inside(path: str, directory: str) -> bool:
    path, directory = os.path.realpath(path), os.path.realpath(directory)
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def check_inputs_outside(directory: str, patterns: Iterable[str], what: str = "--input") -> None:
    """Raise :class:`NotOurs` when an input glob (or file) could read from inside ``directory``."""
    for pattern in patterns or ():
        if "://" in pattern:
            continue
        base = _literal_base(pattern)
        if not glob.has_magic(pattern) and _inside(pattern, directory):
            base = pattern
        holds_output = _inside(directory, base) and ("**" in pattern or _matches_inside(pattern, directory))
        if _inside(base, directory) or holds_output:
            raise NotOurs(f"{what} {pattern!r} reads from inside --output {directory}; a run replaces "
                          "what is there. Write the output somewhere else")


def _matches_inside(pattern: str, directory: str) -> bool:
    """A glob whose base holds the output (``data/**`` with ``--output data/out``) matches files inside it."""
    return any(_inside(path, directory) for path in glob.iglob(pattern, recursive=True))


def adopt(directory: str) -> bool:
    """Create ``directory`` if needed and mark it as newsbeam's; True when it was created."""
    created = not os.path.exists(directory)
    os.makedirs(directory, exist_ok=True)
    marker = os.path.join(directory, MARKER)
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as f:
            f.write("This directory is a newsbeam output: newsbeam replaces the datasets in it.\n")
    return created


def abandon(directory: str, created: bool) -> None:
    """Undo :func:`adopt` after a usage error: remove the directory if this run created it and
    left nothing else in it."""
    if not created:
        return
    marker = os.path.join(directory, MARKER)
    try:
        if sorted(os.listdir(directory)) == [MARKER]:
            os.remove(marker)
        os.rmdir(directory)
    except OSError:
        pass
