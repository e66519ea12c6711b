"""The HTTP front door over real HTTP and real invocations (process backend; one Docker test): routes of a
REST and an HTTP API on one port, function URLs on their own ports, and every failure API Gateway and function
URLs answer with, each as AWS answers it (facts-http.md, the gateway core's responses)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from simulator.api.front_door import FrontDoorServer, start_front_door
from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store

HANDLERS = """
import base64, json, os, time


def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}


def order(event, context):
    return {"statusCode": 200, "body": json.dumps({"id": (event.get("pathParameters") or {}).get("id")})}


def shortcut(event, context):
    return {"ok": True}


def fails(event, context):
    raise RuntimeError("boom")


def malformed(event, context):
    return "justAString"


def slow(event, context):
    time.sleep(float(os.environ.get("SLEEP", "1.5")))
    return {"statusCode": 200, "body": "late"}


def authorize(event, context):
    token = event.get("authorizationToken", "")
    if token == "deny":
        effect = "Deny"
    elif token == "allow":
        effect = "Allow"
    elif token == "unauthorized":
        raise Exception("Unauthorized")
    else:
        return {"nonsense": True}
    return {
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"tier": "gold"},
    }
"""

PROJECT = """
[settings]
account_id = "123456789012"
region = "us-east-1"

[apis.shop]
type = "http"
cors = { allow_origins = ["https://app.example"], allow_methods = ["GET", "POST"] }

[apis.legacy]
type = "rest"
stage = "Prod"
[apis.legacy.authorizers.tokens]
function = "authorize"
payload_type = "TOKEN"
identity_sources = ["method.request.header.Authorization"]

[functions.echo]
handler = "app.echo"
runtime = "python3.11"
code = "src"
[functions.echo.events.any]
type = "httpapi"
path = "/echo/{proxy+}"
method = "any"
api = "shop"
[functions.echo.events.legacy]
type = "api"
path = "/legacy/echo"
method = "post"
api = "legacy"
[functions.echo.url]
auth_type = "NONE"
cors = { allow_origins = ["*"] }

[functions.order]
handler = "app.order"
runtime = "python3.11"
code = "src"
[functions.order.events.get]
type = "httpapi"
path = "/orders/{id}"
method = "get"
api = "shop"

[functions.shortcut]
handler = "app.shortcut"
runtime = "python3.11"
code = "src"
[functions.shortcut.events.get]
type = "httpapi"
path = "/shortcut"
method = "get"
api = "shop"

[functions.fails]
handler = "app.fails"
runtime = "python3.11"
code = "src"
[functions.fails.events.http]
type = "httpapi"
path = "/fails"
method = "get"
api = "shop"
[functions.fails.events.rest]
type = "api"
path = "/legacy/fails"
method = "get"
api = "legacy"
[functions.fails.url]

[functions.malformed]
handler = "app.malformed"
runtime = "python3.11"
code = "src"
[functions.malformed.events.rest]
type = "api"
path = "/legacy/malformed"
method = "get"
api = "legacy"

[functions.slow]
handler = "app.slow"
runtime = "python3.11"
code = "src"
timeout = 10
[functions.slow.events.http]
type = "httpapi"
path = "/slow"
method = "get"
api = "shop"
timeout_in_millis = 300
[functions.slow.events.rest]
type = "api"
path = "/legacy/slow"
method = "get"
api = "legacy"
timeout_in_millis = 300
[functions.slow.url]

[functions.guarded]
handler = "app.echo"
runtime = "python3.11"
code = "src"
[functions.guarded.events.rest]
type = "api"
path = "/legacy/guarded"
method = "get"
api = "legacy"
authorizer = "tokens"
[functions.guarded.url]
auth_type = "AWS_IAM"

[functions.authorize]
handler = "app.authorize"
runtime = "python3.11"
code = "src"
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Door:
    lsim: BlockingSimulator
    server: FrontDoorServer
    said: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    def url_port(self, function: str) -> int:
        return int(self.server.url_of(function).rstrip("/").rsplit(":", 1)[1])

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
        port: int | None = None,
    ) -> Answer:  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(HANDLERS)
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    folder = write_project(tmp_path_factory.mktemp("front-door"))
    said: list[str] = []
    lsim = BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim"))
    try:
        server = lsim.call(start_front_door(lsim.simulator, port=0, say=said.append))
        try:
            yield Door(lsim, server, said)
        finally:
            lsim.call(server.close())
    finally:
        lsim.close()


