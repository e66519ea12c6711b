"""`lsim concurrency`, `lsim invoke --retry`, `lsim metrics` and `lsim dlq` as a user runs them:
real exit codes, state shared between commands through the project's `.lsim/state.db` (each command runs
in this process, tests/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.blocking import BlockingSimulator
from simulator.clock import VirtualClock
from simulator.project import load_project

from .cli import Ran
from .cli import lsim as run_lsim
from .conftest import REPO
from .test_events import T0, project_in, records, status, wait_for


def lsim(root: Path, *args: str) -> Ran:
    return run_lsim("--project", str(root), *args, cwd=REPO)


def test_put_get_delete_function_concurrency(tmp_path: Path) -> None:
    root = project_in(tmp_path, "reserved_concurrency = 3")
    got = lsim(root, "concurrency", "get", "worker")
    assert json.loads(got.stdout) == {"ReservedConcurrentExecutions": 3} and "lsim.toml" in got.stderr
    assert json.loads(lsim(root, "concurrency", "put", "worker", "7").stdout) == {"ReservedConcurrentExecutions": 7}
    got = lsim(root, "concurrency", "get", "worker")
    assert json.loads(got.stdout) == {"ReservedConcurrentExecutions": 7} and "lsim concurrency put" in got.stderr
    assert lsim(root, "concurrency", "delete", "worker").returncode == 0
    assert json.loads(lsim(root, "concurrency", "get", "worker").stdout) == {}
    account = json.loads(lsim(root, "concurrency", "account").stdout)
    assert account["AccountLimit"]["ConcurrentExecutions"] == 1000


def test_a_reservation_that_leaves_less_than_100_unreserved_is_refused(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    refused = lsim(root, "concurrency", "put", "worker", "901")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "InvalidParameterValueException: Specified ReservedConcurrentExecutions for function decreases "
        "account's UnreservedConcurrentExecution below its minimum value of [100]."
    )
    unknown = lsim(root, "concurrency", "put", "nope", "1")
    assert unknown.returncode == 2 and unknown.stderr.startswith("ResourceNotFoundException: Function not found")


def test_a_throttled_invoke_exits_3_after_its_retries_and_is_counted(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    assert lsim(root, "concurrency", "put", "worker", "0").returncode == 0
    done = lsim(root, "invoke", "worker", "--retry", "2", "--backend", "process")
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split(": retrying")[0] for line in lines[:2]] == [
        "TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded)"
    ] * 2
    assert lines[-1] == "TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded): Rate Exceeded."
    shown = lsim(root, "metrics", "--json")
    worker = json.loads(shown.stdout)["worker"]
    assert worker["Throttles"]["Sum"] == 3  # the first try and two retries
    assert worker["ThrottlesByReason"] == {"ReservedFunctionConcurrentInvocationLimitExceeded": 3}
    assert "Invocations" not in worker
    table = lsim(root, "metrics", "worker").stdout
    assert "throttled 3 x ReservedFunctionConcurrentInvocationLimitExceeded" in table


def test_dlq_list_and_replay(tmp_path: Path) -> None:
    root = project_in(tmp_path, "maximum_retry_attempts = 0")
    (root / "fail.flag").write_text("")
    with BlockingSimulator(load_project(root), backend="process", clock=VirtualClock(T0)) as simulator:
        request_id = simulator.invoke("worker", {"order": 7}, invocation_type="Event").request_id
        wait_for(lambda: status(simulator, request_id) == "dead-lettered", "the event to be dead-lettered")
    listed = lsim(root, "dlq", "list")
    assert request_id in listed.stdout and "RetriesExhausted" in listed.stdout and "RuntimeError" in listed.stdout
    assert "AWS would have discarded them" in listed.stderr
    (record,) = [json.loads(line) for line in lsim(root, "dlq", "list", "--json").stdout.splitlines()]
    assert record["requestContext"]["requestId"] == request_id and record["requestPayload"] == {"order": 7}
    (root / "fail.flag").unlink()
    replayed = lsim(root, "dlq", "replay", "--backend", "process")
    assert replayed.returncode == 0, replayed.stderr
    new_id, outcome = replayed.stdout.split()
    assert outcome == "delivered" and new_id != request_id
    assert [r["event"] for r in records(root) if r["phase"] == "end"] == [{"order": 7}]
    nothing = lsim(root, "dlq", "replay", "--backend", "process")
    assert nothing.returncode == 0 and "nothing to replay" in nothing.stderr
