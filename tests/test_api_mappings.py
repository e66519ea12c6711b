"""Event source mappings through `lsim serve`, driven by real boto3 and the real AWS CLI over real HTTP, kept
in real SQLite: Lambda's shapes (botocore's EventSourceMappingConfiguration, AWS's recorded answers), its
validation and errors, the states it reports, paging, and what survives a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store
from tests.test_api import Api, error_of, serve

PROJECT = """
[functions.worker]
handler = "app.handler"
runtime = "python3.11"
code = "src"

[functions.slow]
handler = "app.handler"
runtime = "python3.11"
code = "src"
timeout = 60

[functions.other]
handler = "app.handler"
runtime = "python3.11"
code = "src"
"""
ACCOUNT, REGION = "123456789012", "us-east-1"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = write_project(tmp_path_factory.mktemp("mappings"))
    for served in serve(folder, "process"):
        queues = served.lsim.simulator.queues
        queues.create_queue("orders")
        queues.create_queue("invoices")
        queues.create_queue("short", {"VisibilityTimeout": "30"})
        queues.create_queue("orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        for n in range(7):
            queues.create_queue(f"page-{n}")
        yield served


@pytest.fixture
def lambda_(api: Api) -> Iterator[Any]:
    client = api.client()
    yield client
    for mapping in list_all(client):  # each test starts with no mappings
        client.delete_event_source_mapping(UUID=mapping["UUID"])


def list_all(client: Any, **filters: Any) -> list[dict[str, Any]]:
    return [m for page in client.get_paginator("list_event_source_mappings").paginate(**filters)
            for m in page["EventSourceMappings"]]  # fmt: skip


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_create_answers_as_aws_recorded(lambda_: Any) -> None:
    """AWS's recorded answer for a default SQS mapping has exactly these members, State Creating, 202."""
    response = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    created = without_metadata(response)
    assert set(created) == {
        "UUID", "BatchSize", "MaximumBatchingWindowInSeconds", "EventSourceArn", "FunctionArn", "LastModified",
        "State", "StateTransitionReason", "FunctionResponseTypes", "EventSourceMappingArn",
    }  # fmt: skip
    uuid = created["UUID"]
    assert created["BatchSize"] == 10
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["EventSourceArn"] == queue_arn("orders")
    assert created["FunctionArn"] == function_arn("worker")
    assert created["FunctionResponseTypes"] == []
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["EventSourceMappingArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}"
    assert isinstance(created["LastModified"], datetime)
    got = without_metadata(lambda_.get_event_source_mapping(UUID=uuid))
    assert got == {**created, "State": "Enabled"}  # lsim settles at once


def test_every_setting_round_trips(lambda_: Any) -> None:
    pattern = json.dumps({"body": {"kind": ["order"]}})
    created = lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn("orders"),
        FunctionName=function_arn("worker"),
        BatchSize=100,
        MaximumBatchingWindowInSeconds=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 2},
        FilterCriteria={"Filters": [{"Pattern": pattern}]},
        Enabled=False,
    )
    assert created["State"] == "Disabled"  # AWS: Enabled=false is Disabled at once
    got = lambda_.get_event_source_mapping(UUID=created["UUID"])
    assert got["BatchSize"] == 100 and got["MaximumBatchingWindowInSeconds"] == 5
    assert got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert got["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    assert got["State"] == "Disabled"


def test_update_reports_the_transition_and_keeps_what_it_does_not_name(lambda_: Any) -> None:
    uuid = lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn("orders"), FunctionName="worker", ScalingConfig={"MaximumConcurrency": 5},
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"a": ["1"]}}'}]},
    )["UUID"]  # fmt: skip
    updated = lambda_.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert updated["State"] == "Disabling"
    assert lambda_.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    assert lambda_.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    updated = lambda_.update_event_source_mapping(UUID=uuid, BatchSize=3)
    assert updated["State"] == "Updating"
    assert updated["BatchSize"] == 3 and updated["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert "FilterCriteria" in updated
    # an empty FilterCriteria and an empty ScalingConfig remove them
    updated = lambda_.update_event_source_mapping(UUID=uuid, FilterCriteria={}, ScalingConfig={})
    assert "FilterCriteria" not in updated and "ScalingConfig" not in updated
    # FunctionResponseTypes [] turns partial batch responses off again
    assert lambda_.update_event_source_mapping(UUID=uuid, FunctionResponseTypes=["ReportBatchItemFailures"])[
        "FunctionResponseTypes"
    ] == ["ReportBatchItemFailures"]
    assert lambda_.update_event_source_mapping(UUID=uuid, FunctionResponseTypes=[])["FunctionResponseTypes"] == []
    # another function
    updated = lambda_.update_event_source_mapping(UUID=uuid, FunctionName="other")
    assert updated["FunctionArn"] == function_arn("other")
    assert lambda_.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"


def test_the_poller_hears_every_change(api: Api, lambda_: Any) -> None:
    heard: list[str] = []
    api.lsim.simulator.mappings.subscribe(heard.append)
    uuid = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")["UUID"]
    lambda_.update_event_source_mapping(UUID=uuid, Enabled=False)
    error_of(lambda: lambda_.update_event_source_mapping(UUID=uuid, BatchSize=10_001))  # refused: nothing changed
    assert [m.uuid for m in api.lsim.simulator.mappings.enabled()] == []
    lambda_.delete_event_source_mapping(UUID=uuid)
    assert heard == [uuid, uuid, uuid]
    api.lsim.simulator.mappings.unsubscribe(heard.append)


def test_delete_answers_deleting_then_the_mapping_is_gone(lambda_: Any) -> None:
    uuid = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")["UUID"]
    deleted = lambda_.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting" and deleted["UUID"] == uuid
    for call in (lambda_.get_event_source_mapping, lambda_.delete_event_source_mapping):
        error = error_of(lambda call=call: call(UUID=uuid))
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        assert error.response["Error"]["Message"] == "The resource you requested does not exist."
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    error = error_of(lambda: lambda_.update_event_source_mapping(UUID=uuid, BatchSize=1))
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"


def test_qualified_function(api: Api, lambda_: Any) -> None:
    api.lsim.call(api.lsim.simulator.publish_version("worker"))
    api.lsim.call(api.lsim.simulator.create_alias("worker", "live", "1"))
    created = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker:live")
    assert created["FunctionArn"] == function_arn("worker") + ":live"
    # the unqualified function is another target: a second mapping of the same queue is allowed
    lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")
    assert [m["FunctionArn"] for m in list_all(lambda_, FunctionName="worker:live")] == [created["FunctionArn"]]


def invalid(call: Any) -> str:
    error = error_of(call)
    assert error.response["Error"]["Code"] == "InvalidParameterValueException", error.response
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error.response["Error"]["Message"])


