"""The Lambda HTTP API (`lsim serve`), driven by the real boto3 client over real HTTP.

Most tests run their functions on the process backend (the wire format is the subject); the ones marked
`docker` check what needs real execution environments (parallel warm environments, containers)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from simulator.api import ApiServer
from simulator.api.model import OPERATIONS
from simulator.api.routes import ROUTES
from simulator.blocking import BlockingSimulator
from simulator.errors import PortInUseError
from simulator.project import load_project
from simulator.simulator import Simulator
from simulator.store import Store


@pytest.fixture(scope="module", autouse=True)
def _own_account(module_lsim_home: Path) -> Path:
    """These tests count the account's layer versions: the module has an account of its own."""
    return module_lsim_home


APP = """
import json, os, time, uuid

ENVIRONMENT = uuid.uuid4().hex  # one per execution environment


def echo(event, context):
    print("echo", json.dumps(event))
    custom = context.client_context.custom if context.client_context else None
    return {"event": event, "environment": ENVIRONMENT, "custom": custom, "arn": context.invoked_function_arn}


def fail(event, context):
    raise ValueError("boom")


def slow(event, context):
    time.sleep(event.get("seconds", 1))
    return {"environment": ENVIRONMENT}


def chatty(event, context):
    for i in range(200):
        print(f"line {i:03d} " + "x" * 40)
    return {"lines": 200}
"""

PROJECT = """
[functions.echo]
handler = "app.echo"
runtime = "python3.11"
code = "src"
environment = { STAGE = "test" }
description = "echoes its event"

[functions.fail]
handler = "app.fail"
runtime = "python3.11"
code = "src"

[functions.slow]
handler = "app.slow"
runtime = "python3.11"
code = "src"
timeout = 30
memory_size = 256

[functions.chatty]
handler = "app.chatty"
runtime = "python3.11"
code = "src"
"""


# What every SDK sends (lsim serve requires its shape; signatures are not checked by default).
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=anything/20240101/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "X-Amz-Date": "20240101T000000Z",
}


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


@dataclass
class Api:
    url: str
    lsim: BlockingSimulator
    server: ApiServer
    said: list[str] = field(default_factory=list)

    def client(self, region: str = "us-east-1", **config: Any) -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="anything",
            aws_secret_access_key="anything",
            config=Config(retries={"max_attempts": 0}, read_timeout=120, **config),
        )

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        """A hand-made request, for what boto3 would refuse to send; signed as an SDK signs unless
        `headers` say otherwise."""
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.request(method, path, body=body, headers={**SIGNED, **(headers or {})})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


def serve(folder: Path, backend: str) -> Iterator[Api]:
    said: list[str] = []
    lsim = BlockingSimulator(load_project(folder), backend=backend, store=Store(folder / ".lsim"))
    server = ApiServer(lsim.simulator, port=0, say=said.append)
    try:
        url = lsim.call(server.start())
        yield Api(url, lsim, server, said)
    finally:
        lsim.call(server.close())
        lsim.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("api")), "process")


@pytest.fixture(scope="module")
def docker_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("docker-api")), "docker")


