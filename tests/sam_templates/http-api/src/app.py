"""The HTTP API fixture's handlers: an echo of the route, and a simple-response authorizer."""


def handler(event, context):
    return {"route": event.get("routeKey"), "path": event.get("rawPath")}


def authorize(event, context):
    return {"isAuthorized": (event.get("headers") or {}).get("authorization") == "allow", "context": {"tier": "gold"}}
