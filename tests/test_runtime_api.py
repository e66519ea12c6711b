"""The Runtime API on the wire: real HTTP against lsim's server, as a runtime client sees it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from simulator.invocation import Invocation
from simulator.runtime_api import RuntimeApiServer, RuntimeChannel

BASE = "/2018-06-01/runtime"


def run(
    scenario: Callable[[aiohttp.ClientSession, str, RuntimeChannel], Awaitable[Any]], limit: int = 1024
) -> Any:
    async def main() -> Any:
        server = RuntimeApiServer()
        channel = RuntimeChannel(limit)
        address = await server.open("127.0.0.1", channel)
        channel.admit("127.0.0.1")
        try:
            async with aiohttp.ClientSession() as session:
                return await scenario(session, f"http://{address}", channel)
        finally:
            await server.close()

    return asyncio.run(main())


def invocation(request_id: str = "req-1", **overrides: Any) -> Invocation:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "payload": b'{"k": 1}',
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "timeout_s": 3.0,
        "trace_id": "Root=1-abc;Sampled=0",
        "client_context": '{"custom": {"a": 1}}',
        "cognito_identity": '{"cognitoIdentityId": "id"}',
    }
    return Invocation(**{**fields, **overrides})


def test_next_hands_out_the_event_with_lambdas_headers() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        outcome = channel.submit(invocation())
        before = time.time()
        async with session.get(f"{url}{BASE}/invocation/next") as response:
            assert response.status == 200
            assert await response.read() == b'{"k": 1}'
            headers = response.headers
            assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
            assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
            assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-abc;Sampled=0"
            assert json.loads(headers["Lambda-Runtime-Client-Context"]) == {"custom": {"a": 1}}
            assert json.loads(headers["Lambda-Runtime-Cognito-Identity"]) == {"cognitoIdentityId": "id"}
            deadline = int(headers["Lambda-Runtime-Deadline-Ms"]) / 1000
            assert before + 2.9 < deadline < time.time() + 3.1
        assert channel.ready.is_set()
        async with session.post(f"{url}{BASE}/invocation/req-1/response", data=b'"done"') as response:
            assert response.status == 202
            assert await response.json() == {"status": "OK"}
        result = await outcome
        assert (result.kind, result.body) == ("response", b'"done"')

    run(scenario)


def test_a_second_post_for_the_same_request_is_forbidden() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        channel.submit(invocation())
        async with session.get(f"{url}{BASE}/invocation/next"):
            pass
        async with session.post(f"{url}{BASE}/invocation/req-1/response", data=b"1") as response:
            assert response.status == 202
        async with session.post(f"{url}{BASE}/invocation/req-1/error", data=b"{}") as response:
            assert response.status == 403
            assert (await response.json())["errorType"] == "InvalidStateTransition"

    run(scenario)


def test_an_unknown_request_id_is_a_bad_request() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        async with session.post(f"{url}{BASE}/invocation/nope/response", data=b"1") as response:
            assert response.status == 400
            assert (await response.json())["errorType"] == "InvalidRequestID"

    run(scenario)


def test_a_response_over_the_limit_is_413_and_fails_the_invocation() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        outcome = channel.submit(invocation())
        async with session.get(f"{url}{BASE}/invocation/next"):
            pass
        async with session.post(f"{url}{BASE}/invocation/req-1/response", data=b"x" * 5000) as response:
            assert response.status == 413
            assert (await response.json())["errorType"] == "RequestEntityTooLarge"
        result = await outcome
        assert result.kind == "error" and result.error_type == "Function.ResponseSizeTooLarge"

    run(scenario, limit=1024)


def test_error_post_carries_the_error_type() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        outcome = channel.submit(invocation())
        async with session.get(f"{url}{BASE}/invocation/next"):
            pass
        body = json.dumps({"errorMessage": "x", "errorType": "KeyError", "stackTrace": []})
        headers = {"Lambda-Runtime-Function-Error-Type": "Unhandled"}
        async with session.post(
            f"{url}{BASE}/invocation/req-1/error", data=body, headers=headers
        ) as response:
            assert response.status == 202
        result = await outcome
        assert (result.kind, result.error_type) == ("error", "KeyError")

    run(scenario)


def test_init_error_is_accepted_once_and_only_before_ready() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        body = json.dumps({"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"})
        async with session.post(f"{url}{BASE}/init/error", data=body) as response:
            assert response.status == 202
        assert channel.init_error.result().error_type == "Runtime.ImportModuleError"
        async with session.post(f"{url}{BASE}/init/error", data=body) as response:
            assert response.status == 403

    run(scenario)


def test_closing_the_environment_ends_a_waiting_next_with_500() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        asyncio.get_running_loop().call_later(0.05, channel.close)
        async with session.get(f"{url}{BASE}/invocation/next") as response:
            assert response.status == 500
            assert "Runtime should exit" in (await response.json())["errorMessage"]

    run(scenario)


EXT = "/2020-01-01/extension"


def test_extensions_register_poll_and_are_refused_once_init_is_over() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        channel.extensions.identity = {"functionName": "f", "functionVersion": "$LATEST", "handler": "app.handler"}
        headers = {"Lambda-Extension-Name": "probe"}
        async with session.post(f"{url}{EXT}/register", json={"events": ["INVOKE"]}, headers=headers) as response:
            assert response.status == 200
            identifier = response.headers["Lambda-Extension-Identifier"]
            assert await response.json() == channel.extensions.identity
        async with session.post(f"{url}{EXT}/register", json={"events": ["BOGUS"]}, headers=headers) as response:
            assert response.status == 400
        async with session.get(f"{url}{EXT}/event/next", headers={"Lambda-Extension-Identifier": "nope"}) as response:
            assert response.status == 403
        poll = asyncio.ensure_future(session.get(f"{url}{EXT}/event/next", headers={"Lambda-Extension-Identifier": identifier}))
        outcome = channel.submit(invocation())
        async with session.get(f"{url}{BASE}/invocation/next"):
            pass
        await asyncio.wait_for(channel.initialized(), 5)
        response = await poll
        event = await response.json()
        assert (event["eventType"], event["requestId"]) == ("INVOKE", "req-1")
        assert event["tracing"] == {"type": "X-Amzn-Trace-Id", "value": "Root=1-abc;Sampled=0"}
        async with session.post(f"{url}{BASE}/invocation/req-1/response", data=b"1"):
            pass
        await outcome
        async with session.post(f"{url}{EXT}/register", json={"events": ["INVOKE"]}, headers=headers) as response:
            assert response.status == 403  # registration closed with the init phase

    run(scenario)


def test_at_most_ten_extensions() -> None:
    async def scenario(session: aiohttp.ClientSession, url: str, channel: RuntimeChannel) -> None:
        statuses = []
        for i in range(11):
            async with session.post(f"{url}{EXT}/register", json={"events": []}, headers={"Lambda-Extension-Name": f"e{i}"}) as r:
                statuses.append(r.status)
        assert statuses == [200] * 10 + [403]

    run(scenario)
