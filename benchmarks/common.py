"""Helpers shared by the benchmarks: timing, percentiles, and the one-line result format."""

from __future__ import annotations

import statistics
from pathlib import Path

PROJECT = Path(__file__).parent / "project"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def figure(name: str, value: float, unit: str, baseline: float, target: str) -> None:
    """Print one figure with its baseline (measured in the same run) and the ratio between them."""
    ratio = value / baseline if baseline else float("inf")
    print(f"{name:<48} {value:10.3f} {unit:<3} baseline {baseline:10.3f} {unit:<3} ratio {ratio:6.2f}x  ({target})")
