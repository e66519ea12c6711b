"""`lsim metrics` shows the queues' metrics (AWS/SQS) beside the functions', read from the project's state."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.clock import RealClock
from simulator.project import load_project
from simulator.queues import QueueService
from simulator.store import Store

from .test_concurrency_cli import lsim
from .test_events import project_in


def test_lsim_metrics_shows_queues(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    settings = load_project(root).settings
    service = QueueService(Store.for_project(root), RealClock(), region=settings.region, account_id=settings.account_id)
    service.create_queue("orders")
    for body in ("a", "b", "c"):
        service.send_message("orders", body)
    service.receive_message("orders")
    table = lsim(root, "metrics")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:4] == ["QUEUE", "Visible", "NotVisible", "Delayed"]
    assert row.split()[:4] == ["orders", "2", "1", "0"]
    shown = json.loads(lsim(root, "metrics", "orders", "--json").stdout)
    assert shown["sqs:orders"]["Now"]["ApproximateNumberOfMessagesVisible"] == 2
    assert shown["sqs:orders"]["Now"]["NumberOfMessagesSent"] == 3
