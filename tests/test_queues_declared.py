"""Queues declared in lsim.toml (`[queues.NAME]`) and in a template (`AWS::SQS::Queue`): read with the
project, refused with the file and key named, created when a Simulator starts and updated when the
declaration changes (real SQLite; the process backend: no container is needed to start)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.errors import ProjectFileError
from simulator.project import load_project

from .test_sam import write

FUNCTION = """
[functions.worker]
handler = "app.handler"
runtime = "python3.12"
code = "src"
"""

DECLARED = (
    FUNCTION
    + """
[queues.orders]
visibility_timeout = 60
MessageRetentionPeriod = 86400
redrive_policy = { dead_letter_queue = "orders-dlq", max_receive_count = 3 }
tags = { team = "shop" }

[queues.orders-dlq]
message_retention_period = 1209600

[queues."events.fifo"]
fifo_queue = true
content_based_deduplication = true
"""
)


def project_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "lsim.toml"
    path.write_text(text)
    return path


def test_lsim_toml_queues_are_read(tmp_path: Path) -> None:
    project = load_project(project_file(tmp_path, DECLARED))
    orders = project.queues["orders"]
    assert orders.attributes["VisibilityTimeout"] == "60" and orders.attributes["MessageRetentionPeriod"] == "86400"
    assert json.loads(orders.attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
        "maxReceiveCount": 3,
    }
    assert orders.tags == {"team": "shop"}
    assert project.queues["events.fifo"].fifo and not project.queues["orders-dlq"].fifo


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[queues.q]\nvisibility_timeout = 43201', "lsim.toml: queues.q.VisibilityTimeout: Invalid value for the parameter VisibilityTimeout"),
        ('[queues.q]\nvisibilty_timeout = 5', "lsim.toml: queues.q.visibilty_timeout: unknown key"),
        ('[queues.q]\nmaximum_message_size = 1048577', "queues.q.MaximumMessageSize: Invalid value"),
        ('[queues.q]\nredrive_policy = { dead_letter_queue = "nope", max_receive_count = 3 }', "queues.q.RedrivePolicy: the dead-letter queue 'nope' is not declared"),
        ('[queues.q]\nredrive_policy = { dead_letter_queue = "d", max_receive_count = 1001 }\n[queues.d]', "queues.q.RedrivePolicy: Value"),
        ('[queues.q]\nredrive_policy = { dead_letter_queue = "d.fifo", max_receive_count = 3 }\n[queues."d.fifo"]\nfifo_queue = true', "the dead-letter queue of a standard queue must be standard too"),
        ('[queues.q]\nredrive_policy = { dlq = "d" }', "queues.q.redrive_policy.dlq: unknown key"),
        ('[queues."q.fifo"]\nvisibility_timeout = 5', "queues.q.fifo: queue name 'q.fifo'"),
        ('[queues."bad name"]', "queues.bad name: queue name 'bad name'"),
        ('[queues.q]\ncontent_based_deduplication = true', "queues.q.ContentBasedDeduplication: Unknown Attribute ContentBasedDeduplication."),
        ("[queues]\nq = 1", "queues.q must be a table"),
    ],
)  # fmt: skip
def test_bad_declarations_name_the_file_and_key(tmp_path: Path, table: str, expected: str) -> None:
    with pytest.raises(ProjectFileError) as raised:
        load_project(project_file(tmp_path, FUNCTION + table))
    assert expected in str(raised.value)
    assert str(tmp_path / "lsim.toml") in str(raised.value)


TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          QUEUE_URL: !Ref Orders
          QUEUE_ARN: !GetAtt Orders.Arn
          QUEUE_NAME: !GetAtt Orders.QueueName
          FIFO_URL: !GetAtt Events.QueueUrl
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
      VisibilityTimeout: 120
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrdersDLQ.Arn
        maxReceiveCount: 5
      Tags:
        - Key: team
          Value: shop
  OrdersDLQ:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  Events:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
      RedrivePolicy: !Sub '{"deadLetterTargetArn": "${EventsDLQ.Arn}", "maxReceiveCount": 2}'
  EventsDLQ:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      SqsManagedSseEnabled: false
      KmsMasterKeyId: alias/aws/sqs
"""


