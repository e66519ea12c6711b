"""`lsim generate-event SERVICE EVENT`: print a sample event of a trigger, in the project's Region and account.

lsim generate-event sqs receive-message --body '{"id": 1}' > events/sqs.json
lsim invoke worker --event events/sqs.json
"""

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import LsimError
from .common import fail, group, key_values

if TYPE_CHECKING:
    from ..sample_events import Account

app = group("Print a sample event of a service that invokes functions (pipe it to `lsim invoke NAME --event -`).")
apigateway = group("API Gateway: REST API and HTTP API proxy requests.")
sqs = group("Amazon SQS: a batch of messages.")
sns = group("Amazon SNS: a notification.")
s3 = group("Amazon S3: object created or deleted.")
eventbridge = group("Amazon EventBridge: an event on a bus.")
dynamodb = group("Amazon DynamoDB Streams: a stream record.")
kinesis = group("Amazon Kinesis Data Streams: a batch of records.")
cloudwatch = group("Amazon EventBridge (CloudWatch Events): a schedule rule.")
for _name, _group in [
    ("apigateway", apigateway), ("sqs", sqs), ("sns", sns), ("s3", s3), ("eventbridge", eventbridge),
    ("dynamodb", dynamodb), ("kinesis", kinesis), ("cloudwatch", cloudwatch),
]:  # fmt: skip
    app.add_typer(_group, name=_name)

Region = Annotated[str | None, typer.Option("--region", help="default: the project's region, else us-east-1")]
AccountId = Annotated[str | None, typer.Option("--account-id", help="default: the project's account")]
Method = Annotated[str, typer.Option("--method", help="HTTP method")]
UrlPath = Annotated[str, typer.Option("--path", help="request path")]
Body = Annotated[str | None, typer.Option("--body", help="request body (text, usually JSON)")]
Query = Annotated[str, typer.Option("--query", help="query string, e.g. 'name=Ada&lang=en'")]
Headers = Annotated[list[str] | None, typer.Option("--header", help="'Name: value' (repeatable)")]
PathParameters = Annotated[str | None, typer.Option("--path-parameters", help='JSON, e.g. {"id": "42"}')]
Base64 = Annotated[bool, typer.Option("--base64", help="base64-encode the body (isBase64Encoded: true)")]
Attributes = Annotated[list[str] | None, typer.Option("--attribute", help="message attribute NAME=VALUE (repeatable)")]


def _account(ctx: typer.Context, region: str | None, account_id: str | None) -> "Account":
    """The project's Region and account (when a project is found), unless given on the command line."""
    from ..sample_events import Account

    if region is None or account_id is None:
        from ..project import load_project

        options = ctx.find_root().obj or {}
        try:
            settings = load_project(options.get("project"), warn=lambda _: None).settings
        except LsimError:
            settings = None
        region = region or (settings.region if settings else "us-east-1")
        account_id = account_id or (settings.account_id if settings else "123456789012")
    if not (account_id.isdigit() and len(account_id) == 12):
        raise fail(f"--account-id {account_id}: an AWS account id is 12 digits")
    return Account(region=region, account_id=account_id)


def _print(
    ctx: typer.Context, region: str | None, account_id: str | None, service: str, event: str, **options: Any
) -> None:
    from ..sample_events import generate

    account = _account(ctx, region, account_id)
    try:
        payload = generate(service, event, account, **options)
    except ValueError as exc:
        raise fail(f"generate-event {service} {event}: {exc}") from None
    typer.echo(json.dumps(payload, indent=2))