def test_lambdas_errors_on_create(lambda_: Any) -> None:
    create = lambda_.create_event_source_mapping
    assert invalid(lambda: create(FunctionName="worker")) == "Unrecognized event source."
    assert invalid(lambda: create(EventSourceArn=queue_arn("orders"), FunctionName="nope")) == "Function does not exist"
    assert invalid(lambda: create(EventSourceArn=queue_arn("missing"), FunctionName="worker")) == (
        "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error "
        "Message: The specified queue does not exist."
    )
    assert invalid(lambda: create(EventSourceArn=queue_arn("orders"), FunctionName="worker", BatchSize=11)) == (
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    )
    assert invalid(
        lambda: create(EventSourceArn=queue_arn("orders"), FunctionName="worker",
                       DestinationConfig={"OnFailure": {"Destination": queue_arn("invoices")}})
    ) == "Unsupported DestinationConfig parameter for given event source mapping type."  # fmt: skip
    assert invalid(lambda: create(EventSourceArn=queue_arn("short"), FunctionName="slow")) == (
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
    )
    fifo = queue_arn("orders.fifo")
    assert (
        invalid(lambda: create(EventSourceArn=fifo, FunctionName="worker", MaximumBatchingWindowInSeconds=1))
        == "Batching window is not supported for FIFO queues"
    )
    assert "between 1 and 10" in invalid(
        lambda: create(EventSourceArn=fifo, FunctionName="worker", BatchSize=11, MaximumBatchingWindowInSeconds=0)
    )
    for bad in ("null", "simple string", '{"eventSource": "aws:sqs"}', '{"eventSource": []}'):
        criteria = {"Filters": [{"Pattern": bad}]}
        message = invalid(lambda c=criteria: create(EventSourceArn=queue_arn("orders"), FunctionName="worker",
                                                    FilterCriteria=c))  # fmt: skip
        assert message == "Invalid filter pattern definition."
    assert list_all(lambda_) == []  # nothing refused was kept


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        ("BatchSize", 10_001, "Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value "
                              "less than or equal to 10000"),
        ("MaximumBatchingWindowInSeconds", 301, "Value '301' at 'maximumBatchingWindowInSeconds'"),
        ("ScalingConfig", {"MaximumConcurrency": 1001}, "Value '1001' at 'scalingConfig.maximumConcurrency'"),
        ("FunctionResponseTypes", ["Nope"], "at 'functionResponseTypes' failed to satisfy constraint"),
    ],
)  # fmt: skip
def test_limits_one_past(lambda_: Any, member: str, value: Any, message: str) -> None:
    arguments = {"EventSourceArn": queue_arn("orders"), "FunctionName": "worker", "MaximumBatchingWindowInSeconds": 1}
    assert message in invalid(lambda: lambda_.create_event_source_mapping(**{**arguments, member: value}))


