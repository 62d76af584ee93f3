"""pipeline/progress.py: the counting step, the sums, the lines; and what `newsbeam run` prints
while it runs (plain lines when stderr is a file or pipe, a live line on a terminal, nothing with -q),
with the library noise of pipeline/logs.py kept out of it."""
import fcntl
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios

import apache_beam as beam
import pytest

from pipeline import progress
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "articles"
#: A page trafilatura finds no text in: it logs "discarding data: None" and newsbeam rejects it.
STUB_PAGE = ('<html><head><title>Sign in</title></head><body><nav><a href="/">Home</a></nav>'
             "<form>Sign in to continue</form></body></html>")
LINE = re.compile(r"^newsbeam \[\d+:\d\d\] read (\d+) inputs \([\d.]+/s\) \| out: (\d+) articles, (\d+) duplicates, "
                  r"(\d+) rejects( \| job done; checking and publishing the output)?$")


# --------------------------------------------------------------------------- the pure parts


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))


def test_read_counts_adds_up_every_process_file_and_skips_what_is_not_whole(tmp_path):
    d = str(tmp_path / "p")
    assert progress.read_counts(d) == {}  # not there yet: the job has not started
    write(d, "inputs-11-a.json", {"kind": "inputs", "count": 7})
    write(d, "inputs-12-b.json", {"kind": "inputs", "count": 5})
    write(d, "articles-12-c.json", {"kind": "articles", "count": 3})
    write(d, "inputs-13-d.json.tmp", {"kind": "inputs", "count": 100})  # being written
    write(d, "inputs-14-e.json", '{"kind": "inp')  # torn (cannot happen with the rename, but harmless)
    write(d, "inputs-15-f.json", {"kind": "inputs"})
    assert progress.read_counts(d) == {"inputs": 12, "articles": 3}


def test_format_line():
    counts = {"inputs": 1448, "entities": 700, "articles": 148, "duplicates": 42, "rejects": 10}
    assert progress.format_line(counts, 42.4) == (
        "newsbeam [0:42] read 1448 inputs (34.2/s) | out: 148 articles, 42 duplicates, 10 rejects")
    assert progress.format_line(counts, 3725, entities=True, read_seconds=20) == (
        "newsbeam [1:02:05] read 1448 inputs (72.4/s) | entities 700 | out: 148 articles, 42 duplicates, 10 rejects")
    assert progress.format_line({}, 0.0) == (
        "newsbeam [0:00] read 0 inputs (0.0/s) | out: 0 articles, 0 duplicates, 0 rejects")


def test_period_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(progress.ENV_EVERY, raising=False)
    assert progress.plain_every() == progress.PLAIN_EVERY and progress.flush_every() == progress.FLUSH_EVERY
    monkeypatch.setenv(progress.ENV_EVERY, "0.2")
    assert progress.plain_every() == 0.2 and progress.flush_every() == 0.2
    for bad in ("", "soon", "0", "-1"):
        monkeypatch.setenv(progress.ENV_EVERY, bad)
        assert progress.plain_every() == progress.PLAIN_EVERY


def test_count_fn_writes_at_the_first_element_then_rate_limited_and_at_the_end_of_a_bundle(tmp_path):
    d = str(tmp_path / "p")
    fn = progress._CountFn("inputs", d, every=3600)
    fn.setup()
    fn.start_bundle()
    for i in range(5):
        assert fn.process({"raw": "x" * i}) is None  # a leaf: nothing comes out
    assert progress.read_counts(d) == {"inputs": 1}  # the first at once, the rest waits for the period
    fn.finish_bundle()
    assert progress.read_counts(d) == {"inputs": 5}
    other = progress._CountFn("inputs", d, every=0)  # another instance (process): its own file
    other.setup()
    for _ in range(3):
        other.process("x")
    assert progress.read_counts(d) == {"inputs": 8} and len(os.listdir(d)) == 2


def test_count_fn_that_cannot_write_stops_counting_without_failing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    fn = progress._CountFn("inputs", str(blocker / "p"), every=0)
    fn.setup()
    fn.process("x")
    fn.process("y")
    fn.finish_bundle()
    assert fn._on is False


