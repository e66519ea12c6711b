"""Retry a throttled Lambda call with exponential backoff and full jitter, from your own client code.

    from simulator.retry import retry, retry_async

    result = retry(lambda: client.invoke(FunctionName="hello", Payload=b"{}"), attempts=5)
    result = await retry_async(lambda: lsim.invoke("hello", {}), attempts=5)

Only throttles are retried: lsim's TooManyRequestsException, or a botocore ClientError whose code is
TooManyRequestsException (recognised by its shape; botocore is not imported). Anything else is raised at
once. Each wait is drawn uniformly between 0 and min(cap, base * 2**retry) — "full jitter", which spreads
the retries of many clients apart (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from .errors import TooManyRequestsException

T = TypeVar("T")

__all__ = ["backoff_delays", "is_throttle", "retry", "retry_async"]


def is_throttle(error: BaseException) -> bool:
    """A 429 from lsim or from a boto3 Lambda client."""
    if isinstance(error, TooManyRequestsException):
        return True
    response: Any = getattr(error, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return code == "TooManyRequestsException"
    return False


def backoff_delays(
    retries: int, *, base: float = 0.1, cap: float = 20.0, rng: Callable[[], float] = random.random
) -> Iterator[float]:
    """The waits before each of `retries` retries: uniform in [0, min(cap, base * 2**n))."""
    for n in range(retries):
        yield rng() * min(cap, base * 2**n)


def retry(
    call: Callable[[], T],
    *,
    attempts: int = 3,
    base: float = 0.1,
    cap: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Call `call()` up to `attempts` times while it is throttled; the last throttle is raised."""
    delays = backoff_delays(max(0, attempts - 1), base=base, cap=cap, rng=rng)
    while True:
        try:
            return call()
        except Exception as error:
            delay = _next_delay(error, delays)
            if on_retry is not None:
                on_retry(error, delay)
            sleep(delay)


async def retry_async(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base: float = 0.1,
    cap: float = 20.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """`retry` for coroutines: `call()` returns a new awaitable each attempt."""
    delays = backoff_delays(max(0, attempts - 1), base=base, cap=cap, rng=rng)
    while True:
        try:
            return await call()
        except Exception as error:
            delay = _next_delay(error, delays)
            if on_retry is not None:
                on_retry(error, delay)
            await sleep(delay)


def _next_delay(error: Exception, delays: Iterator[float]) -> float:
    """The wait before the next attempt, or re-raise `error` when it is not a throttle or none is left."""
    if not is_throttle(error):
        raise error
    delay = next(delays, None)
    if delay is None:
        raise error
    return delay
