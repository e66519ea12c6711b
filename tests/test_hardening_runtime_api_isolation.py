"""One function must not take another's events or answer for it: an execution environment's Runtime API
answers that environment's own sandbox only, as on AWS.

A thief function is told a victim environment's Runtime API address and the request id of the victim's
invocation in flight; it tries `GET next` and `POST .../response`. Both must fail (reset, refused or timed
out) and the victim's caller must get the victim's own answer. Cases: two plain functions of one project, a
function of another project (another simulator), a VPC function whose security group allows no outbound
traffic, and a VPC function sharing the victim's Hyperplane ENI (the same source address).

Every address is the host's side of a network lsim creates; the thief's socket timeout is 2 s."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.environment import ExecutionEnvironment
from simulator.project import load_project

from .test_vpc_docker import _free_vpc_cidr

pytestmark = pytest.mark.docker

HANDLERS = '''
import http.client
import os
import time


def victim(event, context):
    time.sleep(event.get("sleep", 0))
    return {"answer": "the victim's own", "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}


def _call(api, method, path, body=None):
    host, port = api.rsplit(":", 1)
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=2)
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return [response.status, response.read().decode(errors="replace")[:200]]
    except Exception as exc:
        return type(exc).__name__


def thief(event, context):
    """Take the victim's next event, then answer its invocation in flight."""
    base = "/2018-06-01/runtime/invocation"
    return {
        "next": _call(event["api"], "GET", base + "/next"),
        "response": _call(event["api"], "POST", f"{base}/{event['request_id']}/response", b'"stolen"'),
    }
'''


def _function(name: str, handler: str, vpc: str = "") -> str:
    return textwrap.dedent(
        f"""
        [functions.{name}]
        handler = "app.{handler}"
        runtime = "python3.11"
        code = "src"
        timeout = 30
        """
    ) + (f"vpc = {vpc}\n" if vpc else "")


def _project(folder: Path, body: str) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "app.py").write_text(HANDLERS)
    (folder / "lsim.toml").write_text(body)
    return folder


@pytest.fixture(scope="module")
def lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    shared = '{ subnets = ["subnet-a"], security_groups = ["sg-open"] }'
    body = (
        _function("victim", "victim")
        + _function("thief", "thief")
        + _function("vpc-victim", "victim", shared)
        + _function("vpc-twin-thief", "thief", shared)  # the same subnet and groups: the victim's ENI
        + _function("vpc-closed-thief", "thief", '{ subnets = ["subnet-a"], security_groups = ["sg-closed"] }')
        + textwrap.dedent(
            f"""
            [vpcs.main]
            cidr = "{cidr}"

            [[vpcs.main.subnets]]
            id = "subnet-a"
            cidr = "{net}.1.0/24"
            availability_zone = "us-east-1a"

            [[vpcs.main.security_groups]]
            id = "sg-open"

            [[vpcs.main.security_groups]]
            id = "sg-closed"
            egress = []
            """
        )
    )
    project = load_project(_project(tmp_path_factory.mktemp("isolation"), body))
    with BlockingSimulator(project, backend="docker") as simulator:
        for name in ("vpc-victim", "vpc-twin-thief", "vpc-closed-thief"):
            assert simulator.call(simulator.simulator.wait_function_active(name, 300)) == ("Active", None, None)
        yield simulator


@pytest.fixture(scope="module")
def other_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    project = load_project(_project(tmp_path_factory.mktemp("other"), _function("thief", "thief")))
    with BlockingSimulator(project, backend="docker") as simulator:
        yield simulator


def _environments(simulator: BlockingSimulator, function: str) -> list[ExecutionEnvironment]:
    """The function's execution environments (whatever the pool calls its collections)."""
    found: list[ExecutionEnvironment] = []
    for (name, _), pool in simulator.simulator.pools().items():
        if name != function:
            continue
        for value in vars(pool).values():
            if isinstance(value, (set, list, tuple)):
                found += [e for e in value if isinstance(e, ExecutionEnvironment) and e not in found]
    return found


def _in_flight(simulator: BlockingSimulator, function: str) -> str | None:
    for environment in _environments(simulator, function):
        channel = environment._channel
        if channel is not None and channel._in_flight:
            return next(iter(channel._in_flight))
    return None


def _attack(victim_lsim: BlockingSimulator, victim: str, thief_lsim: BlockingSimulator, thief: str) -> dict[str, Any]:
    """The victim's answer when the thief attacks its invocation in flight, and what the thief saw."""
    api = victim_lsim.invoke(victim, {}).payload["api"]  # a warm environment, its runtime waiting in `next`
    outcome: dict[str, Any] = {}

    def slow_invocation() -> None:
        outcome["victim"] = victim_lsim.invoke(victim, {"sleep": 8}).payload

    caller = threading.Thread(target=slow_invocation)
    caller.start()
    request_id = None
    for _ in range(400):  # until the victim's runtime has taken it (bounded)
        request_id = victim_lsim.call(_async(_in_flight, victim_lsim, victim))
        if request_id is not None or not caller.is_alive():
            break
        threading.Event().wait(0.025)
    assert request_id is not None, "the victim's invocation never came in flight"
    outcome["thief"] = thief_lsim.invoke(thief, {"api": api, "request_id": request_id}).payload
    caller.join(60)
    return outcome


async def _async(function: Any, *args: Any) -> Any:
    """Read the simulator's state on its own loop."""
    return function(*args)


def _refused(seen: Any) -> bool:
    """The thief got no answer from the Runtime API: its connection was reset, refused or timed out."""
    return isinstance(seen, str)


def _assert_isolated(outcome: dict[str, Any]) -> None:
    assert outcome["victim"]["answer"] == "the victim's own", outcome
    assert _refused(outcome["thief"]["next"]), outcome
    assert _refused(outcome["thief"]["response"]), outcome


def test_a_function_cannot_answer_for_another_of_its_project(lsim: BlockingSimulator) -> None:
    _assert_isolated(_attack(lsim, "victim", lsim, "thief"))


def test_a_function_of_another_project_cannot_answer_for_it(
    lsim: BlockingSimulator, other_project: BlockingSimulator
) -> None:
    _assert_isolated(_attack(lsim, "victim", other_project, "thief"))


def test_a_vpc_function_with_no_outbound_rules_cannot_answer_for_another(lsim: BlockingSimulator) -> None:
    _assert_isolated(_attack(lsim, "vpc-victim", lsim, "vpc-closed-thief"))


def test_a_vpc_function_sharing_the_victims_eni_cannot_answer_for_it(lsim: BlockingSimulator) -> None:
    _assert_isolated(_attack(lsim, "vpc-victim", lsim, "vpc-twin-thief"))
    # still the victim's own environment, and it keeps working
    assert lsim.invoke("vpc-victim", {}).payload["answer"] == "the victim's own"