def test_template_queues_are_declared_with_refs_resolved(tmp_path: Path) -> None:
    said: list[str] = []
    project = load_project(write(tmp_path, TEMPLATE), warn=said.append)
    assert sorted(project.queues) == ["Events.fifo", "EventsDLQ.fifo", "OrdersDLQ", "orders"]
    orders = project.queues["orders"]
    assert orders.attributes["VisibilityTimeout"] == "120" and orders.tags == {"team": "shop"}
    assert json.loads(orders.attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:OrdersDLQ",
        "maxReceiveCount": 5,
    }
    assert json.loads(project.queues["Events.fifo"].attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(
        ":EventsDLQ.fifo"
    )
    variables = project.functions["Worker"].environment
    assert variables["QUEUE_URL"] == "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
    assert variables["QUEUE_ARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert variables["QUEUE_NAME"] == "orders"
    assert variables["FIFO_URL"].endswith("/123456789012/Events.fifo")
    assert not [m for m in said if "SQS" in m or "KmsMasterKeyId" in m], said  # nothing left out


def test_a_bad_template_queue_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, TEMPLATE.replace("VisibilityTimeout: 120", "VisibilityTimeout: 50000"))
    with pytest.raises(
        ProjectFileError, match=r"template.yaml:\d+: Resources.Orders.Properties.VisibilityTimeout: Invalid value"
    ):
        load_project(path)
    path = write(tmp_path, TEMPLATE.replace("QueueName: orders", "QueueName: orders\n      Unknown: 1"))
    said: list[str] = []
    load_project(path, warn=said.append)
    assert any("Resources.Orders.Properties.Unknown not supported by lsim: ignored" in m for m in said)


def test_a_simulator_creates_declared_queues_and_follows_changes(tmp_path: Path) -> None:
    path = project_file(tmp_path, DECLARED)
    said: list[str] = []
    with BlockingSimulator(load_project(path), backend="process", warn=said.append) as lsim:
        queues = lsim.simulator.queues
        assert [q.name for q in queues.list_queues()] == ["events.fifo", "orders", "orders-dlq"]
        attributes = queues.get_attributes("orders")
        assert attributes["VisibilityTimeout"] == "60"
        assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(":orders-dlq")
        queues.send_message("orders", "kept across restarts")
        queues.set_attributes("orders", {"DelaySeconds": "7"})  # a change through the API
    assert not said
    with BlockingSimulator(load_project(path), backend="process", warn=said.append) as lsim:
        queues = lsim.simulator.queues
        assert queues.get_attributes("orders")["DelaySeconds"] == "7"  # the declaration did not change
        assert queues.metrics("orders").approximate_number_of_messages_visible == 1
    path.write_text(DECLARED.replace("visibility_timeout = 60", "visibility_timeout = 90").replace(
        'redrive_policy = { dead_letter_queue = "orders-dlq", max_receive_count = 3 }\n', ""))  # fmt: skip
    with BlockingSimulator(load_project(path), backend="process", warn=said.append) as lsim:
        attributes = lsim.simulator.queues.get_attributes("orders")
        assert attributes["VisibilityTimeout"] == "90" and attributes["DelaySeconds"] == "0"
        assert "RedrivePolicy" not in attributes
        assert lsim.simulator.queues.metrics("orders").approximate_number_of_messages_visible == 1
    assert said == [f"lsim: updated queue orders as {path}: queues.orders now declares it"]
    path.write_text(DECLARED.replace("[queues.orders-dlq]", "[queues.orders-dlq]\nfifo_queue = true"))
    with pytest.raises(ProjectFileError):  # a standard queue's dead-letter queue cannot be FIFO
        load_project(path)


def test_a_changed_queue_declaration_asks_serve_watch_for_a_restart(tmp_path: Path) -> None:
    from simulator.project_changes import compare_projects

    path = project_file(tmp_path, DECLARED)
    before = load_project(path)
    path.write_text(DECLARED.replace("visibility_timeout = 60", "visibility_timeout = 61"))
    assert compare_projects(before, load_project(path)).needs_restart == ["queues"]
    assert not compare_projects(before, load_project(project_file(tmp_path, DECLARED)))
