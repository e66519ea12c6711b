"""EventBridge events: any event on a bus, and the Scheduled Event a schedule rule sends.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html
"""

from __future__ import annotations

from typing import Any

from ._common import Account, request_id


def event(
    account: Account,
    *,
    source: str = "com.example.orders",
    detail_type: str = "Order Placed",
    detail: Any = None,
    resources: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": request_id(),
        "detail-type": detail_type,
        "source": source,
        "account": account.account_id,
        "time": account.iso(),
        "region": account.region,
        "resources": list(resources or []),
        "detail": {"orderId": "1234", "amount": 42} if detail is None else detail,
    }


def scheduled_event(account: Account, *, rule_name: str = "my-schedule") -> dict[str, Any]:
    return event(
        account,
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=[account.arn("events", f"rule/{rule_name}")],
    )
