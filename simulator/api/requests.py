"""Reading a Lambda API request: its body (bounded), its members by botocore's model, and its SigV4
Authorization header (parsed, never checked: lsim accepts any credentials).
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ..errors import InvalidParameterValueException, InvalidRequestContentException, SerializationException
from .model import NESTED, Nested, OperationInput
from .routes import Members, snake_case

#: the most any request other than Invoke may carry: a 50 MB layer zip, base64 in JSON, with room to spare
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 50 MB direct upload)
MAX_REQUEST_BYTES = 70 * 1024 * 1024
READ_CHUNK = 256 * 1024


async def read_body(request: web.Request, refuse: Callable[[int], None]) -> bytes:
    """The request body. `refuse(size)` raises when `size` bytes are too many: it is asked about the
    Content-Length before a byte is read, and about a chunked body as it grows, so an oversized body
    is never held in memory."""
    length = request.content_length
    if length is not None:
        refuse(length)
        return await request.content.read() if length else b""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(READ_CHUNK):
        size += len(chunk)
        refuse(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _lower_camel(member: str) -> str:
    return member[0].lower() + member[1:]


def _validation(member: str, value: Any, constraint: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"1 validation error detected: Value '{value}' at '{_lower_camel(member)}' failed to satisfy "
        f"constraint: {constraint}"
    )


#: Java's int and long, which AWS's service types `integer` and `long` are
RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _in_range(member: str, kind: str, value: int) -> int:
    low, high = RANGES[kind]
    if not low <= value <= high:
        raise SerializationException(
            f"Value {str(value)[:40]}{'...' if len(str(value)) > 40 else ''} at '{_lower_camel(member)}' is out "
            f"of range for the {kind} type ({low} to {high}): give a smaller number"
        )
    return value


def _scalar(member: str, kind: str, text: str) -> Any:
    """A path or query value as the model types it."""
    if kind in ("integer", "long"):
        try:
            number = int(text)
        except ValueError:
            raise _validation(member, text, "Member must be a whole number") from None
        return _in_range(member, kind, number)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise _validation(member, text, "Member must be true or false")
        return text == "true"
    return text


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "blob": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "timestamp": (int, float, str),
}


def _decode_blob(container: dict[str, Any], path: tuple[str, ...]) -> None:
    """Replace the base64 text at `path` inside the body with its bytes."""
    *parents, leaf = path
    for key in parents:
        container = container.get(key)  # type: ignore[assignment]
        if not isinstance(container, dict):
            return
    if leaf not in container:
        return
    try:
        container[leaf] = base64.b64decode(container[leaf], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise _validation(".".join(path), "<bytes>", "Member must be base64-encoded") from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", str: "string", int: "number", float: "number", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _check_nested(path: str, value: Any, shape: Nested) -> None:
    """A nested member's JSON type, as the model says; SerializationException otherwise (rest-json's
    deserializer refuses a wrong type with 400 before the operation runs). null inside a map or list
    is refused too: an environment variable's value is a string, never null turned into 'null'."""
    if isinstance(shape, str):
        if shape in ("string", "blob"):
            ok = isinstance(value, str)
        elif shape in ("integer", "long"):
            ok = isinstance(value, int) and not isinstance(value, bool)
            if ok:
                _in_range(path, shape, value)
        elif shape in ("double", "float"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif shape == "boolean":
            ok = isinstance(value, bool)
        else:
            ok = True
        if not ok:
            raise SerializationException(
                f"Unexpected {_json_kind(value)} at '{path}': the model has a {shape} there"
                + (" (environment variable values are strings: quote it)" if ".Variables." in path else "")
            )
        return
    if "list" in shape and len(shape) == 1:
        if not isinstance(value, list):
            raise SerializationException(f"Expected a list at '{path}', found a {_json_kind(value)}")
        for index, item in enumerate(value, 1):
            _check_nested(f"{path}.{index}", item, shape["list"])
        return
    if "map" in shape and len(shape) == 1:
        if not isinstance(value, dict):
            raise SerializationException(f"Expected a map (a JSON object) at '{path}', found a {_json_kind(value)}")
        for key, item in value.items():
            _check_nested(f"{path}.{key}", item, shape["map"])
        return
    if not isinstance(value, dict):
        raise SerializationException(f"Expected a structure (a JSON object) at '{path}', found a {_json_kind(value)}")
    for member, inner in shape.items():
        if value.get(member) is not None:
            _check_nested(f"{path}.{member}", value[member], inner)


def parse_members(
    model: OperationInput, path_members: Mapping[str, str], query: Mapping[str, str], body: bytes
) -> Members:
    """Every member the request carries, by AWS's name and typed as the model says. JSON members the
    model does not know are ignored, as AWS's JSON protocol does."""
    members: Members = {}
    for member, kind in model.uri.items():
        if member in path_members:
            members[member] = _scalar(member, kind, path_members[member])
    for wire, (member, kind) in model.query.items():
        if wire in query:
            members[member] = _scalar(member, kind, query[wire])
    if model.body and body:
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
        except RecursionError:  # e.g. 100,000 nested arrays: no request of Lambda's API nests that deep
            raise InvalidRequestContentException(
                "Could not parse request body into json: it nests deeper than lsim's parser goes (Python's "
                f"recursion limit, {sys.getrecursionlimit()}); no Lambda API request nests like that"
            ) from None
        if not isinstance(document, dict):
            raise InvalidRequestContentException(
                "Could not parse request body into json: the body must be a JSON object"
            )
        for member, kind in model.body.items():
            if member not in document or document[member] is None:
                continue
            value = document[member]
            if not isinstance(value, _JSON_TYPES.get(kind, (object,))) or (
                kind in ("integer", "long") and isinstance(value, bool)
            ):
                raise _validation(member, value, f"Member must be of type {kind}")
            if kind in RANGES:
                _in_range(member, kind, value if isinstance(value, int) else 0)
            if member in NESTED:
                _check_nested(member, value, NESTED[member])
            members[member] = value
        for path in model.blobs:
            _decode_blob(members, path)
    missing = [member for member in model.required if member not in members]
    if missing:
        raise _validation(missing[0], "null", "Member must not be null")
    return members


_signatures: dict[Callable[..., Any], tuple[frozenset[str], bool]] = {}


def facade_arguments(operation: str, method: Callable[..., Any], members: Members) -> dict[str, Any]:
    """The service method's keyword arguments: members in snake_case. A member the method does not take
    is refused by name (the feature that handles it has not landed), never silently dropped."""
    accepted = _signatures.get(method.__func__ if hasattr(method, "__func__") else method)
    if accepted is None:
        parameters = inspect.signature(method).parameters.values()
        accepted = (
            frozenset(p.name for p in parameters),
            any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters),
        )
        _signatures[method.__func__ if hasattr(method, "__func__") else method] = accepted
    names, takes_any = accepted
    arguments = {}
    for member, value in members.items():
        name = snake_case(member)
        if name not in names and not takes_any:
            raise InvalidParameterValueException(
                f"lsim does not support the parameter {member} of {operation} yet: leave it out"
            )
        arguments[name] = value
    return arguments