def test_plain_reporter_prints_one_line_per_period_and_a_last_line(tmp_path):
    d = str(tmp_path / "p")
    out = io.StringIO()
    reporter = progress.Reporter(d, out, tty=False, started=100.0, every=10.0)
    reporter.tick(105.0)
    assert out.getvalue() == ""  # a run shorter than the period prints nothing
    write(d, "inputs-1-a.json", {"kind": "inputs", "count": 40})
    reporter.tick(110.0)
    reporter.tick(115.0)
    write(d, "articles-1-b.json", {"kind": "articles", "count": 30})
    reporter.tick(120.5)
    assert out.getvalue().splitlines() == [
        "newsbeam [0:10] read 40 inputs (4.0/s) | out: 0 articles, 0 duplicates, 0 rejects",
        "newsbeam [0:20] read 40 inputs (4.0/s) | out: 30 articles, 0 duplicates, 0 rejects",  # rate over the read time
    ]
    reporter.stop(finished=True)
    last = out.getvalue().splitlines()[-1]
    assert len(out.getvalue().splitlines()) == 3 and last.endswith(
        "read 40 inputs (4.0/s) | out: 30 articles, 0 duplicates, 0 rejects | job done; checking and publishing "
        "the output")


def test_plain_reporter_prints_nothing_at_the_end_of_a_short_run_or_after_an_error(tmp_path):
    out = io.StringIO()
    progress.Reporter(str(tmp_path), out, tty=False, started=0.0, every=1e9).stop(finished=True)
    reporter = progress.Reporter(str(tmp_path), out, tty=False, started=0.0, every=1.0)
    reporter.tick(1.0)
    reporter.stop(finished=False)
    assert len(out.getvalue().splitlines()) == 1


def test_live_line_is_redrawn_and_lines_written_to_stderr_go_above_it(tmp_path, monkeypatch):
    d = str(tmp_path / "p")
    write(d, "inputs-1-a.json", {"kind": "inputs", "count": 3})
    terminal = io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("COLUMNS", "200")
    reporter = progress.Reporter(d, terminal, tty=True, started=0.0, every=10.0).start(thread=False)
    try:
        reporter.tick(2.0)
        assert isinstance(sys.stderr, progress._LinesAbove)
        sys.stderr.write("WARNING:x:half ")
        sys.stderr.write("a line\n")
    finally:
        reporter.stop()
    assert sys.stderr is terminal
    text = terminal.getvalue()
    assert "\r" in text and "newsbeam [0:02] read 3 inputs (1.5/s)" in text
    assert "WARNING:x:half a line\n" in text
    assert text.endswith("out: 0 articles, 0 duplicates, 0 rejects\nnewsbeam: job done; checking and publishing the "
                         "output\n")  # the last counts stay

    cleared = io.StringIO()
    monkeypatch.setattr("sys.stderr", cleared)
    reporter = progress.Reporter(d, cleared, tty=True, started=0.0, every=10.0).start(thread=False)
    reporter.tick(1.0)
    reporter.stop(finished=False)  # an error or Ctrl-C: the line goes
    assert "job done" not in cleared.getvalue() and not cleared.getvalue().endswith("\n")


def test_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert progress.terminal_width(io.StringIO()) == 99  # not a terminal: COLUMNS
    monkeypatch.delenv("COLUMNS")
    assert progress.terminal_width(io.StringIO()) == 79


def test_upstream_finds_the_step_inside_a_composite():
    class Stage(beam.PTransform):
        def expand(self, pcoll):
            inner = pcoll | "Inner" >> beam.Map(lambda x: x)
            return inner | "Wait" >> beam.Map(lambda x: x)

    pipeline = beam.Pipeline()
    source = pipeline | beam.Create([1, 2])
    out = source | "Stage" >> Stage()
    found = progress.upstream(out, "Inner")
    assert found is not out and found.producer.full_label == "Stage/Inner"
    assert progress.upstream(out, "NoSuchStep") is out


@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_counts_cross_process_boundaries_and_outputs_do_not_change(tmp_path, mode):
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    d = str(tmp_path / "p")
    options = PipelineOptions(["--runner=FnApiRunner", f"--direct_running_mode={mode}", "--direct_num_workers=2"])
    with beam.Pipeline(options=options) as pipeline:
        items = pipeline | beam.Create(range(50)) | beam.Reshuffle()
        items | "Progress" >> progress.CountProgress("inputs", d)
        evens = items | beam.Filter(lambda x: x % 2 == 0)
        evens | "ProgressEvens" >> progress.CountProgress("articles", d)
        assert_that(evens, equal_to(list(range(0, 50, 2))))
    assert progress.read_counts(d) == {"inputs": 50, "articles": 25}


# --------------------------------------------------------------------------- through the CLI


def run_args(tmp_path, *extra):
    stub = tmp_path / "in" / "sign-in.html"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(STUB_PAGE)
    return [sys.executable, "-m", "pipeline.cli", "run", "--input", f"{EXAMPLES}/**/*", "--input", str(stub),
            "--output", str(tmp_path / "out"), "--no-entities", *extra]


