"""Writing Lambda API responses: JSON bodies, Invoke's answer, and errors as botocore expects them.
The shapes themselves (bodies, headers) come from `simulator/shapes.py`."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import shapes
from ..errors import LambdaError
from ..invocation import InvocationResult, new_request_id


def json_response(status: int, shape: Any | None) -> web.Response:
    headers = {"X-Amzn-RequestId": new_request_id()}
    if shape is None:
        return web.Response(status=status, headers=headers)
    headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(shape).encode(), headers=headers)


def invoke_response(result: InvocationResult, log_type: str) -> web.Response:
    """200 with the function's payload (or its error and X-Amz-Function-Error), 202 for an event,
    204 for a dry run."""
    return web.Response(
        status=result.status_code,
        body=result.body if result.status_code == 200 else None,
        headers=shapes.invoke_headers(result, log_type),
    )


def error_response(error: LambdaError) -> web.Response:
    shape = shapes.error_shape(error, new_request_id())
    return web.Response(status=shape.status, body=shape.body, headers=shape.headers)


def invoke_response_with_log(result: InvocationResult, log_type: str) -> web.Response:
    """Invoke's answer for `lsim invoke` (X-Lsim-Log: complete): the body is the whole log's bytes, then the
    payload; X-Lsim-Log-Length says where the log ends."""
    if result.status_code != 200:
        return invoke_response(result, log_type)
    log = result.logs.encode()
    headers = {**shapes.invoke_headers(result, log_type), "X-Lsim-Log-Length": str(len(log))}
    return web.Response(status=200, body=log + result.body, headers=headers)


def report_figures(result: InvocationResult) -> str:
    """The REPORT line's figures and whether it was a cold start, as JSON (`X-Lsim-Report`), for
    `lsim load-test` through a serve."""
    report = result.report
    if report is None:
        return "null"
    return json.dumps({
        "duration_ms": report.duration_ms,
        "memory_size_mb": report.memory_size_mb,
        "max_memory_used_mb": report.max_memory_used_mb,
        "init_duration_ms": report.init_duration_ms,
        "status": report.status,
        "error_type": report.error_type,
        "cold_start": result.cold_start,
    })  # fmt: skip
