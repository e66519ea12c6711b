"""The samples the README shows, run as a user runs them, in real containers."""

from __future__ import annotations

import subprocess

import docker
import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.sandbox import labels

from .conftest import REPO

pytestmark = pytest.mark.docker
SAMPLES = REPO / "samples"


def test_hello_sample() -> None:
    with BlockingSimulator(load_project(SAMPLES / "hello"), backend="docker") as lsim:
        result = lsim.invoke("hello", {"name": "Ada"})
        assert result.payload["message"] == "Hello, Ada!" and result.payload["stage"] == "dev"
        assert result.payload["memory_limit_in_mb"] == 128
        assert 0 < result.payload["remaining_ms"] <= 3000
        assert "greeting Ada" in result.logs


def test_custom_runtime_in_shell() -> None:
    with BlockingSimulator(load_project(SAMPLES / "custom-runtime"), backend="docker") as lsim:
        first = lsim.invoke("echo-sh", {"message": "hi"})
        assert first.ok, first.body
        assert first.payload["echo"] == {"message": "hi"} and first.payload["requestId"] == first.request_id
        second = lsim.invoke("echo-sh", {"message": "again"})
        assert second.payload["coldStartAt"] == first.payload["coldStartAt"]  # the same warm environment
        failed = lsim.invoke("echo-sh", b'"fail"')
        assert failed.function_error == "Unhandled"


def test_awslambdaric_image_function_runs_unchanged() -> None:
    """A container image whose entrypoint is AWS's own runtime interface client, from PyPI."""
    subprocess.run([str(SAMPLES / "image-function" / "build.sh")], check=True, timeout=600)
    with BlockingSimulator(load_project(SAMPLES / "image-function"), backend="docker") as lsim:
        result = lsim.invoke("ric", {"hello": "image"})
        assert result.ok, result.body
        assert result.payload == {
            "echo": {"hello": "image"},
            "function_name": "ric",
            "runtime_client": "awslambdaric",
            "task_root": "/var/task",
        }
        assert "awslambdaric handled " + result.request_id in result.logs
        failed = lsim.invoke("ric", {"fail": "id"})
        assert failed.function_error == "Unhandled"
        assert failed.payload["errorType"] == "KeyError"
        assert failed.payload["requestId"] == failed.request_id
        warm = lsim.invoke("ric", {"again": 1})
        assert warm.ok and not warm.cold_start


def test_no_container_is_left_behind() -> None:
    with BlockingSimulator(load_project(REPO / "tests" / "project"), backend="docker") as lsim:
        session = lsim.simulator.backend.session  # type: ignore[union-attr]
        for _ in range(20):
            lsim.invoke("echo", {})
        lsim.invoke("sleepy", {"seconds": 5})  # a timeout: its environment is stopped
        lsim.invoke("crash", {"code": 1})
    client = docker.from_env()
    left = client.containers.list(all=True, filters=labels.selector(session=session))
    assert left == []


def test_order_queue_sample_backs_up_and_drains() -> None:
    """samples/order-queue: the backlog forms in front of reserved concurrency 2 and drains, in real mode."""
    from simulator.loadtest import LoadPlan, constant
    from simulator.loadtest.queue_runner import run_queue_load_test

    order = (SAMPLES / "order-queue" / "events" / "order.json").read_bytes()
    plan = LoadPlan("fulfil", duration_s=2, shape=constant(30, 2), max_requests=60, payloads=(order,))
    with BlockingSimulator(load_project(SAMPLES / "order-queue"), backend="docker") as lsim:
        report = lsim.call(run_queue_load_test(lsim.simulator, plan, "orders"), timeout=300)
    assert report.balanced and report.sent_total == 60
    assert report.processed == 60 and report.dead_letters == 0 and report.left_in_queue == 0
    # the backlog formed: more messages waiting than the two running batches hold. Waiting messages are
    # visible, or in flight in a batch the poller holds while reserved concurrency throttles it, so the
    # split between the two depends on timing; their sum does not.
    assert max(row.visible + row.in_flight for row in report.timeline) > 10
    assert report.timeline[-1].visible == 0  # ... and drained
    assert report.peak_concurrency <= 2 and report.throttles > 0  # the poller outruns reserved concurrency
