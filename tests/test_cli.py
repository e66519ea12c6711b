"""`lsim invoke` as a user runs it: real exit codes, payload on stdout, log on stderr. The commands run in this
process (tests/cli.py); the first tests run a real `lsim` process, reading a real stdin pipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli import Ran
from .cli import lsim as lsim_in_process
from .conftest import HERE, REPO
from .lsim_processes import lsim_process

PROJECT = HERE / "project"


def lsim(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path = PROJECT) -> Ran:
    return lsim_in_process(*args, stdin=stdin, env=env, cwd=cwd)


@pytest.mark.docker
def test_invoke_prints_payload_on_stdout_and_log_on_stderr() -> None:
    done = lsim_process("invoke", "echo", "--payload", '{"a": 1}', cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"event": {"a": 1}, "greeting": "hi"}
    assert "START RequestId:" in done.stderr and "END RequestId:" in done.stderr
    assert "\tInit Duration: " in done.stderr


@pytest.mark.docker
def test_event_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    assert json.loads(lsim("invoke", "echo", "--event", str(event)).stdout)["event"] == {"from": "file"}
    piped = lsim_process("invoke", "echo", "--event", "-", stdin='{"from": "stdin"}', cwd=PROJECT)
    assert json.loads(piped.stdout)["event"] == {"from": "stdin"}


@pytest.mark.docker
def test_function_error_exits_1() -> None:
    done = lsim("invoke", "fail")
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "ValueError"


@pytest.mark.docker
def test_log_type_tail_keeps_the_last_4_kb() -> None:
    done = lsim("invoke", "echo", "--payload", json.dumps({"pad": "y" * 6000}), "--log-type", "Tail")
    assert done.returncode == 0
    assert len(done.stderr.encode()) <= 4096
    assert done.stderr.rstrip().splitlines()[-1].startswith("REPORT RequestId:")


def test_unknown_function_exits_2_and_names_the_known_ones() -> None:
    done = lsim("invoke", "nope", "--backend", "process")
    assert done.returncode == 2
    assert (
        "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
        in done.stderr
    )
    assert "known functions: " in done.stderr and "echo" in done.stderr


def test_event_that_is_not_json_exits_2() -> None:
    done = lsim("invoke", "echo", "--payload", "{not json", "--backend", "process")
    assert done.returncode == 2
    assert "InvalidRequestContentException: Could not parse request body into json" in done.stderr


def test_payload_over_6_mb_exits_2() -> None:
    big = json.dumps({"x": "z" * (6 * 1024 * 1024)})
    done = lsim("invoke", "echo", "--event", "-", "--backend", "process", stdin=big)
    assert done.returncode == 2
    assert "RequestTooLargeException: Request must be smaller than 6291456 bytes" in done.stderr


def test_missing_event_file_exits_2() -> None:
    done = lsim("invoke", "echo", "--event", "/nonexistent.json")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_invalid_project_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "lsim.toml").write_text(
        '[functions.f]\nhandler = "a.b"\nruntime = "python3.11"\ncode = "src"\nmemory_size = 20\n'
    )
    done = lsim("invoke", "f", cwd=tmp_path)
    assert done.returncode == 2
    assert "functions.f.memory_size: 20 MB is out of range: Lambda allows 128-10240 MB" in done.stderr


def test_docker_engine_not_running_says_how_to_start_it(tmp_path: Path) -> None:
    done = lsim("invoke", "echo", "--backend", "docker", env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert done.returncode == 2
    assert "no Docker engine is reachable" in done.stderr
    assert "start it with" in done.stderr and "--backend process" in done.stderr


def test_auto_backend_falls_back_to_process_with_a_warning(tmp_path: Path) -> None:
    done = lsim("invoke", "echo", "--payload", "{}", env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert done.returncode == 0, done.stderr
    assert "falling back to --backend process" in done.stderr
    assert done.stderr.count("warning:") == 1


def test_sample_hello_runs_from_its_folder() -> None:
    done = lsim(
        "invoke",
        "hello",
        "--event",
        "events/greet.json",
        "--backend",
        "process",
        cwd=REPO / "samples" / "hello",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["message"] == "Hello, Ada!"