def _json(option: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise fail(f"{option}: not valid JSON ({exc}); quote it, e.g. {option} '{{\"id\": 1}}'") from None


def _json_object(option: str, value: str | None) -> dict[str, Any] | None:
    parsed = _json(option, value)
    if parsed is not None and not isinstance(parsed, dict):
        raise fail(f"{option}: give a JSON object, e.g. {option} '{{\"id\": 1}}'")
    return parsed


@apigateway.command("aws-proxy")
def aws_proxy(
    ctx: typer.Context,
    method: Method = "GET",
    path: UrlPath = "/hello",
    resource: Annotated[str | None, typer.Option("--resource", help="resource path, e.g. /items/{id}")] = None,
    body: Body = None,
    query: Query = "",
    header: Headers = None,
    path_parameters: PathParameters = None,
    stage: Annotated[str, typer.Option("--stage")] = "prod",
    base64: Base64 = False,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """A REST API request through a Lambda proxy integration (payload format 1.0)."""
    _print(
        ctx, region, account_id, "apigateway", "aws-proxy", method=method, path=path, resource=resource,
        body=body, query=query, headers=header, path_parameters=_json_object("--path-parameters", path_parameters),
        stage=stage, base64_body=base64,
    )  # fmt: skip


@apigateway.command("http-api-proxy")
def http_api_proxy(
    ctx: typer.Context,
    method: Method = "GET",
    path: UrlPath = "/hello",
    route_key: Annotated[str | None, typer.Option("--route-key", help="default: 'METHOD PATH'")] = None,
    body: Body = None,
    query: Query = "",
    header: Headers = None,
    path_parameters: PathParameters = None,
    stage: Annotated[str, typer.Option("--stage")] = "$default",
    base64: Base64 = False,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """An HTTP API request (payload format 2.0)."""
    _print(
        ctx, region, account_id, "apigateway", "http-api-proxy", method=method, path=path, route_key=route_key,
        body=body, query=query, headers=header, path_parameters=_json_object("--path-parameters", path_parameters),
        stage=stage, base64_body=base64,
    )  # fmt: skip


apigateway.command("http-api", hidden=True)(http_api_proxy)


@sqs.command("receive-message")
def receive_message(
    ctx: typer.Context,
    body: Annotated[list[str] | None, typer.Option("--body", help="a message body; repeat for more records")] = None,
    queue_name: Annotated[str, typer.Option("--queue-name", help="a name ending in .fifo makes a FIFO queue")] = (
        "my-queue"
    ),
    attribute: Attributes = None,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """A batch of SQS messages, one record per --body."""
    _print(
        ctx, region, account_id, "sqs", "receive-message", bodies=body, queue_name=queue_name,
        attributes=key_values("--attribute", attribute),
    )  # fmt: skip


@sns.command("notification")
def notification(
    ctx: typer.Context,
    message: Annotated[str, typer.Option("--message")] = "Hello from SNS!",
    subject: Annotated[str, typer.Option("--subject")] = "TestInvoke",
    topic_name: Annotated[str, typer.Option("--topic-name")] = "my-topic",
    attribute: Attributes = None,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """An SNS notification delivered to a subscribed function."""
    _print(
        ctx, region, account_id, "sns", "notification", message=message, subject=subject, topic_name=topic_name,
        attributes=key_values("--attribute", attribute),
    )  # fmt: skip


Bucket = Annotated[str, typer.Option("--bucket")]
Key = Annotated[str, typer.Option("--key", help="object key, as uploaded (lsim URL-encodes it as S3 does)")]


@s3.command("put")
def s3_put(
    ctx: typer.Context,
    bucket: Bucket = "example-bucket",
    key: Key = "test/key",
    size: Annotated[int, typer.Option("--size", help="object size in bytes")] = 1024,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """An object created by PUT (ObjectCreated:Put)."""
    _print(ctx, region, account_id, "s3", "put", bucket=bucket, key=key, size=size)


@s3.command("delete")
def s3_delete(
    ctx: typer.Context,
    bucket: Bucket = "example-bucket",
    key: Key = "test/key",
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """An object deleted (ObjectRemoved:Delete)."""
    _print(ctx, region, account_id, "s3", "delete", bucket=bucket, key=key)


@eventbridge.command("event")
def eventbridge_event(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--source")] = "com.example.orders",
    detail_type: Annotated[str, typer.Option("--detail-type")] = "Order Placed",
    detail: Annotated[str | None, typer.Option("--detail", help="JSON object")] = None,
    resource: Annotated[list[str] | None, typer.Option("--resource", help="a resource ARN (repeatable)")] = None,
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """An event on an EventBridge bus."""
    _print(
        ctx, region, account_id, "eventbridge", "event", source=source, detail_type=detail_type,
        detail=_json_object("--detail", detail), resources=resource,
    )  # fmt: skip


@dynamodb.command("update")
def dynamodb_update(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Option("--table-name")] = "my-table",
    keys: Annotated[str | None, typer.Option("--keys", help='plain JSON, e.g. {"Id": 101}')] = None,
    new_image: Annotated[str | None, typer.Option("--new-image", help="plain JSON of the item after")] = None,
    old_image: Annotated[str | None, typer.Option("--old-image", help="plain JSON of the item before")] = None,
    event_name: Annotated[str, typer.Option("--event-name", help="INSERT, MODIFY or REMOVE")] = "MODIFY",
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """A DynamoDB Streams record; items are given as plain JSON and written as DynamoDB attribute values."""
    _print(
        ctx, region, account_id, "dynamodb", "update", table_name=table_name, keys=_json_object("--keys", keys),
        new_image=_json_object("--new-image", new_image), old_image=_json_object("--old-image", old_image),
        event_name=event_name.upper(),
    )  # fmt: skip


@kinesis.command("get-records")
def kinesis_get_records(
    ctx: typer.Context,
    data: Annotated[list[str] | None, typer.Option("--data", help="a record's data (text); repeatable")] = None,
    stream_name: Annotated[str, typer.Option("--stream-name")] = "my-stream",
    partition_key: Annotated[str, typer.Option("--partition-key")] = "1",
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """A batch of Kinesis records, one per --data, base64-encoded as Kinesis delivers them."""
    _print(
        ctx, region, account_id, "kinesis", "get-records", data=data, stream_name=stream_name,
        partition_key=partition_key,
    )  # fmt: skip


@cloudwatch.command("scheduled-event")
def scheduled_event(
    ctx: typer.Context,
    rule_name: Annotated[str, typer.Option("--rule-name")] = "my-schedule",
    region: Region = None,
    account_id: AccountId = None,
) -> None:
    """The Scheduled Event a schedule rule sends."""
    _print(ctx, region, account_id, "cloudwatch", "scheduled-event", rule_name=rule_name)
