"""`lsim generate-event`: every sample event is JSON with the fields AWS documents for it, in the project's
Region and account, and a function reads it as it reads the real thing."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.sample_events import EVENTS, TEMPLATES, Account, generate

from .cli import Ran
from .cli import lsim as run_lsim
from .conftest import HERE, REPO

READER = HERE / "sam_templates" / "events-reader"

# The fields each event carries, from AWS's pages (linked in simulator/sample_events/*.py); a path is
# keys separated by dots, `0` for the first record.
DOCUMENTED: dict[tuple[str, str], list[str]] = {
    ("apigateway", "aws-proxy"): [
        "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
        "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body", "isBase64Encoded",
        "requestContext.accountId", "requestContext.apiId", "requestContext.resourceId", "requestContext.stage",
        "requestContext.requestId", "requestContext.identity.sourceIp", "requestContext.identity.userAgent",
        "requestContext.resourcePath", "requestContext.httpMethod", "requestContext.path",
        "requestContext.protocol", "requestContext.requestTime", "requestContext.requestTimeEpoch",
        "requestContext.domainName", "requestContext.extendedRequestId",
    ],
    ("apigateway", "http-api-proxy"): [
        "version", "routeKey", "rawPath", "rawQueryString", "headers", "isBase64Encoded",
        "requestContext.accountId", "requestContext.apiId", "requestContext.domainName",
        "requestContext.domainPrefix", "requestContext.http.method", "requestContext.http.path",
        "requestContext.http.protocol", "requestContext.http.sourceIp", "requestContext.http.userAgent",
        "requestContext.requestId", "requestContext.routeKey", "requestContext.stage", "requestContext.time",
        "requestContext.timeEpoch",
    ],
    ("sqs", "receive-message"): [
        "Records.0.messageId", "Records.0.receiptHandle", "Records.0.body", "Records.0.attributes.ApproximateReceiveCount",
        "Records.0.attributes.SentTimestamp", "Records.0.attributes.SenderId",
        "Records.0.attributes.ApproximateFirstReceiveTimestamp", "Records.0.messageAttributes", "Records.0.md5OfBody",
        "Records.0.eventSource", "Records.0.eventSourceARN", "Records.0.awsRegion",
    ],
    ("sns", "notification"): [
        "Records.0.EventVersion", "Records.0.EventSubscriptionArn", "Records.0.EventSource",
        "Records.0.Sns.SignatureVersion", "Records.0.Sns.Timestamp", "Records.0.Sns.Signature",
        "Records.0.Sns.SigningCertUrl", "Records.0.Sns.MessageId", "Records.0.Sns.Message",
        "Records.0.Sns.MessageAttributes", "Records.0.Sns.Type", "Records.0.Sns.UnsubscribeUrl",
        "Records.0.Sns.TopicArn", "Records.0.Sns.Subject",
    ],
    ("s3", "put"): [
        "Records.0.eventVersion", "Records.0.eventSource", "Records.0.awsRegion", "Records.0.eventTime",
        "Records.0.eventName", "Records.0.userIdentity.principalId", "Records.0.requestParameters.sourceIPAddress",
        "Records.0.responseElements.x-amz-request-id", "Records.0.responseElements.x-amz-id-2",
        "Records.0.s3.s3SchemaVersion", "Records.0.s3.configurationId", "Records.0.s3.bucket.name",
        "Records.0.s3.bucket.ownerIdentity.principalId", "Records.0.s3.bucket.arn", "Records.0.s3.object.key",
        "Records.0.s3.object.size", "Records.0.s3.object.eTag", "Records.0.s3.object.sequencer",
    ],
    ("s3", "delete"): [
        "Records.0.eventName", "Records.0.s3.bucket.name", "Records.0.s3.bucket.arn", "Records.0.s3.object.key",
        "Records.0.s3.object.sequencer",
    ],
    ("eventbridge", "event"): ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
    ("dynamodb", "update"): [
        "Records.0.eventID", "Records.0.eventName", "Records.0.eventVersion", "Records.0.eventSource",
        "Records.0.awsRegion", "Records.0.eventSourceARN", "Records.0.dynamodb.ApproximateCreationDateTime",
        "Records.0.dynamodb.Keys", "Records.0.dynamodb.NewImage", "Records.0.dynamodb.OldImage",
        "Records.0.dynamodb.SequenceNumber", "Records.0.dynamodb.SizeBytes", "Records.0.dynamodb.StreamViewType",
    ],
    ("kinesis", "get-records"): [
        "Records.0.kinesis.kinesisSchemaVersion", "Records.0.kinesis.partitionKey",
        "Records.0.kinesis.sequenceNumber", "Records.0.kinesis.data", "Records.0.kinesis.approximateArrivalTimestamp",
        "Records.0.eventSource", "Records.0.eventVersion", "Records.0.eventID", "Records.0.eventName",
        "Records.0.invokeIdentityArn", "Records.0.awsRegion", "Records.0.eventSourceARN",
    ],
    ("cloudwatch", "scheduled-event"): [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail",
    ],
}  # fmt: skip
ARN = re.compile(r"^arn:aws:[a-z0-9-]+:(eu-west-1)?:(210987654321)?:.+")


def field(event: Any, path: str) -> Any:
    for part in path.split("."):
        event = event[int(part)] if isinstance(event, list) else event[part]
    return event


def lsim(*args: str, cwd: Path = REPO) -> Ran:
    return run_lsim(*args, cwd=cwd)


@pytest.fixture(scope="module")
def project_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project in eu-west-1, account 210987654321: generated events carry its Region and account."""
    folder = tmp_path_factory.mktemp("events-project")
    (folder / "src").mkdir()
    (folder / "lsim.toml").write_text(
        '[settings]\nregion = "eu-west-1"\naccount_id = "210987654321"\n'
        '[functions.f]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    return folder


def test_every_documented_service_has_a_template() -> None:
    assert set(EVENTS) == set(DOCUMENTED)


@pytest.mark.parametrize(("service", "event"), list(DOCUMENTED), ids=lambda v: str(v))
def test_each_event_is_json_with_the_fields_aws_documents(service: str, event: str, project_folder: Path) -> None:
    done = lsim("generate-event", service, event, cwd=project_folder)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    for path in DOCUMENTED[(service, event)]:
        field(payload, path)  # KeyError names the missing field
    text = done.stdout
    assert "us-east-1" not in text and "123456789012" not in text  # the project's Region and account only
    arns = re.findall(r'"(arn:[^"]+)"', text)
    assert arns or service in ("apigateway", "eventbridge"), text
    for arn in arns:
        assert ARN.match(arn), arn


def test_options_set_the_common_fields() -> None:
    rest = generate("apigateway", "aws-proxy", method="post", path="/orders/42", resource="/orders/{id}",
                    body='{"qty": 2}', query="a=1&a=2&b=x", headers=["X-Api-Key: k1"],
                    path_parameters={"id": "42"}, stage="v1")  # fmt: skip
    assert (rest["httpMethod"], rest["path"], rest["resource"]) == ("POST", "/orders/42", "/orders/{id}")
    assert rest["queryStringParameters"] == {"a": "2", "b": "x"}
    assert rest["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert rest["headers"]["X-Api-Key"] == "k1" and rest["multiValueHeaders"]["X-Api-Key"] == ["k1"]
    assert rest["requestContext"]["path"] == "/v1/orders/42" and rest["pathParameters"] == {"id": "42"}
    assert json.loads(rest["body"]) == {"qty": 2} and rest["isBase64Encoded"] is False
    encoded = generate("apigateway", "aws-proxy", body="raw bytes", base64_body=True)
    assert encoded["isBase64Encoded"] and base64.b64decode(encoded["body"]) == b"raw bytes"

    http = generate("apigateway", "http-api-proxy", method="put", path="/items", query="x=1&x=2",
                    headers=["Cookie: a=1; b=2", "X-Multi: 1", "X-Multi: 2"])  # fmt: skip
    assert http["routeKey"] == "PUT /items" and http["rawQueryString"] == "x=1&x=2"
    assert http["queryStringParameters"] == {"x": "1,2"} and http["cookies"] == ["a=1", "b=2"]
    assert http["headers"]["x-multi"] == "1,2" and "cookie" not in http["headers"]

    sqs = generate("sqs", "receive-message", bodies=["one", "two"], queue_name="orders.fifo")
    assert [r["body"] for r in sqs["Records"]] == ["one", "two"]
    for record in sqs["Records"]:
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
        assert record["attributes"]["MessageGroupId"] and record["attributes"]["SequenceNumber"]

    s3 = generate("s3", "put", bucket="photos", key="2024/my photo+1.jpg", size=7)["Records"][0]
    assert s3["eventName"] == "ObjectCreated:Put" and s3["s3"]["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert s3["s3"]["object"]["key"] == "2024/my+photo%2B1.jpg"  # URL-encoded, as S3 sends it
    assert unquote_plus(s3["s3"]["object"]["key"]) == "2024/my photo+1.jpg" and s3["s3"]["object"]["size"] == 7
    removed = generate("s3", "delete", bucket="photos", key="k")["Records"][0]
    assert removed["eventName"] == "ObjectRemoved:Delete" and "size" not in removed["s3"]["object"]

    kinesis = generate("kinesis", "get-records", data=["first", "second"], stream_name="clicks")
    records = kinesis["Records"]
    assert [base64.b64decode(r["kinesis"]["data"]).decode() for r in records] == ["first", "second"]
    assert int(records[1]["kinesis"]["sequenceNumber"]) == int(records[0]["kinesis"]["sequenceNumber"]) + 1
    assert records[0]["eventID"] == "shardId-000000000000:" + records[0]["kinesis"]["sequenceNumber"]

    ddb = generate("dynamodb", "update", table_name="orders", keys={"pk": "a", "n": 1},
                   new_image={"tags": ["x"], "ok": True, "gone": None, "nested": {"f": 1.5}})  # fmt: skip
    image = ddb["Records"][0]["dynamodb"]["NewImage"]
    assert image == {"pk": {"S": "a"}, "n": {"N": "1"}, "tags": {"L": [{"S": "x"}]}, "ok": {"BOOL": True},
                     "gone": {"NULL": True}, "nested": {"M": {"f": {"N": "1.5"}}}}  # fmt: skip
    assert ddb["Records"][0]["eventSourceARN"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/"
    )
    inserted = generate("dynamodb", "update", event_name="INSERT")["Records"][0]["dynamodb"]
    assert "OldImage" not in inserted and "NewImage" in inserted

    bus = generate("eventbridge", "event", source="shop", detail_type="Paid", detail={"id": 7}, resources=["r"])
    assert (bus["source"], bus["detail-type"], bus["detail"], bus["resources"]) == ("shop", "Paid", {"id": 7}, ["r"])
    schedule = generate("cloudwatch", "scheduled-event", Account("eu-west-1", "210987654321"), rule_name="nightly")
    assert schedule["resources"] == ["arn:aws:events:eu-west-1:210987654321:rule/nightly"]
    assert schedule["detail-type"] == "Scheduled Event" and schedule["source"] == "aws.events"


def test_bad_options_are_refused_with_the_form_to_use() -> None:
    bad_json = lsim("generate-event", "eventbridge", "event", "--detail", "{nope")
    assert bad_json.returncode == 2 and "--detail: not valid JSON" in bad_json.stderr
    bad_header = lsim("generate-event", "apigateway", "aws-proxy", "--header", "NoColon")
    assert bad_header.returncode == 2 and "write it as 'Name: value'" in bad_header.stderr
    bad_name = lsim("generate-event", "dynamodb", "update", "--event-name", "UPSERT")
    assert bad_name.returncode == 2 and "use INSERT, MODIFY or REMOVE" in bad_name.stderr
    with pytest.raises(ValueError, match="no sample event sqs nope"):
        generate("sqs", "nope")


@pytest.fixture(scope="module")
def reader() -> Iterator[BlockingSimulator]:
    """A function that reads each kind of event as a real handler does (a SAM template, process backend)."""
    with BlockingSimulator(load_project(READER, warn=lambda _: None), backend="process") as lsim_:
        yield lsim_


def read(reader: BlockingSimulator, *args: str) -> Any:
    """Generate an event with the CLI, as a user does, and invoke the reader function with it."""
    done = lsim("generate-event", *args)
    assert done.returncode == 0, done.stderr
    result = reader.invoke("ReaderFunction", done.stdout)
    assert result.ok, result.body
    return result.payload


def test_a_function_reads_the_generated_events(reader: BlockingSimulator) -> None:
    assert read(reader, "sqs", "receive-message", "--body", '{"job": 1}', "--body", "two", "--queue-name", "jobs") == {
        "kind": "sqs", "bodies": ['{"job": 1}', "two"], "queue": "arn:aws:sqs:us-east-1:123456789012:jobs",
    }  # fmt: skip
    assert read(reader, "sns", "notification", "--message", "ping", "--topic-name", "alerts") == {
        "kind": "sns", "message": "ping", "topic": "arn:aws:sns:us-east-1:123456789012:alerts",
    }  # fmt: skip
    assert read(reader, "s3", "put", "--bucket", "photos", "--key", "a b.jpg", "--size", "5") == {
        "kind": "s3", "event": "ObjectCreated:Put", "bucket": "photos", "key": "a b.jpg", "size": 5,
    }  # fmt: skip
    assert read(reader, "s3", "delete", "--bucket", "photos", "--key", "old.txt")["event"] == "ObjectRemoved:Delete"
    assert read(reader, "kinesis", "get-records", "--data", "hello", "--data", "world") == {
        "kind": "kinesis", "data": ["hello", "world"], "stream": "arn:aws:kinesis:us-east-1:123456789012:stream/my-stream",
    }  # fmt: skip
    assert read(reader, "dynamodb", "update", "--keys", '{"id": 7}', "--new-image", '{"state": "paid"}') == {
        "kind": "dynamodb", "event": "MODIFY", "keys": {"id": {"N": "7"}},
        "new": {"id": {"N": "7"}, "state": {"S": "paid"}},
    }  # fmt: skip
    assert read(reader, "apigateway", "aws-proxy", "--method", "POST", "--path", "/orders", "--body", '{"qty": 1}',
                "--query", "dry=1") == {
        "kind": "rest-api", "method": "POST", "path": "/orders", "body": {"qty": 1}, "query": {"dry": "1"},
    }  # fmt: skip
    assert read(reader, "apigateway", "http-api-proxy", "--method", "DELETE", "--path", "/items/3") == {
        "kind": "http-api", "method": "DELETE", "path": "/items/3", "body": None, "query": None,
    }  # fmt: skip
    assert read(reader, "eventbridge", "event", "--detail-type", "Paid", "--detail", '{"id": 3}') == {
        "kind": "eventbridge", "detail_type": "Paid", "source": "com.example.orders", "detail": {"id": 3},
        "resources": [],
    }  # fmt: skip
    scheduled = read(reader, "cloudwatch", "scheduled-event", "--rule-name", "nightly")
    assert scheduled["detail_type"] == "Scheduled Event"
    assert scheduled["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]


def test_every_template_is_listed_in_the_cli_help() -> None:
    done = lsim("generate-event", "--help")
    assert done.returncode == 0
    for template in TEMPLATES:
        assert template.service in done.stdout
        service_help = lsim("generate-event", template.service, "--help")
        assert template.name in service_help.stdout, service_help.stdout
