"""The SQS API on `lsim serve`'s port, driven by real clients over real HTTP against a real ApiServer and SQLite:
boto3 on the JSON protocol (what boto3 speaks today), boto3 on the query protocol (what older SDKs speak:
tests/sqs_query_client.py), hand-made query requests, and the AWS CLI."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.sqs_query_client import query_client
from tests.test_api import Api, serve, write_project

ACCOUNT = "123456789012"


@pytest.fixture(scope="module", autouse=True)
def _own_account(module_lsim_home: Path) -> Path:
    return module_lsim_home


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("sqs-api")), "process")


def sqs(api: Api) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=api.url,
        region_name="us-east-1",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


@pytest.fixture(scope="module")
def query(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return query_client(tmp_path_factory.mktemp("query-model"), api.url)


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response


def signed(api: Api, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
           service: str = "sqs") -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """A request signed as an SDK signs it (SigV4, service `sqs`), sent as given."""
    request = AWSRequest(method=method, url=api.url + path, data=body, headers=headers or {})
    SigV4Auth(Credentials("anything", "anything"), service, "us-east-1").add_auth(request)
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(method, path, body=body or None, headers=dict(request.headers))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# -- boto3, JSON protocol ------------------------------------------------------------------------------------
def test_queue_lifecycle_through_boto3(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    assert url == f"{api.url}/{ACCOUNT}/orders"  # built from the Host the client used
    assert client.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "5"})["QueueUrl"] == url
    assert client.get_queue_url(QueueName="orders")["QueueUrl"] == url
    assert url in client.list_queues(QueueNamePrefix="ord")["QueueUrls"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "5"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
    assert "Attributes" not in client.get_queue_attributes(QueueUrl=url)  # no names: empty results
    client.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0", "MaximumMessageSize": "2048"})
    only = client.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"]
    assert only == {"MaximumMessageSize": "2048"}
    client.delete_queue(QueueUrl=url)
    assert url not in client.list_queues().get("QueueUrls", [])


def test_send_receive_delete_with_attributes_and_md5s(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="messages")["QueueUrl"]
    sent = client.send_message(
        QueueUrl=url,
        MessageBody="msg",
        MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"},
                           "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    )  # fmt: skip
    assert sent["MD5OfMessageBody"] == "6e2baaf3b97dbeef01c0043275f9a0e7"  # md5("msg"), recorded against AWS
    assert "SequenceNumber" not in sent and "MD5OfMessageAttributes" in sent
    received = client.receive_message(
        QueueUrl=url, MessageAttributeNames=["Foo"], MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert len(received) == 1
    message = received[0]
    assert message["Body"] == "msg" and message["MessageId"] == sent["MessageId"]
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}
    assert message["MessageAttributes"] == {"Foo": {"StringValue": "Bar", "DataType": "String"}}
    assert message["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"  # {"Foo": "Bar"}, AWS's
    assert "Messages" not in client.receive_message(QueueUrl=url)  # in flight; an empty receive has no key
    client.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = client.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"][0]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["MessageAttributes"]["Blob"] == {"BinaryValue": b"\x00\x01", "DataType": "Binary"}
    client.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                       "ApproximateNumberOfMessagesNotVisible"])["Attributes"] == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}  # fmt: skip


def test_batches_and_their_per_entry_failures(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="batches", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    result = client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "x" * 1025},
                               {"Id": "c", "MessageBody": "three", "DelaySeconds": 0}],
    )  # fmt: skip
    assert [entry["Id"] for entry in result["Successful"]] == ["a", "c"]
    assert result["Failed"] == [{"Id": "b", "SenderFault": True, "Code": "InvalidParameterValue",
                                 "Message": "One or more parameters cannot be validated. Reason: Message must be "
                                            "shorter than 1024 bytes."}]  # fmt: skip
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in messages) == ["one", "three"]
    handles = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    changed = client.change_message_visibility_batch(
        QueueUrl=url, Entries=[{**h, "VisibilityTimeout": 60} for h in handles]
    )
    assert sorted(e["Id"] for e in changed["Successful"]) == ["m0", "m1"] and "Failed" not in changed
    deleted = client.delete_message_batch(QueueUrl=url, Entries=[*handles, {"Id": "bad", "ReceiptHandle": "garbage"}])
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["m0", "m1"]
    assert [(f["Id"], f["Code"]) for f in deleted["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]


def test_batch_request_errors(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="batch-errors")["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)]
    error = error_of(client.send_message_batch, QueueUrl=url, Entries=entries)
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert error["Error"]["Message"] == "Maximum number of entries per request are 10. You have sent 11."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    error = error_of(client.send_message_batch, QueueUrl=url, Entries=[])
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"
    error = error_of(client.delete_message_batch, QueueUrl=url,
                     Entries=[{"Id": "same", "ReceiptHandle": "a"}, {"Id": "same", "ReceiptHandle": "b"}])  # fmt: skip
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    error = error_of(client.send_message_batch, QueueUrl=url, Entries=[{"Id": "invalid:id", "MessageBody": "x"}])
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    big = [{"Id": "a", "MessageBody": "x" * 1_048_576}, {"Id": "b", "MessageBody": "y"}]
    error = error_of(client.send_message_batch, QueueUrl=url, Entries=big)
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert (
        error["Error"]["Message"] == "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    )


def test_errors_have_awss_codes_and_boto3s_exception_classes(api: Api) -> None:
    client = sqs(api)
    with pytest.raises(client.exceptions.QueueDoesNotExist) as missing:
        client.get_queue_url(QueueName="nowhere")
    assert missing.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert missing.value.response["Error"]["Message"] == "The specified queue does not exist."
    with pytest.raises(client.exceptions.QueueDoesNotExist):
        client.send_message(QueueUrl=f"{api.url}/{ACCOUNT}/nowhere", MessageBody="x")
    with pytest.raises(client.exceptions.QueueDoesNotExist):  # another account's queue
        client.send_message(QueueUrl=f"{api.url}/000000000000/errors", MessageBody="x")
    url = client.create_queue(QueueName="errors", Attributes={"DelaySeconds": "1"})["QueueUrl"]
    error = error_of(client.create_queue, QueueName="errors", Attributes={"DelaySeconds": "2"})
    assert error["Error"]["Code"] == "QueueAlreadyExists"
    assert error["Error"]["Message"].endswith("attribute DelaySeconds")
    error = error_of(client.get_queue_attributes, QueueUrl=url, AttributeNames=["Foobar"])
    assert error["Error"] == {**error["Error"], "Code": "InvalidAttributeName", "Message": "Unknown Attribute Foobar."}
    error = error_of(client.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "50000"})
    assert error["Error"]["Code"] == "InvalidAttributeValue"
    error = error_of(client.delete_message, QueueUrl=url, ReceiptHandle="garbage")
    assert error["Error"]["Code"] == "ReceiptHandleIsInvalid"
    assert error["Error"]["Message"] == 'The input receipt handle "garbage" is not a valid receipt handle.'
    error = error_of(client.send_message, QueueUrl=url, MessageBody="x" * 1_048_577)
    assert error["Error"]["Code"] == "InvalidParameterValue"
    assert error["Error"]["Message"] == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )
    error = error_of(client.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    assert error["Error"]["Message"] == (
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
    )
    error = error_of(client.receive_message, QueueUrl=url, WaitTimeSeconds=21)
    assert error["Error"]["Code"] == "InvalidParameterValue"
    error = error_of(client.send_message, QueueUrl=url, MessageBody="")
    assert error["Error"]["Code"] == "MissingParameter"
    assert error["Error"]["Message"] == "The request must contain the parameter MessageBody."


def test_json_requests_lsim_does_not_serve_and_hostile_bodies(api: Api) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    status, answer, body = signed(
        api, "POST", "/", body=b"{}", headers={**headers, "X-Amz-Target": "AmazonSQS.TagQueue"}
    )
    assert status == 400 and answer["x-amzn-query-error"] == "InvalidAction;Sender"
    assert json.loads(body)["message"] == "The action TagQueue is not valid for this endpoint."
    for bad in (b"not json", b"[1, 2]", b'{"QueueName": 5}', b'{"QueueName": "q", "Attributes": {"A": 1}}'):
        status, answer, body = signed(
            api, "POST", "/", body=bad, headers={**headers, "X-Amz-Target": "AmazonSQS.CreateQueue"}
        )
        assert status == 400, bad
        assert "__type" in json.loads(body) and "x-amzn-requestid" in answer
    status, _, body = signed(api, "POST", "/", body=b"{}", headers={**headers, "X-Amz-Target": "AmazonSQS.GetQueueUrl"})
    assert status == 400 and json.loads(body)["message"] == "The request must contain the parameter QueueName."
    # boto3 signs for `sqs`; a signature for another service is refused as AWS refuses it
    status, _, body = signed(api, "POST", "/", body=b"{}", headers={**headers, "X-Amz-Target": "AmazonSQS.ListQueues"},
                             service="dynamodb")  # fmt: skip
    assert status == 403 and b"scoped to correct service" in body


def test_json_to_a_queue_url_path_as_the_php_sdk_sends_it(api: Api) -> None:
    url = sqs(api).create_queue(QueueName="php")["QueueUrl"]
    body = json.dumps({"QueueUrl": url, "MessageBody": "from php"}).encode()
    status, answer, text = signed(api, "POST", f"/{ACCOUNT}/php", body=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"})  # fmt: skip
    assert status == 200 and answer["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(text)["MD5OfMessageBody"] == hashlib.md5(b"from php").hexdigest()


def test_the_lambda_api_still_answers_on_the_same_port(api: Api) -> None:
    assert api.client().get_account_settings()["AccountLimit"]["ConcurrentExecutions"] > 0
    assert sqs(api).list_queues() is not None


# -- long polling ----------------------------------------------------------------------------------------
def test_a_long_poll_returns_when_another_client_sends_and_the_server_answers_meanwhile(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="long-poll")["QueueUrl"]
    answers: list[dict[str, Any]] = []
    poll = threading.Thread(target=lambda: answers.append(client.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poll.start()
    other = sqs(api)
    deadline = time.monotonic() + 20
    while not api.lsim.call(_waiting(api, "long-poll")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert poll.is_alive()  # waiting, and meanwhile other requests are served
    assert other.get_queue_url(QueueName="long-poll")["QueueUrl"] == url
    assert api.client().get_account_settings() is not None
    other.send_message(QueueUrl=url, MessageBody="wake up")
    poll.join(30)
    assert not poll.is_alive()
    assert [m["Body"] for m in answers[0]["Messages"]] == ["wake up"]


async def _waiting(api: Api, name: str) -> bool:
    """Whether a receive is waiting on the queue (the server holds the long poll)."""
    return api.server.api.in_flight > 0


def test_a_long_poll_on_an_empty_queue_ends_empty_after_its_wait(api: Api) -> None:
    client = sqs(api)
    url = client.create_queue(QueueName="empty-poll", Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    assert "Messages" not in client.receive_message(QueueUrl=url)  # the queue's wait time: 1 s
    assert "Messages" not in client.receive_message(QueueUrl=url, WaitTimeSeconds=1)


# -- the query protocol -------------------------------------------------------------------------------------
def test_the_query_protocol_through_botocore(api: Api, query: Any) -> None:
    url = query.create_queue(QueueName="query-q", Attributes={"VisibilityTimeout": "7"}, tags={"team": "a"})["QueueUrl"]
    assert url == f"{api.url}/{ACCOUNT}/query-q"
    assert query.get_queue_url(QueueName="query-q")["QueueUrl"] == url
    assert url in query.list_queues(QueueNamePrefix="query")["QueueUrls"]
    attributes = query.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "7"
    query.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "9"})
    sent = query.send_message(QueueUrl=url, MessageBody="a\r\nb <&>",
                              MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"},
                                                 "B": {"DataType": "Binary", "BinaryValue": b"\xff"}})  # fmt: skip
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"a\r\nb <&>").hexdigest()
    message = query.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "a\r\nb <&>"  # the carriage return survives XML
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["MessageAttributes"]["Foo"] == {"StringValue": "Bar", "DataType": "String"}
    assert message["MessageAttributes"]["B"] == {"BinaryValue": b"\xff", "DataType": "Binary"}
    query.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    message = query.receive_message(QueueUrl=url)["Messages"][0]
    query.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    batch = query.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"},
                                                            {"Id": "b", "MessageBody": "2"}])  # fmt: skip
    assert sorted(e["Id"] for e in batch["Successful"]) == ["a", "b"]
    messages = query.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    handles = [{"Id": f"h{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    changed = query.change_message_visibility_batch(
        QueueUrl=url, Entries=[{**h, "VisibilityTimeout": 30} for h in handles]
    )
    assert len(changed["Successful"]) == 2
    deleted = query.delete_message_batch(QueueUrl=url, Entries=[*handles, {"Id": "x", "ReceiptHandle": "garbage"}])
    assert len(deleted["Successful"]) == 2 and deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert deleted["Failed"][0]["SenderFault"] is True
    assert "Messages" not in query.receive_message(QueueUrl=url)
    query.purge_queue(QueueUrl=url)
    query.delete_queue(QueueUrl=url)


def test_query_protocol_errors_are_xml_with_the_query_codes(api: Api, query: Any) -> None:
    error = error_of(query.get_queue_url, QueueName="nowhere")
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["Error"]["Message"] == "The specified queue does not exist for this wsdl version."
    assert error["Error"]["Type"] == "Sender"
    url = query.create_queue(QueueName="query-errors")["QueueUrl"]
    error = error_of(
        query.send_message_batch, QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "x"} for i in range(20)]
    )
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert error["Error"]["Message"] == "Maximum number of entries per request are 10. You have sent 20."


def test_hand_made_query_requests_on_the_queue_path(api: Api) -> None:
    sqs(api).create_queue(QueueName="by-path")
    path = f"/{ACCOUNT}/by-path"
    status, _, body = signed(
        api, "GET", path + "?" + urlencode({"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"})
    )
    text = body.decode()
    assert status == 200 and "<GetQueueAttributesResponse" in text
    assert f"<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:{ACCOUNT}:by-path</Value></Attribute>" in text
    assert "<ResponseMetadata><RequestId>" in text and 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"' in text
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, _, body = signed(api, "POST", path, body=urlencode({"Action": "SendMessage", "MessageBody": "hi",
                                                                  "Version": "2012-11-05"}).encode(), headers=form)  # fmt: skip
    assert status == 200 and b"<SendMessageResult><MD5OfMessageBody>" in body
    status, _, body = signed(api, "POST", path, body=b"Action=FooBar&Version=2012-11-05", headers=form)
    assert status == 400 and b"<Code>InvalidAction</Code>" in body and b"<Type>Sender</Type>" in body
    assert b"<Message>The action FooBar is not valid for this endpoint.</Message>" in body
    status, _, body = signed(api, "POST", path, body=b"Action=CreateQueue&QueueName=x", headers=form)
    assert status == 400 and b"The action CreateQueue is not valid for this endpoint." in body
    status, _, body = signed(api, "POST", path, body=b"Action=SendMessage", headers=form)
    assert status == 400 and b"<Code>MissingParameter</Code>" in body
    assert b"The request must contain the parameter MessageBody." in body
    status, _, body = signed(api, "GET", path)
    assert status == 404 and b"<UnknownOperationException" in body
    status, _, body = signed(api, "POST", path, body=b"Action=DeleteQueue", headers=form)
    assert status == 200 and body.startswith(b'<?xml version="1.0"?><DeleteQueueResponse ')
    assert b"Result" not in body


def test_an_unsigned_sqs_request_is_refused(api: Api) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(
        "POST", "/", body=b"Action=ListQueues", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert connection.getresponse().status == 403
    connection.close()


# -- the AWS CLI ------------------------------------------------------------------------------------------
def aws(api: Api, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ, "AWS_ACCESS_KEY_ID": "AKIDLSIMTEST", "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
    }  # fmt: skip
    return subprocess.run(["aws", "sqs", *arguments, "--endpoint-url", api.url, "--output", "json"],
                          capture_output=True, text=True, env=environment, timeout=120)  # fmt: skip


def test_the_aws_cli(api: Api) -> None:
    created = aws(api, "create-queue", "--queue-name", "cli-queue")
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["QueueUrl"]
    sent = aws(api, "send-message", "--queue-url", url, "--message-body", "from the cli")
    assert sent.returncode == 0, sent.stderr
    received = aws(api, "receive-message", "--queue-url", url, "--wait-time-seconds", "1")
    message = json.loads(received.stdout)["Messages"][0]
    assert message["Body"] == "from the cli"
    assert aws(api, "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"]).returncode == 0
    assert url in json.loads(aws(api, "list-queues").stdout)["QueueUrls"]
    missing = aws(api, "get-queue-url", "--queue-name", "nowhere")
    assert missing.returncode != 0 and "AWS.SimpleQueueService.NonExistentQueue" in missing.stderr


# -- hostile and malformed input --------------------------------------------------------------------------
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_malformed_query_parameters_get_awss_errors_and_change_nothing(api: Api) -> None:
    url = sqs(api).create_queue(QueueName="hostile")["QueueUrl"]
    path = f"/{ACCOUNT}/hostile"
    for body, code in (
        (b"Action=SendMessage&MessageBody=x&MessageAttribute.0.Name=a", b"InvalidParameterValue"),
        (b"Action=SendMessage&MessageBody=x&MessageAttribute.one.Name=a", b"InvalidParameterValue"),
        (b"Action=SendMessage&MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=Binary"
         b"&MessageAttribute.1.Value.BinaryValue=%21%21%21", b"InvalidParameterValue"),
        (b"Action=SendMessage&MessageBody=x&DelaySeconds=soon", b"InvalidParameterValue"),
        (b"Action=SendMessage&MessageBody=%ff%fe", b"InvalidParameterValue"),  # not UTF-8
        (b"Action=SendMessageBatch", b"AWS.SimpleQueueService.EmptyBatchRequest"),
        (b"Action=SendMessageBatch&SendMessageBatchRequestEntry.99999999999.Id=a"
         b"&SendMessageBatchRequestEntry.99999999999.MessageBody=b&SendMessageBatchRequestEntry.1.Id=a"
         b"&SendMessageBatchRequestEntry.1.MessageBody=c", b"AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        (b"Action=ChangeMessageVisibility&ReceiptHandle=x", b"MissingParameter"),
    ):  # fmt: skip
        status, _, answer = signed(api, "POST", path, body=body, headers=FORM)
        assert status == 400 and b"<Code>" + code + b"</Code>" in answer, (body, answer)
    assert "Messages" not in sqs(api).receive_message(QueueUrl=url)  # nothing was sent by any of them


def test_malformed_json_members_get_errors_and_change_nothing(api: Api) -> None:
    url = sqs(api).create_queue(QueueName="hostile-json")["QueueUrl"]
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}
    for members in (
        {"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {"a": "not a structure"}},
        {"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "!!"}}},
        {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": "5"},
        {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": True},
        {"QueueUrl": url, "MessageBody": ["x"]},
        {"QueueUrl": "not a url", "MessageBody": "x"},
    ):
        status, answer, body = signed(api, "POST", "/", body=json.dumps(members).encode(), headers=headers)
        assert status == 400, members
        assert answer["x-amzn-query-error"].endswith(";Sender") and json.loads(body)["message"]
    assert "Messages" not in sqs(api).receive_message(QueueUrl=url)


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(api: Api) -> None:
    path = f"/{ACCOUNT}/hostile"
    status, _, body = signed(api, "POST", path, body=b"Action=SendMessage&MessageBody=" + b"x" * (4 * 1_048_576),
                             headers=FORM)  # fmt: skip
    assert status == 413 and b"Request must be smaller than" in body


def test_with_verify_sigv4_sqs_signatures_are_checked_on_both_protocols(tmp_path: Path) -> None:
    from simulator.api import ApiServer

    for api in serve(write_project(tmp_path), "process"):
        strict = ApiServer(api.lsim.simulator, port=0, credentials={"AKIDLSIMTEST": "the-secret"})
        url = api.lsim.call(strict.start())
        try:
            good = boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDLSIMTEST",
                                aws_secret_access_key="the-secret")  # fmt: skip
            queue = good.create_queue(QueueName="signed")["QueueUrl"]
            good.send_message(QueueUrl=queue, MessageBody="signed body")
            query = query_client(tmp_path / "model", url)
            query._request_signer._credentials = Credentials("AKIDLSIMTEST", "the-secret")
            assert query.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "signed body"
            wrong = boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDLSIMTEST",
                                 aws_secret_access_key="not-the-secret", config=Config(retries={"max_attempts": 0}))  # fmt: skip
            error = error_of(wrong.send_message, QueueUrl=queue, MessageBody="forged")
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert error["Error"]["Code"] == "InvalidSignatureException"
        finally:
            api.lsim.call(strict.close())


def test_a_form_body_in_raw_utf8_keeps_its_characters(api: Api) -> None:
    url = sqs(api).create_queue(QueueName="utf8")["QueueUrl"]
    body = "Action=SendMessage&MessageBody=caf\u00e9 \u2603".encode()
    status, _, _ = signed(api, "POST", f"/{ACCOUNT}/utf8", body=body, headers=FORM)
    assert status == 200
    assert sqs(api).receive_message(QueueUrl=url)["Messages"][0]["Body"] == "caf\u00e9 \u2603"


def test_the_operations_match_botocores_model_and_the_others_are_invalid_actions(api: Api) -> None:
    import botocore.session

    from simulator import sqs_operations

    model = botocore.session.get_session().get_service_model("sqs")
    assert set(sqs_operations.OPERATIONS) <= set(model.operation_names)
    source = Path(sqs_operations.__file__).read_text()
    for name in sqs_operations.OPERATIONS:
        shape = model.operation_model(name).input_shape
        members = dict(shape.members)
        if "Entries" in members:
            members.update(members["Entries"].member.members)
        unread = [member for member in members if f'"{member}"' not in source]
        assert not unread, f"{name}: {unread}"
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    for name in sorted(set(model.operation_names) - set(sqs_operations.OPERATIONS)):
        status, answer, body = signed(
            api, "POST", "/", body=b"{}", headers={**headers, "X-Amz-Target": f"AmazonSQS.{name}"}
        )
        assert status == 400 and answer["x-amzn-query-error"] == "InvalidAction;Sender", name
        assert json.loads(body)["message"] == f"The action {name} is not valid for this endpoint."


def test_a_stopping_server_ends_long_polls_at_once_and_loses_no_message(tmp_path: Path) -> None:
    for api in serve(write_project(tmp_path), "process"):
        _stop_while_polling(api)


def _stop_while_polling(api: Api) -> None:
    from simulator.api import ApiServer

    client = sqs(api)
    url = client.create_queue(QueueName="stopping")["QueueUrl"]
    answers: list[dict[str, Any]] = []
    poll = threading.Thread(target=lambda: answers.append(client.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poll.start()
    while not api.lsim.call(_waiting(api, "stopping")):
        time.sleep(0.05)
    began = time.monotonic()
    assert api.lsim.call(api.server.drain(15)) is True  # the poll did not hold the stop for its 20 s
    poll.join(15)
    assert not poll.is_alive() and "Messages" not in answers[0]
    assert time.monotonic() - began < 15
    # a message sent now waits for the next server: nothing was taken by the cancelled poll
    api.lsim.simulator.queues.send_message("stopping", "after the stop")
    again = ApiServer(api.lsim.simulator, port=0)
    url2 = api.lsim.call(again.start())
    try:
        other = boto3.client("sqs", endpoint_url=url2, region_name="us-east-1", aws_access_key_id="a",
                             aws_secret_access_key="a")  # fmt: skip
        got = other.receive_message(QueueUrl=f"{url2}/{ACCOUNT}/stopping")["Messages"]
        assert [m["Body"] for m in got] == ["after the stop"]
    finally:
        api.lsim.call(again.close())


def test_list_queues_pages_with_max_results_and_next_token(api: Api) -> None:
    client = sqs(api)
    urls = [client.create_queue(QueueName=f"page-{i}")["QueueUrl"] for i in range(3)]
    first = client.list_queues(QueueNamePrefix="page-", MaxResults=2)
    assert first["QueueUrls"] == urls[:2] and first["NextToken"]
    second = client.list_queues(QueueNamePrefix="page-", MaxResults=2, NextToken=first["NextToken"])
    assert second["QueueUrls"] == urls[2:] and "NextToken" not in second
    pages = client.get_paginator("list_queues").paginate(QueueNamePrefix="page-", PaginationConfig={"PageSize": 1})
    assert [url for page in pages for url in page["QueueUrls"]] == urls
    assert "NextToken" not in client.list_queues(QueueNamePrefix="page-")  # without MaxResults: no token
    assert "QueueUrls" not in client.list_queues(QueueNamePrefix="no-such-prefix")
    assert error_of(client.list_queues, MaxResults=1001)["Error"]["Code"] == "InvalidParameterValue"
    assert error_of(client.list_queues, MaxResults=2, NextToken="%%%")["Error"]["Code"] == "InvalidParameterValue"
