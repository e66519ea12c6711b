"""Tenant isolation: a function with TenancyConfig PER_TENANT runs each tenant in environments of its own
(a module-level global proves it), reuses a tenant's warm one, hears the tenant in context.tenant_id and its
JSON logs, keeps the tenant through an Event invocation, and answers AWS's errors: a missing or unexpected
TenantId, and too many tenant environments."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.errors import InvalidParameterValueException, TooManyRequestsException
from simulator.project import load_project
from simulator.tenancy import TENANT_ID_MISMATCH

from .cli import lsim as run_lsim

HANDLER = '''
import logging
import uuid

ENVIRONMENT = uuid.uuid4().hex  # one per execution environment
SEEN = []  # every tenant this environment ever served
logger = logging.getLogger("tenants")


def handler(event, context):
    SEEN.append(context.tenant_id)
    logger.info("serving a tenant")
    return {"tenant": context.tenant_id, "environment": ENVIRONMENT, "seen": SEEN}
'''


def make_project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "lsim.toml").write_text(
        '[functions.tenants]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
        'tenancy_config = {tenant_isolation_mode = "PER_TENANT"}\nlogging_config = {log_format = "JSON"}\n'
        + extra
        + '\n[functions.shared]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    return tmp_path


def answer(result: Any) -> dict[str, Any]:
    assert result.function_error is None, result.body
    return json.loads(result.body)  # type: ignore[no-any-return]


@pytest.mark.docker
def test_tenants_never_share_an_environment_and_a_tenant_reuses_its_own(tmp_path: Path) -> None:
    project = load_project(make_project(tmp_path))
    with BlockingSimulator(project, backend="docker") as lsim:
        blue = lsim.invoke("tenants", {}, tenant_id="blue")
        green = lsim.invoke("tenants", {}, tenant_id="green")
        again = lsim.invoke("tenants", {}, tenant_id="blue")
        assert blue.cold_start and green.cold_start and not again.cold_start
        first, other, second = answer(blue), answer(green), answer(again)
        assert other["environment"] != first["environment"] and other["seen"] == ["green"]
        assert second["environment"] == first["environment"] and second["seen"] == ["blue", "blue"]
        # the runtime's JSON log records carry the tenant (awslambdaric's tenantId)
        records = [json.loads(line) for line in again.logs.splitlines() if line.startswith("{") and "serving" in line]
        assert [r["tenantId"] for r in records] == ["blue"]
        # an Event invocation keeps its tenant: it runs in the tenant's own environment
        queued = lsim.invoke("tenants", {}, tenant_id="green", invocation_type="Event")
        assert queued.status_code == 202
        for _ in range(600):  # the event queue runs it in the background
            if lsim.call(lsim.simulator.event_status(queued.request_id)) == "done":
                break
            time.sleep(0.05)
        assert answer(lsim.invoke("tenants", {}, tenant_id="green"))["seen"] == ["green", "green", "green"]


def test_tenant_id_required_for_an_isolated_function_and_refused_for_the_others(tmp_path: Path) -> None:
    project = load_project(make_project(tmp_path))
    with BlockingSimulator(project, backend="process") as lsim:
        with pytest.raises(InvalidParameterValueException) as missing:
            lsim.invoke("tenants", {})
        assert missing.value.message == TENANT_ID_MISMATCH
        with pytest.raises(InvalidParameterValueException) as unexpected:
            lsim.invoke("shared", {}, tenant_id="blue")
        assert unexpected.value.message == TENANT_ID_MISMATCH
        with pytest.raises(InvalidParameterValueException, match="TenantId"):
            lsim.invoke("tenants", {}, tenant_id="no#hash")
        assert answer(lsim.invoke("shared", {}))["tenant"] is None


def test_tenant_environments_are_limited_by_the_function_concurrency(tmp_path: Path) -> None:
    """2,500 per 1,000 of concurrency: with 1 reserved, 2 tenant environments; a third tenant is throttled,
    while a tenant that has one still runs."""
    project = load_project(make_project(tmp_path, "reserved_concurrency = 1\n"))
    with BlockingSimulator(project, backend="process") as lsim:
        answer(lsim.invoke("tenants", {}, tenant_id="a"))
        answer(lsim.invoke("tenants", {}, tenant_id="b"))
        with pytest.raises(TooManyRequestsException) as raised:
            lsim.invoke("tenants", {}, tenant_id="c")
        assert raised.value.message == "Rate exceeded"
        assert answer(lsim.invoke("tenants", {}, tenant_id="a"))["seen"] == ["a", "a"]


def test_tenancy_config_is_set_at_creation_and_shown(tmp_path: Path) -> None:
    """The template's TenancyConfig, GetFunction's TenancyConfig, Invoke's TenantId (X-Amz-Tenant-Id), and
    UpdateFunctionConfiguration has no TenancyConfig (boto3 refuses the member)."""
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import ClientError, ParamValidationError

    from simulator.api import ApiServer

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Tenants:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.11\n"
        "      TenancyConfig:\n        TenantIsolationMode: PER_TENANT\n"
    )
    project = load_project(tmp_path / "template.yaml", warn=lambda _: None)
    assert project.functions["Tenants"].tenancy_config is not None
    with BlockingSimulator(project, backend="process") as lsim:
        server = ApiServer(lsim.simulator, port=0)
        lsim.call(server.start())
        try:
            client = boto3.client(
                "lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
                aws_secret_access_key="x",
            )  # fmt: skip
            shown = client.get_function(FunctionName="Tenants")["Configuration"]["TenancyConfig"]
            assert shown == {"TenantIsolationMode": "PER_TENANT"}
            invoked = client.invoke(FunctionName="Tenants", TenantId="acme corp", Payload=b"{}")
            assert json.loads(invoked["Payload"].read())["tenant"] == "acme corp"
            with pytest.raises(ClientError) as raised:
                client.invoke(FunctionName="Tenants", Payload=b"{}")
            assert raised.value.response["Error"] == {
                "Code": "InvalidParameterValueException",
                "Message": TENANT_ID_MISMATCH,
            }
            with pytest.raises(ParamValidationError):
                client.update_function_configuration(
                    FunctionName="Tenants",
                    TenancyConfig={"TenantIsolationMode": "PER_TENANT"},  # type: ignore[call-arg]
                )
        finally:
            lsim.call(server.close())


def test_lsim_invoke_tenant_id(tmp_path: Path) -> None:
    make_project(tmp_path)
    ran = run_lsim("invoke", "tenants", "--tenant-id", "blue", "--backend", "process", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["tenant"] == "blue"
    refused = run_lsim("invoke", "tenants", "--backend", "process", cwd=tmp_path)
    assert refused.returncode == 2 and TENANT_ID_MISMATCH in refused.stderr


def test_the_warm_book_keeps_tenants_apart_and_retires_a_version_with_all_its_tenants() -> None:
    from simulator.clock import VirtualClock
    from simulator.tenancy import environments_key
    from simulator.warm import WarmEnvironments

    book: WarmEnvironments[str] = WarmEnvironments(VirtualClock(), idle_timeout_s=600)
    book.put("fn", environments_key("$LATEST", "blue"), "blue-env")
    book.put("fn", environments_key("$LATEST", "green"), "green-env")
    book.put("fn", environments_key("1", "blue"), "blue-v1-env")
    assert book.take("fn", "$LATEST") is None  # no tenant's environment serves an invocation without a tenant
    assert book.take("fn", environments_key("$LATEST", "blue")) == "blue-env"
    book.put("fn", environments_key("$LATEST", "blue"), "blue-env")
    assert book.idle("fn", "$LATEST") == 2 and book.idle("fn") == 3
    assert sorted(book.retire("fn", "$LATEST")) == ["blue-env", "green-env"]  # UpdateFunctionConfiguration
    assert book.idle("fn") == 1
