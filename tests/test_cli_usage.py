"""The mistakes people make with `newsbeam`, and what they get back: one line and an exit code,
never a traceback, and nothing of theirs touched (issue 18's table, row by row)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.io.ownership import MARKER
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "articles"
WIRE = EXAMPLES / "wire.jsonl"
FAST = ["--no-entities", "--no-quality", "--runner=FnApiRunner"]


#: No periodic progress lines (a run slowed down by a loaded machine would print some): these tests
#: count the lines a mistake prints.
QUIET_PROGRESS = {"NEWSBEAM_PROGRESS_EVERY": "100000"}


def newsbeam(*args, cwd=REPO, env=None, **kwargs):
    env = dict(env or os.environ, **QUIET_PROGRESS)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=env, **kwargs)


def one_line_error(result, code: int = 2) -> str:
    """The run failed with ``code`` and said so in one line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def tree(directory) -> dict:
    """Every file under ``directory`` -> its bytes (to show nothing changed)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def done_output(tmp_path_factory):
    """A finished newsbeam output (the wire file, no entities or quality checks: fast)."""
    out = tmp_path_factory.mktemp("done") / "out"
    result = newsbeam("run", "--input", WIRE, "--output", out, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


# ------------------------------------------------------------------ options and commands


@pytest.mark.parametrize("typo, meant", [("--no-entites", "--no-entities"), ("--near-treshold", "--near-threshold"),
                                         ("--direct_num_worker", "--direct_num_workers")])
def test_a_mistyped_option_is_an_error_with_a_suggestion(tmp_path, typo, meant):
    result = newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", typo, "2")
    line = one_line_error(result)
    assert f"unknown option {typo}" in line and f"did you mean {meant}?" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, value", [("--near-threshold", "2"), ("--excerpt-threshold", "0"),
                                         ("--lsh-bands", "0"), ("--story-threshold", "1.5"),
                                         ("--story-window-days", "-1"), ("--ner-batch-size", "0")])
def test_a_value_out_of_range_is_an_error_naming_the_flag(tmp_path, flag, value):
    """Each stage's config checks its values once, when the run starts: one line naming the flag,
    nothing created (before, --near-threshold 2 ran and found no near duplicates)."""
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", flag, value))
    assert line.startswith(f"newsbeam run: {flag} must be"), line
    assert not (tmp_path / "out").exists()


def test_an_option_nobody_knows_is_an_error(tmp_path):
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", "--frobnicate", "3"))
    assert "unknown option --frobnicate" in line
    assert not (tmp_path / "out").exists()


def test_a_stray_value_is_an_error(tmp_path):
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", "extra"))
    assert "unexpected argument 'extra'" in line


def test_version_and_help_commands():
    version = newsbeam("--version")
    assert version.returncode == 0 and version.stdout.startswith("newsbeam ") and "apache-beam" in version.stdout
    assert newsbeam("version").stdout == version.stdout
    help_ = newsbeam("help")
    assert help_.returncode == 0 and "run" in help_.stdout and "inspect" in help_.stdout
    run_help = newsbeam("help", "run")
    assert run_help.returncode == 0 and "--no-entities" in run_help.stdout
    wrong = newsbeam("rnu")
    assert wrong.returncode == 2 and "did you mean 'run'?" in wrong.stderr and "Traceback" not in wrong.stderr


def test_run_help_shows_defaults_and_every_mode():
    text = " ".join(newsbeam("run", "--help").stdout.lower().split())
    for needle in ("--streaming", "--watch", "--feeds", "--config", "--runner", "modes:",
                   "default: parquet", "(default: 0.3)", "(default: 30.0)", "exit codes:"):
        assert needle in text, needle


# ------------------------------------------------------------------ nothing a user owns is touched


def test_output_holding_a_users_file_is_refused_and_left_alone(done_output):
    users = done_output / "warehouse" / "mydata.csv"
    users.write_text("id,value\n1,2\n")
    try:
        before = tree(done_output)
        line = one_line_error(newsbeam("run", "--input", WIRE, "--output", done_output, *FAST))
        assert "mydata.csv" in line and "did not write" in line
        assert tree(done_output) == before
    finally:
        users.unlink()


def test_output_that_is_the_parent_of_the_input_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "articles").mkdir(parents=True)
    page = data / "articles" / "story.txt"
    page.write_text("Council approves bridge\n\nThe council voted on Tuesday to build a bridge.\n")
    before = tree(data)
    line = one_line_error(newsbeam("run", "--input", data / "articles" / "*", "--output", data, *FAST))
    assert "refuses" in line or "inside --output" in line
    assert tree(data) == before


def test_an_input_glob_that_reaches_into_the_output_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("Council approves bridge\n\nThe council voted on Tuesday.\n")
    line = one_line_error(newsbeam("run", "--input", f"{tmp_path}/**/*", "--output", tmp_path / "out", *FAST))
    assert "inside --output" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_home_folder_is_refused(tmp_path):
    home = tmp_path / "home"
    for name in ("articles", "rejects", ".old-photos", ".staging-notes"):
        (home / name).mkdir(parents=True)
        (home / name / "keep.txt").write_text("mine")
    before = tree(home)
    one_line_error(newsbeam("run", "--input", WIRE, "--output", home, *FAST))
    assert tree(home) == before


def test_a_glob_matching_nothing_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"
    line = one_line_error(newsbeam("run", "--input", tmp_path / "nothing-*.txt", "--output", out, *FAST))
    assert "no files match" in line
    assert not out.exists()


def test_a_missing_feed_list_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"
    line = one_line_error(newsbeam("run", "--feeds", tmp_path / "feeds.txt", "--output", out, *FAST))
    assert "feeds.txt" in line
    assert not out.exists()


def test_a_usage_error_leaves_an_existing_output_as_it_was(done_output):
    before = tree(done_output)
    one_line_error(newsbeam("run", "--input", done_output.parent / "nothing-*.txt", "--output", done_output, *FAST))
    assert tree(done_output) == before
    assert not list(done_output.glob(".staging-*"))


def test_rerun_into_its_own_output_is_allowed(done_output):
    before = json.loads((done_output / "_manifest.json").read_text())
    result = newsbeam("run", "--input", WIRE, "--output", done_output, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads((done_output / "_manifest.json").read_text())["counts"]
    assert counts["inputs"] == before["counts"]["inputs"] == counts["skipped"]  # all already ingested
    assert (done_output / MARKER).exists()


def test_batch_run_into_a_folder_output_of_schema_2_says_what_to_do(tmp_path):
    """An output of newsbeam up to schema 2.0.0 (dataset folders) is not mixed with tables."""
    out = tmp_path / "out"
    (out / "articles" / "dt=2024-03-12" / "lang=en").mkdir(parents=True)
    (out / "articles" / "dt=2024-03-12" / "lang=en" / "part-00000.parquet").write_bytes(b"PAR1")
    (out / MARKER).write_text("newsbeam\n")
    before = tree(out)
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", out, *FAST))
    assert "dataset folders" in line and "new --output directory" in line
    assert tree(out) == before


# ------------------------------------------------------------------ one line, not a traceback


def test_output_that_is_a_file(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a directory")
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", target, *FAST))
    assert "is a file" in line and target.read_text() == "not a directory"


def test_unknown_runner(tmp_path):
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", "--runner", "NoSuchRunner"))
    assert "--runner NoSuchRunner" in line and "DirectRunner" in line
    assert not (tmp_path / "out").exists()


def test_model_not_installed_names_the_install_command(tmp_path):
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out",
                                   "--ner-model", "xx_no_such_model"))
    assert "xx_no_such_model" in line and "pip install" in line and "--no-entities" in line
    assert not (tmp_path / "out").exists()


def test_inspect_into_a_closed_pipe_is_quiet(done_output):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader ('| head') is gone before newsbeam writes
    try:
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", "inspect", str(done_output)],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, cwd=REPO)
    finally:
        os.close(write_end)
    assert result.returncode == 141 and result.stderr == "", result.stderr


@pytest.mark.parametrize("command", ["inspect", "validate"])
def test_json_to_stdout_is_only_json(done_output, command):
    result = newsbeam(command, done_output, "--json", "-")
    assert result.returncode == 0, result.stderr[-2000:]
    assert isinstance(json.loads(result.stdout), dict)


# ------------------------------------------------------------------ Ctrl-C and SIGTERM


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal's foreground job has it


@pytest.mark.parametrize("args", [FAST, ["--no-quality"]], ids=["no-entities", "entities-on"])
@pytest.mark.parametrize("signum, code, words", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                                 (signal.SIGTERM, 143, "stopped by SIGTERM")])
def test_stopping_a_batch_run_is_one_line_and_keeps_the_earlier_output(tmp_path, signum, code, words, args):
    out = tmp_path / "out"
    first = newsbeam("run", "--input", WIRE, "--output", out, *args)
    assert first.returncode == 0
    before = tree(out)
    copy = tmp_path / "copy.jsonl"  # another input (the same input again would write nothing: all stored)
    copy.write_bytes(WIRE.read_bytes())
    env = dict(os.environ, NEWSBEAM_TEST_PAUSE="write:30", **QUIET_PROGRESS)  # holds the run while it writes
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--input", str(copy), "--output",
                             str(out), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 300
    while not [p for p in out.glob(".staging-*/**/part-*") if p.is_file()]:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=120)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, _out, err)
    line = one_line_error(result, code)
    assert words in line and "nothing was committed" in line
    assert tree(out) == before  # the earlier output, whole
    assert not list(out.glob(".staging-*"))  # and no staging left


# ------------------------------------------------------------------ --config


def test_config_file_with_the_command_line_winning(tmp_path):
    config = tmp_path / "newsbeam.toml"
    config.write_text(f'input = ["{EXAMPLES}/*"]\nentities = false\nquality = false\n'
                      'near-threshold = 0.35\nrunner = "FnApiRunner"\n')
    out = tmp_path / "out"
    result = newsbeam("run", "--config", config, "--input", WIRE, "--output", out, "--near-threshold", "0.4")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((out / "_manifest.json").read_text())
    effective = manifest["configuration"]
    assert effective["newsbeam"]["input"] == [str(WIRE)]  # the command line's input replaces the file's
    assert effective["newsbeam"]["near_threshold"] == 0.4  # command line over file
    assert effective["newsbeam"]["entities"] is False  # file over default
    assert effective["newsbeam"]["excerpt_threshold"] == 0.8  # default
    assert effective["beam"] == {"runner": "FnApiRunner"}
    assert effective["config_file"]["file"] == str(config) and len(effective["config_file"]["sha256"]) == 64
    assert manifest["counts"]["inputs"] == 6  # the wire file only
    assert newsbeam("validate", out).returncode == 0


def test_config_file_mistakes_are_one_line(tmp_path):
    typo = tmp_path / "typo.toml"
    typo.write_text("near-treshold = 0.3\n")
    assert "did you mean 'near-threshold'?" in one_line_error(newsbeam("run", "--config", typo, "--output", tmp_path / "o"))
    broken = tmp_path / "broken.toml"
    broken.write_text("input = [\n")
    assert "not valid TOML" in one_line_error(newsbeam("run", "--config", broken, "--output", tmp_path / "o"))
    assert "no such file" in one_line_error(newsbeam("run", "--config", tmp_path / "none.toml"))
    assert not (tmp_path / "o").exists()


def test_the_example_config_file_runs(tmp_path):
    result = newsbeam("run", "--config", REPO / "examples" / "newsbeam.toml", "--output", tmp_path / "out",
                      "--no-entities", "--no-quality")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "_manifest.json").read_text())["counts"]["inputs"] == 10


# ------------------------------------------------------------------ flags of the other mode


def test_a_batch_only_flag_is_refused_in_streaming(tmp_path):
    line = one_line_error(newsbeam("run", "--streaming", "--watch", f"{tmp_path}/in/*", "--output", tmp_path / "out",
                                   "--near-threshold", "0.5"))
    assert "--near-threshold applies to batch runs only" in line
    assert not (tmp_path / "out").exists()


def test_a_streaming_only_flag_is_refused_in_batch(tmp_path):
    line = one_line_error(newsbeam("run", "--input", WIRE, "--output", tmp_path / "out", "--window=600"))
    assert "--window applies to streaming runs only" in line
    assert not (tmp_path / "out").exists()
