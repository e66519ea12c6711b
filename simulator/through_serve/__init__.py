"""`lsim invoke` through a running `lsim serve` of the same project: its environments are warm, and one
concurrency book counts every invocation of the project.

A serve records itself in `.lsim/run/` (record.py); `lsim invoke` looks there first, and when a live serve
was started the way this invoke would load the project (the same project file, --parameter-overrides,
--env-vars, and the backend asked for), sends the Invoke to it (client.py) and prints what the in-process
path prints: the payload's bytes on stdout, the log (complete, or Tail's last 4 KB) on stderr, the same
exit codes and AWS's errors. It says so on stderr: `via lsim serve on 127.0.0.1:9001 (pid 4242)`. When a
serve runs but cannot take the invocation, the invocation runs in process and the line says why.

`--no-serve` or LSIM_NO_SERVE=1 keep the invocation in process. Standard library only, with
`simulator.errors` and `simulator.retry` (light): no pydantic, no Simulator, no Docker client, no typer.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from . import client
from .record import ServeRecord, live_records, locate_project_file, remove_record

NO_SERVE_ENV = "LSIM_NO_SERVE"
LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB of the log (shapes.LOG_TAIL_BYTES)
EXIT_OK, EXIT_FUNCTION_ERROR, EXIT_BAD_INPUT, EXIT_THROTTLED = 0, 1, 2, 3
PENDING_POLL_S = 0.25
PENDING_WAIT_S = 300.0  # a VPC function's ENI is made in about a second; this only bounds a stuck one

Say = Callable[[str], None]
_tried = False  # the launcher's fast path looked for a serve already, and fell back to the full CLI


def mark_tried() -> None:
    global _tried
    _tried = True


def tried_already() -> bool:
    return _tried


def say_on_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class InvokeRequest(NamedTuple):
    """What `lsim invoke` was asked, in the terms a serve is matched against."""

    function_name: str
    payload: bytes
    qualifier: str | None = None
    log_type: str = "None"
    backend: str = "auto"
    retry: int = 0
    project: Path | str | None = None  # --project / --template
    parameter_overrides: Sequence[str] = ()
    env_vars: Path | str | None = None
    tenant_id: str | None = None  # Invoke's TenantId (tenant isolation)
    credentials: str | None = None  # --credentials local|developer
    profile: str | None = None  # --profile


def event_bytes(event: str | None, payload: str | None) -> bytes | None:
    """The event's bytes as `lsim invoke` reads them (--payload, an --event file, - for stdin, else {}); None
    for an --event that is not a file, which the CLI names."""
    if payload is not None:
        return payload.encode()
    if event is None:
        return b"{}"
    if event == "-":
        return sys.stdin.buffer.read()
    if not os.path.isfile(event):
        return None
    try:
        with open(event, "rb") as file:
            return file.read()
    except OSError:  # unreadable: the CLI names it
        return None


def no_serve_wanted() -> bool:
    return os.environ.get(NO_SERVE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def function_name_of(reference: str) -> str:
    """The function's name in a name, `name:qualifier` or ARN (`arn:aws:lambda:R:A:function:NAME[:Q]`)."""
    parts = reference.split(":")
    if reference.startswith("arn:") and len(parts) >= 7:
        return parts[6]
    return parts[0]


def _mismatch(record: ServeRecord, request: InvokeRequest, env_vars: str | None) -> str | None:
    """Why this serve cannot take the invocation as asked, or None."""
    if record.functions is not None and function_name_of(request.function_name) not in record.functions:
        return f"it serves only {', '.join(record.functions)}"
    if request.backend not in ("auto", record.backend):
        return f"it runs --backend {record.backend}, this invoke asks --backend {request.backend}"
    if list(record.parameter_overrides) != list(request.parameter_overrides):
        return "it was started with other --parameter-overrides"
    if record.env_vars != env_vars:
        return "it was started with another --env-vars file" if record.env_vars else "it was started without --env-vars"
    credentials = request.credentials or ("developer" if request.profile else None)  # as the CLI reads them
    if credentials is not None and (credentials, request.profile) != (record.credentials, record.profile):
        return "it gives functions other credentials (--credentials/--profile)"
    return None


