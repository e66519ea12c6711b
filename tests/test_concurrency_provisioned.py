"""Provisioned concurrency through the Simulator: environments initialised ahead (IN_PROGRESS -> READY), warm
invocations, spill-over to on-demand, AWS's refusals, and the config surviving a restart. Real processes
(the process backend); the waits are bounds on real work, never timed assertions."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.concurrency import RESERVED_LIMIT
from simulator.errors import (
    InvalidParameterValueException,
    ProvisionedConcurrencyConfigNotFoundException,
    TooManyRequestsException,
)
from simulator.invocation import InvocationResult
from simulator.project import load_project
from simulator.shapes import get_provisioned_concurrency_config_response

HANDLER = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"init_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"], "pid": os.getpid()}
"""


def project_in(root: Path) -> Path:
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "lsim.toml").write_text(
        '[functions.warm]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\ntimeout = 30\n'
        "reserved_concurrency = 3\n"
    )
    return root


def ready(lsim: BlockingSimulator) -> dict:
    deadline = time.monotonic() + 60
    while True:
        shape = get_provisioned_concurrency_config_response(
            lsim.call(lsim.simulator.get_provisioned_concurrency_config("warm", "1"))
        )
        if shape["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return shape
        time.sleep(0.05)


def at_once(lsim: BlockingSimulator, n: int, seconds: float) -> list[InvocationResult | BaseException]:
    async def run() -> list[InvocationResult | BaseException]:
        calls = [lsim.simulator.invoke("warm", {"sleep": seconds}, qualifier="1") for _ in range(n)]
        return await asyncio.gather(*calls, return_exceptions=True)

    return lsim.call(run(), timeout=120)


def test_provisioned_environments_are_ready_before_the_first_invocation(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        lsim.call(lsim.simulator.publish_version("warm"))
        put = lsim.call(lsim.simulator.put_provisioned_concurrency_config("warm", "1", 2))
        assert put.requested == 2 and put.status in ("IN_PROGRESS", "READY")
        shape = ready(lsim)
        assert shape["Status"] == "READY"
        assert shape["RequestedProvisionedConcurrentExecutions"] == 2
        assert shape["AllocatedProvisionedConcurrentExecutions"] == 2
        assert shape["AvailableProvisionedConcurrentExecutions"] == 2

        outcomes = at_once(lsim, 4, 1.0)
        ran = [o for o in outcomes if isinstance(o, InvocationResult)]
        throttled = [o for o in outcomes if isinstance(o, TooManyRequestsException)]
        assert len(ran) == 3 and [t.reason for t in throttled] == [RESERVED_LIMIT]  # reserved 3 is the ceiling
        provisioned = [r for r in ran if r.payload["init_type"] == "provisioned-concurrency"]
        spilled = [r for r in ran if r.payload["init_type"] == "on-demand"]
        assert len(provisioned) == 2 and not any(r.cold_start for r in provisioned)
        assert len(spilled) == 1 and spilled[0].cold_start
        assert all(r.executed_version == "1" for r in ran)
        (metrics,) = lsim.call(lsim.simulator.get_metrics("warm"))
        assert metrics.sum("ProvisionedConcurrencyInvocations") == 2
        assert metrics.sum("ProvisionedConcurrencySpilloverInvocations") == 1
        again = lsim.invoke("warm", {}, qualifier="1")
        assert again.payload["init_type"] == "provisioned-concurrency" and not again.cold_start


def test_aws_refusals(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        with pytest.raises(InvalidParameterValueException) as latest:
            lsim.call(lsim.simulator.put_provisioned_concurrency_config("warm", "$LATEST", 1))
        assert latest.value.message == (
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
        )
        lsim.call(lsim.simulator.publish_version("warm"))
        with pytest.raises(InvalidParameterValueException, match="exceeds its reserved concurrency of 3"):
            lsim.call(lsim.simulator.put_provisioned_concurrency_config("warm", "1", 4))
        with pytest.raises(ProvisionedConcurrencyConfigNotFoundException):
            lsim.call(lsim.simulator.get_provisioned_concurrency_config("warm", "1"))


def test_the_config_survives_a_restart(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        lsim.call(lsim.simulator.publish_version("warm"))
        lsim.call(lsim.simulator.put_provisioned_concurrency_config("warm", "1", 1))
        assert ready(lsim)["Status"] == "READY"
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        assert ready(lsim)["Status"] == "READY"
        result = lsim.invoke("warm", {}, qualifier="1")
        assert result.payload["init_type"] == "provisioned-concurrency" and not result.cold_start
        lsim.call(lsim.simulator.delete_provisioned_concurrency_config("warm", "1"))
        with pytest.raises(ProvisionedConcurrencyConfigNotFoundException):
            lsim.call(lsim.simulator.get_provisioned_concurrency_config("warm", "1"))


def test_the_project_file_key_applies_once_the_version_exists(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    toml = root / "lsim.toml"
    toml.write_text(toml.read_text() + 'provisioned_concurrency = { "1" = 1 }\n')
    warnings: list[str] = []
    with BlockingSimulator(load_project(root), backend="process", warn=warnings.append) as lsim:
        assert any("provisioned concurrency 1 for warm:1 not applied" in w for w in warnings), warnings
        lsim.call(lsim.simulator.publish_version("warm"))
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        assert ready(lsim)["Status"] == "READY"
    toml.write_text(toml.read_text().replace('{ "1" = 1 }', '{ "$LATEST" = 1 }'))
    from simulator.errors import ProjectFileError

    with pytest.raises(ProjectFileError, match="cannot be applied to unpublished function versions"):
        load_project(root)
