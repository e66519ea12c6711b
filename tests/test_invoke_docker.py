"""Invocations in real Docker execution environments, checked against Lambda's documented behaviour."""

from __future__ import annotations

import re

import pytest

from simulator.blocking import BlockingSimulator

from .conftest import wait_until_idle

pytestmark = pytest.mark.docker

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d\d) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<max>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?(?:\tStatus: (?P<status>\w+))?(?:\tError Type: (?P<type>\S+))?$",
    re.MULTILINE,
)


def report_of(logs: str) -> re.Match[str]:
    match = REPORT.search(logs)
    assert match, f"no REPORT line in:\n{logs}"
    return match


def test_cold_then_warm_invocation(docker_lsim: BlockingSimulator) -> None:
    first = docker_lsim.invoke("echo", {"name": "Ada"})
    assert first.ok and first.status_code == 200
    assert first.payload == {"event": {"name": "Ada"}, "greeting": "hi"}
    assert first.executed_version == "$LATEST"
    lines = first.logs.splitlines()
    start = lines.index(f"START RequestId: {first.request_id} Version: $LATEST")
    assert "init: handlers module imported" in lines[:start]  # init output comes before START
    assert 'echo got {"name": "Ada"}' in lines[start:]
    assert f"END RequestId: {first.request_id}" in lines
    report = report_of(first.logs)
    assert report["id"] == first.request_id and report["memory"] == "128"
    assert report["init"] is not None, "a cold start reports Init Duration"
    assert 0 < int(report["max"]) <= 128
    # Billed = ceil(Duration + Init Duration)
    assert int(report["billed"]) >= float(report["duration"]) + float(report["init"])

    second = docker_lsim.invoke("echo", {"name": "Bob"})
    assert second.payload["event"] == {"name": "Bob"}
    assert not second.cold_start
    assert report_of(second.logs)["init"] is None, "a warm start has no Init Duration"
    assert "init: handlers module imported" not in second.logs


def test_module_code_runs_once_per_environment(docker_lsim: BlockingSimulator) -> None:
    results = [docker_lsim.invoke("counter").payload for _ in range(3)]
    assert [r["calls"] for r in results] == [
        results[0]["calls"],
        results[0]["calls"] + 1,
        results[0]["calls"] + 2,
    ]
    assert len({r["init_at"] for r in results}) == 1


