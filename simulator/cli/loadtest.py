"""`lsim load-test`: real traffic through the Simulator (with a live display), or a model in virtual time."""

import contextlib
import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import LsimError, ProjectFileError
from .common import describe, exit_code, fail, project_of

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..loadtest import LoadPlan, LoadReport, ModelParameters
    from ..loadtest.queue_report import QueueReport
    from ..loadtest.runner import LoadRunner
    from ..simulator import Simulator
    from ..through_serve.record import ServeRecord

REFRESH_S = 0.25
SHAPE_HELP = "constant | ramp[:from=R] | step[:steps=N] | spike[:factor=F,at=T,length=T] | poisson"
DISTRIBUTION_HELP = "model: lognormal:MEAN,SD | normal:MEAN,SD | exponential:MEAN | uniform:LO,HI (ms)"


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _payloads(event: Path | None, events: Path | None, payload: str | None) -> list[bytes]:
    """The events to send, in order (a folder's *.json files sorted by name, sent in turn)."""
    if sum(x is not None for x in (event, events, payload)) > 1:
        raise fail("give one of --event FILE, --events DIR or --payload JSON")
    if payload is not None:
        found = [("--payload", payload.encode())]
    elif event is not None:
        if not event.is_file():
            raise fail(f"--event {event}: no such file; give a JSON file")
        found = [(str(event), event.read_bytes())]
    elif events is not None:
        files = sorted(events.glob("*.json")) if events.is_dir() else []
        if not files:
            raise fail(f"--events {events}: no *.json files there; give a folder of JSON events")
        found = [(str(path), path.read_bytes()) for path in files]
    else:
        return [b"{}"]
    for where, body in found:
        try:
            json.loads(body or b"{}")
        except ValueError as error:
            raise fail(f"InvalidRequestContentException: {where} is not JSON: {error}") from None
    return [body or b"{}" for _, body in found]


def _with_limits(project: "ProjectConfig", overrides: list[str]) -> "ProjectConfig":
    """`--limit concurrent_executions=3000`: a what-if change of [limits], for this run only."""
    from ..config import Limits

    if not overrides:
        return project
    changes: dict[str, str] = {}
    for item in overrides:
        key, equals, value = item.partition("=")
        if not equals or key.strip() not in Limits.model_fields:
            raise fail(
                f"--limit {item!r}: give KEY=VALUE with a key of [limits], e.g. concurrent_executions=3000 "
                "(see the README's [limits] table)"
            )
        changes[key.strip()] = value.strip()
    try:
        limits = Limits.model_validate({**project.limits.model_dump(), **changes})
    except ValueError as error:
        raise fail(f"--limit: {error}") from None
    return project.model_copy(update={"limits": limits})


