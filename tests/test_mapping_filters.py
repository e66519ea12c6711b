"""FilterCriteria on SQS records: each example AWS's documentation gives and each case recorded against AWS
(LocalStack's validated test_sqs_event_filter), the body's JSON and plain-text rules, and Lambda's
validation of patterns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.errors import InvalidParameterValueException
from simulator.mappings.filters import matches
from simulator.mappings.models import check_pattern


def record(body: Any = "hello", **fields: Any) -> dict[str, Any]:
    """An SQS record as the event carries it; a dict body is sent as its JSON text."""
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEB...",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfMessageAttributes": None,
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
        "awsRegion": "us-east-1",
        **fields,
    }


def passes(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    check_pattern(json.dumps(pattern))  # every pattern here is one Lambda accepts
    return matches([json.dumps(pattern)], event)


# (pattern, a body that passes, a body that does not): recorded against AWS
RECORDED = {
    "single": ({"body": {"my-key": ["my-value"]}}, {"my-key": "my-value"}, {"my-key": "other-value"}),
    "or": ({"body": {"my-key": ["my-value-one", "my-value-two"]}}, {"my-key": "my-value-two"},
           {"my-key": "other-value"}),
    "and": ({"body": {"my-key-one": ["other-filter", "my-value-one"], "my-key-two": ["my-value-two"]}},
            {"my-key-one": "my-value-one", "my-key-two": "my-value-two"},
            {"my-key-one": "other-value-", "my-key-two": "my-value-two"}),
    "exists": ({"body": {"my-key": [{"exists": True}]}}, {"my-key": "any-value-one"}, {"other-key": "any-value-two"}),
    "numeric-bigger": ({"body": {"my-number": [{"numeric": [">", 100]}]}}, {"my-number": 101}, {"my-number": 100}),
    "numeric-smaller": ({"body": {"my-number": [{"numeric": ["<", 100]}]}}, {"my-number": 99}, {"my-number": 100}),
    "numeric-range": ({"body": {"my-number": [{"numeric": [">=", 100, "<", 200]}]}}, {"my-number": 100},
                      {"my-number": 200}),
    "prefix": ({"body": {"my-key": [{"prefix": "yes"}]}}, {"my-key": "yes-value"}, {"my-key": "no-value"}),
    # a plain-text body against a JSON pattern for the body is dropped
    "valid-json-filter": ({"body": {"my-key": ["my-value"]}}, {"my-key": "my-value"}, "plain-string"),
}  # fmt: skip


@pytest.mark.parametrize("case", RECORDED)
def test_recorded_against_aws(case: str) -> None:
    pattern, matching, not_matching = RECORDED[case]
    assert passes(pattern, record(matching))
    assert not passes(pattern, record(not_matching))


# The documentation's table of comparison operators (invocation-eventfiltering), on a JSON body.
DOCUMENTED = [
    ({"UserID": [None]}, {"UserID": None}, {"UserID": "u-1"}),  # null
    ({"LastName": [""]}, {"LastName": ""}, {"LastName": "Doe"}),  # empty
    ({"Name": ["Alice"]}, {"Name": "Alice"}, {"Name": "alice"}),  # equals, no case folding
    ({"Location": ["New York"], "Day": ["Monday"]}, {"Location": "New York", "Day": "Monday"},
     {"Location": "New York", "Day": "Tuesday"}),  # and
    ({"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, {"PaymentType": "Cash"}),  # or
    ({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"}, {"Weather": "Raining"}),  # not
    ({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100}, {"Price": 101}),
    ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20}, {"Price": 10}),
    ({"ProductName": [{"exists": True}]}, {"ProductName": "x"}, {"Other": "x"}),
    ({"ProductName": [{"exists": False}]}, {"Other": "x"}, {"ProductName": "x"}),
    ({"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"}, {"Region": "eu-west-1"}),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "matching", "not_matching"), DOCUMENTED)
def test_documented_operators(rule: dict[str, Any], matching: Any, not_matching: Any) -> None:
    assert passes({"body": rule}, record(matching))
    assert not passes({"body": rule}, record(not_matching))


def test_numbers_match_by_their_text() -> None:
    """ "300, 300.0, and 3.0e2 are not considered equal" for exact matching; numeric compares values."""
    assert passes({"body": {"n": [300]}}, record('{"n": 300}'))
    assert not passes({"body": {"n": [300]}}, record('{"n": 300.0}'))
    assert not passes({"body": {"n": [300]}}, record('{"n": 3.0e2}'))
    assert not passes({"body": {"n": ["300"]}}, record('{"n": 300}'))  # a string is not a number
    assert passes({"body": {"n": [{"numeric": ["=", 300]}]}}, record('{"n": 3.0e2}'))
    assert not passes({"body": {"n": [{"numeric": [">", 1]}]}}, record('{"n": "5"}'))  # numeric needs a number


def test_plain_text_body_and_plain_pattern() -> None:
    """Plain body with a plain pattern: filtered; a JSON body with a plain pattern is dropped."""
    assert passes({"body": ["plain-string"]}, record("plain-string"))
    assert not passes({"body": ["plain-string"]}, record("plain-string-not-matching"))
    assert passes({"body": [{"prefix": "ORDER#"}]}, record("ORDER#42"))
    assert not passes({"body": ["plain-string"]}, record({"valid-json-key": "plain-string"}))


def test_metadata_only_pattern_ignores_the_body_format() -> None:
    pattern = {"attributes": {"ApproximateReceiveCount": ["1"]}}
    assert passes(pattern, record("plain"))
    assert passes(pattern, record({"any": "json"}))
    assert not passes(pattern, record("plain", attributes={"ApproximateReceiveCount": "2"}))


def test_message_attributes_and_missing_fields() -> None:
    with_type = record(
        "x", messageAttributes={"type": {"stringValue": "order", "stringListValues": [], "binaryListValues": [],
                                         "dataType": "String"}}
    )  # fmt: skip
    pattern = {"messageAttributes": {"type": {"stringValue": ["order"]}}}
    assert passes(pattern, with_type)
    assert not passes(pattern, record("x"))  # a field the pattern names must be in the record
    assert passes({"body": {"a": ["1"]}, "eventSource": ["aws:sqs"]}, record({"a": "1", "ignored": True}))


def test_arrays_in_the_record_match_any_element() -> None:
    assert passes({"body": {"tags": ["red"]}}, record({"tags": ["blue", "red"]}))
    assert not passes({"body": {"tags": ["green"]}}, record({"tags": ["blue", "red"]}))
    assert not passes({"body": {"tags": [{"anything-but": ["red"]}]}}, record({"tags": ["blue", "red"]}))


def test_nested_objects() -> None:
    body = {"order": {"customer": {"tier": "gold"}, "total": 250}}
    assert passes({"body": {"order": {"customer": {"tier": ["gold"]}}}}, record(body))
    assert not passes({"body": {"order": {"customer": {"tier": ["silver"]}}}}, record(body))
    assert not passes({"body": {"order": {"missing": {"x": ["y"]}}}}, record(body))


def test_any_filter_passes_a_record() -> None:
    patterns = [json.dumps({"body": {"k": ["a"]}}), json.dumps({"body": {"k": ["b"]}})]
    assert matches(patterns, record({"k": "b"}))
    assert not matches(patterns, record({"k": "c"}))
    assert matches([], record("anything"))  # no filters: everything passes


def test_eventbridge_operators_lambda_shares() -> None:
    assert passes({"body": {"f": [{"suffix": ".png"}]}}, record({"f": "a.png"}))
    assert passes({"body": {"n": [{"equals-ignore-case": "ALICE"}]}}, record({"n": "alice"}))
    assert passes({"body": {"f": [{"wildcard": "dir/*.png"}]}}, record({"f": "dir/a/b.png"}))
    assert not passes({"body": {"f": [{"wildcard": "dir/*.png"}]}}, record({"f": "dir/a.jpg"}))
    assert passes({"body": {"f": [{"anything-but": {"prefix": "tmp/"}}]}}, record({"f": "data/x"}))
    assert not passes({"body": {"f": [{"anything-but": {"prefix": "tmp/"}}]}}, record({"f": "tmp/x"}))
    pattern = {"body": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}
    assert passes(pattern, record({"b": "2"}))
    assert not passes(pattern, record({"a": "2"}))


def test_duplicate_keys_the_last_wins() -> None:
    pattern = '{"body": {"k": ["hello"], "u": ["t"], "k": ["world"]}}'
    assert matches([pattern], record({"k": "world", "u": "t"}))
    assert not matches([pattern], record({"k": "hello", "u": "t"}))


@pytest.mark.parametrize(
    "pattern",
    # recorded against AWS (test_sqs_invalid_event_filter): null, a string, a value not in a list, an empty list
    ["null", "simple string", '{"eventSource": "aws:sqs"}', '{"eventSource": []}', "{}", "[1]", '{"a": {}}',
     '{"body": "plain-string"}', '{"a": [{"no-such-operator": 1}]}'],
)  # fmt: skip
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(InvalidParameterValueException, match=r"^Invalid filter pattern definition\.$"):
        check_pattern(pattern)


def test_pattern_length_limit() -> None:
    at_limit = json.dumps({"body": {"k": ["x" * (4096 - len('{"body": {"k": [""]}}'))]}})
    assert len(at_limit) == 4096
    check_pattern(at_limit)
    with pytest.raises(InvalidParameterValueException, match="less than or equal to 4096"):
        check_pattern(at_limit[:-3] + " ]}}")


def test_hostile_input() -> None:
    """Deep nesting, huge numbers and odd bodies neither crash nor pass."""
    deep = '{"body": ' + '{"a": ' * 50 + '["x"]' + "}" * 50 + "}"
    check_pattern(deep)
    assert not matches([deep], record({"a": "x"}))
    assert isinstance(passes({"body": {"n": [{"numeric": [">", 1]}]}}, record('{"n": 1e999999}')), bool)
    assert not passes({"body": {"n": [9007199254740993]}}, record('{"n": 9007199254740992}'))  # by text, not float
    assert not passes({"body": {"k": ["v"]}}, record("{not json"))
    assert not passes({"body": {"k": ["v"]}}, record('"just a string"'))


def test_hostile_nesting() -> None:
    with pytest.raises(InvalidParameterValueException):
        check_pattern('{"a": ' * 2000 + '["x"]' + "}" * 2000)  # over 4096 characters
    with pytest.raises(InvalidParameterValueException, match="Invalid filter pattern"):
        check_pattern("[" * 4000)
    assert not passes({"body": {"k": ["v"]}}, record("[" * 100_000))
