"""Pieces every `lsim` command shares: exit codes and how errors are printed."""

from __future__ import annotations

import typer

from ..errors import LambdaError, LsimError, TooManyRequestsException

EXIT_OK, EXIT_FUNCTION_ERROR, EXIT_BAD_INPUT, EXIT_THROTTLED = 0, 1, 2, 3


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned Exit."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def describe(error: LsimError) -> str:
    """An error as one line, in AWS's words where AWS has them."""
    if isinstance(error, TooManyRequestsException):
        return f"TooManyRequestsException ({error.reason}): Rate Exceeded."
    if isinstance(error, LambdaError):
        return f"{error.type}: {error.message}"
    return f"error: {error}"


def exit_code(error: LsimError) -> int:
    return EXIT_THROTTLED if isinstance(error, TooManyRequestsException) else EXIT_BAD_INPUT