def _error_rates(items: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in items:
        rate, _, error_type = item.partition(":")
        try:
            value = float(rate)
        except ValueError:
            message = f"--error-rate {item!r}: give a fraction, and an error type if you like: 0.02:ValueError"
            raise fail(message) from None
        if not 0 <= value <= 1:
            raise fail(f"--error-rate {item!r}: the fraction must be 0-1")
        rates[error_type.strip() or "Exception"] = value
    return rates


def load_test(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="function name, name:qualifier or ARN (none with --url)")] = None,
    rate: Annotated[str | None, typer.Option("--rate", "-r", help="requests a second: 50/s, 3000/min")] = None,
    duration: Annotated[str, typer.Option("--duration", "-d", help="how long to send: 30s, 2m, 1h")] = "10s",
    shape: Annotated[str, typer.Option("--shape", help=SHAPE_HELP)] = "constant",
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="closed loop: N clients, each sending when answered")
    ] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", help="send at most this many")] = None,
    event: Annotated[Path | None, typer.Option("--event", "-e", help="the JSON event every request sends")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="a folder of *.json events, sent in turn")] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="the event as inline JSON")] = None,
    qualifier: Annotated[str | None, typer.Option("--qualifier", "-q", help="$LATEST, a version or alias")] = None,
    invocation_type: Annotated[
        str, typer.Option("--invocation-type", help="RequestResponse, or Event (202, then Lambda's queue)")
    ] = "RequestResponse",
    retry: Annotated[
        int, typer.Option("--retry", min=0, help="client retries of a throttle (exponential backoff, full jitter)")
    ] = 0,
    model: Annotated[bool, typer.Option("--model", help="model mode: the same rules in virtual time")] = False,
    duration_ms: Annotated[float | None, typer.Option("--duration-ms", help="model: each one's duration")] = None,
    duration_dist: Annotated[str | None, typer.Option("--duration-dist", help=DISTRIBUTION_HELP)] = None,
    init_ms: Annotated[float | None, typer.Option("--init-ms", help="model: Init Duration of a cold start")] = None,
    init_dist: Annotated[str | None, typer.Option("--init-dist", help="model: Init Duration distribution (ms)")] = None,
    error_rate: Annotated[
        list[str] | None, typer.Option("--error-rate", help="model: fraction of function errors, e.g. 0.02:ValueError")
    ] = None,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="model: measure durations in a short real run first")
    ] = False,
    limit: Annotated[
        list[str] | None, typer.Option("--limit", help="what-if change of [limits] for this run: KEY=VALUE")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed (poisson arrivals, model draws, jitter)")] = 1,
    drain: Annotated[
        str | None, typer.Option("--drain", help="how long to wait for answers after the last request")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the report as JSON to FILE")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="draw concurrency, throttles, latency: FILE.png")] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="send messages to this SQS queue; the function's mapping polls it")
    ] = None,
    messages: Annotated[
        int | None, typer.Option("--messages", help="queue: send this many messages, spread over --duration")
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
    no_serve: Annotated[
        bool,
        typer.Option("--no-serve", envvar="LSIM_NO_SERVE", help="real mode in process even when an lsim serve runs"),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="send HTTP requests to this URL (lsim serve's API routes or a function URL)"),
    ] = None,
    method: Annotated[str, typer.Option("--method", help="with --url: the HTTP method")] = "GET",
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="with --url: a header NAME:VALUE (repeatable)")
    ] = None,
    request_body: Annotated[str | None, typer.Option("--body", help="with --url: the request body")] = None,
) -> None:
    """Send load to a function and report what Lambda would do: throttles, cold starts, latency.

    Real mode runs real execution environments; --model plays the same concurrency rules in virtual time
    at any scale. Either way: sent, succeeded, function errors, timeouts, throttles by reason."""
    import asyncio

    from ..loadtest import (
        LoadPlan,
        ModelAccount,
        ModelParameters,
        constant_ms,
        parse_distribution,
        parse_duration,
        parse_rate,
        parse_shape,
        run_model,
    )
    from ..loadtest.runner import LoadRunner
    from ..simulator import Simulator

    if url is not None:
        return _load_test_url(url, method, header or [], request_body, rate, duration, shape, concurrency, max_requests,
                              retry, seed, drain, json_path, plot, (name, event, events, payload, qualifier, queue,
                              model, invocation_type != "RequestResponse", limit or None))  # fmt: skip
    if name is None:
        raise fail("give the function to load (lsim load-test NAME), or --url URL for HTTP requests")
    model_options = [duration_ms, duration_dist, init_ms, init_dist, error_rate or None, calibrate or None]
    if not model and any(option is not None for option in model_options):
        raise fail("--duration-ms, --duration-dist, --init-ms, --init-dist, --error-rate, --calibrate are for --model")
    report: LoadReport | QueueReport
    if messages is not None and queue is None:
        raise fail("--messages is for a queue load test: give --queue NAME too")
    if queue is not None and (concurrency is not None or invocation_type != "RequestResponse" or retry):
        raise fail(
            "--queue sends messages at a rate (--rate or --messages): no --concurrency, --invocation-type, --retry"
        )
    try:
        seconds = parse_duration(duration)
        if concurrency is not None and rate is not None:
            raise fail("give --rate (open loop) or --concurrency (closed loop), not both")
        if messages is not None:
            if rate is not None or max_requests is not None:
                raise fail("give --messages N (spread over --duration) or --rate, not both")
            if messages < 1:
                raise fail(f"--messages {messages}: give 1 or more")
            rate, max_requests = f"{messages / seconds:.9g}/s", messages
        load_shape = None if concurrency is not None else parse_shape(shape, parse_rate(rate or "10/s"), seconds)
        plan = LoadPlan(
            function_name=name,
            duration_s=seconds,
            shape=load_shape,
            concurrency=concurrency,
            max_requests=max_requests,
            payloads=_payloads(event, events, payload),
            qualifier=qualifier,
            invocation_type=invocation_type,
            retries=retry,
            seed=seed,
        )
        drain_s = parse_duration(drain, "--drain") if drain is not None else None
        project = _with_limits(project_of(ctx), limit or [])
        configured = Simulator(project, backend="process", event_queue=False)  # never started: reads settings
        configured.resolve(name, qualifier, route=False)  # ResourceNotFoundException before anything runs
        # a template's logical ID (or SubApp/FunctionA, a CDK id) counts under the function's own name
        plan = dataclasses.replace(plan, function_name=configured.lookup.function_name(name))
        for body in plan.payloads:
            configured.check_payload_size(len(body), invocation_type)
        if queue is not None:
            report = _queue_load_test(configured, plan, queue, model, backend, drain_s, _model_parameters(
                model, calibrate, duration_ms, duration_dist, init_ms, init_dist, error_rate, project, plan, backend
            ))  # fmt: skip
        elif model:
            if calibrate and (duration_ms is not None or duration_dist is not None):
                raise fail("give --calibrate or --duration-ms/--duration-dist, not both")
            if calibrate:
                parameters = asyncio.run(_calibrate(project, plan, backend))
            else:
                if (duration_ms is None) == (duration_dist is None):
                    raise fail(
                        "--model needs how long the function runs: --duration-ms 200, "
                        "--duration-dist lognormal:200,50, or --calibrate to measure it"
                    )
                if init_ms is not None and init_dist is not None:
                    raise fail("give --init-ms or --init-dist, not both")
                parameters = ModelParameters(
                    duration=constant_ms(duration_ms)
                    if duration_ms is not None
                    else parse_distribution(duration_dist or "", "--duration-dist"),
                    init=parse_distribution(init_dist, "--init-dist")
                    if init_dist is not None
                    else constant_ms(init_ms or 0.0),
                    errors=_error_rates(error_rate or []),
                )
            account = ModelAccount.of(configured, name, qualifier)
            _say(f"model: {plan.describe()} of {account.function.name}, in virtual time")
            report = run_model(plan, account, parameters)
        elif not no_serve and (served := _serve_for(ctx, name, backend, invocation_type, limit or [])) is not None:
            function, _ = configured.resolve(name, qualifier, route=False)
            if drain_s is None:  # the runner's own bound: the function's timeout and init, with retries
                waits = sum(min(20.0, 0.1 * 2**n) for n in range(plan.retries))
                drain_s = (function.timeout + project.limits.init_timeout_s) * (plan.retries + 1) + waits + 5.0
            report = asyncio.run(_real_through_serve(served, plan, drain_s))
        else:

            async def real() -> "LoadReport":
                async with Simulator(
                    project, backend=backend, progress=_say, event_queue=invocation_type == "Event"
                ) as simulator:
                    await simulator.wait_function_active(name)
                    await simulator.prepare(name)  # the runtime image is built before the clock starts
                    runner = LoadRunner(simulator, plan, drain_s=drain_s)
                    async with _live_display(runner, plan.duration_s):
                        return await runner.run()

            report = asyncio.run(real())
    except LsimError as error:
        hint = " (--limit changed [limits] for this run)" if limit and isinstance(error, ProjectFileError) else ""
        raise fail(describe(error) + hint, exit_code(error)) from None
    _show(report, json_path, plot)


