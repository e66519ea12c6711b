"""Prices an order: the function under test in this sample."""

import json
import os

TAX_RATE = float(os.environ["TAX_RATE"])
PRICES = {"apple": 0.50, "pear": 0.75, "melon": 2.00}


def handler(event, context):
    items = event.get("items")
    if not items:
        raise ValueError(f"order {event.get('id')} has no items")
    unknown = sorted({item["sku"] for item in items} - PRICES.keys())
    if unknown:
        raise KeyError(f"unknown products: {', '.join(unknown)}")
    subtotal = sum(PRICES[item["sku"]] * item["qty"] for item in items)
    total = round(subtotal * (1 + TAX_RATE), 2)
    print(json.dumps({"order": event["id"], "total": total, "request": context.aws_request_id}))
    return {"id": event["id"], "total": total}
