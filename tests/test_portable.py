"""The same job on the PortableRunner: a job service and a separate worker pool on 127.0.0.1.

Every stage, DoFn and option crosses a process boundary here (pickled into the portable pipeline
proto, unpickled in worker processes the pool starts), which is what Dataflow and Flink do too.
The datasets must come out byte-identical to the DirectRunner's.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "articles"
START_TIMEOUT = 60      # seconds for the job service and the worker pool to listen
RUN_TIMEOUT = 300       # a hung portable job fails the test instead of stalling CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{proc.args} did not listen on 127.0.0.1:{port} within {START_TIMEOUT} s:\n"
                f"{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Kill the whole process group: the worker pool's SDK workers are its children."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _env() -> dict:
    # The worker pool starts SDK workers as `python` from PATH: it must be this interpreter,
    # which has newsbeam and the NER model installed, else the job hangs for minutes.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="module")
def portable_services(tmp_path_factory, request):
    """A local job service and a worker pool on free 127.0.0.1 ports; always torn down."""
    logs = tmp_path_factory.mktemp("portable-logs")
    job_port, pool_port = _free_port(), _free_port()
    procs = []

    def stop_all():
        for proc in procs:
            _stop(proc)

    request.addfinalizer(stop_all)
    commands = {
        "job_service": ([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                         "--port", str(job_port)], job_port),
        "worker_pool": ([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                         "--service_port", str(pool_port)], pool_port),
    }
    for name, (cmd, port) in commands.items():
        log = logs / f"{name}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(),
                                          cwd=logs, start_new_session=True))
        _wait_listening(port, procs[-1], log)
    return {"job_endpoint": f"127.0.0.1:{job_port}", "worker_pool": f"127.0.0.1:{pool_port}",
            "pool_log": logs / "worker_pool.log"}


def _newsbeam(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "run", *map(str, args)], cwd=REPO,
                          env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)


def _manifest(out: Path) -> dict:
    return json.loads((out / "_manifest.json").read_text())


def test_portable_runner_with_external_workers_matches_the_direct_runner(portable_services, tmp_path):
    direct, portable = tmp_path / "direct", tmp_path / "portable"
    inputs = ["--input", f"{EXAMPLES}/**/*"]
    run = _newsbeam(*inputs, "--output", direct)
    assert run.returncode == 0, run.stderr[-3000:]

    started = time.monotonic()
    run = _newsbeam(*inputs, "--output", portable, "--runner", "PortableRunner",
                    f"--job_endpoint={portable_services['job_endpoint']}",
                    "--environment_type=EXTERNAL",
                    f"--environment_config={portable_services['worker_pool']}")
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-3000:]
    # the work ran in a worker the pool started, not in the job service or the client
    assert "Starting worker" in portable_services["pool_log"].read_text()

    a, b = _manifest(direct), _manifest(portable)
    assert b["options"]["runner"] == "PortableRunner"
    from tests.conftest import table_rows

    for dataset in ("articles", "duplicates", "entities", "rejects"):
        rows_a = sorted(json.dumps(r, sort_keys=True) for r in table_rows(direct, dataset))
        rows_b = sorted(json.dumps(r, sort_keys=True) for r in table_rows(portable, dataset))
        assert rows_b == rows_a, f"{dataset} differs between runners"
    assert b["counts"] == a["counts"] and b["conservation"]["holds"]
    assert a["counts"]["articles"] > 0 and a["counts"]["duplicates"] > 0 and a["counts"]["rejects"] > 0
    # with entities: the spaCy model loaded in the SDK worker, not only in the client
    assert b["datasets"]["entities"]["rows"] == a["datasets"]["entities"]["rows"] > 0
    # the report shows the run (runner, times): its sha256 differs; the results are the same bytes
    a["quality"].pop("report_sha256"), b["quality"].pop("report_sha256")
    differ = {k for k in a if a[k] != b.get(k)}
    # commit: its own run id and time; tables: snapshot ids (the rows are compared above)
    assert differ <= {"options", "configuration", "commit", "tables"}, \
        f"manifest fields differ beyond the runner name: {differ}"
    assert a["commit"]["input_fingerprint"] == b["commit"]["input_fingerprint"]
    assert {d: t["added_rows"] for d, t in a["tables"].items()} == {d: t["added_rows"] for d, t in b["tables"].items()}
    same = lambda c: {k: v for k, v in c["newsbeam"].items() if k != "output"}  # noqa: E731
    assert same(a["configuration"]) == same(b["configuration"])  # beyond the output, only Beam's options differ
    assert {k for k in a["options"] if a["options"][k] != b["options"][k]} == {"runner"}
    print(f"portable run: {seconds:.1f} s")
