"""The orders HTTP API (payload format 2.0): list, get, create. The catalogue is fixed, so every execution
environment answers the same."""

import json
import uuid

ORDERS = {
    "1": {"id": "1", "status": "shipped", "items": {"a": {"sku": "BOOK-1", "quantity": 1}}},
    "2": {"id": "2", "status": "open", "items": {"a": {"sku": "PEN-7", "quantity": 3}}},
}


def _json(status, body, **headers):
    return {"statusCode": status, "headers": {"content-type": "application/json", **headers}, "body": json.dumps(body)}


def list_orders(event, context):
    wanted = (event.get("queryStringParameters") or {}).get("status")
    orders = [order for order in ORDERS.values() if wanted in (None, order["status"])]
    return _json(200, {"orders": orders})


def get_order(event, context):
    parameters = event["pathParameters"]
    order = ORDERS.get(parameters["id"])
    if order is None:
        return _json(404, {"message": f"no order {parameters['id']}"})
    if "item" in parameters:
        item = order["items"].get(parameters["item"])
        return _json(200, item) if item else _json(404, {"message": f"no item {parameters['item']}"})
    return _json(200, order)


def create_order(event, context):
    try:
        order = json.loads(event.get("body") or "")
    except ValueError:
        return _json(400, {"message": "send the order as JSON"})
    order["id"] = uuid.uuid4().hex[:8]
    return _json(201, order, location=f"/orders/{order['id']}")