def error_of(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


# -- Invoke -------------------------------------------------------------------------------------------
def test_invoke_returns_the_payload_and_lambdas_headers(api: Api) -> None:
    response = api.client().invoke(FunctionName="echo", Payload=json.dumps({"a": 1}))
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response and "LogResult" not in response
    payload = json.loads(response["Payload"].read())
    assert payload["event"] == {"a": 1}
    assert payload["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"


def test_log_type_tail_returns_the_last_4_kb_of_the_log(api: Api) -> None:
    response = api.client().invoke(FunctionName="chatty", LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(response["LogResult"])
    assert len(log) == 4096  # the log is longer: only its last 4 KB
    text = log.decode()
    assert "line 199 " in text and "line 000 " not in text
    assert f"END RequestId: {request_id}" in text
    assert text.rstrip().splitlines()[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_a_function_error_is_200_with_x_amz_function_error(api: Api) -> None:
    response = api.client().invoke(FunctionName="fail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"


def test_event_is_202_and_dry_run_is_204_without_a_payload(api: Api) -> None:
    client = api.client()
    event = client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    dry = client.invoke(FunctionName="echo", InvocationType="DryRun")
    assert dry["StatusCode"] == 204 and dry["Payload"].read() == b""


def test_client_context_reaches_the_function(api: Api) -> None:
    context = base64.b64encode(json.dumps({"custom": {"tenant": "acme"}}).encode()).decode()
    response = api.client().invoke(FunctionName="echo", ClientContext=context)
    assert json.loads(response["Payload"].read())["custom"] == {"tenant": "acme"}
    error = error_of(lambda: api.client().invoke(FunctionName="echo", ClientContext="not base64!"))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"


def test_qualifiers_and_function_references(api: Api) -> None:
    client = api.client()
    latest = client.invoke(FunctionName="echo", Qualifier="$LATEST")
    assert json.loads(latest["Payload"].read())["arn"].endswith(":function:echo:$LATEST")
    by_arn = client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo")
    assert by_arn["StatusCode"] == 200

    missing = error_of(lambda: client.invoke(FunctionName="echo", Qualifier="7"))
    assert missing.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "function:echo:7" in missing.response["Error"]["Message"]

    invalid = error_of(lambda: client.invoke(FunctionName="echo", Qualifier="no good!"))
    assert invalid.response["Error"]["Code"] == "InvalidParameterValueException"
    assert invalid.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "'no good!' at 'qualifier'" in invalid.response["Error"]["Message"]


def test_unknown_function_is_resource_not_found_with_lambdas_body(api: Api) -> None:
    error = error_of(lambda: api.client().invoke(FunctionName="nope"))
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.response["Type"] == "User"  # botocore fills the modeled fields: Type, Message
    assert error.response["Message"].startswith(
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    )


def test_a_payload_that_is_not_json_is_invalid_request_content(api: Api) -> None:
    error = error_of(lambda: api.client().invoke(FunctionName="echo", Payload=b"{not json"))
    assert error.response["Error"]["Code"] == "InvalidRequestContentException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_oversized_payloads_are_request_too_large(api: Api) -> None:
    limits = api.lsim.simulator.project.limits
    client = api.client()
    sync = error_of(lambda: client.invoke(FunctionName="echo", Payload=b'"' + b"x" * limits.sync_payload_bytes + b'"'))
    assert sync.response["Error"]["Code"] == "RequestTooLargeException"
    assert sync.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert f"Request must be smaller than {limits.sync_payload_bytes} bytes" in sync.response["Error"]["Message"]
    event_payload = b'"' + b"x" * limits.async_payload_bytes + b'"'
    event = error_of(lambda: client.invoke(FunctionName="echo", InvocationType="Event", Payload=event_payload))
    assert f"smaller than {limits.async_payload_bytes} bytes" in event.response["Error"]["Message"]
    # the connection stays usable after a refused body
    assert client.invoke(FunctionName="echo")["StatusCode"] == 200


def test_an_oversized_body_is_refused_by_its_content_length_before_it_is_sent(api: Api) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {SIGNED['Authorization']}\r\nX-Amz-Date: {SIGNED['X-Amz-Date']}\r\n"
            "Content-Length: 107374182400\r\n\r\n".encode()  # 100 GB announced, none sent
        )
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413 ")
    assert "X-Amzn-ErrorType: RequestTooLargeException" in answer


def test_a_chunked_body_is_refused_once_it_passes_the_limit(api: Api) -> None:
    limit = api.lsim.simulator.project.limits.sync_payload_bytes
    chunks = (b"x" * 1024 * 1024 for _ in range(limit // (1024 * 1024) + 2))
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(
            "POST", "/2015-03-31/functions/echo/invocations", body=chunks, headers=SIGNED, encode_chunked=True
        )
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("X-Amzn-ErrorType") == "RequestTooLargeException"
    finally:
        connection.close()


def test_a_throttle_is_429_with_retry_after_and_its_reason(api: Api) -> None:
    if not hasattr(Simulator, "put_function_concurrency"):
        pytest.skip("the concurrency feature (PutFunctionConcurrency) has not landed in this lsim")
    client = api.client()
    client.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=0)
    try:
        error = error_of(lambda: client.invoke(FunctionName="echo"))
    finally:
        client.delete_function_concurrency(FunctionName="echo")
    assert error.response["Error"]["Code"] == "TooManyRequestsException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error.response["Error"]["Message"] == "Rate Exceeded."
    assert int(error.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 0
    assert client.invoke(FunctionName="echo")["StatusCode"] == 200  # restored


# -- the read operations ------------------------------------------------------------------------------
def test_get_function_configuration(api: Api) -> None:
    configuration = api.client().get_function_configuration(FunctionName="echo")
    assert configuration["FunctionName"] == "echo"
    assert configuration["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert configuration["Runtime"] == "python3.11" and configuration["Handler"] == "app.echo"
    assert configuration["MemorySize"] == 128 and configuration["Timeout"] == 3
    assert configuration["Environment"] == {"Variables": {"STAGE": "test"}}
    assert configuration["Description"] == "echoes its event"
    assert configuration["Version"] == "$LATEST" and configuration["State"] == "Active"
    assert configuration["PackageType"] == "Zip" and configuration["Architectures"] == ["x86_64"]
    assert configuration["EphemeralStorage"] == {"Size": 512}
    assert len(base64.b64decode(configuration["CodeSha256"])) == 32
    assert configuration["CodeSize"] > 0
    slow = api.client().get_function_configuration(FunctionName="slow", Qualifier="$LATEST")
    assert slow["FunctionArn"].endswith(":function:slow:$LATEST") and slow["MemorySize"] == 256


def test_get_function_has_configuration_and_code_location(api: Api) -> None:
    function = api.client().get_function(FunctionName="echo")
    assert function["Configuration"]["FunctionName"] == "echo"
    assert function["Code"]["RepositoryType"] == "S3"
    assert function["Code"]["Location"].startswith("file://") and function["Code"]["Location"].endswith("/src")
    error = error_of(lambda: api.client().get_function(FunctionName="ghost"))
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_functions_pages_through_every_function(api: Api) -> None:
    client = api.client()
    everything = client.list_functions()
    assert [f["FunctionName"] for f in everything["Functions"]] == ["chatty", "echo", "fail", "slow"]
    assert "NextMarker" not in everything
    names, marker = [], None
    while True:
        page = client.list_functions(MaxItems=1, **({"Marker": marker} if marker else {}))
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert names == ["chatty", "echo", "fail", "slow"]
    paginated = [f["FunctionName"] for p in client.get_paginator("list_functions").paginate() for f in p["Functions"]]
    assert paginated == names


def test_get_account_settings(api: Api) -> None:
    settings = api.client().get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["CodeSizeZipped"] == 50 * 1024 * 1024
    assert settings["AccountLimit"]["CodeSizeUnzipped"] == 250 * 1024 * 1024
    assert settings["AccountLimit"]["TotalCodeSize"] == 75 * 1024**3
    assert settings["AccountUsage"]["FunctionCount"] == 4
    assert settings["AccountUsage"]["TotalCodeSize"] >= len(APP.encode())


def test_layer_operations(api: Api) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/helper.py", "VALUE = 1\n")
    client = api.client()
    published = client.publish_layer_version(
        LayerName="helpers", Content={"ZipFile": buffer.getvalue()}, CompatibleRuntimes=["python3.11"]
    )
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["LayerVersionArn"].endswith(":layer:helpers:1") and published["Version"] == 1
    assert published["Content"]["CodeSize"] == len(buffer.getvalue())
    got = client.get_layer_version(LayerName="helpers", VersionNumber=1)
    assert got["LayerVersionArn"] == published["LayerVersionArn"]
    assert client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])["Version"] == 1
    assert [layer["LayerName"] for layer in client.list_layers()["Layers"]] == ["helpers"]
    assert [v["Version"] for v in client.list_layer_versions(LayerName="helpers")["LayerVersions"]] == [1]
    deleted = client.delete_layer_version(LayerName="helpers", VersionNumber=1)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    error = error_of(lambda: client.get_layer_version(LayerName="helpers", VersionNumber=1))
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"


def test_configuration_versions_and_aliases(api: Api) -> None:
    if not hasattr(Simulator, "publish_version"):
        pytest.skip("the versions feature (PublishVersion, aliases) has not landed in this lsim")
    client = api.client()
    updated = client.update_function_configuration(
        FunctionName="chatty",
        MemorySize=512,
        Environment={"Variables": {"MODE": "v1"}},
        EphemeralStorage={"Size": 1024},
    )
    assert updated["MemorySize"] == 512 and updated["Environment"] == {"Variables": {"MODE": "v1"}}
    assert updated["EphemeralStorage"] == {"Size": 1024}
    listed = {f["FunctionName"]: f for f in client.list_functions()["Functions"]}
    assert listed["chatty"]["MemorySize"] == 512, "ListFunctions shows $LATEST as updated, as GetFunction does"
    published = client.publish_version(FunctionName="chatty", Description="first")
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201 and published["Version"] == "1"
    versions = client.list_versions_by_function(FunctionName="chatty")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]

    alias = client.create_alias(FunctionName="chatty", Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == "arn:aws:lambda:us-east-1:123456789012:function:chatty:live"
    assert client.get_alias(FunctionName="chatty", Name="live")["FunctionVersion"] == "1"
    response = client.invoke(FunctionName="chatty", Qualifier="live")
    assert response["ExecutedVersion"] == "1"
    client.update_function_configuration(FunctionName="chatty", MemorySize=384)
    assert client.publish_version(FunctionName="chatty")["Version"] == "2"
    routed = client.update_alias(
        FunctionName="chatty", Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}}
    )
    assert routed["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    assert [a["Name"] for a in client.list_aliases(FunctionName="chatty")["Aliases"]] == ["live"]
    assert client.delete_alias(FunctionName="chatty", Name="live")["ResponseMetadata"]["HTTPStatusCode"] == 204
    missing = error_of(lambda: client.get_alias(FunctionName="chatty", Name="live"))
    assert missing.response["Error"]["Code"] == "ResourceNotFoundException"


# -- routes, operations and bad requests --------------------------------------------------------------
def _path_of(route_path: str) -> str:
    return (
        route_path.replace("{FunctionName}", "echo")
        .replace("{Name}", "live")
        .replace("{LayerName}", "nolayer")
        .replace("{VersionNumber}", "1")
    )


@pytest.mark.parametrize("route", [r for r in ROUTES if r.operation != "Invoke"], ids=lambda r: r.operation)
def test_every_route_reaches_its_service_or_answers_unknown_operation(api: Api, route: Any) -> None:
    service = getattr(api.lsim.simulator, route.service, None)
    lit = hasattr(service, route.service_method) and (route.output is None or route.presenter() is not None)
    path = _path_of(route.path)
    required = OPERATIONS[route.operation].required
    query = [f"{name}=1" for name in ("Qualifier", "Arn") if name in required]
    if query:
        path += ("&" if "?" in path else "?") + "&".join(query)
    status, headers, body = api.raw(route.method, path, b"{}" if route.method in ("PUT", "POST") else None)
    error_type = headers.get("x-amzn-errortype")
    if lit:
        assert error_type != "UnknownOperationException", body
    else:
        assert (status, error_type) == (404, "UnknownOperationException")
        assert f"lsim does not support {route.operation} yet" in json.loads(body)["message"]


def test_an_unknown_route_is_unknown_operation(api: Api) -> None:
    status, headers, body = api.raw("GET", "/2015-03-31/nothing-here")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "No Lambda operation is GET /2015-03-31/nothing-here" in json.loads(body)["message"]
    status, headers, body = api.raw("DELETE", "/2015-03-31/functions/echo/invocations")
    assert status == 404 and "this path serves POST Invoke" in json.loads(body)["message"]


def test_operations_lsim_does_not_simulate_are_named(api: Api) -> None:
    client = api.client()
    create = error_of(
        lambda: client.create_function(
            FunctionName="new", Role="arn:aws:iam::123456789012:role/r", Code={"ZipFile": b"zip"}
        )
    )
    assert create.response["Error"]["Code"] == "UnknownOperationException"
    assert "lsim does not simulate CreateFunction" in create.response["Error"]["Message"]
    assert "lsim.toml" in create.response["Error"]["Message"]
    tags = error_of(lambda: client.list_tags(Resource="arn:aws:lambda:us-east-1:123456789012:function:echo"))
    assert "lsim does not simulate ListTags" in tags.response["Error"]["Message"]


def test_malformed_json_body_is_invalid_request_content(api: Api) -> None:
    status, headers, body = api.raw("POST", "/2018-10-31/layers/x/versions", b"{not json")
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(body)["message"].startswith("Could not parse request body into json")
    status, headers, body = api.raw("POST", "/2018-10-31/layers/x/versions", b'{"Content": "a string"}')
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidParameterValueException"
    assert "'content'" in json.loads(body)["message"]


def test_any_credentials_are_accepted_and_another_region_is_pointed_out(api: Api) -> None:
    for key in ("k", "AKIAIOSFODNN7EXAMPLE", "anything-at-all"):
        authorization = SIGNED["Authorization"].replace("Credential=anything/", f"Credential={key}/")
        status, _, body = api.raw("GET", "/2016-08-19/account-settings", headers={"Authorization": authorization})
        assert status == 200, body
    elsewhere = api.client(region="eu-west-1").get_function_configuration(FunctionName="echo")
    assert elsewhere["FunctionArn"].startswith("arn:aws:lambda:us-east-1:")
    assert any("signs for Region eu-west-1" in line and "us-east-1" in line for line in api.said)


def test_a_port_in_use_is_named(api: Api) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ApiServer(api.lsim.simulator, "127.0.0.1", port)
        with pytest.raises(PortInUseError) as caught:
            api.lsim.call(server.start())
    assert f"port {port} is already in use on 127.0.0.1" in str(caught.value)
    assert "--port" in str(caught.value)


def test_server_connections_set_tcp_nodelay(api: Api) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/2016-08-19/account-settings", headers=SIGNED)
    connection.getresponse().read()

    async def nodelay() -> list[int]:
        server = api.server._runner.server  # type: ignore[union-attr]
        return [
            handler.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            for handler in server.connections
            if handler.transport is not None
        ]

    flags = api.lsim.call(nodelay())
    connection.close()
    assert flags and all(flags)


# -- real execution environments ----------------------------------------------------------------------
@pytest.mark.docker
def test_concurrent_requests_run_in_parallel_environments_that_stay_warm(docker_api: Api) -> None:
    client = docker_api.client()
    environments: list[str] = []

    def call() -> None:
        response = client.invoke(FunctionName="slow", Payload=json.dumps({"seconds": 2}))
        environments.append(json.loads(response["Payload"].read())["environment"])

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(environments) == 4
    assert len(set(environments)) >= 2, "concurrent invocations were served one after another"
    again = client.invoke(FunctionName="slow", Payload=json.dumps({"seconds": 0}), LogType="Tail")
    assert json.loads(again["Payload"].read())["environment"] in environments  # a warm one
    assert "Init Duration" not in base64.b64decode(again["LogResult"]).decode()


@pytest.mark.docker
def test_docker_invoke_through_the_api(docker_api: Api) -> None:
    response = docker_api.client().invoke(FunctionName="echo", Payload=b'{"in": "docker"}', LogType="Tail")
    assert json.loads(response["Payload"].read())["event"] == {"in": "docker"}
    assert 'echo {"in": "docker"}' in base64.b64decode(response["LogResult"]).decode()
