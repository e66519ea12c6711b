"""SQS event source mappings in template.yaml: a SAM function's `Events: Type: SQS` and
AWS::Lambda::EventSourceMapping resources become the function's declared mappings, as SAM's transform makes
them (the AutoPublishAlias, only the properties given, AWSLambdaSQSQueueExecutionRole on the generated role),
and the Simulator creates them when it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.clock import RealClock
from simulator.errors import ProjectFileError
from simulator.project import load_project
from simulator.queues import QueueService
from simulator.store import Store

from .test_sam import line, write

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  OrderQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt OrderQueue.Arn
            BatchSize: 20
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 4
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
        Api:
          Type: Api
          Properties:
            Path: /
            Method: get
"""


def test_sqs_event_becomes_a_declared_mapping(tmp_path: Path) -> None:
    said: list[str] = []
    path = write(tmp_path, TEMPLATE)
    worker = load_project(path, warn=said.append).functions["Worker"]
    event = worker.events["Orders"]
    assert event.queue == "orders"
    assert (event.batch_size, event.maximum_batching_window_in_seconds, event.maximum_concurrency) == (20, 2, 4)
    assert event.function_response_types == ["ReportBatchItemFailures"]
    assert event.filters == ['{"body": {"kind": ["order"]}}']
    assert event.enabled and event.qualifier is None
    assert event.declared_at == f"{path}:{line(path, 'Orders:')} Resources.Worker.Properties.Events.Orders"
    assert not any("Events.Orders" in m for m in said), said  # no longer "not supported"
    assert worker.http_events["Api"].path == "/"  # an Api event is a route (test_http_declarations.py)
    # SAM's transform adds the SQS execution role's managed policy to the role it makes
    assert worker.role is not None and worker.role.policies == [
        "AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole",
    ]  # fmt: skip


def test_the_mapping_invokes_the_auto_publish_alias(tmp_path: Path) -> None:
    template = TEMPLATE.replace("Runtime: python3.11", "Runtime: python3.11\n      AutoPublishAlias: live")
    assert load_project(write(tmp_path, template)).functions["Worker"].events["Orders"].qualifier == "live"


def test_an_event_source_mapping_resource(tmp_path: Path) -> None:
    template = """\
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Lambda::Function
    Properties:
      Code: src/
      Handler: app.handler
      Runtime: python3.11
      Role: arn:aws:iam::123456789012:role/worker
  WorkerQueueMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Worker
      EventSourceArn: !GetAtt Queue.Arn
      BatchSize: 5
      Enabled: false
  StreamMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !GetAtt Worker.Arn
      EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/s
"""
    said: list[str] = []
    path = write(tmp_path, template)
    worker = load_project(path, warn=said.append).functions["Worker"]
    (name, event), = worker.events.items()  # fmt: skip
    assert name == "WorkerQueueMapping"
    assert event.batch_size == 5 and event.enabled is False
    assert event.queue  # CloudFormation's generated name for the queue, as its ARN gives it
    assert any(f":{line(path, 'StreamMapping:')}: Resources.StreamMapping (AWS::Lambda::EventSourceMapping of "
               "arn:aws:kinesis" in m for m in said)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("BatchSize: 20", "BatchSize: 20000"), "Value '20000' at 'batchSize'"),
        (("MaximumBatchingWindowInSeconds: 2", "MaximumBatchingWindowInSeconds: 0"), "Maximum batch window in "
         "seconds must be greater than 0"),
        (("MaximumConcurrency: 4", "MaximumConcurrency: 1"), "Value '1' at 'scalingConfig.maximumConcurrency'"),
        (("Queue: !GetAtt OrderQueue.Arn", "Queue: orders"), "orders is not an SQS queue's ARN"),
    ],
)  # fmt: skip
def test_bad_events_name_the_file_line_and_property(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, TEMPLATE.replace(*change))
    with pytest.raises(ProjectFileError) as caught:
        load_project(path)
    assert str(path) in str(caught.value) and "Events" in str(caught.value)
    assert message in str(caught.value)


def test_the_simulator_creates_the_templates_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, TEMPLATE.replace("Runtime: python3.11", "Runtime: python3.11\n      Timeout: 10"))
    store = Store(tmp_path / ".lsim")
    QueueService(store, RealClock(), region="us-east-1", account_id="123456789012").create_queue("orders")
    with BlockingSimulator(load_project(path), backend="process", store=store) as lsim:
        (mapping,) = lsim.simulator.mappings.all()
    assert mapping.function_name == "Worker" and mapping.queue_name == "orders"
    assert mapping.batch_size == 20 and mapping.maximum_concurrency == 4
    assert mapping.declared_by == "functions.Worker.events.Orders"


def test_a_template_queue_and_its_mapping_at_start(tmp_path: Path) -> None:
    """An AWS::SQS::Queue without QueueName and the function's SQS event on it: both made when lsim starts."""
    template = TEMPLATE.replace(
        "    Properties:\n      QueueName: orders\n", "    Properties:\n      VisibilityTimeout: 60\n"
    )
    path = write(tmp_path, template.replace("Runtime: python3.11", "Runtime: python3.11\n      Timeout: 45"))
    with BlockingSimulator(load_project(path), backend="process", store=Store(tmp_path / ".lsim")) as lsim:
        (mapping,) = lsim.simulator.mappings.all()
        queue = lsim.simulator.queues.queue(mapping.queue_name)
    assert queue.attributes.visibility_timeout == 60 and mapping.event_source_arn == queue.arn