# -- routes -----------------------------------------------------------------------------------------------
def test_an_http_api_route_gets_its_path_parameters_and_answers(door: Door) -> None:
    answer = door.request("GET", "/orders/42")
    assert answer.status == 200
    assert answer.json() == {"id": "42"}
    assert "apigw-requestid" in answer.headers
    assert any("GET /orders/42 -> order 200" in line for line in door.said)


def test_the_event_is_payload_2_0_with_the_request_as_sent(door: Door) -> None:
    answer = door.request(
        "POST", "/echo/a%2Fb/c?x=1&x=2", body=b'{"k": 1}', headers={"X-Thing": "V", "Content-Type": "application/json"}
    )
    event = answer.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /echo/{proxy+}"
    assert event["rawPath"] == "/echo/a/b/c"  # HTTP APIs decode the path (gateway/events.py)
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["headers"]["x-thing"] == "V"
    assert event["body"] == '{"k": 1}'
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


def test_a_rest_route_gets_payload_1_0(door: Door) -> None:
    answer = door.request("POST", "/legacy/echo", body=b"hi")
    assert answer.status == 200
    event = answer.json()
    assert event["httpMethod"] == "POST" and event["resource"] == "/legacy/echo" and event["body"] == "hi"
    assert "version" not in event
    assert answer.headers["x-amzn-requestid"] == event["requestContext"]["requestId"]


def test_the_2_0_shortcut_answer(door: Door) -> None:
    answer = door.request("GET", "/shortcut")
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert answer.headers["content-type"] == "application/json"


# -- failures, as AWS answers them -------------------------------------------------------------------------------
def test_an_unknown_route_is_not_found_on_a_port_with_http_apis(door: Door) -> None:
    answer = door.request("GET", "/nowhere")
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_a_function_error_is_500_on_http_apis_and_502_on_rest(door: Door) -> None:
    http_api = door.request("GET", "/fails")
    assert http_api.status == 500 and http_api.json() == {"message": "Internal Server Error"}
    rest = door.request("GET", "/legacy/fails")
    assert rest.status == 502 and rest.json() == {"message": "Internal server error"}


def test_a_malformed_answer_is_502_on_rest(door: Door) -> None:
    answer = door.request("GET", "/legacy/malformed")
    assert answer.status == 502 and answer.json() == {"message": "Internal server error"}


def test_an_integration_timeout_answers_the_client_and_the_invocation_runs_on(door: Door) -> None:
    rest = door.request("GET", "/legacy/slow")
    assert rest.status == 504 and rest.json() == {"message": "Endpoint request timed out"}
    http_api = door.request("GET", "/slow")
    assert http_api.status in (503, 504)
    # the invocations ran on and finished: the function answered later, once each
    door.lsim.call(_wait_idle(door.lsim, "slow"))


async def _wait_idle(lsim: BlockingSimulator, function: str) -> None:
    import asyncio

    for _ in range(200):
        pools = [pool for (name, _), pool in lsim.simulator.pools().items() if name == function]
        if pools and all(getattr(pool, "busy", 0) == 0 for pool in pools):
            return
        await asyncio.sleep(0.05)


def test_a_lambda_throttle_is_500_behind_an_api_and_429_behind_a_url(door: Door) -> None:
    door.lsim.call(door.lsim.simulator.put_function_concurrency("fails", 0))
    try:
        http_api = door.request("GET", "/fails")
        assert http_api.status == 500 and http_api.json() == {"message": "Internal Server Error"}
        rest = door.request("GET", "/legacy/fails")
        assert rest.status == 500 and rest.json() == {"message": "Internal server error"}
        url = door.request("GET", "/", port=door.url_port("fails"))
        assert url.status == 429
    finally:
        door.lsim.call(door.lsim.simulator.delete_function_concurrency("fails"))


