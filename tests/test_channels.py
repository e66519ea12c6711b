"""The Runtime and Extensions channels without HTTP: what they answer, in the domain's words.

The HTTP server (runtime_api.py, tested on the wire in test_runtime_api.py) only renders these answers; here
the rules are driven directly, the way the execution environment drives them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from simulator.channels import (
    Accepted,
    EnvironmentGone,
    ExtensionEvent,
    NextInvocation,
    Refused,
    Registered,
    RuntimeChannel,
    RuntimeOutcome,
)
from simulator.channels.extensions import MAX_EXTENSIONS
from simulator.invocation import Invocation, error_body, error_type_of

SIX_MB = 6 * 1024 * 1024


def run(scenario: Callable[[RuntimeChannel], Awaitable[Any]], limit: int = 1024) -> Any:
    async def main() -> Any:
        return await scenario(RuntimeChannel(limit, {"functionName": "f"}))

    return asyncio.run(main())


def invocation(request_id: str = "req-1") -> Invocation:
    return Invocation(request_id, b"{}", "arn:aws:lambda:us-east-1:123456789012:function:f", 3.0, "Root=1-a")


def test_one_answer_per_invocation() -> None:
    async def scenario(channel: RuntimeChannel) -> None:
        outcome = channel.submit(invocation())
        handed = await channel.next()
        assert isinstance(handed, NextInvocation) and handed.invocation.request_id == "req-1"
        assert channel.respond("req-1", b'{"ok": true}') == Accepted()
        assert (await outcome).body == b'{"ok": true}'
        second = channel.fail("req-1", b"{}", None)
        assert isinstance(second, Refused) and second.error_type == "InvalidStateTransition"
        unknown = channel.respond("nobody", b"{}")
        assert unknown == Refused("InvalidRequestID", "Invalid request ID")

    run(scenario)


def test_an_error_takes_the_body_s_type_then_the_reported_one() -> None:
    async def scenario(channel: RuntimeChannel) -> list[str | None]:
        types = []
        for request_id, body, reported in [
            ("a", b'{"errorType": "KeyError", "errorMessage": "k"}', "Header.Type"),
            ("b", b"not json", "Header.Type"),
            ("c", b"not json", None),
        ]:
            outcome = channel.submit(invocation(request_id))
            await channel.next()
            assert channel.fail(request_id, body, reported) == Accepted()
            types.append((await outcome).error_type)
        return types

    assert run(scenario) == ["KeyError", "Header.Type", "Runtime.Unknown"]


def test_a_body_over_the_limit_fails_the_invocation_and_refuses_the_runtime() -> None:
    async def scenario(channel: RuntimeChannel) -> tuple[Refused, RuntimeOutcome]:
        outcome = channel.submit(invocation())
        await channel.next()
        return channel.too_large("req-1"), await outcome

    refused, outcome = run(scenario, limit=SIX_MB)
    assert refused.error_type == "RequestEntityTooLarge"
    assert "(6291556 bytes)" in refused.message  # AWS's figure: 6 MB and its framing slack
    assert outcome.kind == "error" and outcome.error_type == "Function.ResponseSizeTooLarge"
    assert json.loads(outcome.body)["errorType"] == "Function.ResponseSizeTooLarge"


def test_init_error_only_before_the_first_next() -> None:
    async def scenario(channel: RuntimeChannel) -> tuple[object, object, object]:
        first = channel.runtime_init_error(b'{"errorType": "Runtime.ImportModuleError"}', None)
        again = channel.runtime_init_error(b"{}", None)
        return first, again, channel.init_error.result().error_type

    first, again, error_type = run(scenario)
    assert first == Accepted()
    assert isinstance(again, Refused) and again.error_type == "InvalidStateTransition"
    assert error_type == "Runtime.ImportModuleError"


def test_a_closed_environment_answers_next_with_environment_gone() -> None:
    async def scenario(channel: RuntimeChannel) -> None:
        channel.close()
        with pytest.raises(EnvironmentGone):
            await channel.next()

    run(scenario)


def test_extensions_register_during_init_only_and_at_most_ten() -> None:
    async def scenario(channel: RuntimeChannel) -> None:
        extensions = channel.extensions
        answers = [extensions.register(f"ext{i}", b'{"events": ["INVOKE"]}') for i in range(MAX_EXTENSIONS + 1)]
        assert all(isinstance(a, Registered) and a.identity == {"functionName": "f"} for a in answers[:-1])
        assert answers[-1] == Refused("Extension.TooManyExtensions", "at most 10 extensions per function")
        extensions.registration_open = False
        late = extensions.register("late", b"{}")
        assert isinstance(late, Refused) and late.error_type == "Extension.RegistrationForbidden"

    run(scenario)


def test_extension_registration_checks_its_events() -> None:
    async def scenario(channel: RuntimeChannel) -> list[str]:
        extensions = channel.extensions
        refused = [extensions.register("x", b"[1]"), extensions.register("x", b'{"events": ["TELEMETRY"]}')]
        return [answer.error_type for answer in refused if isinstance(answer, Refused)]

    assert run(scenario) == ["InvalidRequest", "InvalidEventType"]


def test_an_invocation_reaches_the_extensions_subscribed_to_invoke() -> None:
    async def scenario(channel: RuntimeChannel) -> ExtensionEvent:
        registered = channel.extensions.register("ext", b'{"events": ["INVOKE", "SHUTDOWN"]}')
        assert isinstance(registered, Registered)
        extension = channel.extensions.find(registered.extension_id)
        assert extension is not None and channel.extensions.find("unknown") is None
        channel.submit(invocation())
        await channel.next()
        return await channel.extensions.next_event(extension)

    event = run(scenario)
    assert event.event["eventType"] == "INVOKE" and event.event["requestId"] == "req-1" and event.event_id


def test_an_extension_s_init_error_fails_the_init_phase() -> None:
    async def scenario(channel: RuntimeChannel) -> RuntimeOutcome:
        registered = channel.extensions.register("ext", b"{}")
        assert isinstance(registered, Registered)
        extension = channel.extensions.find(registered.extension_id)
        assert extension is not None
        assert channel.extension_init_error(extension, None) == Accepted()
        return channel.init_error.result()

    outcome = run(scenario)
    assert outcome.error_type == "Extension.InitError"
    assert json.loads(outcome.body) == {
        "errorMessage": "extension ext failed to initialize: Extension.InitError",
        "errorType": "Extension.InitError",
    }


def test_one_function_builds_a_lambda_error_body() -> None:
    assert json.loads(error_body("Sandbox.Timedout", "Task timed out")) == {
        "errorMessage": "Task timed out",
        "errorType": "Sandbox.Timedout",
    }
    with_trace = json.loads(error_body("KeyError", "'k'", ["  File x, line 1"]))
    assert with_trace["stackTrace"] == ["  File x, line 1"]
    assert error_type_of(error_body("KeyError", "'k'")) == "KeyError"
    assert error_type_of(b"not json") is None and error_type_of(None) is None
