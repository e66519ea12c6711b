"""Load shapes: how many requests a second a load test sends at each instant, as pure functions of time.

Every shape is a piecewise-linear rate over [0, duration): `constant`, `ramp` (from a start rate up to the
rate), `step` (the rate reached in equal steps), `spike` (a burst of `factor` times the rate) and
`poisson` (the constant rate, with random exponential gaps between requests, as independent clients
send). The n-th request of a deterministic shape is sent when the expected count reaches n, so a
constant 10/s for 10 s sends exactly 100 requests, at 0.0, 0.1, ... 9.9 s. Real mode and model mode
read the same arrival times from the same shape and seed.

Also here: the parsers for what a user types (`50/s`, `30s`, `spike:factor=5,at=10s,length=2s`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import LsimError

SHAPES = ("constant", "ramp", "step", "spike", "poisson")


class LoadTestError(LsimError):
    """A load test asked for something that cannot be run; the message names the fix."""


@dataclass(frozen=True, slots=True)
class Segment:
    """The rate goes linearly from `start_rate` to `end_rate` (requests a second) between two instants."""

    start: float
    end: float
    start_rate: float
    end_rate: float

    @property
    def requests(self) -> float:
        return (self.start_rate + self.end_rate) / 2 * (self.end - self.start)


@dataclass(frozen=True)
class Shape:
    """A load shape over `duration_s` seconds: its rate at each instant and its arrival times."""

    name: str
    rate: float  # requests a second: the constant rate, the top of a ramp or step, the base of a spike
    duration_s: float
    segments: tuple[Segment, ...]
    poisson: bool = False
    description: str = ""

    def rate_at(self, t: float) -> float:
        """Requests a second at instant `t` (0 outside the shape)."""
        for segment in self.segments:
            if segment.start <= t < segment.end:
                span = segment.end - segment.start
                return segment.start_rate + (segment.end_rate - segment.start_rate) * (t - segment.start) / span
        return 0.0

    def expected(self, t: float) -> float:
        """Requests expected by instant `t`: the integral of the rate from 0."""
        total = 0.0
        for segment in self.segments:
            if t <= segment.start:
                break
            if t >= segment.end:
                total += segment.requests
                continue
            tau = t - segment.start
            slope = (segment.end_rate - segment.start_rate) / (segment.end - segment.start)
            total += segment.start_rate * tau + slope * tau * tau / 2
        return total

    @property
    def expected_requests(self) -> float:
        return self.expected(self.duration_s)

    def count(self, seed: int = 1) -> int:
        """How many requests the shape sends (a deterministic shape: ceil of the expected count)."""
        if not self.poisson:
            return math.ceil(self.expected_requests - 1e-9)
        return sum(1 for _ in self.arrivals(seed))

    def arrivals(self, seed: int = 1) -> Iterator[float]:
        """Send times in seconds from the start, in order. Deterministic shapes send request n when the
        expected count reaches n (n = 0, 1, ...); `poisson` when it reaches a sum of exponential draws."""
        if not self.poisson and len(self.segments) == 1 and self.segments[0].start_rate == self.segments[0].end_rate:
            rate, end = self.segments[0].start_rate, self.segments[0].end  # the common case, fast
            if rate <= 0:
                return
            for n in range(math.ceil(rate * end - 1e-9)):
                yield n / rate
            return
        rng = random.Random(seed)
        target = rng.expovariate(1.0) if self.poisson else 0.0
        done = 0.0  # requests expected before the current segment
        for segment in self.segments:
            span = segment.end - segment.start
            r0 = segment.start_rate
            slope = (segment.end_rate - r0) / span
            available = segment.requests
            while target - done < available - 1e-12:
                x = target - done
                root = r0 * r0 + 2 * slope * x
                denominator = r0 + math.sqrt(max(root, 0.0))
                tau = 2 * x / denominator if denominator > 0 else 0.0
                at = segment.start + tau
                if at >= segment.end:
                    break
                yield at
                target += rng.expovariate(1.0) if self.poisson else 1.0
            done += available

    def describe(self) -> str:
        return self.description or f"{self.name} {format_rate(self.rate)} for {format_duration(self.duration_s)}"


# -- building shapes ----------------------------------------------------------------------------------------
def constant(rate: float, duration_s: float) -> Shape:
    _check(rate, duration_s)
    return Shape("constant", rate, duration_s, (Segment(0.0, duration_s, rate, rate),))


def poisson(rate: float, duration_s: float) -> Shape:
    _check(rate, duration_s)
    segments = (Segment(0.0, duration_s, rate, rate),)
    description = f"poisson {format_rate(rate)} (random gaps) for {format_duration(duration_s)}"
    return Shape("poisson", rate, duration_s, segments, poisson=True, description=description)


def ramp(rate: float, duration_s: float, start_rate: float = 0.0) -> Shape:
    """From `start_rate` up (or down) to `rate`, linearly over the whole duration."""
    _check(rate, duration_s)
    if start_rate < 0:
        raise LoadTestError(f"ramp: from={start_rate} is negative; give a start rate of 0 or more")
    description = f"ramp {format_rate(start_rate)} -> {format_rate(rate)} over {format_duration(duration_s)}"
    return Shape("ramp", rate, duration_s, (Segment(0.0, duration_s, start_rate, rate),), description=description)


def step(rate: float, duration_s: float, steps: int = 4) -> Shape:
    """`steps` equal stretches at rate/steps, 2*rate/steps, ... rate."""
    _check(rate, duration_s)
    if steps < 1:
        raise LoadTestError(f"step: steps={steps}; give 1 or more")
    width = duration_s / steps
    segments = tuple(
        Segment(k * width, (k + 1) * width, rate * (k + 1) / steps, rate * (k + 1) / steps) for k in range(steps)
    )
    description = f"step to {format_rate(rate)} in {steps} steps of {format_duration(width)}"
    return Shape("step", rate, duration_s, segments, description=description)


def spike(
    rate: float, duration_s: float, factor: float = 10.0, at: float | None = None, length: float | None = None
) -> Shape:
    """`rate`, then `factor` times it from `at` for `length` seconds (default: 40% in, for 10%), then
    `rate` again."""
    _check(rate, duration_s)
    at = duration_s * 0.4 if at is None else at
    length = duration_s * 0.1 if length is None else length
    if factor <= 0 or length <= 0 or at < 0 or at + length > duration_s:
        raise LoadTestError(
            f"spike: factor={factor}, at={at:g}s, length={length:g}s do not fit in {duration_s:g}s: give a "
            "factor above 0 and a spike that starts and ends inside the duration"
        )
    peak = rate * factor
    parts = [(0.0, at, rate), (at, at + length, peak), (at + length, duration_s, rate)]
    segments = tuple(Segment(a, b, r, r) for a, b, r in parts if b > a)
    description = (
        f"spike {format_rate(rate)} with {format_rate(peak)} from {format_duration(at)} for "
        f"{format_duration(length)}, {format_duration(duration_s)} in all"
    )
    return Shape("spike", rate, duration_s, segments, description=description)


def _check(rate: float, duration_s: float) -> None:
    if not rate > 0 or not math.isfinite(rate):
        raise LoadTestError(f"--rate {rate:g}/s: give a rate above 0, e.g. --rate 50/s")
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise LoadTestError(f"--duration {duration_s:g}s: give a duration above 0, e.g. --duration 30s")


# -- what users type -----------------------------------------------------------------------------------------
_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|m|min|h)?\s*$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*(ms|s|sec|m|min|h))?\s*$")


def parse_duration(text: str, option: str = "--duration") -> float:
    """'30s', '500ms', '2m', '1h' or plain seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise LoadTestError(f"{option} {text!r}: give a duration such as 30s, 500ms, 2m or 1h")
    return float(match[1]) * _UNITS[match[2] or "s"]