def test_a_body_over_10_mb_is_request_too_large_and_the_connection_serves_on(door: Door) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", door.port, timeout=60)
    try:
        connection.request("POST", "/echo/big", body=b"x" * (10 * 1024 * 1024 + 1))
        answer = connection.getresponse()
        assert answer.status == 413
        answer.read()
        connection.request("GET", "/orders/5")
        assert connection.getresponse().read() == b'{"id": "5"}'
    finally:
        connection.close()


def test_a_url_body_over_6_mb_is_refused_and_an_event_over_6_mb_is_lambda_rejected(door: Door) -> None:
    url = door.request("POST", "/", body=b"x" * (6 * 1024 * 1024 + 1), port=door.url_port("echo"))
    assert url.status == 413
    api = door.request("POST", "/echo/big", body=b"x" * (7 * 1024 * 1024))
    assert api.status == 500 and api.json() == {"message": "Internal Server Error"}


# -- function URLs --------------------------------------------------------------------------------------------
def test_a_function_url_takes_any_path(door: Door) -> None:
    answer = door.request("GET", "/any/path?q=1", port=door.url_port("echo"))
    assert answer.status == 200
    event = answer.json()
    assert event["routeKey"] == "$default" and event["rawPath"] == "/any/path"
    assert event["requestContext"]["apiId"] == door.server.table.urls[0].url_id or event["requestContext"]["apiId"]


def test_a_function_url_function_error_is_502_plain_text(door: Door) -> None:
    answer = door.request("GET", "/", port=door.url_port("fails"))
    assert answer.status == 502 and answer.body == b"Internal Server Error"


def test_an_aws_iam_url_refuses_unsigned_and_wrongly_signed_requests(door: Door) -> None:
    port = door.url_port("guarded")
    unsigned = door.request("GET", "/", port=port)
    assert unsigned.status == 403 and unsigned.headers["x-amzn-errortype"] == "AccessDeniedException"
    wrong = door.request("GET", "/", port=port, headers=_signed("GET", port, "/", "AKIDWRONG", "secret"))
    assert wrong.status == 403


def test_an_aws_iam_url_serves_a_request_signed_with_local_credentials(door: Door) -> None:
    port = door.url_port("guarded")
    credentials = door.lsim.simulator.environments.credentials.local.for_role("arn:aws:iam::123456789012:role/caller")
    headers = _signed("GET", port, "/x", credentials.access_key_id, credentials.secret_access_key,
                      credentials.session_token)  # fmt: skip
    answer = door.request("GET", "/x", port=port, headers=headers)
    assert answer.status == 200, answer.body
    iam = answer.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == credentials.access_key_id and iam["accountId"] == "123456789012"