def test_limits_at_the_edge(lambda_: Any) -> None:
    created = lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn("orders"), FunctionName="worker", BatchSize=10_000,
        MaximumBatchingWindowInSeconds=300, ScalingConfig={"MaximumConcurrency": 1000},
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"k": [str(n)]}})} for n in range(5)]},
    )  # fmt: skip
    assert created["BatchSize"] == 10_000 and created["ScalingConfig"] == {"MaximumConcurrency": 1000}
    uuid = created["UUID"]
    assert lambda_.update_event_source_mapping(UUID=uuid, ScalingConfig={"MaximumConcurrency": 2})["ScalingConfig"]
    six = {"Filters": [{"Pattern": json.dumps({"body": {"k": [str(n)]}})} for n in range(6)]}
    assert "at most 5" in invalid(lambda: lambda_.update_event_source_mapping(UUID=uuid, FilterCriteria=six))
    # Update checks the settings as they will be: BatchSize 10,000 without a window is refused
    assert "greater than 0" in invalid(
        lambda: lambda_.update_event_source_mapping(UUID=uuid, MaximumBatchingWindowInSeconds=0)
    )
    assert lambda_.get_event_source_mapping(UUID=uuid)["MaximumBatchingWindowInSeconds"] == 300  # unchanged
    fifo = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders.fifo"), FunctionName="worker",
                                               BatchSize=10)  # fmt: skip
    assert fifo["BatchSize"] == 10


def test_a_duplicate_is_a_conflict(lambda_: Any) -> None:
    first = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")
    error = error_of(
        lambda: lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="worker")
    )
    assert error.response["Error"]["Code"] == "ResourceConflictException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert error.response["Error"]["Message"] == (
        f'An event source mapping with SQS arn (" {queue_arn("orders")} ") and function (" worker ") already '
        f"exists. Please update or delete the existing mapping with UUID {first['UUID']}"
    )
    other = lambda_.create_event_source_mapping(EventSourceArn=queue_arn("orders"), FunctionName="other")
    error = error_of(lambda: lambda_.update_event_source_mapping(UUID=other["UUID"], FunctionName="worker"))
    assert error.response["Error"]["Code"] == "ResourceConflictException"


def test_parameters_of_other_sources_are_refused_by_name(lambda_: Any) -> None:
    message = invalid(lambda: lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn("orders"), FunctionName="worker", StartingPosition="LATEST"))  # fmt: skip
    assert "StartingPosition" in message
    assert "lsim simulates event source mappings from SQS queues only" in invalid(
        lambda: lambda_.create_event_source_mapping(
            EventSourceArn="arn:aws:kinesis:us-east-1:123456789012:stream/s", FunctionName="worker"
        )
    )


def test_list_filters_and_pages(lambda_: Any) -> None:
    made = [
        lambda_.create_event_source_mapping(EventSourceArn=queue_arn(f"page-{n}"), FunctionName="worker")["UUID"]
        for n in range(7)
    ]
    lambda_.create_event_source_mapping(EventSourceArn=queue_arn("page-0"), FunctionName="other")
    first = lambda_.list_event_source_mappings(FunctionName="worker", MaxItems=3)
    assert [m["UUID"] for m in first["EventSourceMappings"]] == made[:3]
    second = lambda_.list_event_source_mappings(FunctionName="worker", MaxItems=3, Marker=first["NextMarker"])
    assert [m["UUID"] for m in second["EventSourceMappings"]] == made[3:6]
    third = lambda_.list_event_source_mappings(FunctionName="worker", MaxItems=3, Marker=second["NextMarker"])
    assert [m["UUID"] for m in third["EventSourceMappings"]] == made[6:]
    assert "NextMarker" not in third
    assert [m["UUID"] for m in list_all(lambda_, FunctionName=function_arn("worker"))] == made
    by_queue = list_all(lambda_, EventSourceArn=queue_arn("page-0"))
    assert [m["FunctionArn"] for m in by_queue] == [function_arn("worker"), function_arn("other")]
    assert list_all(lambda_, EventSourceArn=queue_arn("page-0"), FunctionName="other")[0]["FunctionArn"] == (
        function_arn("other")
    )
    assert lambda_.list_event_source_mappings(FunctionName="nobody")["EventSourceMappings"] == []
    assert "Invalid marker" in invalid(lambda: lambda_.list_event_source_mappings(Marker="garbage"))