def parse_rate(text: str) -> float:
    """'50/s', '3000/min', or plain requests a second."""
    match = _RATE.match(text)
    if match is None:
        raise LoadTestError(f"--rate {text!r}: give requests per second such as 50/s (or 3000/min)")
    return float(match[1]) / _UNITS[match[2] or "s"]


def parse_shape(text: str, rate: float, duration_s: float) -> Shape:
    """`constant`, `poisson`, `ramp[:from=RATE]`, `step[:steps=N]`, `spike[:factor=F,at=T,length=T]`
    (T a duration or a percentage of the whole)."""
    name, _, arguments = text.partition(":")
    name = name.strip().lower()
    if name not in SHAPES:
        raise LoadTestError(f"--shape {text!r}: unknown shape; use one of {', '.join(SHAPES)}")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in arguments.split(","))):
        key, equals, value = part.partition("=")
        if not equals:
            raise LoadTestError(f"--shape {text!r}: {part!r} is not key=value (e.g. spike:factor=5,at=10s)")
        options[key.strip().lower()] = value.strip()
    allowed = {
        "constant": set(),
        "poisson": set(),
        "ramp": {"from"},
        "step": {"steps"},
        "spike": {"factor", "at", "length"},
    }[name]
    unknown = sorted(set(options) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "no options"
        raise LoadTestError(f"--shape {text!r}: unknown option {', '.join(unknown)}; {name} takes {accepted}")
    try:
        if name == "constant":
            return constant(rate, duration_s)
        if name == "poisson":
            return poisson(rate, duration_s)
        if name == "ramp":
            return ramp(rate, duration_s, parse_rate(options["from"]) if "from" in options else 0.0)
        if name == "step":
            return step(rate, duration_s, int(options.get("steps", "4")))
        at = _instant(options["at"], duration_s) if "at" in options else None
        length = _instant(options["length"], duration_s) if "length" in options else None
        return spike(rate, duration_s, float(options.get("factor", "10")), at, length)
    except ValueError as error:
        raise LoadTestError(f"--shape {text!r}: {error}") from None


def _instant(text: str, duration_s: float) -> float:
    if text.endswith("%"):
        return float(text[:-1]) / 100 * duration_s
    return parse_duration(text, "--shape")


def format_rate(rate: float) -> str:
    return f"{rate:g}/s"


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 120 or seconds % 60:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"
