"""FilterCriteria: which SQS records an event source mapping passes to its function.

Lambda "supports the same set of syntax and rules as Amazon EventBridge" for filter rules
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html):

- a pattern names record fields (`attributes`, `messageAttributes`, ...) and `body`, the message body;
  every field it names must be in the record (except under `exists: false`), fields it does not name are
  ignored; several keys are AND, several values of one key are OR; a record passes when any filter matches;
- a value matches exactly, character by character; numbers by their text (300, 300.0 and 3.0e2 differ);
  `null` matches a null field, `""` an empty one; against an array in the record a rule matches when any
  element does;
- operators: `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but` (values, or a prefix or
  suffix), `numeric` (=, <, <=, >, >= pairs), `exists`; and `$or` of patterns;
- the body: a JSON pattern (`"body": {...}`) filters a JSON body by its fields and drops a plain-text one;
  a plain pattern (`"body": [...]`) filters a plain-text body as a string and drops a JSON one. lsim takes a
  body for JSON when it parses as a JSON object or array.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_ABSENT = object()


class Number:
    """A JSON number with its text: exact matching compares the text, `numeric` the value."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.value = float(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return self.text


def load(text: str) -> Any:
    """JSON with its numbers kept as written."""
    return json.loads(text, parse_int=Number, parse_float=Number)


def _from_python(value: Any) -> Any:
    """A record built in Python (ints and floats) in the form `load` gives."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Number(json.dumps(value))
    if isinstance(value, Mapping):
        return {key: _from_python(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_from_python(item) for item in value]
    return value


def matches(patterns: Iterable[str], record: Mapping[str, Any]) -> bool:
    """Whether the record passes: True with no patterns, else when any pattern matches it."""
    patterns = list(patterns)
    if not patterns:
        return True
    event = _from_python(record)
    return any(_matches_pattern(load(pattern), event) for pattern in patterns)


def _matches_pattern(pattern: Any, event: Any) -> bool:
    if not isinstance(pattern, dict):
        return False
    body_rule = pattern.get("body", _ABSENT)
    if body_rule is not _ABSENT and isinstance(event, dict) and "body" in event:
        event = {**event, "body": _body(event["body"], body_rule)}
    return _object(pattern, event)


def _body(body: Any, rule: Any) -> Any:
    """The body as the rule reads it, or _ABSENT (a mismatch of formats drops the record)."""
    if not isinstance(body, str):
        return body
    try:
        parsed = load(body)
    except (ValueError, RecursionError):
        parsed = _ABSENT
    is_json = isinstance(parsed, dict | list)
    if isinstance(rule, dict):  # a JSON pattern for the body
        return parsed if is_json else _DROPPED
    return _DROPPED if is_json else body


_DROPPED = object()


def _object(pattern: dict[str, Any], event: Any) -> bool:
    for key, rule in pattern.items():
        if key == "$or":
            if not isinstance(rule, list) or not any(_object(alternative, event) for alternative in rule):
                return False
            continue
        value = event.get(key, _ABSENT) if isinstance(event, dict) else _ABSENT
        if value is _DROPPED:
            return False
        if isinstance(rule, dict):
            if value is _ABSENT or not _nested(rule, value):
                return False
        elif not isinstance(rule, list) or not _field(rule, value):
            return False
    return True


def _nested(rule: dict[str, Any], value: Any) -> bool:
    if isinstance(value, list):
        return any(_nested(rule, item) for item in value)
    return isinstance(value, dict) and _object(rule, value)


def _field(rules: list[Any], value: Any) -> bool:
    """A leaf: any of the rules matches the value (or, for an array, any element)."""
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if (value is not _ABSENT) == bool(rule["exists"]):
                return True
            continue
        if value is _ABSENT:
            continue
        if isinstance(rule, dict) and "anything-but" in rule:
            if _anything_but(rule["anything-but"], value):
                return True
            continue
        candidates = value if isinstance(value, list) else [value]
        if any(_leaf(rule, item) for item in candidates):
            return True
    return False


def _leaf(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return type(rule) is type(value) and rule == value
    ((operator, argument),) = rule.items() if len(rule) == 1 else ((None, None),)
    if operator == "prefix":
        return _text_test(argument, value, str.startswith)
    if operator == "suffix":
        return _text_test(argument, value, str.endswith)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and isinstance(argument, str) and value.casefold() == argument.casefold()
    if operator == "wildcard":
        return isinstance(value, str) and isinstance(argument, str) and _wildcard(argument).fullmatch(value) is not None
    if operator == "numeric":
        return isinstance(value, Number) and _numeric(argument, value.value)
    return False


def _text_test(argument: Any, value: Any, test: Any) -> bool:
    if isinstance(argument, dict) and "equals-ignore-case" in argument:  # {"prefix": {"equals-ignore-case": "a"}}
        argument, value = argument["equals-ignore-case"], value.casefold() if isinstance(value, str) else value
        argument = argument.casefold() if isinstance(argument, str) else argument
    return isinstance(value, str) and isinstance(argument, str) and bool(test(value, argument))


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(?<!\\)\*", pattern)
    return re.compile(".*".join(re.escape(part.replace("\\*", "*")) for part in parts), re.DOTALL)


_COMPARE = {
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def _numeric(argument: Any, value: float) -> bool:
    if not isinstance(argument, list) or len(argument) % 2:
        return False
    for operator, bound in zip(argument[::2], argument[1::2], strict=True):
        compare = _COMPARE.get(operator) if isinstance(operator, str) else None
        if compare is None or not isinstance(bound, Number) or not compare(value, bound.value):
            return False
    return True


def _anything_but(argument: Any, value: Any) -> bool:
    """True when the value (every element of an array) is none of the excluded ones."""
    items = value if isinstance(value, list) else [value]
    if isinstance(argument, dict):  # {"anything-but": {"prefix": "x"}} and the like
        return all(not _leaf(argument, item) for item in items)
    excluded = argument if isinstance(argument, list) else [argument]
    return all(not any(_leaf(rule, item) for rule in excluded) for item in items)