def _load_test_url(
    url: str, method: str, headers: list[str], body: str | None, rate: str | None, duration: str, shape: str,
    concurrency: int | None, max_requests: int | None, retry: int, seed: int, drain: str | None,
    json_path: Path | None, plot: Path | None, unused: tuple[object, ...],
) -> None:  # fmt: skip
    """`--url`: real HTTP requests to a running front door, with the same shapes and report; the answers are
    counted by status (a 429 as a throttle, 400 and up as an error named by its status)."""
    import asyncio

    from ..loadtest import LoadPlan, parse_duration, parse_rate, parse_shape
    from ..loadtest.http_target import HttpTarget
    from ..loadtest.runner import LoadRunner

    if any(option not in (None, False) for option in unused):
        raise fail("--url sends HTTP requests: no function name, --event/--events/--payload (use --body), "
                   "--qualifier, --queue, --model, --invocation-type or --limit")  # fmt: skip
    sent_headers: dict[str, str] = {}
    for item in headers:
        key, colon, value = item.partition(":")
        if not colon or not key.strip():
            raise fail(f"--header {item!r}: give NAME:VALUE, e.g. --header 'Authorization: allow'")
        sent_headers[key.strip()] = value.strip()
    try:
        seconds = parse_duration(duration)
        if concurrency is not None and rate is not None:
            raise fail("give --rate (open loop) or --concurrency (closed loop), not both")
        load_shape = None if concurrency is not None else parse_shape(shape, parse_rate(rate or "10/s"), seconds)
        target = HttpTarget(url, method, sent_headers)
        plan = LoadPlan(
            function_name=f"{target.method} {url}", duration_s=seconds, shape=load_shape, concurrency=concurrency,
            max_requests=max_requests, payloads=[(body or "").encode()], retries=retry, seed=seed,
        )  # fmt: skip
        drain_s = parse_duration(drain, "--drain") if drain is not None else None

        async def real() -> "LoadReport":
            try:
                runner = LoadRunner(target, plan, drain_s=drain_s if drain_s is not None else 60.0)
                async with _live_display(runner, plan.duration_s):
                    return await runner.run()
            finally:
                await target.close()

        report = asyncio.run(real())
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    except OSError as error:
        raise fail(f"--url {url}: cannot reach it ({error}); is `lsim serve` running?") from None
    notes = [
        target.status_line(),
        "over HTTP, 'function errors' are the answers of status 400 and up (by status) and 'throttled' the 429s; "
        "the function's own Duration and cold starts are in lsim serve's console",
    ]
    report = dataclasses.replace(report, notes=[*report.notes, *notes])
    _show(report, json_path, plot)


