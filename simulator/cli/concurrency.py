"""`lsim concurrency ...`, `lsim dlq ...` and `lsim metrics`: concurrency settings, the dead-letter queue
and CloudWatch's metrics of the project, read from and written to its `.lsim/state.db`.

Only `lsim dlq replay` starts execution environments (to run the replayed events); the others need no
Docker engine.
"""

import json
import re
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from .. import shapes
from ..errors import LsimError
from ..invocation import error_type_of
from ..metrics import (
    ASYNC_EVENTS_DROPPED,
    ASYNC_EVENTS_RECEIVED,
    CONCURRENT_EXECUTIONS,
    DEAD_LETTER_ERRORS,
    DURATION,
    ERRORS,
    INVOCATIONS,
    PROVISIONED_INVOCATIONS,
    PROVISIONED_SPILLOVER,
    THROTTLES,
    FunctionMetrics,
)
from ..queues.cloudwatch import metric_key as queue_metric_key
from ..queues.cloudwatch import queue_of_key
from ..queues.models import QueueMetrics
from .common import describe, exit_code, fail, group, project_of

app = group("Reserved concurrency, as PutFunctionConcurrency / GetFunctionConcurrency / DeleteFunctionConcurrency.")
dlq_app = group("Events Lambda gave up on: list them, put them back on the queue.")

SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _run(ctx: typer.Context, work: Callable[[Any], Coroutine[Any, Any, Any]], *, start: bool = False) -> Any:
    """Run `work(simulator)` on a Simulator of the project: never started (no Docker) unless `start`."""
    import asyncio

    from ..simulator import Simulator

    async def run() -> Any:
        simulator = Simulator(project_of(ctx), backend=ctx.obj.get("backend", "auto") if start else "process")
        if not start:
            return await work(simulator)
        async with simulator:
            return await work(simulator)

    try:
        return asyncio.run(run())
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None


def _print(shape: Any) -> None:
    typer.echo(json.dumps(shape, indent=2))


# -- lsim concurrency ------------------------------------------------------------------------------------
@app.command("put")
def put(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name or ARN")],
    reserved: Annotated[int, typer.Argument(help="ReservedConcurrentExecutions (0 throttles every invocation)")],
) -> None:
    """Reserve concurrency for a function: its floor and its ceiling (PutFunctionConcurrency)."""
    setting = _run(ctx, lambda s: s.put_function_concurrency(name, reserved))
    _print(shapes.concurrency(setting))


@app.command("get")
def get(ctx: typer.Context, name: Annotated[str, typer.Argument(help="function name or ARN")]) -> None:
    """The function's reserved concurrency ({} when it has none), and where the value comes from."""
    setting = _run(ctx, lambda s: s.get_function_concurrency(name))
    _print(shapes.get_function_concurrency_response(setting))
    if setting.source == "command":
        typer.echo("(set by `lsim concurrency put/delete`, in place of lsim.toml's value)", err=True)
    elif setting.source == "lsim.toml":
        typer.echo("(from lsim.toml)", err=True)


@app.command("delete")
def delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="function name or ARN")]) -> None:
    """Remove the function's reservation: it draws on the unreserved pool (DeleteFunctionConcurrency)."""
    _run(ctx, lambda s: s.delete_function_concurrency(name))


@app.command("account")
def account(ctx: typer.Context) -> None:
    """The account's concurrency limits (GetAccountSettings)."""
    settings = _run(ctx, lambda s: s.get_account_settings())
    _print(shapes.get_account_settings_response(settings))


