"""simulator.retry: exponential backoff with full jitter, retrying throttles and nothing else."""

from __future__ import annotations

import asyncio

import pytest

from simulator.errors import InvalidParameterValueException, TooManyRequestsException
from simulator.retry import backoff_delays, is_throttle, retry, retry_async


class ClientError(Exception):
    """The shape of botocore's ClientError, which the retry helper recognises without importing it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "Rate Exceeded."}}


def test_full_jitter_draws_below_an_exponential_cap() -> None:
    assert list(backoff_delays(5, base=0.1, cap=1.0, rng=lambda: 1.0)) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert list(backoff_delays(3, base=0.1, rng=lambda: 0.0)) == [0.0, 0.0, 0.0]


def test_a_throttle_is_retried_until_the_call_succeeds() -> None:
    calls, slept = [], []

    def call() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TooManyRequestsException("ReservedFunctionConcurrentInvocationLimitExceeded")
        return "ok"

    assert retry(call, attempts=5, sleep=slept.append, rng=lambda: 0.5) == "ok"
    assert len(calls) == 3 and slept == pytest.approx([0.05, 0.1])


def test_the_last_throttle_is_raised_when_attempts_run_out() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise ClientError("TooManyRequestsException")

    with pytest.raises(ClientError):
        retry(call, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_other_errors_are_not_retried() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise InvalidParameterValueException("bad")

    with pytest.raises(InvalidParameterValueException):
        retry(call, attempts=5, sleep=lambda _: None)
    assert len(calls) == 1
    assert is_throttle(ClientError("TooManyRequestsException")) and not is_throttle(ClientError("ServiceException"))


def test_retry_async_awaits_a_new_call_each_attempt() -> None:
    attempts = []

    async def call() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise TooManyRequestsException("ConcurrentInvocationLimitExceeded")
        return len(attempts)

    async def no_wait(_: float) -> None:
        return None

    assert asyncio.run(retry_async(call, attempts=2, sleep=no_wait)) == 2
