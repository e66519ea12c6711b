"""`lsim invoke` through a running `lsim serve` of the same project: the same stdout, stderr log, exit codes
and AWS errors as in process, warm environments, and a line on stderr saying which path ran it; a stale
record (a killed serve, another serve on its port) is ignored and removed; options the serve cannot honour
run in process and say why.

Real processes throughout: `lsim serve` on Docker, and `lsim invoke` as the `lsim` command runs it (the
entry point `simulator.launcher`), each a Python of its own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.through_serve.record import RUN_FOLDER, ServeRecord, read_record, write_record

from .conftest import REPO
from .test_api_awscli import Served, start_serve, stop_serve

pytestmark = pytest.mark.docker

APP = """
import sys


def echo(event, context):
    print("echo got", event)
    return {"event": event, "version": context.function_version}


def fail(event, context):
    raise ValueError("boom " + str(event.get("why", "")))


def noisy(event, context):
    for n in range(400):
        print(f"line {n:04d} " + "x" * 40)
    return {"lines": 400}


def binary(event, context):
    return "caf\\u00e9"
"""

LSIM_TOML = """
[functions.echo]
handler = "app.echo"
runtime = "python3.11"
code = "src"

[functions.fail]
handler = "app.fail"
runtime = "python3.11"
code = "src"

[functions.noisy]
handler = "app.noisy"
runtime = "python3.11"
code = "src"

[functions.binary]
handler = "app.binary"
runtime = "python3.11"
code = "src"

[functions.closed]
handler = "app.echo"
runtime = "python3.11"
code = "src"
reserved_concurrency = 0
"""


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "lsim.toml").write_text(LSIM_TOML)
    return folder


def lsim(
    folder: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`lsim ARGS` in `folder` as the installed command runs it (simulator.launcher:main)."""
    environment = {name: value for name, value in os.environ.items() if name != "LSIM_NO_SERVE"}
    environment.update({"PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "simulator.launcher", *args],
        cwd=folder,
        env=environment,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


def via(done: subprocess.CompletedProcess[bytes]) -> str:
    """The first line on stderr: which path ran the invocation."""
    return done.stderr.decode().splitlines()[0] if done.stderr else ""


def no_ids(output: bytes) -> bytes:
    return re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"ID", output)


def records(folder: Path) -> list[Path]:
    return sorted((folder / RUN_FOLDER).glob("serve-*.json"))


def without_ids(log: bytes) -> list[str]:
    """A log's lines with what differs between two runs (request ids, timings) taken out."""
    lines = []
    for line in log.decode().splitlines():
        if line.startswith(("via lsim serve", "in process:", "INIT_START")):
            continue
        for prefix in ("START", "END", "REPORT"):
            if line.startswith(prefix):
                line = prefix
        lines.append(line)
    return lines


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("warm-cli"))


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[Served]:
    running = start_serve(project, "--backend", "docker")
    try:
        yield running
    finally:
        stop_serve(running)


