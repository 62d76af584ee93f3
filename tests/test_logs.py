"""pipeline/logs.py: which log records the person running newsbeam sees at each level."""
import io
import logging

import pytest

from pipeline import logs

# A worker's log entry as the driver re-logs it in a --direct_running_mode multi_processing run
# (copied from a real run's stderr).
WORKER_DISCARDING = (
    'Worker: severity: WARN timestamp {   seconds: 1796649534   nanos: 494999647 } message: '
    '"discarding data: None" log_location: "/work/venv/lib/python3.11/site-packages/trafilatura/core.py:465" '
    'thread: "newsbeam-extract" ')
WORKER_ARGS = (
    "Worker: severity: WARN timestamp {   seconds: 1796649532   nanos: 805110931 } message: "
    "\"Discarding unparseable args: [\\'--max_file_bytes=268435456\\', \\'--entities\\']\" log_location: "
    "\"/work/venv/lib/python3.11/site-packages/apache_beam/options/pipeline_options.py:472\" ")
WORKER_ERROR = (
    'Worker: severity: ERROR timestamp {   seconds: 1   nanos: 2 } message: "disk full while writing" '
    'log_location: "/work/wt/pipeline/io/sinks.py:12" ')


def record(name: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


@pytest.mark.parametrize("name,message", [
    ("trafilatura.core", "discarding data: None"),
    ("trafilatura.core", "empty HTML tree: None"),
    ("htmldate.validators", "invalid datetime string: x"),
    ("root", "apitools not found, and bigquery client libraries are not available"),
    ("apache_beam.typehints.typehints", "Ignoring return_type hint: int"),
    ("root", "Tags {'x'} requested in with_outputs() but not declared in type hints. Declared tags: {'y'}"),
    ("apache_beam.runners.portability.prism_runner", "could not download the Prism binary"),
    ("apache_beam.options.pipeline_options", "Discarding unparseable args: ['--entities']"),
])
def test_library_noise_is_noise(name, message):
    assert logs.is_noise(name, message)


@pytest.mark.parametrize("name,message", [
    ("pipeline.io.sinks", "discarding data: None"),  # newsbeam's own logs are never noise
    ("apache_beam.runners.worker.sdk_worker", "Error processing instruction 7"),
    ("trafilaturax", "a library whose name only starts the same"),
    ("root", "something else went wrong"),
])
def test_other_records_are_not_noise(name, message):
    assert not logs.is_noise(name, message)


def test_a_forwarded_worker_entry_is_judged_by_its_own_library_and_message():
    assert logs.worker_entry(WORKER_DISCARDING[len("Worker: "):]) == (
        "trafilatura.core", logging.WARNING, "discarding data: None")
    module, level, message = logs.worker_entry(WORKER_ARGS[len("Worker: "):])
    assert module == "apache_beam.options.pipeline_options" and level == logging.WARNING
    assert message.startswith("Discarding unparseable args: ['--max_file_bytes=268435456'")
    assert logs.worker_entry("not an entry") is None

    forwarded = "apache_beam.runners.portability.local_job_service"
    assert not logs.shown(record(forwarded, logging.WARNING, WORKER_DISCARDING), logs.DEFAULT)
    assert not logs.shown(record(forwarded, logging.WARNING, WORKER_ARGS), logs.DEFAULT)
    assert logs.shown(record(forwarded, logging.ERROR, WORKER_ERROR), logs.QUIET)
    assert logs.shown(record(forwarded, logging.WARNING, WORKER_DISCARDING), logs.VERBOSE)


def test_levels():
    noise = record("trafilatura.core", logging.WARNING, "discarding data: None")
    noisy_error = record("trafilatura.core", logging.ERROR, "empty HTML tree: None")
    warning = record("pipeline.graph", logging.WARNING, "something to look at")
    error = record("apache_beam.runners.worker.sdk_worker", logging.ERROR, "Error processing instruction")
    critical = record("trafilatura.core", logging.CRITICAL, "out of memory")
    info = record("apache_beam.runners.direct.direct_runner", logging.INFO, "Running pipeline with DirectRunner.")
    debug = record("trafilatura.main_extractor", logging.DEBUG, "extracted 3 paragraphs")

    def seen(verbosity):
        return [r for r in (noise, noisy_error, warning, error, critical, info, debug) if logs.shown(r, verbosity)]

    assert seen(logs.QUIET) == [error, critical]
    assert seen(logs.DEFAULT) == [warning, error, critical]
    assert seen(logs.VERBOSE) == [noise, noisy_error, warning, error, critical, info, debug]


@pytest.fixture
def root_logger():
    """The root logger's handlers and level, restored after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configure_installs_one_handler_that_writes_to_stderr_as_it_is_now(root_logger, monkeypatch):
    basic = logging.StreamHandler()  # what logging.basicConfig() (called by Beam) installs
    root_logger.addHandler(basic)
    root_logger.setLevel(logging.WARNING)
    logs.configure(logs.DEFAULT)
    logs.configure(logs.DEFAULT)
    ours = [h for h in root_logger.handlers if isinstance(h, logs._Handler)]
    assert len(ours) == 1 and basic not in root_logger.handlers

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    logging.getLogger("trafilatura.core").warning("discarding data: %s", None)
    logging.getLogger("tests.logs").warning("look at this")
    monkeypatch.setattr("sys.stderr", second)
    logging.getLogger("tests.logs").error("and this")
    assert first.getvalue() == "WARNING:tests.logs:look at this\n"
    assert second.getvalue() == "ERROR:tests.logs:and this\n"


def test_verbose_shows_debug_and_noise_then_default_restores_the_level(root_logger, monkeypatch):
    root_logger.setLevel(logging.WARNING)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure(logs.VERBOSE)
    assert root_logger.level == logging.DEBUG
    logging.getLogger("trafilatura.core").warning("discarding data: %s", None)
    logging.getLogger("htmldate.core").debug("looking for a date")
    text = stream.getvalue()
    assert "WARNING trafilatura.core: discarding data: None" in text
    assert "DEBUG htmldate.core: looking for a date" in text
    logs.configure(logs.DEFAULT)
    assert root_logger.level == logging.WARNING
