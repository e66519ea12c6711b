"""The `lsim` command's entry point: `lsim invoke` through a running `lsim serve` without loading the CLI.

A warm invocation through a serve costs a few milliseconds; the full CLI (typer, click and every command's
module) costs more than Python's own start. So `lsim [global options] invoke NAME [options]` is read here,
with the options as typer defines them, and handed to `simulator.through_serve` when a serve of the project
can take it. Anything else (another command, --help, an option this reader does not know, no serve) goes to
the typer application, which gives every error and runs the invocation in process.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence

#: global options (before the command) and `lsim invoke`'s, by every name typer knows them by
GLOBAL = {"--project": "project", "-p": "project", "--template": "template", "-t": "template",
          "--template-file": "template", "--parameter-overrides": "parameter_overrides",
          "--env-vars": "env_vars", "--credentials": "credentials", "--profile": "profile"}  # fmt: skip
TEMPLATE_ENV = "SAM_TEMPLATE_FILE"  # names the template when no option does, as SAM CLI reads it
INVOKE = {"--event": "event", "-e": "event", "--payload": "payload", "--qualifier": "qualifier", "-q": "qualifier",
          "--log-type": "log_type", "--backend": "backend", "--retry": "retry",
          "--tenant-id": "tenant_id"}  # fmt: skip
FLAGS = {"--no-serve": "no_serve"}


def _options(args: Sequence[str], names: dict[str, str], found: dict[str, list[str]]) -> list[str] | None:
    """Take `names`' options out of `args` into `found`; the rest (positional), or None for anything else."""
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if not arg.startswith("-") or arg == "-":
            rest.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if name in FLAGS and not equals:
            found.setdefault(FLAGS[name], []).append("1")
            continue
        if name not in names or (equals and not name.startswith("--")):
            return None
        if not equals:
            following = next(items, None)
            if following is None:
                return None
            value = following
        found.setdefault(names[name], []).append(value)
    return rest


def fast_invoke(argv: Sequence[str]) -> int | None:
    """The exit code of `lsim invoke` done through a serve, or None to hand the command to the CLI."""
    try:
        command = argv.index("invoke")
    except ValueError:
        return None
    found: dict[str, list[str]] = {}
    before = _options(argv[:command], GLOBAL, found)
    after = _options(argv[command + 1 :], {**INVOKE, **GLOBAL}, found)  # SAM's habit: project options after
    if before != [] or after is None or len(after) != 1 or "no_serve" in found:
        return None
    single = {key: values[-1] for key, values in found.items() if key != "parameter_overrides"}
    if any(len(values) > 1 for key, values in found.items() if key != "parameter_overrides"):
        return None
    if ("project" in single and "template" in single) or ("event" in single and "payload" in single):
        return None
    from . import through_serve as warm

    if warm.no_serve_wanted():
        return None
    try:
        retry = int(single.get("retry", "0"))
    except ValueError:
        return None
    if retry < 0:
        return None
    payload = warm.event_bytes(single.get("event"), single.get("payload"))
    if payload is None:
        return None
    request = warm.InvokeRequest(
        function_name=after[0],
        payload=payload,
        qualifier=single.get("qualifier"),
        log_type=single.get("log_type", "None"),
        backend=single.get("backend", "auto"),
        retry=retry,
        project=single.get("template") or single.get("project") or os.environ.get(TEMPLATE_ENV) or None,
        parameter_overrides=tuple(found.get("parameter_overrides", ())),
        env_vars=single.get("env_vars"),
        tenant_id=single.get("tenant_id"),
        credentials=single.get("credentials"),
        profile=single.get("profile"),
    )
    code = warm.invoke_through_serve(request)
    if code is None:
        warm.mark_tried()  # the CLI runs it in process, without looking for a serve again
        if single.get("event") == "-":  # what was read from stdin is there for the CLI to read again
            sys.stdin = io.TextIOWrapper(io.BytesIO(payload))
    return code


def main() -> None:
    code = fast_invoke(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from .cli import app

    app()


if __name__ == "__main__":
    main()