def _show(report: "LoadReport | QueueReport", json_path: Path | None, plot: Path | None) -> None:
    """The report on stdout, and in the files asked for."""
    typer.echo(report.text())
    try:
        if json_path is not None:
            report.write_json(json_path)
            _say(f"report written to {json_path}")
        if plot is not None:
            report.plot(plot)
            _say(f"plot drawn to {plot}")
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    except OSError as error:
        raise fail(f"cannot write the report: {error}") from None


def _serve_for(
    ctx: typer.Context, name: str, backend: str, invocation_type: str, limits: list[str]
) -> "ServeRecord | None":
    """A running `lsim serve` of the project that can take the load (real mode), or None (in process)."""
    from .. import through_serve as warm

    if warm.no_serve_wanted():
        return None
    options = ctx.find_root().obj or {}
    request = warm.InvokeRequest(
        name, b"", backend=backend, project=options.get("project"),
        parameter_overrides=tuple(options.get("parameter_overrides") or ()), env_vars=options.get("env_vars"),
    )  # fmt: skip
    record = warm.choose_serve(request, _say)
    if record is None:
        return None
    if limits:
        _say(f"in process: --limit changes [limits] for this run, which lsim serve on {record.where} keeps as started")
        return None
    if invocation_type != "RequestResponse":
        _say(f"in process: an Event load test follows lsim's queue in this process, not lsim serve's on {record.where}")
        return None
    return record


async def _real_through_serve(record: "ServeRecord", plan: "LoadPlan", drain_s: float) -> "LoadReport":
    from ..loadtest.runner import LoadRunner
    from ..loadtest.serve_target import ServeTarget

    _say(f"via lsim serve on {record.where}: its warm environments and its concurrency book")
    target = ServeTarget(record)
    try:
        runner = LoadRunner(target, plan, drain_s=drain_s)
        async with _live_display(runner, plan.duration_s):
            return await runner.run()
    finally:
        await target.close()


async def _calibrate(project: "ProjectConfig", plan: "LoadPlan", backend: str) -> "ModelParameters":
    from ..loadtest import calibrate
    from ..simulator import Simulator

    async with Simulator(project, backend=backend, progress=_say, event_queue=False) as simulator:
        await simulator.wait_function_active(plan.function_name)
        await simulator.prepare(plan.function_name)
        _say(f"calibrating: a short real run of {plan.function_name} to measure its durations ...")
        parameters = await calibrate(simulator, plan)
    _say(f"calibrated: Duration {parameters.duration.describe()}, Init Duration {parameters.init.describe()}")
    return parameters