# -- lsim dlq --------------------------------------------------------------------------------------------
def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    function: Annotated[str | None, typer.Option("--function", "-f", help="only this function's")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Lambda's invocation records, as JSON lines")] = False,
) -> None:
    """The events Lambda gave up on (retries exhausted, or too old), newest last."""
    letters = _run(ctx, lambda s: s.list_dead_letters(function))
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.record()))
        return
    if not letters:
        typer.echo("no dead letters", err=True)
        return
    typer.echo(
        f"{'REQUEST ID':<36}  {'FUNCTION':<20} {'CONDITION':<17} {'TRIES':>5}  {'ERROR':<24} "
        f"{'FAILED AT (UTC)':<19}  REPLAYED AS"
    )
    for letter in letters:
        error = (error_type_of(letter.response_payload) or letter.function_error or "-")[:24]
        typer.echo(
            f"{letter.request_id:<36}  {letter.function_name[:20]:<20} {letter.condition:<17} "
            f"{letter.approximate_invoke_count:>5}  {error:<24} {_when(letter.failed_at):<19}  "
            f"{letter.replayed_as or '-'}"
        )
    kept = [letter for letter in letters if letter.destination is None]
    if kept:
        typer.echo(
            f"({len(kept)} with no on-failure destination configured: AWS would have discarded them; "
            "lsim keeps them so you can see and replay them)",
            err=True,
        )


@dlq_app.command("replay")
def dlq_replay(
    ctx: typer.Context,
    request_ids: Annotated[list[str] | None, typer.Argument(help="request IDs (default: all not replayed)")] = None,
    function: Annotated[str | None, typer.Option("--function", "-f", help="only this function's")] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="run them now and report, or only put them on the queue")
    ] = True,
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
) -> None:
    """Put dead letters back on the asynchronous queue as new events, and (by default) run them now,
    with Lambda's retries, until each is delivered or dead-lettered again."""
    import asyncio

    ctx.obj = {**(ctx.obj or {}), "backend": backend}

    async def replay(simulator: Any) -> list[tuple[str, str]]:
        events = await simulator.replay_dead_letters(request_ids or (), function)
        if not events:
            return []
        for event in events:
            typer.echo(f"queued {event.request_id} ({event.function_name}, replay of {event.replay_of})", err=True)
        if not wait:
            return [(event.request_id, "queued") for event in events]
        said_waiting = False
        outcome: dict[str, str] = {}
        while len(outcome) < len(events):
            for event in events:
                if event.request_id not in outcome:
                    status = await simulator.event_status(event.request_id)
                    if status in ("done", "dead-lettered"):
                        outcome[event.request_id] = "delivered" if status == "done" else status
            if not said_waiting and len(outcome) < len(events):
                said_waiting = True
                delays = ", ".join(f"{d:g} s" for d in simulator.project.limits.async_retry_delays_s)
                typer.echo(
                    f"running; a failing event is retried after {delays} as Lambda does "
                    "(Ctrl-C stops: unfinished events stay queued)",
                    err=True,
                )
            await asyncio.sleep(0.1)
        return [(event.request_id, outcome[event.request_id]) for event in events]

    results = _run(ctx, replay, start=wait)
    if not results:
        typer.echo("nothing to replay (`lsim dlq list` shows the dead letters)", err=True)
        return
    for request_id, status in results:
        typer.echo(f"{request_id}  {status}")
    if any(status == "dead-lettered" for _, status in results):
        raise typer.Exit(1)