def test_a_page_holds_at_most_100(api: Api, lambda_: Any) -> None:
    queues = api.lsim.simulator.queues
    for n in range(101):
        queues.create_queue(f"many-{n}")
        lambda_.create_event_source_mapping(EventSourceArn=queue_arn(f"many-{n}"), FunctionName="worker")
    page = lambda_.list_event_source_mappings(MaxItems=1000)
    assert len(page["EventSourceMappings"]) == 100 and "NextMarker" in page
    assert len(list_all(lambda_)) == 101


def test_hostile_input(api: Api, lambda_: Any) -> None:
    status, _, body = api.raw("GET", "/2015-03-31/event-source-mappings/..%2F..%2Fetc")
    assert status == 404 and json.loads(body)["Type"] == "User"
    status, _, body = api.raw("POST", "/2015-03-31/event-source-mappings", b'{"FunctionName": "worker", '
                              b'"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders", "BatchSize": "ten"}',
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400
    status, _, body = api.raw("POST", "/2015-03-31/event-source-mappings", b'{"FunctionName": "worker", '
                              b'"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders", '
                              b'"FilterCriteria": {"Filters": "x"}}', {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400
    assert "NonExistentQueue" in invalid(lambda: lambda_.create_event_source_mapping(
        EventSourceArn="arn:aws:sqs:eu-west-1:123456789012:orders", FunctionName="worker"))  # fmt: skip
    assert list_all(lambda_) == []


def test_mappings_survive_a_restart_and_a_kill(tmp_path: Path) -> None:
    """Every change is committed before the answer: a new process on the same state sees it."""
    folder = write_project(tmp_path / "p")
    with BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim")) as lsim:
        lsim.simulator.queues.create_queue("orders")
        made = lsim.simulator.mappings.create_event_source_mapping("worker", queue_arn("orders"), batch_size=3)
    code = (
        "import sys, json, pathlib\n"
        "from simulator.project import load_project\n"
        "from simulator.simulator import Simulator\n"
        "from simulator.store import Store\n"
        f"folder = pathlib.Path({str(folder)!r})\n"
        "lsim = Simulator(load_project(folder), store=Store(folder / '.lsim'))\n"
        "m = lsim.mappings.get_event_source_mapping(sys.argv[1])\n"
        "lsim.mappings.update_event_source_mapping(m.uuid, batch_size=7)\n"
        "print(json.dumps([m.batch_size, m.state]), flush=True)\n"
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code, made.uuid], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}, timeout=120)  # fmt: skip
    assert ran.stdout.strip(), ran.stderr
    assert json.loads(ran.stdout) == [3, "Enabled"], ran.stderr
    with BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim")) as lsim:
        assert lsim.simulator.mappings.get_event_source_mapping(made.uuid).batch_size == 7


def test_the_aws_cli(api: Api, lambda_: Any) -> None:
    environment = {
        **os.environ, "AWS_ACCESS_KEY_ID": "AKIDLSIMTEST", "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
    }  # fmt: skip

    def aws(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["aws", "lambda", *arguments, "--endpoint-url", api.url, "--output", "json"],
                              capture_output=True, text=True, env=environment, timeout=120)  # fmt: skip

    ran = aws("create-event-source-mapping", "--function-name", "worker", "--event-source-arn", queue_arn("orders"),
              "--batch-size", "5", "--function-response-types", "ReportBatchItemFailures",
              "--filter-criteria", '{"Filters": [{"Pattern": "{\\"body\\": {\\"a\\": [\\"1\\"]}}"}]}')  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    created = json.loads(ran.stdout)
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    assert created["FilterCriteria"]["Filters"][0]["Pattern"] == '{"body": {"a": ["1"]}}'
    listed = json.loads(aws("list-event-source-mappings", "--function-name", "worker").stdout)
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [created["UUID"]]
    ran = aws("update-event-source-mapping", "--uuid", created["UUID"], "--no-enabled")
    assert json.loads(ran.stdout)["State"] == "Disabling"
    assert json.loads(aws("get-event-source-mapping", "--uuid", created["UUID"]).stdout)["State"] == "Disabled"
    ran = aws("create-event-source-mapping", "--function-name", "worker", "--event-source-arn", queue_arn("orders"))
    assert ran.returncode != 0 and "ResourceConflictException" in ran.stderr
    assert json.loads(aws("delete-event-source-mapping", "--uuid", created["UUID"]).stdout)["State"] == "Deleting"
    ran = aws("get-event-source-mapping", "--uuid", created["UUID"])
    assert ran.returncode != 0 and "ResourceNotFoundException" in ran.stderr