def test_the_serve_records_itself_and_removes_the_record_when_it_stops(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    running = start_serve(folder, "--backend", "process")
    [path] = records(folder)
    record = read_record(path)
    assert record is not None and (record.pid, record.port) == (running.process.pid, running.port)
    assert record.project_file == str((folder / "lsim.toml").resolve()) and record.backend == "process"
    assert path.stat().st_mode & 0o077 == 0  # it may hold the credentials the serve verifies
    assert any("`lsim invoke` in this project goes through this serve" in line for line in running.lines)
    assert stop_serve(running) == 0
    assert records(folder) == []


def test_invoke_goes_through_the_serve_warm_and_prints_what_in_process_prints(project: Path, served: Served) -> None:
    first = lsim(project, "invoke", "echo", "--payload", '{"n": 1}')
    assert first.returncode == 0, first.stderr
    assert via(first) == f"via lsim serve on 127.0.0.1:{served.port} (pid {served.process.pid})"
    second = lsim(project, "invoke", "echo", "--payload", '{"n": 1}')
    assert b"INIT_START" not in second.stderr, "the second invocation is warm: the serve's environment"
    alone = lsim(project, "invoke", "echo", "--payload", '{"n": 1}', "--no-serve")
    assert "via lsim serve" not in alone.stderr.decode()
    assert b"INIT_START" in alone.stderr, "in process: a cold start of its own"
    assert first.stdout == second.stdout == alone.stdout == b'{"event": {"n": 1}, "version": "$LATEST"}\n'
    assert without_ids(second.stderr) == without_ids(alone.stderr)
    assert "echo got {'n': 1}" in second.stderr.decode()


def test_function_errors_unknown_functions_bad_json_and_qualifiers_as_in_process(project: Path, served: Served) -> None:
    cases = [
        ("fail", "--payload", '{"why": "here"}'),
        ("nope",),
        ("echo", "--payload", "not json"),
        ("echo", "--qualifier", "7"),
        ("echo:$LATEST",),
    ]
    for case in cases:
        through = lsim(project, "invoke", *case)
        alone = lsim(project, "invoke", *case, "--no-serve")
        assert via(through).startswith("via lsim serve"), through.stderr
        assert (through.returncode, no_ids(through.stdout)) == (alone.returncode, no_ids(alone.stdout)), case
        errors = [line for line in without_ids(through.stderr) if "Exception" in line or "Error" in line]
        assert errors == [line for line in without_ids(alone.stderr) if "Exception" in line or "Error" in line]
    failed = lsim(project, "invoke", "fail")
    assert failed.returncode == 1 and json.loads(failed.stdout)["errorType"] == "ValueError"
    missing = lsim(project, "invoke", "nope")
    assert missing.returncode == 2 and b"ResourceNotFoundException: Function not found" in missing.stderr


def test_a_throttle_is_exit_3_with_its_reason_and_retried_as_asked(project: Path, served: Served) -> None:
    throttled = lsim(project, "invoke", "closed", "--retry", "1")
    assert via(throttled).startswith("via lsim serve")
    assert throttled.returncode == 3
    text = throttled.stderr.decode()
    assert "TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded): retrying in" in text
    assert text.rstrip().endswith(
        "TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded): Rate Exceeded."
    )


def test_tail_is_the_last_4_kb_of_the_complete_log_and_binary_answers_stay_whole(project: Path, served: Served) -> None:
    whole = lsim(project, "invoke", "noisy")
    tail = lsim(project, "invoke", "noisy", "--log-type", "Tail")
    assert whole.returncode == tail.returncode == 0
    log = whole.stderr.split(b"\n", 1)[1]  # after the "via" line
    assert log.count(b"\nline ") == 400 and b"line 0000" in log and b"line 0399" in log
    tail_log = tail.stderr.split(b"\n", 1)[1]
    assert len(tail_log) == 4096 and b"REPORT RequestId" in tail_log and b"line 0000" not in tail_log
    answer = lsim(project, "invoke", "binary")
    assert answer.stdout == b'"caf\\u00e9"\n'


def test_the_event_from_stdin_and_a_file(project: Path, served: Served, tmp_path: Path) -> None:
    piped = lsim(project, "invoke", "echo", "--event", "-", stdin=b'{"from": "stdin"}')
    assert via(piped).startswith("via lsim serve") and json.loads(piped.stdout)["event"] == {"from": "stdin"}
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    filed = lsim(project, "invoke", "echo", "-e", str(event))
    assert json.loads(filed.stdout)["event"] == {"from": "file"}


def test_no_serve_and_the_environment_variable_keep_it_in_process(project: Path, served: Served) -> None:
    done = lsim(project, "invoke", "echo", env={"LSIM_NO_SERVE": "1"})
    assert done.returncode == 0 and "via lsim serve" not in done.stderr.decode()


def test_a_backend_the_serve_does_not_run_falls_back_and_says_why(project: Path, served: Served) -> None:
    done = lsim(project, "invoke", "echo", "--backend", "process")
    assert done.returncode == 0, done.stderr
    assert via(done) == (
        f"in process: lsim serve on 127.0.0.1:{served.port} (pid {served.process.pid}) cannot take it: it runs "
        "--backend docker, this invoke asks --backend process"
    )


def test_a_killed_serve_leaves_a_record_the_next_invoke_ignores_and_removes(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    running = start_serve(folder, "--backend", "process")
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(60)
    assert len(records(folder)) == 1
    done = lsim(folder, "invoke", "echo", "--backend", "process")
    assert done.returncode == 0 and "via lsim serve" not in done.stderr.decode()
    assert records(folder) == []


def test_a_record_whose_port_another_serve_took_is_refused_there_and_removed(tmp_path: Path) -> None:
    """A live serve of another start (another token) on the recorded port: it answers 421 before anything
    runs, and the invoke runs in process. The stale record names this test's own live process, as a
    record of a serve whose pid was reused would."""
    folder = write_project(tmp_path)
    running = start_serve(folder, "--backend", "process")
    try:
        [path] = records(folder)
        record = read_record(path)
        assert record is not None
        stale = record._replace(pid=os.getpid(), token="0" * 32, process_start=None)
        write_record(folder, stale)
        path.unlink()  # only the stale record is left
        done = lsim(folder, "invoke", "echo", "--backend", "process")
        assert done.returncode == 0, done.stderr
        assert (
            via(done)
            == f"in process: the serve on 127.0.0.1:{record.port} (pid {os.getpid()}) is not the one that recorded itself there"
        )
        assert records(folder) == []
    finally:
        stop_serve(running)


def test_a_serve_that_verifies_signatures_is_reached_with_its_credentials(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    credentials = tmp_path / "credentials"
    credentials.write_text("[local]\naws_access_key_id = AKIDLOCAL\naws_secret_access_key = s3cr3t\n")
    running = start_serve(folder, "--backend", "process", "--verify-sigv4", "--credentials-file", str(credentials))
    try:
        done = lsim(folder, "invoke", "echo", "--payload", '{"signed": true}')
        assert via(done).startswith("via lsim serve"), done.stderr
        assert done.returncode == 0 and json.loads(done.stdout)["event"] == {"signed": True}
    finally:
        stop_serve(running)


def test_other_parameter_overrides_or_env_vars_run_in_process(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    env_vars = tmp_path / "env.json"
    env_vars.write_text('{"echo": {"STAGE": "test"}}')
    running = start_serve(folder, "--backend", "process")
    try:
        done = lsim(folder, "--env-vars", str(env_vars), "invoke", "echo", "--backend", "process")
        assert done.returncode == 0
        assert via(done).endswith("cannot take it: it was started without --env-vars")
    finally:
        stop_serve(running)


def test_the_warm_path_loads_neither_the_cli_nor_the_simulator(project: Path, served: Served) -> None:
    probe = (
        "import sys, json\nfrom simulator.launcher import fast_invoke\ncode = fast_invoke(['invoke', 'echo'])\n"
        "heavy = ['typer', 'click', 'pydantic', 'aiohttp', 'docker', 'yaml', 'asyncio', 'simulator.simulator', "
        "'simulator.config', 'simulator.cli']\n"
        "print(json.dumps([code, [m for m in heavy if m in sys.modules]]), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, timeout=120,
    )  # fmt: skip
    code, loaded = json.loads(done.stderr.decode().splitlines()[-1])
    assert code == 0, done.stderr
    assert loaded == []


def test_the_command_still_runs_every_other_command_and_help(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    helped = lsim(folder, "invoke", "--help")
    assert helped.returncode == 0 and b"--no-serve" in helped.stdout
    listed = lsim(folder, "generate-event", "sqs", "receive-message", "--body", "x")
    assert listed.returncode == 0 and json.loads(listed.stdout)["Records"][0]["body"] == "x"


def test_a_record_is_written_whole(tmp_path: Path) -> None:
    record = ServeRecord(1, "127.0.0.1", 9001, "t" * 32, str(tmp_path / "lsim.toml"))
    path = write_record(tmp_path, record)
    assert read_record(path) == record
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_load_test_goes_through_the_serve_and_its_concurrency_book(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "src" / "slow.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(0.2)\n    return 1\n"
    )
    with (folder / "lsim.toml").open("a") as toml:
        toml.write('\n[functions.slow]\nhandler = "slow.handler"\nruntime = "python3.11"\ncode = "src"\n'
                   "reserved_concurrency = 1\n")  # fmt: skip
    running = start_serve(folder, "--backend", "process")
    try:
        done = lsim(folder, "load-test", "slow", "--rate", "20/s", "--duration", "1s", "--backend", "process")
        out, err = done.stdout.decode(), done.stderr.decode()
        assert done.returncode == 0, err
        assert f"via lsim serve on 127.0.0.1:{running.port} (pid {running.process.pid})" in err
        assert "accounting            balanced: 20 sent" in out
        assert "ReservedFunctionConcurrentInvocationLimitExceeded" in out  # the serve's book: one at a time
        what_if = lsim(folder, "load-test", "slow", "--rate", "5/s", "--duration", "1s", "--limit",
                       "concurrent_executions=500", "--backend", "process")  # fmt: skip
        assert "in process: --limit changes [limits] for this run" in what_if.stderr.decode()
    finally:
        stop_serve(running)


def test_the_project_named_by_option_or_sam_template_file_finds_its_serve(
    project: Path, served: Served, tmp_path: Path
) -> None:
    named = lsim(tmp_path, "--project", str(project), "invoke", "echo")
    assert via(named).startswith("via lsim serve"), named.stderr
    after = lsim(tmp_path, "invoke", "echo", "--project", str(project / "lsim.toml"))  # SAM's habit: after
    assert via(after).startswith("via lsim serve"), after.stderr
    alone = lsim(tmp_path, "--project", str(project), "invoke", "echo", "--no-serve")
    assert alone.returncode == 0 and "via lsim serve" not in alone.stderr.decode()


def test_a_serve_of_some_functions_leaves_the_others_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lsim serve F1 F2` records which functions it serves; an invoke of another runs in process."""
    from simulator.through_serve import InvokeRequest, choose_serve

    folder = write_project(tmp_path)
    record = ServeRecord(os.getpid(), "127.0.0.1", 1, "t", str(folder / "lsim.toml"), backend="process",
                         functions=("echo",))  # fmt: skip
    write_record(folder, record)
    said: list[str] = []
    monkeypatch.chdir(folder)
    assert choose_serve(InvokeRequest("echo:$LATEST", b""), said.append) == record
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo:1"
    assert choose_serve(InvokeRequest(arn, b""), said.append) == record
    assert choose_serve(InvokeRequest("fail", b""), said.append) is None
    assert said == [f"in process: lsim serve on 127.0.0.1:1 (pid {os.getpid()}) cannot take it: it serves only echo"]