# -- lsim metrics ----------------------------------------------------------------------------------------
def metrics(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="one function or queue (default: all, and the account)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="e.g. 15m, 2h, 1d (default: everything kept)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="every statistic, as JSON")] = False,
) -> None:
    """CloudWatch's Lambda metrics of this project: Invocations, Errors, Throttles by reason, Duration,
    ConcurrentExecutions, provisioned concurrency, asynchronous events and dead letters; and its queues'
    (AWS/SQS): messages visible, in flight and delayed, the oldest message's age, sent, received, deleted."""
    start = None
    if since is not None:
        match = SINCE.match(since)
        if match is None:
            raise fail(f"--since {since}: give a number and a unit, e.g. 90s, 15m, 2h or 1d")
        start = time.time() - float(match[1]) * UNITS[match[2]]

    async def read(simulator: Any) -> tuple[list[FunctionMetrics], list[QueueMetrics]]:
        import asyncio

        queues = await asyncio.to_thread(simulator.queues.sample_metrics)
        found = await simulator.get_metrics(name, start)
        if name is not None:
            found += await simulator.get_metrics(queue_metric_key(name), start)
        return found, [q for q in queues if name in (None, q.queue_name)]

    found, queues = _run(ctx, read)
    if as_json:
        now = {queue_metric_key(q.queue_name): q.by_name() for q in queues}
        _print(
            {
                m.function_name or "(account)": {
                    metric: {
                        "SampleCount": s.sample_count,
                        "Sum": s.sum,
                        "Minimum": s.minimum,
                        "Maximum": s.maximum,
                        "Average": s.average,
                    }
                    for metric, s in sorted(m.statistics.items())
                }
                | ({"ThrottlesByReason": dict(m.throttles_by_reason)} if m.throttles_by_reason else {})
                | ({"Now": now.pop(m.function_name)} if m.function_name in now else {})
                for m in found
            }
            | {key: {"Now": values} for key, values in now.items()}
        )
        return
    functions = [m for m in found if m.function_name and queue_of_key(m.function_name) is None]
    if not found and not queues:
        typer.echo("no metrics yet: invoke a function first", err=True)
        return
    _print_queues(queues)
    if not functions and not any(not m.function_name for m in found):
        return
    typer.echo(
        f"{'FUNCTION':<20} {INVOCATIONS:>11} {ERRORS:>7} {THROTTLES:>9} {'Duration avg':>13} {'max':>9} "
        f"{'Concurrent max':>15} {'Provisioned':>11} {'Spillover':>9} {'Async in':>8} {'Dropped':>7} {'DLQ err':>7}"
    )
    for m in functions:
        duration = m.statistics.get(DURATION)
        average = f"{duration.average:.2f} ms" if duration else "-"
        longest = f"{duration.maximum:.1f}" if duration else "-"
        typer.echo(
            f"{m.function_name[:20]:<20} {m.invocations:>11} {m.errors:>7} {m.throttles:>9} {average:>13} "
            f"{longest:>9} {int(m.maximum(CONCURRENT_EXECUTIONS)):>15} {int(m.sum(PROVISIONED_INVOCATIONS)):>11} "
            f"{int(m.sum(PROVISIONED_SPILLOVER)):>9} {int(m.sum(ASYNC_EVENTS_RECEIVED)):>8} "
            f"{int(m.sum(ASYNC_EVENTS_DROPPED)):>7} {int(m.sum(DEAD_LETTER_ERRORS)):>7}"
        )
        for reason, count in sorted(m.throttles_by_reason.items()):
            typer.echo(f"{'':<20}   throttled {count} x {reason}")
    for m in found:
        if not m.function_name:
            typer.echo(
                f"account: ConcurrentExecutions max {int(m.maximum(CONCURRENT_EXECUTIONS))}, "
                f"UnreservedConcurrentExecutions max {int(m.maximum('UnreservedConcurrentExecutions'))}, "
                f"ClaimedAccountConcurrency max {int(m.maximum('ClaimedAccountConcurrency'))}"
            )


def _print_queues(queues: list[QueueMetrics]) -> None:
    """The queues' metrics (AWS/SQS) now: the gauges, and the counters since each queue was created."""
    if not queues:
        return
    typer.echo(
        f"{'QUEUE':<24} {'Visible':>8} {'NotVisible':>10} {'Delayed':>8} {'OldestAge s':>11} {'Sent':>8} "
        f"{'Received':>8} {'Deleted':>8} {'EmptyRecv':>9}"
    )
    for q in queues:
        typer.echo(
            f"{q.queue_name[:24]:<24} {q.approximate_number_of_messages_visible:>8} "
            f"{q.approximate_number_of_messages_not_visible:>10} {q.approximate_number_of_messages_delayed:>8} "
            f"{q.approximate_age_of_oldest_message:>11.0f} {q.number_of_messages_sent:>8} "
            f"{q.number_of_messages_received:>8} {q.number_of_messages_deleted:>8} {q.number_of_empty_receives:>9}"
        )
