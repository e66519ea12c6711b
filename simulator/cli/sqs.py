"""`lsim sqs ...`: the project's queues from the command line, as `aws sqs` would use them.

Through the running `lsim serve` of the project when there is one (its queues, its long polls and the
functions its mappings feed all live there: stderr says `via lsim serve on ...`), otherwise on the project's
`.lsim/state.db` directly (the queue service commits every change, so both may be used in turn). Either way the
request is SQS's own (simulator/sqs_operations.py): the same checks and AWS's errors, printed as `Code: message`.
"""

import json
from typing import Annotated, Any

import typer

from .common import fail, group, key_values

app = group("Amazon SQS queues: send, receive, list, purge (through a running lsim serve, else on the store).")

#: where the URLs printed without a serve point: `lsim serve`'s default address
DEFAULT_SERVE_URL = "http://127.0.0.1:9001"


def _serve(ctx: typer.Context) -> Any:
    """The live serve of this project's file, or None."""
    from pathlib import Path

    from ..through_serve import no_serve_wanted
    from ..through_serve.record import live_records, locate_project_file

    if no_serve_wanted():
        return None
    options = ctx.find_root().obj or {}
    project_file = locate_project_file(options.get("project"))
    if project_file is None:
        return None
    for _, record in live_records(project_file.parent):
        if Path(record.project_file) == project_file:
            return record
    return None