def test_environment_is_shaped_like_lambda(docker_lsim: BlockingSimulator) -> None:
    facts = docker_lsim.invoke("inspect").payload
    assert (facts["uid"], facts["gid"]) == (993, 990)
    assert facts["cwd"] == "/var/task"
    assert facts["python"] == [3, 11]
    assert facts["writable"] == {
        "/tmp": True,
        "/var/task": False,
        "/opt": False,
        "/": False,
        "/var/runtime": False,
    }
    assert 570 <= facts["tmp_size_mb"] <= 600  # ephemeral_storage = 600 (less what ext4 keeps for itself)
    assert facts["docker_socket"] is False
    assert facts["memory_limit"] == str(256 * 1024 * 1024)
    # 256 MB buys 256/1769 of a vCPU once init is over
    assert facts["cpu_quota"] == str(int(256 / 1769 * 100_000))
    assert re.search(r"Max open files\s+1024\s+1024", facts["nofile"])
    env = facts["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "inspect"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["_HANDLER"] == "handlers.inspect"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TZ"] == ":UTC" and env["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["LD_LIBRARY_PATH"].endswith("/var/task/lib:/opt/lib")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/inspect"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert re.fullmatch(r"[\d.]+:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    path = facts["sys_path"]
    assert (
        path.index("/var/task")
        < path.index("/opt/python/lib/python3.11/site-packages")
        < path.index("/opt/python")
    )
    context = facts["context"]
    assert context["function_name"] == "inspect" and context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:inspect"
    assert int(context["memory_limit_in_mb"]) == 256
    assert 0 < context["remaining_ms"] <= 3000


def test_handler_exception_is_a_function_error(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("fail", {"why": "bad input"})
    assert result.function_error == "Unhandled" and result.status_code == 200
    body = result.payload
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom: bad input"
    assert body["requestId"] == result.request_id
    assert any("handlers.py" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: boom: bad input" in result.logs
    assert report_of(result.logs)["status"] is None  # a function error is not a platform failure


def test_unserializable_result_is_a_marshal_error(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("unserializable")
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.MarshalError"
    assert "Unable to marshal response" in result.payload["errorMessage"]


def test_timeout_stops_the_environment_and_the_next_start_is_cold(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("sleepy", {"seconds": 5})
    assert result.function_error == "Unhandled"
    assert result.payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    report = report_of(result.logs)
    assert report["status"] == "timeout"
    assert 1000 <= float(report["duration"]) < 1500
    assert f"{result.request_id} Task timed out after 1.00 seconds" in result.logs
    after = docker_lsim.invoke("sleepy", {"seconds": 0})
    assert after.ok and after.cold_start
    assert report_of(after.logs)["init"] is not None


def test_out_of_memory_kills_the_environment(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("hog", {"mb": 400})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.payload["errorMessage"] == (
        f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"
    )
    report = report_of(result.logs)
    assert (report["status"], report["type"]) == ("error", "Runtime.ExitError")
    assert int(report["max"]) >= 120
    fine = docker_lsim.invoke("hog", {"mb": 20})
    assert fine.payload == {"allocated_mb": 20} and fine.cold_start


def test_runtime_exit_is_reported_with_its_status(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("crash", {"code": 3})
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert "about to exit" in result.logs


def test_response_over_6_mb_is_refused(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("big", {"bytes": 7 * 1024 * 1024})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Function.ResponseSizeTooLarge"
    small = docker_lsim.invoke("big", {"bytes": 1024})
    assert small.payload == "x" * 1024 and not small.cold_start  # the environment survived


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        (
            "importerr",
            "Runtime.ImportModuleError",
            "Unable to import module 'no_such_module': No module named 'no_such_module'",
        ),
        ("nohandler", "Runtime.HandlerNotFound", "Handler 'no_such_function' missing on module 'handlers'"),
        ("initcrash", "RuntimeError", "cannot connect to the database at init"),
    ],
)
def test_init_errors(docker_lsim: BlockingSimulator, function: str, error_type: str, message: str) -> None:
    result = docker_lsim.invoke(function)
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == error_type
    assert message in result.payload["errorMessage"]
    # Lambda tries init again inside the invocation ("suppressed init") and reports both phases.
    assert "Phase: init\tStatus: error" in result.logs
    assert "Phase: invoke\tStatus: error" in result.logs
    report = report_of(result.logs)
    assert (report["status"], report["type"]) == ("error", error_type)


def test_custom_runtime_bootstrap_in_the_code(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("custom", {"n": 1})
    assert result.payload == {"from": "/var/task/bootstrap", "event": {"n": 1}}
    assert 'custom runtime got {"n": 1}' in result.logs


def test_an_external_extension_from_a_layer_takes_part_in_the_lifecycle(docker_lsim: BlockingSimulator) -> None:
    first = docker_lsim.invoke("with-extension")
    assert first.ok, first.body
    assert first.payload["extension_log"][0] == "registered for with-extension $LATEST"
    # the init phase waits for the extension's first event/next (it sleeps 0.3 s before it)
    assert float(report_of(first.logs)["init"]) >= 300
    wait_until_idle(docker_lsim, "with-extension")
    second = docker_lsim.invoke("with-extension")
    assert f"INVOKE {first.request_id}" in second.payload["extension_log"]
    assert not second.cold_start


def test_python313_runs_on_the_trixie_base(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """python3.13 comes from Debian trixie, built offline like python3.11 (the first run builds its base)."""
    from simulator.project import load_project

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("import sys\ndef handler(e, c):\n    return list(sys.version_info[:2])\n")
    (tmp_path / "lsim.toml").write_text('[functions.f]\nhandler = "app.handler"\nruntime = "python3.13"\ncode = "src"\n')
    with BlockingSimulator(load_project(tmp_path), backend="docker") as lsim:
        result = lsim.invoke("f")
    assert result.payload == [3, 13]
    assert "AWS_Lambda_python3.13" in lsim.simulator.sandbox_spec(lsim.simulator.function("f"), "$LATEST").environment["AWS_EXECUTION_ENV"]


def test_tmp_is_disk_not_memory_and_survives_a_reset(docker_lsim: BlockingSimulator) -> None:
    # 200 MB written to /tmp by a 128 MB function: on Lambda /tmp is disk, so this is no memory at all
    written = docker_lsim.invoke("scratch", {"write_mb": 200})
    assert written.ok, written.body
    assert written.payload == {"written_mb": 200}
    assert docker_lsim.invoke("scratch", {"mark": "before the timeout"}).payload == {"marker": "before the timeout"}
    crashed = docker_lsim.invoke("scratch", {"exit": 1})
    assert crashed.error_type == "Runtime.ExitError"
    after = docker_lsim.invoke("scratch", {})
    assert after.cold_start and after.payload == {"marker": "before the timeout"}
