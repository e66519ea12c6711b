"""`lsim serve` as a user runs it, driven by the real AWS CLI (awscli v1 from PyPI: its blob arguments such as
`--payload` take raw text, what v2 calls `--cli-binary-format raw-in-base64-out`) with dummy credentials."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli import lsim
from tests.test_api import write_project

BANNER = re.compile(r"the Lambda API on (http://127\.0\.0\.1:(\d+))")


@dataclass
class Served:
    """A running `lsim serve`, its URL, and every console line it has written so far."""

    process: subprocess.Popen[str]
    url: str
    port: int
    lines: list[str] = field(default_factory=list)

    def console(self) -> str:
        return "\n".join(self.lines)


def start_serve(folder: Path, *arguments: str) -> Served:
    """Start `lsim serve` on a free port and wait for the end of its banner (stderr is read in the
    background)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "--project", str(folder), "serve", "--port", "0", *arguments],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()
    assert process.stderr is not None
    stream = process.stderr

    def pump() -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if "press Ctrl+C to stop" in line:  # the banner's last line: the server is up
                found.set()
        found.set()  # the process ended

    threading.Thread(target=pump, daemon=True).start()
    found.wait(120)
    match = next((m for m in map(BANNER.search, lines) if m), None)
    if match is None:
        process.kill()
        raise AssertionError("lsim serve did not start:\n" + "\n".join(lines))
    return Served(process, match[1], int(match[2]), lines)


def stop_serve(served: Served) -> int:
    served.process.send_signal(signal.SIGINT)
    return served.process.wait(60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = write_project(tmp_path_factory.mktemp("cli-project"))
    running = start_serve(folder, "--backend", "process")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_serve(running)


def aws(served: Served, *arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDLSIMTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    return subprocess.run(
        ["aws", "lambda", *arguments, "--endpoint-url", served.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def test_the_banner_says_where_and_that_any_credentials_are_accepted(served: Served) -> None:
    console = served.console()
    assert "accepting any AWS credentials" in console
    assert f'endpoint_url="{served.url}"' in console


def test_aws_lambda_invoke(served: Served, tmp_path: Path) -> None:
    result = aws(
        served, "invoke", "--function-name", "echo", "--payload", '{"from": "aws cli"}', "--log-type", "Tail",
        "out.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST"
    assert "LogResult" in answer
    assert json.loads((tmp_path / "out.json").read_text())["event"] == {"from": "aws cli"}
    assert any(line.split(" ", 1)[1].startswith("Invoke echo $LATEST") for line in served.lines)


def test_aws_lambda_invoke_a_failing_function(served: Served, tmp_path: Path) -> None:
    result = aws(served, "invoke", "--function-name", "fail", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["FunctionError"] == "Unhandled"
    assert json.loads((tmp_path / "out.json").read_text())["errorType"] == "ValueError"


def test_aws_lambda_read_operations(served: Served) -> None:
    function = aws(served, "get-function", "--function-name", "echo")
    assert function.returncode == 0, function.stderr
    assert json.loads(function.stdout)["Configuration"]["Handler"] == "app.echo"
    configuration = aws(served, "get-function-configuration", "--function-name", "slow")
    assert json.loads(configuration.stdout)["MemorySize"] == 256
    listed = aws(served, "list-functions")
    assert [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]] == ["chatty", "echo", "fail", "slow"]
    settings = aws(served, "get-account-settings")
    assert json.loads(settings.stdout)["AccountUsage"]["FunctionCount"] == 4


def test_aws_cli_shows_lambdas_errors(served: Served, tmp_path: Path) -> None:
    missing = aws(served, "invoke", "--function-name", "nope", "out.json", cwd=tmp_path)
    assert missing.returncode != 0
    assert "An error occurred (ResourceNotFoundException) when calling the Invoke operation: Function not found" in (
        missing.stderr
    )
    with zipfile.ZipFile(tmp_path / "code.zip", "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    create = aws(
        served, "create-function", "--function-name", "new", "--role", "arn:aws:iam::123456789012:role/r",
        "--runtime", "python3.11", "--handler", "app.handler", "--zip-file", f"fileb://{tmp_path / 'code.zip'}",
    )  # fmt: skip
    assert create.returncode != 0
    assert "(UnknownOperationException) when calling the CreateFunction operation: lsim does not simulate" in (
        create.stderr
    )
    bad = aws(served, "invoke", "--function-name", "echo", "--payload", "{not json", "out.json", cwd=tmp_path)
    assert "(InvalidRequestContentException)" in bad.stderr


def test_a_port_in_use_is_named_and_the_command_exits_2(served: Served, tmp_path: Path) -> None:
    folder = write_project(tmp_path / "other")
    result = lsim("--project", str(folder), "serve", "--port", str(served.port))
    assert result.returncode == 2
    assert f"port {served.port} is already in use on 127.0.0.1" in result.stderr
    assert "--port" in result.stderr


def test_ctrl_c_stops_the_server_cleanly(tmp_path: Path) -> None:
    running = start_serve(write_project(tmp_path / "stop"), "--backend", "process")
    assert stop_serve(running) == 0
    assert "stopping" in running.console()