def _through_serve(record: Any, operation: str, members: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's output from the serve; None when the serve cannot be reached (run it here instead)."""
    from ..through_serve import client

    try:
        answer = client.sqs_call(record, operation, members)
    except client.ServeUnreachable:
        return None
    except client.ServeLost as error:
        raise fail(f"error: lsim serve on {record.where} stopped answering ({error})") from None
    shape = answer.error_members()
    if answer.status != 200:
        code = answer.headers.get("x-amzn-query-error", "").partition(";")[0]
        code = code or str(shape.get("__type", answer.status)).rpartition("#")[2]
        raise fail(f"{code}: {shape.get('message') or shape.get('Message') or answer.body.decode(errors='replace')}")
    return shape


def _in_process(ctx: typer.Context, operation: str, members: dict[str, Any]) -> dict[str, Any] | None:
    import asyncio
    import inspect

    from ..errors import LsimError
    from ..queues.errors import SqsError
    from ..simulator import Simulator
    from ..sqs_operations import OPERATIONS, Context
    from .common import describe, exit_code, project_of

    async def run() -> Any:
        simulator = Simulator(project_of(ctx), backend="process")
        await simulator.declare_queues()
        context = Context(simulator.queues, DEFAULT_SERVE_URL, simulator.project.settings.account_id, None)
        if "QueueName" in members and operation not in ("CreateQueue", "GetQueueUrl"):
            members["QueueUrl"] = f"/{context.account_id}/{members.pop('QueueName')}"
        result = OPERATIONS[operation](context, members)
        return await result if inspect.isawaitable(result) else result

    try:
        return asyncio.run(run())
    except SqsError as error:
        raise fail(f"{error.query_code}: {error.message}") from None
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None


def _call(ctx: typer.Context, operation: str, members: dict[str, Any]) -> dict[str, Any]:
    """Run one SQS operation; `members` may name the queue by `QueueName` instead of `QueueUrl`."""
    record = _serve(ctx)
    if record is not None:
        name = members.get("QueueName") if operation not in ("CreateQueue", "GetQueueUrl") else None
        wire = dict(members)
        if name is not None:
            located = _through_serve(record, "GetQueueUrl", {"QueueName": wire.pop("QueueName")})
            wire["QueueUrl"] = located["QueueUrl"] if located is not None else None
        output = _through_serve(record, operation, wire) if wire.get("QueueUrl", "") is not None else None
        if output is not None:
            typer.echo(f"via lsim serve on {record.where}", err=True)
            return output
    return _in_process(ctx, operation, members) or {}


def _print(shape: Any) -> None:
    typer.echo(json.dumps(shape, indent=2))


@app.command("send")
def send(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="queue name")],
    body: Annotated[str, typer.Argument(help="the message body")],
    group_id: Annotated[str | None, typer.Option("--group-id", help="MessageGroupId (FIFO)")] = None,
    dedup_id: Annotated[str | None, typer.Option("--dedup-id", help="MessageDeduplicationId (FIFO)")] = None,
    delay: Annotated[int | None, typer.Option("--delay", help="DelaySeconds, 0-900 (standard queues)")] = None,
    attribute: Annotated[
        list[str] | None, typer.Option("--attribute", help="a String message attribute: KEY=VALUE (repeatable)")
    ] = None,
) -> None:
    """Send a message (SendMessage); prints its MessageId and MD5s."""
    members: dict[str, Any] = {"QueueName": queue, "MessageBody": body}
    optional = {"MessageGroupId": group_id, "MessageDeduplicationId": dedup_id, "DelaySeconds": delay}
    members.update({key: value for key, value in optional.items() if value is not None})
    attributes = key_values("--attribute", attribute)
    if attributes:
        members["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
    _print(_call(ctx, "SendMessage", members))


@app.command("receive")
def receive(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="queue name")],
    max_messages: Annotated[int, typer.Option("--max", help="MaxNumberOfMessages, 1-10")] = 1,
    wait: Annotated[int | None, typer.Option("--wait", help="WaitTimeSeconds, 0-20 (default: the queue's)")] = None,
    visibility: Annotated[
        int | None, typer.Option("--visibility", help="VisibilityTimeout for these messages (default: the queue's)")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="delete the messages once printed")] = False,
) -> None:
    """Receive messages (ReceiveMessage, with every attribute); prints them as SQS returns them."""
    members: dict[str, Any] = {"QueueName": queue, "MaxNumberOfMessages": max_messages,
                               "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}  # fmt: skip
    if wait is not None:
        members["WaitTimeSeconds"] = wait
    if visibility is not None:
        members["VisibilityTimeout"] = visibility
    output = _call(ctx, "ReceiveMessage", members)
    messages = output.get("Messages", [])
    _print({"Messages": messages})
    if delete and messages:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        result = _call(ctx, "DeleteMessageBatch", {"QueueName": queue, "Entries": entries})
        if result.get("Failed"):
            raise fail(f"not deleted: {json.dumps(result['Failed'])}")


@app.command("list")
def list_queues(
    ctx: typer.Context,
    prefix: Annotated[str | None, typer.Option("--prefix", help="QueueNamePrefix")] = None,
) -> None:
    """The queues' URLs, one a line (ListQueues)."""
    members = {"QueueNamePrefix": prefix} if prefix else {}
    for url in _call(ctx, "ListQueues", members).get("QueueUrls", []):
        typer.echo(url)


@app.command("purge")
def purge(ctx: typer.Context, queue: Annotated[str, typer.Argument(help="queue name")]) -> None:
    """Delete every message of the queue (PurgeQueue; once a minute per queue, as on AWS)."""
    _call(ctx, "PurgeQueue", {"QueueName": queue})


@app.command("create")
def create(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(help="queue name (ending in .fifo for a FIFO queue)")],
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="a queue attribute as AWS names it: VisibilityTimeout=60 (repeatable)"),
    ] = None,
) -> None:
    """Create a queue (CreateQueue); prints its URL. lsim.toml's [queues.NAME] declares one for good."""
    attributes = key_values("--attribute", attribute)
    if queue.endswith(".fifo"):
        attributes.setdefault("FifoQueue", "true")
    members: dict[str, Any] = {"QueueName": queue}
    if attributes:
        members["Attributes"] = attributes
    typer.echo(_call(ctx, "CreateQueue", members)["QueueUrl"])


@app.command("delete")
def delete_queue(ctx: typer.Context, queue: Annotated[str, typer.Argument(help="queue name")]) -> None:
    """Delete a queue and its messages (DeleteQueue)."""
    _call(ctx, "DeleteQueue", {"QueueName": queue})
