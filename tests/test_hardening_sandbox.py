"""Sandbox details as Lambda has them: an init runs the runtime (so the runtime dies of its own kill -9),
there is no /dev/shm (multiprocessing.Queue and Pool fail, Process and Pipe work), and the X-Ray
variables Lambda sets are there.

The defects: the runtime was PID 1 of its container, which ignores its own SIGKILL, so a function that
killed itself carried on; /dev/shm was writable, so code using multiprocessing.Queue passed locally and
failed on Lambda; AWS_XRAY_DAEMON_ADDRESS and AWS_XRAY_CONTEXT_MISSING were missing.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store

APP = '''
import multiprocessing, os


def suicide(event, context):
    """Lambda: the runtime dies of this, and the invocation fails with Runtime.ExitError."""
    if event.get("exit") is not None:
        os._exit(event["exit"])
    os.kill(os.getpid(), 9)
    return "survived"


def processes(event, context):
    """What multiprocessing does without /dev/shm."""
    outcome = {}
    for name, make in (("queue", multiprocessing.Queue), ("pool", lambda: multiprocessing.Pool(2))):
        try:
            made = make()
            outcome[name] = "works"
            if name == "pool":
                made.terminate()
        except OSError as error:
            outcome[name] = [type(error).__name__, error.errno]
    ours, theirs = multiprocessing.Pipe()

    def child(connection):
        connection.send(6 * 7)
        connection.close()

    process = multiprocessing.Process(target=child, args=(theirs,))
    process.start()
    outcome["pipe"] = ours.recv()
    process.join()
    outcome["exitcode"] = process.exitcode
    outcome["shm"] = os.path.exists("/dev/shm")
    return outcome


def environment(event, context):
    return {k: v for k, v in os.environ.items() if "XRAY" in k}
'''

# A custom runtime (a shell script) that kills itself before it asks for work: on Lambda it dies.
BOOTSTRAP = """#!/bin/sh
kill -9 $$
echo "survived kill -9"
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
    headers=$(mktemp)
    curl -sS -D "$headers" "$API/next" >/dev/null
    id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | cut -d' ' -f2 | tr -d '\\r')
    curl -sS -X POST "$API/$id/response" --data-binary '"survived"' >/dev/null
done
"""

PROJECT = """
[functions.suicide]
handler = "app.suicide"
runtime = "python3.11"
code = "src"

[functions.processes]
handler = "app.processes"
runtime = "python3.11"
code = "src"
memory_size = 256
timeout = 30

[functions.environment]
handler = "app.environment"
runtime = "python3.11"
code = "src"

[functions.overridden]
handler = "app.environment"
runtime = "python3.11"
code = "src"
environment = { AWS_XRAY_CONTEXT_MISSING = "IGNORE_ERROR" }

[functions.shell]
runtime = "provided.al2023"
handler = "unused"
code = "custom"

[functions.terminated]
handler = "app.environment"
runtime = "python3.11"
code = "src"
"""

ROUNDS = 200  # bounded waits: at most ROUNDS x 0.05 s


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "custom").mkdir()
    (folder / "custom" / "bootstrap").write_text(BOOTSTRAP)
    (folder / "custom" / "bootstrap").chmod(0o755)
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


@pytest.fixture(scope="module")
def docker_lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    folder = write_project(tmp_path_factory.mktemp("sandbox"))
    with BlockingSimulator(load_project(folder), backend="docker", store=Store(folder / ".lsim")) as lsim:
        yield lsim


def exit_message(result: object) -> str:
    error = result.error  # type: ignore[attr-defined]
    assert error is not None, result.body  # type: ignore[attr-defined]
    assert error["errorType"] == "Runtime.ExitError", error
    return str(error["errorMessage"])


@pytest.mark.docker
def test_the_runtime_dies_of_its_own_kill_9(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("suicide", {})
    assert result.function_error == "Unhandled", result.body
    assert exit_message(result).endswith("Error: Runtime exited with error: signal: killed")
    assert result.report is not None and result.report.error_type == "Runtime.ExitError"
    assert docker_lsim.invoke("suicide", {"exit": 3}).error["errorMessage"].endswith("exit status 3")  # type: ignore[index]


@pytest.mark.docker
def test_a_custom_runtime_dies_of_kill_9_on_itself(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("shell", {}, log_type="Tail")
    assert result.function_error == "Unhandled", result.body
    assert exit_message(result).endswith("Runtime exited with error: signal: killed")
    assert "survived kill -9" not in result.logs


@pytest.mark.docker
def test_multiprocessing_queue_and_pool_fail_as_on_lambda_process_and_pipe_work(
    docker_lsim: BlockingSimulator,
) -> None:
    result = docker_lsim.invoke("processes", {})
    assert result.function_error is None, result.body
    outcome = result.payload
    assert outcome["shm"] is False
    # Lambda: [Errno 38] Function not implemented on Amazon Linux 2 (python3.11), [Errno 2] No such file
    # or directory with the newer glibc of Amazon Linux 2023 (python3.12+) and of lsim's images.
    for name in ("queue", "pool"):
        kind, number = outcome[name]
        assert number in (errno.ENOSYS, errno.ENOENT), outcome
        assert kind in ("OSError", "FileNotFoundError"), outcome
    assert outcome["pipe"] == 42 and outcome["exitcode"] == 0


@pytest.mark.docker
def test_the_xray_variables_lambda_sets(docker_lsim: BlockingSimulator) -> None:
    variables = docker_lsim.invoke("environment", {}).payload
    assert variables["AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129:2000"
    assert variables["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    # not reserved: a function's own value wins, as on Lambda
    assert docker_lsim.invoke("overridden", {}).payload["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"


@pytest.mark.docker
def test_sigterm_still_ends_the_runtime_through_the_init(docker_lsim: BlockingSimulator) -> None:
    first = docker_lsim.invoke("terminated", {})
    assert first.function_error is None
    assert docker_lsim.simulator.backend is not None
    labels = [f"lsim.session={docker_lsim.simulator.backend.session}", "lsim.function=terminated"]  # type: ignore[attr-defined]
    client = docker.from_env()
    (container,) = client.containers.list(filters={"label": labels})
    container.kill(signal="SIGTERM")  # the init passes it on to the runtime, which exits
    for _ in range(ROUNDS):
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.05)
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] in (0, 143)
    second = docker_lsim.invoke("terminated", {})
    assert second.function_error is None and second.cold_start


def test_the_process_backend_still_reports_a_self_kill_as_signal_killed(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project")
    with BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim")) as lsim:
        result = lsim.invoke("suicide", {})
        assert exit_message(result).endswith("Runtime exited with error: signal: killed")
        variables = lsim.invoke("environment", {}).payload
        assert variables["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
