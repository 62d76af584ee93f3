"""Input globs -> the sorted list of files to read, or :class:`NoInputError` while the
pipeline is built."""
from __future__ import annotations

import glob
import os
from typing import Iterable

from apache_beam.io.filesystems import FileSystems

__all__ = ["NoInputError", "expand_inputs"]


class NoInputError(ValueError):
    """An input pattern matched no file.  Raised while the pipeline is built, not at run time."""

    def __init__(self, pattern: str, detail: str = ""):
        self.pattern = pattern
        message = detail or (
            f"no files match {pattern!r}; check the path, and quote the pattern so your shell "
            f"does not expand it (e.g. 'data/**/*.jsonl.gz')"
        )
        super().__init__(message)


# --------------------------------------------------------------------------------------
# Globs
# --------------------------------------------------------------------------------------

def expand_inputs(patterns: Iterable[str]) -> list[str]:
    """Expand globs (``**`` is recursive) into a sorted, de-duplicated list of file paths.

    Local paths are expanded with :func:`glob.glob` and returned as glob spells them (relative
    patterns give relative paths), so ``input_uri`` in every record is what the user typed.
    ``file://`` patterns are local paths.  Remote schemes (``gs://``, ``s3://`` ...) go through
    Beam's ``FileSystems.match`` (which needs the matching Beam extra, e.g. ``apache-beam[gcp]``,
    and says so).  Directories are skipped.  Sorting makes runs deterministic.

    Raises :class:`NoInputError` for a pattern that matches no file, so a typo fails at once
    instead of producing an empty, "successful" run.
    """
    found: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("file://"):
            pattern = pattern[len("file://"):]
        if "://" in pattern:
            paths = _match_remote(pattern)
        else:
            expanded = os.path.expanduser(pattern)
            paths = [p for p in glob.glob(expanded, recursive=True) if not os.path.isdir(p)]
            if not paths and os.path.isdir(expanded):
                hint = os.path.join(pattern.rstrip("/\\") or pattern, "**", "*")
                raise NoInputError(pattern, f"{pattern!r} is a directory, not a file; to read "
                                            f"every file in it use the pattern {hint!r} (quoted)")
        if not paths:
            raise NoInputError(pattern)
        found.update(paths)
    return sorted(found)


def _match_remote(pattern: str) -> list[str]:
    results = FileSystems.match([pattern])
    return [m.path for r in results for m in r.metadata_list if not m.path.endswith("/")]
