"""`--plot FILE.png`: concurrency, requests and throttles, and latency over time (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .shapes import LoadTestError

if TYPE_CHECKING:
    from .queue_report import QueueReport
    from .report import LoadReport


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise LoadTestError(
            "--plot needs matplotlib, an optional extra: pip install 'lsim[plot]' (or pip install matplotlib)"
        ) from None
    return plt


def draw(report: LoadReport, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise LoadTestError(
            "--plot needs matplotlib, an optional extra: pip install 'lsim[plot]' (or pip install matplotlib)"
        ) from None
    rows = report.timeline
    t = [row.t for row in rows]
    per_second = 1.0 / report.bucket_s
    figure, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    figure.suptitle(report.title(), fontsize=10)

    top.step(t, [row.concurrency for row in rows], where="post", label="concurrency (peak)")
    if report.concurrency_limit is not None:
        top.axhline(report.concurrency_limit, color="red", linestyle="--", linewidth=1, label="limit")
    top.set_ylabel("concurrent executions")
    top.legend(loc="upper right", fontsize=8)

    middle.plot(t, [row.sent * per_second for row in rows], label="sent")
    middle.plot(t, [row.succeeded * per_second for row in rows], label="succeeded")
    middle.plot(t, [row.throttled * per_second for row in rows], label="throttled", color="red")
    if any(row.errors for row in rows):
        middle.plot(t, [row.errors * per_second for row in rows], label="errors and timeouts", color="black")
    middle.set_ylabel("requests / s")
    middle.legend(loc="upper right", fontsize=8)

    def series(values: list[float | None]) -> list[float]:
        return [value if value is not None else float("nan") for value in values]

    bottom.plot(t, series([row.latency_p50_ms for row in rows]), marker=".", label="p50")
    bottom.plot(t, series([row.latency_p99_ms for row in rows]), marker=".", label="p99")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel(f"seconds ({report.mode} mode; by the time each request was sent)")
    bottom.legend(loc="upper right", fontsize=8)

    for axis in (top, middle, bottom):
        axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def draw_queue(report: QueueReport, path: Path) -> None:
    """A queue load test: the backlog (visible, in flight, dead letters), the age of the oldest message,
    and the function's concurrency with the mapping's allowed batches and throttles."""
    plt = _pyplot()
    rows = report.timeline
    t = [row.t for row in rows]
    figure, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    figure.suptitle(report.title(), fontsize=10)

    top.plot(t, [row.visible for row in rows], label="ApproximateNumberOfMessagesVisible (backlog)")
    top.plot(t, [row.in_flight for row in rows], label="ApproximateNumberOfMessagesNotVisible (in flight)")
    top.plot(t, [row.dead_letters for row in rows], label="in the dead-letter queue", color="red")
    top.set_ylabel("messages")
    top.legend(loc="upper right", fontsize=8)

    middle.plot(t, [row.oldest_age_s for row in rows], label="ApproximateAgeOfOldestMessage")
    middle.set_ylabel("seconds")
    middle.legend(loc="upper right", fontsize=8)

    bottom.step(t, [row.concurrency for row in rows], where="post", label="concurrency (peak)")
    bottom.step(t, [row.allowed_batches for row in rows], where="post", label="batches the mapping allows")
    if report.concurrency_limit is not None:
        bottom.axhline(report.concurrency_limit, color="red", linestyle="--", linewidth=1, label="limit")
    if any(row.throttles for row in rows):
        bottom.bar(t, [row.throttles for row in rows], width=report.bucket_s, color="orange", alpha=0.5,
                   align="edge", label="throttles")  # fmt: skip
    bottom.set_ylabel("batches / invocations")
    bottom.set_xlabel(f"seconds ({report.mode} mode)")
    bottom.legend(loc="upper right", fontsize=8)
    for axis in (top, middle, bottom):
        axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