def _signed(method: str, port: int, path: str, key: str, secret: str, token: str | None = None) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=b"")
    SigV4Auth(Credentials(key, secret, token), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


# -- hostile input -------------------------------------------------------------------------------------------
def test_a_foreign_host_is_refused_but_cross_origin_requests_are_served(door: Door) -> None:
    foreign = door.request("GET", "/orders/1", headers={"Host": "attacker.example"})
    assert foreign.status == 403
    cross = door.request("GET", "/orders/1", headers={"Origin": "https://app.example"})
    assert cross.status == 200


def test_a_malformed_request_line_is_400_and_the_server_serves_on(door: Door) -> None:
    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as raw:
        raw.sendall(b"GET /orders/1 HTTP/1.1 extra junk\r\n\r\n")
        assert raw.recv(1024).split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert door.request("GET", "/orders/1").status == 200


def test_dot_dot_and_nul_in_a_path_reach_routing_as_sent(door: Door) -> None:
    through_api = door.request("GET", "/echo/../../etc/passwd%00")
    assert through_api.status == 200
    assert through_api.json()["rawPath"] == "/echo/../../etc/passwd\x00"  # not resolved: a path is only a key
    through_url = door.request("GET", "/../../etc/passwd%00", port=door.url_port("echo"))
    assert through_url.status == 200 and "/../../etc/passwd" in through_url.json()["rawPath"]
    assert door.request("GET", "/orders/%00").status == 200
    assert door.request("GET", "/..").status == 404


def test_100_concurrent_requests_are_all_answered(door: Door) -> None:
    statuses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        answer = door.request("GET", f"/orders/{n}")
        with lock:
            statuses.append(answer.status)
            if answer.status != 200:
                failures.append(answer.body.decode(errors="replace"))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # every request is answered; on a loaded machine a hundred cold starts at once may see an environment
    # fail its init (a function error, as Lambda would give), never lsim failing or a connection dropped
    assert len(statuses) == 100 and statuses.count(200) > 0
    assert all(body == '{"message":"Internal Server Error"}' for body in failures), failures[:3]
    assert not [line for line in door.said if "lsim failed" in line]


# -- authorizers ---------------------------------------------------------------------------------------------
def test_a_token_authorizer_allows_and_its_context_reaches_the_function(door: Door) -> None:
    answer = door.request("GET", "/legacy/guarded", headers={"Authorization": "allow"})
    assert answer.status == 200, answer.body
    authorizer = answer.json()["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-1" and authorizer["tier"] == "gold"


def test_a_missing_token_is_401_without_invoking_the_authorizer(door: Door) -> None:
    answer = door.request("GET", "/legacy/guarded")
    assert answer.status == 401 and answer.json() == {"message": "Unauthorized"}
    assert answer.headers["x-amzn-errortype"] == "UnauthorizedException"


def test_an_authorizers_answers_deny_unauthorized_and_malformed(door: Door) -> None:
    deny = door.request("GET", "/legacy/guarded", headers={"Authorization": "deny"})
    assert deny.status == 403
    assert deny.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    unauthorized = door.request("GET", "/legacy/guarded", headers={"Authorization": "unauthorized"})
    assert unauthorized.status == 401 and unauthorized.json() == {"message": "Unauthorized"}
    malformed = door.request("GET", "/legacy/guarded", headers={"Authorization": "nonsense"})
    assert malformed.status == 500 and malformed.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"


# -- CORS ---------------------------------------------------------------------------------------------------
def test_an_http_api_answers_a_preflight_itself_and_adds_cors_headers_for_an_allowed_origin(door: Door) -> None:
    asked = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    preflight = door.request("OPTIONS", "/orders/1", headers=asked)
    assert preflight.status in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    answer = door.request("GET", "/orders/1", headers={"Origin": "https://app.example"})
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    other = door.request("GET", "/orders/1", headers={"Origin": "https://evil.example"})
    assert other.status == 200 and "access-control-allow-origin" not in other.headers


def test_a_function_url_with_cors_answers_preflights(door: Door) -> None:
    port = door.url_port("echo")
    preflight = door.request(
        "OPTIONS", "/x", port=port, headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status in (200, 204)
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://a.example")


# -- end to end, in real containers: the sample's template.yaml --------------------------------------------
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "orders-api"


@pytest.mark.docker
def test_the_orders_api_sample_in_real_containers(tmp_path: Path) -> None:
    lsim = BlockingSimulator(load_project(SAMPLE), backend="docker", store=Store(tmp_path / ".lsim"))
    try:
        server = lsim.call(start_front_door(lsim.simulator, port=0))
        door = Door(lsim, server)
        try:
            order = door.request("GET", "/orders/1/items/a")
            assert order.status == 200 and order.json() == {"sku": "BOOK-1", "quantity": 1}
            created = door.request("POST", "/orders", body=b'{"sku": "PEN-7"}',
                                   headers={"Content-Type": "application/json"})  # fmt: skip
            assert created.status == 201 and created.headers["location"] == f"/orders/{created.json()['id']}"
            refund = door.request("POST", "/admin/orders/2/refund", headers={"Authorization": "allow-ana"})
            assert refund.status == 202 and refund.json() == {"refunded": "2", "by": "ana", "role": "admin"}
            denied = door.request("POST", "/admin/orders/2/refund", headers={"Authorization": "deny"})
            assert denied.status == 403
            hook = door.request("POST", "/hooks/paid", body=b"{}", port=door.url_port("WebhookFunction"),
                                headers={"Content-Type": "application/json", "Origin": "https://shop.example"})  # fmt: skip
            assert hook.json() == {"received": 2, "path": "/hooks/paid", "method": "POST"}
            assert hook.headers["access-control-allow-origin"] in ("*", "https://shop.example")
        finally:
            lsim.call(server.close())
    finally:
        lsim.close()