@contextlib.asynccontextmanager
async def _live_display(runner: "LoadRunner", duration_s: float) -> AsyncIterator[None]:
    """elapsed, sent, ok, errors, throttles and the function's concurrency, refreshed 4 times a second on
    a terminal (from the event loop: the counters are read where they change)."""
    import asyncio

    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield
        return

    def render() -> Text:
        p = runner.progress
        return Text.from_markup(
            f"[bold]{p.elapsed():5.1f}[/]/{duration_s:g} s   sent [bold]{p.sent:,}[/]   ok [green]{p.succeeded:,}[/]"
            f"   errors [red]{p.errors:,}[/]   throttles [yellow]{p.throttles:,}[/]"
            f"   concurrency [bold]{runner.current_concurrency()}[/]   awaiting {p.running:,}"
        )

    with Live(render(), console=console, auto_refresh=False, transient=False) as live:

        async def refresh() -> None:
            while True:
                await asyncio.sleep(REFRESH_S)
                live.update(render(), refresh=True)

        task = asyncio.create_task(refresh())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            live.update(render(), refresh=True)


def _model_parameters(
    model: bool,
    calibrate: bool,
    duration_ms: float | None,
    duration_dist: str | None,
    init_ms: float | None,
    init_dist: str | None,
    error_rate: list[str] | None,
    project: "ProjectConfig",
    plan: "LoadPlan",
    backend: str,
) -> "ModelParameters | None":
    """How long the function runs and how often it fails, for model mode (None in real mode)."""
    import asyncio

    from ..loadtest import ModelParameters, constant_ms, parse_distribution

    if not model:
        return None
    if calibrate and (duration_ms is not None or duration_dist is not None):
        raise fail("give --calibrate or --duration-ms/--duration-dist, not both")
    if calibrate:
        return asyncio.run(_calibrate(project, plan, backend))
    if (duration_ms is None) == (duration_dist is None):
        raise fail(
            "--model needs how long the function runs: --duration-ms 200, "
            "--duration-dist lognormal:200,50, or --calibrate to measure it"
        )
    if init_ms is not None and init_dist is not None:
        raise fail("give --init-ms or --init-dist, not both")
    return ModelParameters(
        duration=constant_ms(duration_ms)
        if duration_ms is not None
        else parse_distribution(duration_dist or "", "--duration-dist"),
        init=parse_distribution(init_dist, "--init-dist") if init_dist is not None else constant_ms(init_ms or 0.0),
        errors=_error_rates(error_rate or []),
    )


def _queue_load_test(
    configured: "Simulator",
    plan: "LoadPlan",
    queue: str,
    model: bool,
    backend: str,
    drain_s: float | None,
    parameters: "ModelParameters | None",
) -> "QueueReport":
    """`--queue NAME`: messages into the queue, the function's mapping draining it (real or model mode)."""
    import asyncio

    from ..loadtest import ModelAccount
    from ..loadtest.queue_model import run_queue_model, setup_of
    from ..loadtest.queue_runner import run_queue_load_test
    from ..simulator import Simulator

    asyncio.run(configured.declare_queues())  # the declared queues and mappings, as a start would make them
    setup = setup_of(configured, plan.function_name, queue)
    if parameters is not None:
        account = ModelAccount.of(configured, plan.function_name, plan.qualifier)
        _say(f"model: {plan.describe()} into queue {queue}, drained by {account.function.name}, in virtual time")
        return run_queue_model(plan, setup, account, parameters, drain_s=drain_s)

    async def real() -> "QueueReport":
        async with Simulator(configured.project, backend=backend, progress=_say) as simulator:
            await simulator.wait_function_active(plan.function_name)
            await simulator.prepare(plan.function_name)
            _say(f"real: {plan.describe()} into queue {queue}, drained by the Simulator's poller")
            return await run_queue_load_test(simulator, plan, queue, drain_s=drain_s)

    return asyncio.run(real())
