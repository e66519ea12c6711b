"""Tests of the `orders` function in a real Lambda execution environment, through the `lsim` fixture.

The fixture starts one simulator for the session (one per pytest-xdist worker), keeps execution
environments warm between tests, and removes them at the end.
"""

import json

import pytest


def test_an_order_is_priced_with_tax(lsim):
    result = lsim.invoke("orders", {"id": 1, "items": [{"sku": "apple", "qty": 2}, {"sku": "pear", "qty": 4}]})
    assert result.payload == {"id": 1, "total": 4.8}
    assert result.function_error is None
    assert '"order": 1' in result.logs  # the log: what the function printed, with START, END, REPORT
    assert result.report.max_memory_used_mb < 128  # the REPORT line's figures
    assert result.report.billed_duration_ms >= result.report.duration_ms


def test_an_empty_order_is_a_function_error(lsim):
    result = lsim.invoke("orders", {"id": 2, "items": []})
    assert result.function_error == "Unhandled"  # what X-Amz-Function-Error says
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "order 2 has no items"


def test_environments_stay_warm_between_invocations(lsim):
    lsim.invoke("orders", {"id": 3, "items": [{"sku": "melon", "qty": 1}]})
    again = lsim.invoke("orders", {"id": 4, "items": [{"sku": "melon", "qty": 1}]})
    assert not again.cold_start and again.report.init_duration_ms is None


def test_through_boto3(lsim):
    client = lsim.client()  # a boto3 Lambda client bound to the simulator's Lambda API
    response = client.invoke(FunctionName="orders", Payload=json.dumps({"id": 5, "items": [{"sku": "pear", "qty": 1}]}))
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == {"id": 5, "total": 0.9}
    assert client.get_function_configuration(FunctionName="orders")["Environment"]["Variables"] == {"TAX_RATE": "0.2"}


def test_reserved_concurrency_is_scoped_to_the_block(lsim):
    client = lsim.client(retries={"max_attempts": 0})
    order = json.dumps({"id": 6, "items": [{"sku": "apple", "qty": 1}]})
    with lsim.concurrency("orders", reserved=0):  # reserved 0: every invocation is throttled
        with pytest.raises(client.exceptions.TooManyRequestsException):
            client.invoke(FunctionName="orders", Payload=order)
    assert client.invoke(FunctionName="orders", Payload=order)["StatusCode"] == 200  # restored afterwards
