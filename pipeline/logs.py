"""What newsbeam's log output looks like: one handler on the root logger, three levels, and the
libraries' per-page chatter kept at debug level.

* default: warnings and errors, minus :data:`NOISE`;
* ``-q/--quiet`` (:data:`QUIET`): errors only;
* ``-v/--verbose`` (:data:`VERBOSE`): everything down to debug, every library's logs included,
  noise too.

Noise is what the person running newsbeam cannot act on: trafilatura's "discarding data: None"
and its other per-page notes (a page newsbeam cannot use becomes a reject with the reason, so the
log line says nothing new), htmldate's, and Beam's warnings about optional client libraries, type
hints, the Prism download fallback and the pipeline arguments a worker does not know. It is shown
with ``-v`` and otherwise dropped; real errors (everything at CRITICAL, and at ERROR from anyone
else) still show.

With ``--direct_running_mode multi_processing`` the workers' logs reach the driver as WARNING
records of ``apache_beam.runners.portability.local_job_service`` whose text is a whole log entry
(``Worker: severity: WARN ... message: "discarding data: None" log_location: ".../trafilatura/
core.py:465" ...``): :func:`worker_entry` recovers the library and message from it, so the same
rules apply to them.

The handler writes to whatever ``sys.stderr`` is when a record arrives (not the stream of the
moment it was installed), so a live progress line that wraps ``sys.stderr`` (see
:mod:`pipeline.progress`) keeps log lines off it.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Optional

QUIET, DEFAULT, VERBOSE = -1, 0, 1

#: (logger name prefix, text in the message or None for any) of records shown only with -v.
NOISE: tuple[tuple[str, Optional[str]], ...] = (
    # per-page extraction notes ("discarding data: None", "no metadata", "empty HTML tree", ...)
    ("trafilatura", None),
    ("htmldate", None),
    ("justext", None),
    ("courlan", None),
    # Beam: optional GCP client libraries, logged at import by apache_beam.io.gcp
    ("", "apitools not found"),
    # Beam: type-hint notices at graph construction
    ("apache_beam.typehints", None),
    ("", "requested in with_outputs() but not declared in type hints"),
    # Beam: the DirectRunner's attempt to download and run Prism before the FnApiRunner
    ("apache_beam.runners.portability.prism_runner", None),
    ("apache_beam.runners.direct", "Prism"),
    # Beam workers (multi_processing, portable): newsbeam's own options, which they do not parse
    ("apache_beam", "Discarding unparseable args"),
    ("apache_beam", "No semi_persistent_directory found"),
)

#: The driver-side logger that re-logs what the workers of a multi_processing run log.
_WORKER_LOGGER = "apache_beam.runners.portability.local_job_service"
_ENTRY_MESSAGE = re.compile(r'\bmessage: "((?:[^"\\]|\\.)*)"')
_ENTRY_LOCATION = re.compile(r'\blog_location: "((?:[^"\\]|\\.)*)"')
_ENTRY_SEVERITY = re.compile(r"\bseverity: (\w+)")
_SEVERITY = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "NOTICE": logging.INFO,
             "WARN": logging.WARNING, "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}
_FORMATS = {VERBOSE: "%(asctime)s %(levelname)s %(name)s: %(message)s"}
_DEFAULT_FORMAT = "%(levelname)s:%(name)s:%(message)s"  # logging.basicConfig's, as before


def is_noise(name: str, message: str) -> bool:
    """True for a record of logger ``name`` with text ``message`` that only ``-v`` shows."""
    for prefix, text in NOISE:
        if prefix and not (name == prefix or name.startswith(prefix + ".")):
            continue
        if text is None or text in message:
            return True
    return False


def _module_of(location: str) -> str:
    """``.../site-packages/trafilatura/core.py:465`` -> ``trafilatura.core``."""
    path = location.rsplit(":", 1)[0].replace("\\", "/")
    if path.endswith(".py"):
        path = path[:-3]
    marker = "-packages/"
    if marker in path:
        path = path.rsplit(marker, 1)[1]
    return path.strip("/").replace("/", ".")


def worker_entry(text: str) -> Optional[tuple[str, int, str]]:
    """``(module, level, message)`` of a worker's log entry forwarded to the driver (the text
    after ``Worker: ``), or None when it is not one."""
    message = _ENTRY_MESSAGE.search(text)
    if not message:
        return None
    location = _ENTRY_LOCATION.search(text)
    severity = _ENTRY_SEVERITY.search(text)
    level = _SEVERITY.get(severity.group(1), logging.WARNING) if severity else logging.WARNING
    body = message.group(1).replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")
    return (_module_of(location.group(1)) if location else "worker"), level, body


def effective(record: logging.LogRecord) -> tuple[str, int, str]:
    """``(logger name, level, message)`` the rules judge: a forwarded worker entry's own."""
    message = record.getMessage()
    if record.name == _WORKER_LOGGER and message.startswith("Worker: "):
        entry = worker_entry(message[len("Worker: "):])
        if entry:
            return entry
    return record.name, record.levelno, message


def shown(record: logging.LogRecord, verbosity: int) -> bool:
    """Whether the person sees ``record`` at ``verbosity``."""
    name, level, message = effective(record)
    if verbosity >= VERBOSE:
        return True
    if level < logging.CRITICAL and is_noise(name, message):
        return False
    return level >= (logging.ERROR if verbosity <= QUIET else logging.WARNING)


class _Handler(logging.Handler):
    """To ``sys.stderr`` as it is at each record (see the module docstring), filtered by :func:`shown`."""

    def __init__(self, verbosity: int):
        super().__init__(logging.DEBUG)
        self.verbosity = verbosity

    def filter(self, record):
        return shown(record, self.verbosity) and super().filter(record)

    def emit(self, record):
        try:
            text = self.format(record)
            stream = sys.stderr
            stream.write(text + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure(verbosity: int = DEFAULT) -> None:
    """Install (once) or re-level newsbeam's handler on the root logger.

    Replaces a plain ``logging.basicConfig()`` stderr handler (Beam's ``PipelineOptions`` adds one
    when the root logger has none); other handlers (pytest's, an embedding application's) stay.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _Handler)), None)
    for other in list(root.handlers):
        if type(other) is logging.StreamHandler and getattr(other, "stream", None) in (sys.stderr, sys.__stderr__):
            root.removeHandler(other)
    if handler is None:
        handler = _Handler(verbosity)
        root.addHandler(handler)
    handler.verbosity = verbosity
    handler.setFormatter(logging.Formatter(_FORMATS.get(verbosity, _DEFAULT_FORMAT)))
    if verbosity >= VERBOSE:
        if root.level != logging.DEBUG:
            handler.level_before_verbose = root.level
        root.setLevel(logging.DEBUG)
        _unmute_libraries()
    elif getattr(handler, "level_before_verbose", None) is not None:
        root.setLevel(handler.level_before_verbose)  # otherwise the root level is left as it is
        handler.level_before_verbose = None


def _unmute_libraries() -> None:
    """-v shows every library's debug logs, but trafilatura sets htmldate's logger to WARNING when
    its metadata module is imported (trafilatura 2.x): import it first, then lift that level."""
    try:
        import trafilatura.metadata  # noqa: F401
    except ImportError:  # pragma: no cover - trafilatura is a dependency
        pass
    logging.getLogger("htmldate").setLevel(logging.NOTSET)