def env(**values):
    return dict(os.environ, **values)


def manifest(out):
    return json.loads((out / "_manifest.json").read_text())


#: examples/ (10 inputs: 5 articles, 2 duplicates, 3 rejects) plus the stub page (a reject)
FINAL = ("11", "5", "2", "4")


def test_a_run_into_a_pipe_prints_periodic_lines_and_no_library_noise(tmp_path):
    quiet = subprocess.run(run_args(tmp_path, "-q"), cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env=env(**{progress.ENV_EVERY: "0.05"}))
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert quiet.stderr == ""  # -q: errors only, and there are none
    assert "inputs 11 = articles 5 + duplicates 2 + rejects 4 + skipped 0" in quiet.stdout
    from tests.conftest import table_rows

    rows_quiet = sorted(json.dumps(r, sort_keys=True) for r in table_rows(tmp_path / "out", "articles"))
    shutil.rmtree(tmp_path / "out")  # the same input again into the same tables would all be skipped

    result = subprocess.run(run_args(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=env(**{progress.ENV_EVERY: "0.05"}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "inputs 11 = articles 5 + duplicates 2 + rejects 4 + skipped 0" in result.stdout
    lines = result.stderr.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m]  # nothing else: no noise
    assert len(lines) >= 2 and matches[-1].groups()[:4] == FINAL and matches[-1].group(5)  # the last: final counts
    assert not any(m.group(5) for m in matches[:-1])
    assert "discarding data" not in result.stderr
    # the counting steps change no row: the same rows as the run without them
    assert sorted(json.dumps(r, sort_keys=True) for r in table_rows(tmp_path / "out", "articles")) == rows_quiet


def test_verbose_shows_debug_logs_and_library_noise(tmp_path):
    result = subprocess.run(run_args(tmp_path, "--verbose"), cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, env=env(**{progress.ENV_EVERY: "1000"}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING trafilatura.core: discarding data" in result.stderr
    assert " DEBUG " in result.stderr and " INFO apache_beam." in result.stderr
    assert "Discarding unparseable args" not in result.stderr  # -v is newsbeam's, Beam never sees it


def test_run_help_says_what_quiet_keeps():
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--help"], capture_output=True,
                            text=True, timeout=120)
    text = " ".join(result.stdout.split())
    assert "-q, --quiet" in text and "-v, --verbose" in text
    assert "only errors" in text and "final summary" in text


@pytest.mark.parametrize("size", [(24, 160), None], ids=["24x160", "size-unknown"])
def test_a_run_on_a_terminal_shows_a_live_line(tmp_path, size):
    """``size``: rows and columns the terminal says; a new pseudo-terminal (and `script`) says 0x0."""
    master, slave = os.openpty()
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    try:
        proc = subprocess.Popen(run_args(tmp_path), cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=slave, env=env(TERM="xterm"))
        os.close(slave)
        seen = b""
        while True:  # read the terminal until the run closes it
            ready, _, _ = select.select([master], [], [], 600)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: no process holds the terminal any more
                break
            if not chunk:
                break
            seen += chunk
        stdout = proc.stdout.read().decode()
        assert proc.wait(timeout=600) == 0, seen.decode(errors="replace")[-3000:]
    finally:
        os.close(master)
    text = seen.decode(errors="replace")
    assert "\rnewsbeam [" in text  # redrawn in place
    assert "newsbeam [" in text and "read 11 inputs" in text
    assert "\rnewsbeam [" in text.rsplit("out: 5 articles, 2 duplicates, 4 rej", 1)[0]  # the final counts stay
    assert text.endswith("\nnewsbeam: job done; checking and publishing the output\r\n")
    assert "discarding data" not in text
    assert "inputs 11 = articles 5 + duplicates 2 + rejects 4 + skipped 0" in stdout


#: the line with entities on (the default): articles through entity extraction are counted too
ENTITY_LINE = re.compile(r"^newsbeam \[\d+:\d\d\] read (\d+) inputs \([\d.]+/s\) \| entities (\d+) \| out: (\d+) "
                         r"articles, (\d+) duplicates, (\d+) rejects( \| job done; checking and publishing the output)?$")


def test_a_run_with_the_default_options_counts_articles_through_entities(tmp_path):
    args = [a for a in run_args(tmp_path) if a != "--no-entities"]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=env(**{progress.ENV_EVERY: "0.05"}))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    matches = [ENTITY_LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m]
    last = matches[-1].groups()
    assert last[0] == "11" and last[1] == "5" and last[2:5] == ("5", "2", "4") and last[5]