def choose_serve(request: InvokeRequest, say: Say) -> ServeRecord | None:
    """The live serve of this project that can take the invocation; None (and, when a serve runs but
    cannot, a line saying why) to run it in process."""
    project_file = locate_project_file(request.project)
    if project_file is None:
        return None  # the in-process path names the missing project file
    env_vars = str(Path(request.env_vars).resolve()) if request.env_vars is not None else None
    reasons = []
    for _, record in live_records(project_file.parent):
        if Path(record.project_file) != project_file:
            continue  # a serve of another project file in the same folder
        reason = _mismatch(record, request, env_vars)
        if reason is None:
            return record
        reasons.append(f"lsim serve on {record.where} cannot take it: {reason}")
    if reasons:
        say(f"in process: {reasons[0]}")
    return None


def invoke_through_serve(request: InvokeRequest, say: Say = say_on_stderr) -> int | None:
    """Invoke through a live serve and print the outcome; the exit code, or None to invoke in process."""
    if no_serve_wanted() or request.log_type not in ("None", "Tail"):
        return None  # an invalid LogType gets its error from the in-process path
    record = choose_serve(request, say)
    if record is None:
        return None
    throttle_waits = _backoff(request.retry)
    pending_until = time.monotonic() + PENDING_WAIT_S
    said = False
    while True:
        try:
            answer = client.invoke(record, request.function_name, request.payload, request.qualifier, request.tenant_id)
        except client.ServeUnreachable as error:
            _forget(record, request)
            say(f"in process: lsim serve on {record.where} does not answer ({error})")
            return None
        except client.ServeLost as error:
            say(f"error: lsim serve on {record.where} closed the connection before answering ({error}); the "
                "invocation may have run: see the serve's console")  # fmt: skip
            return EXIT_BAD_INPUT
        if answer.status == client.MISDIRECTED:  # another serve took the port of a dead one
            _forget(record, request)
            say(f"in process: the serve on {record.where} is not the one that recorded itself there")
            return None
        if not said:
            say(f"via lsim serve on {record.where}")
            said = True
        if answer.status == 503 and answer.error_type == "ServiceException":  # draining
            say(f"in process: {answer.error_message}")
            return None
        if answer.status == 200:
            return _print_result(answer, request.log_type)
        if answer.status == 409 and "Pending" in answer.error_message and time.monotonic() < pending_until:
            time.sleep(PENDING_POLL_S)  # a VPC function's ENI is being made; in process this waits too
            continue
        if answer.error_type == "TooManyRequestsException":
            reason = answer.error_members().get("Reason", "")
            delay = next(throttle_waits, None)
            if delay is not None:
                say(f"TooManyRequestsException ({reason}): retrying in {delay:.2f} s")
                time.sleep(delay)
                continue
            say(f"TooManyRequestsException ({reason}): Rate Exceeded.")
            return EXIT_THROTTLED
        say(f"{answer.error_type or 'ServiceException'}: {answer.error_message}")
        return EXIT_BAD_INPUT


def _backoff(retries: int) -> Iterator[float]:
    """simulator.retry's waits (full jitter), imported only when asked: it brings asyncio."""
    if retries:
        from ..retry import backoff_delays

        yield from backoff_delays(retries)


def _forget(record: ServeRecord, request: InvokeRequest) -> None:
    """Remove a stale record, unless a new serve has replaced it meanwhile."""
    project_file = locate_project_file(request.project)
    if project_file is not None:
        from .record import record_path

        remove_record(record_path(project_file.parent, record.pid), record.token)


def _print_result(answer: client.Answer, log_type: str) -> int:
    """As `lsim invoke` prints in process: the log on stderr, the payload's bytes and a newline on stdout."""
    log, payload = answer.log_and_payload()
    if log_type == "Tail":
        log = log[-LOG_TAIL_BYTES:]
    sys.stderr.write(log.decode("utf-8", "replace"))
    sys.stderr.flush()
    sys.stdout.flush()
    sys.stdout.buffer.write(payload + b"\n")
    sys.stdout.buffer.flush()
    return EXIT_FUNCTION_ERROR if answer.headers.get("x-amz-function-error") else EXIT_OK
