"""Hardening item 6: `lsim serve` cannot be driven by a web page the developer opens, and can verify
SigV4 signatures for a shared server.

Real `lsim serve` processes on real HTTP. A browser page's requests are reproduced as a browser sends
them (an `Origin`, a CORS preflight, a `text/plain` form body with no Authorization, a rebound `Host`);
SDK traffic as boto3 and the AWS CLI send it. Each browser case checks the function did not run: its
handler appends to a file the test reads."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.test_api import SIGNED
from tests.test_api_awscli import Served, start_serve, stop_serve

APP = """
import json, os


def record(event, context):
    with open(os.environ["MARKER"], "a") as marker:
        marker.write(json.dumps(event) + "\\n")
    return {"ran": True, "event": event}
"""

KEY, SECRET = "AKIDLSIMSHARED", "s3cret/with+odd=chars"


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    marker = folder / "ran.log"
    (folder / "lsim.toml").write_text(
        f'[functions.record]\nhandler = "app.record"\nruntime = "python3.11"\ncode = "src"\n'
        f'environment = {{ MARKER = "{marker}" }}\n'
    )
    return folder


def runs(folder: Path) -> int:
    """How many times the function ran."""
    marker = folder / "ran.log"
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def raw(
    served: Served, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One hand-made request; `headers` replace http.client's own (Host included)."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        headers = dict(headers or {})
        connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def client(served: Served, key: str = "anything", secret: str = "anything") -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=served.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def error_of(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


INVOKE = "/2015-03-31/functions/record/invocations"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("origin"))


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[Served]:
    running = start_serve(folder, "--backend", "process")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_serve(running)


# -- a web page the developer opens --------------------------------------------------------------------
def test_a_cross_origin_request_from_a_page_is_refused(served: Served, folder: Path) -> None:
    before = runs(folder)
    host = f"127.0.0.1:{served.port}"
    # fetch(..., {method: "POST", body}) from https://evil.example: the browser adds Origin
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{served.port + 1}"):
        status, headers, body = raw(served, "POST", INVOKE, b"{}", {"Host": host, "Origin": origin, **SIGNED})
        assert status == 403, body
        assert headers["x-amzn-errortype"] == "AccessDeniedException"
        assert "cross-origin" in json.loads(body)["message"]
        assert "access-control-allow-origin" not in headers
    assert runs(folder) == before


def test_a_cors_preflight_is_refused(served: Served) -> None:
    status, headers, _ = raw(
        served,
        "OPTIONS",
        INVOKE,
        headers={
            "Host": f"127.0.0.1:{served.port}",
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-date",
        },
    )
    assert status == 403
    assert not any(name.startswith("access-control-allow") for name in headers)


def test_a_text_plain_form_post_without_credentials_does_not_run_the_function(served: Served, folder: Path) -> None:
    """`<form enctype="text/plain" method="post">` or a no-cors fetch: no preflight, no Authorization."""
    before = runs(folder)
    status, headers, body = raw(
        served,
        "POST",
        INVOKE,
        b'{"from": "a page"}',
        {"Host": f"127.0.0.1:{served.port}", "Content-Type": "text/plain"},
    )
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert json.loads(body)["message"] == "Missing Authentication Token"
    assert runs(folder) == before


def test_a_form_body_on_a_json_operation_is_unsupported_media_type(served: Served) -> None:
    path = "/2015-03-31/functions/record/configuration"
    status, headers, _ = raw(
        served,
        "PUT",
        path,
        b'{"Description": "from a form"}',
        {"Host": f"127.0.0.1:{served.port}", "Content-Type": "text/plain;charset=UTF-8", **SIGNED},
    )
    assert status == 415 and headers["x-amzn-errortype"] == "UnsupportedMediaTypeException"
    status, _, _ = raw(
        served,
        "PUT",
        path,
        b'{"Description": "from an SDK"}',
        {"Host": f"127.0.0.1:{served.port}", "Content-Type": "application/json", **SIGNED},
    )
    assert status == 200


def test_a_rebound_host_name_is_refused(served: Served, folder: Path) -> None:
    """DNS rebinding: attacker.example now resolves to 127.0.0.1, so the page's request is same-origin for
    the browser, and carries no Origin on a GET; only its Host gives it away."""
    before = runs(folder)
    for host in (f"attacker.example:{served.port}", "attacker.example", f"localhost.attacker.example:{served.port}"):
        status, headers, body = raw(served, "POST", INVOKE, b"{}", {"Host": host, **SIGNED})
        assert status == 403, (host, body)
        assert headers["x-amzn-errortype"] == "AccessDeniedException"
        assert "--allow-host" in json.loads(body)["message"]
    assert runs(folder) == before
    # loopback names and addresses with the port are served
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}", f"LOCALHOST:{served.port}"):
        status, _, body = raw(served, "GET", "/2016-08-19/account-settings", headers={"Host": host, **SIGNED})
        assert status == 200, (host, body)
    status, _, _ = raw(served, "GET", "/2016-08-19/account-settings", headers={"Host": "localhost:1", **SIGNED})
    assert status == 403


def test_allow_host_serves_a_name_of_ones_own(tmp_path: Path) -> None:
    running = start_serve(write_project(tmp_path / "p"), "--backend", "process", "--allow-host", "lambda.test")
    try:
        ok, _, _ = raw(
            running, "GET", "/2016-08-19/account-settings", headers={"Host": f"lambda.test:{running.port}", **SIGNED}
        )
        other, _, _ = raw(
            running, "GET", "/2016-08-19/account-settings", headers={"Host": f"evil.test:{running.port}", **SIGNED}
        )
        assert (ok, other) == (200, 403)
    finally:
        assert stop_serve(running) == 0


# -- credentials ---------------------------------------------------------------------------------------
def test_a_request_without_a_sigv4_authorization_header_is_refused(served: Served) -> None:
    host = {"Host": f"127.0.0.1:{served.port}"}
    status, headers, body = raw(served, "GET", "/2016-08-19/account-settings", headers=host)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert json.loads(body)["message"] == "Missing Authentication Token"
    for authorization in ("Bearer eyJhbGciOi", "nonsense", "AWS4-HMAC-SHA256 Credential=k/x"):
        status, headers, body = raw(
            served, "GET", "/2016-08-19/account-settings", headers={**host, **SIGNED, "Authorization": authorization}
        )
        assert (status, headers["x-amzn-errortype"]) == (403, "IncompleteSignatureException"), authorization


def test_boto3_with_any_credentials_is_served_by_default(served: Served) -> None:
    for key, secret in (("anything", "anything"), ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG")):
        response = client(served, key, secret).invoke(FunctionName="record", Payload=b'{"sdk": true}')
        assert json.loads(response["Payload"].read())["ran"] is True
    assert "requests must be SigV4-signed, signatures are not checked" in served.console()


# -- --verify-sigv4 ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def verifying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = write_project(tmp_path_factory.mktemp("verify"))
    previous = {name: os.environ.get(name) for name in ("LSIM_ACCESS_KEY_ID", "LSIM_SECRET_ACCESS_KEY")}
    os.environ.update(LSIM_ACCESS_KEY_ID=KEY, LSIM_SECRET_ACCESS_KEY=SECRET)
    try:
        running = start_serve(folder, "--backend", "process", "--verify-sigv4")
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_serve(running)


def test_verify_sigv4_accepts_boto3_signed_with_the_secret(verifying: Served) -> None:
    lambda_ = client(verifying, KEY, SECRET)
    response = lambda_.invoke(FunctionName="record", Payload=json.dumps({"text": "héllo / wörld ~ +"}), LogType="Tail")
    assert json.loads(response["Payload"].read())["ran"] is True
    assert lambda_.get_function_configuration(FunctionName="record", Qualifier="$LATEST")["FunctionName"] == "record"
    assert lambda_.list_functions(MaxItems=5)["Functions"]
    updated = lambda_.update_function_configuration(FunctionName="record", Description="a  description, with spaces")
    assert updated["Description"] == "a  description, with spaces"
    assert "verifying SigV4 signatures: 1 access key(s)" in verifying.console()


def test_verify_sigv4_refuses_a_wrong_secret_and_an_unknown_key(verifying: Served) -> None:
    wrong = error_of(lambda: client(verifying, KEY, "not-the-secret").invoke(FunctionName="record", Payload=b"{}"))
    assert wrong.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert wrong.response["Error"]["Code"] == "InvalidSignatureException"
    assert wrong.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    unknown = error_of(lambda: client(verifying, "AKIDSOMEONEELSE", SECRET).list_functions())
    assert unknown.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert unknown.response["Error"]["Code"] == "UnrecognizedClientException"
    assert unknown.response["Error"]["Message"] == "The security token included in the request is invalid."


def signed_by_botocore(served: Served, body: bytes, *, content_sha256: bool = False) -> dict[str, str]:
    """The headers botocore's own SigV4 signer gives an Invoke with `body`."""
    request = AWSRequest(method="POST", url=served.url + INVOKE, data=body)
    if content_sha256:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_verify_sigv4_refuses_a_tampered_body(verifying: Served) -> None:
    headers = signed_by_botocore(verifying, b'{"amount": 1}')
    status, _, body = raw(verifying, "POST", INVOKE, b'{"amount": 1}', headers)
    assert status == 200, body
    status, answer, body = raw(verifying, "POST", INVOKE, b'{"amount": 9}', headers)
    assert (status, answer["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    # the payload hash a client states (x-amz-content-sha256) must be the body's
    headers = signed_by_botocore(verifying, b'{"amount": 1}', content_sha256=True)
    status, answer, _ = raw(verifying, "POST", INVOKE, b'{"amount": 9}', headers)
    assert (status, answer["x-amzn-errortype"]) == (403, "InvalidSignatureException")


def test_verify_sigv4_refuses_a_signature_replayed_on_another_path(verifying: Served) -> None:
    headers = signed_by_botocore(verifying, b"{}")
    status, answer, _ = raw(verifying, "POST", "/2015-03-31/functions/other/invocations", b"{}", headers)
    assert (status, answer["x-amzn-errortype"]) == (403, "InvalidSignatureException")


def aws_cli(served: Served, key: str, secret: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    return subprocess.run(
        ["aws", "lambda", *arguments, "--endpoint-url", served.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_verify_sigv4_with_the_aws_cli(verifying: Served, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    good = aws_cli(verifying, KEY, SECRET, "invoke", "--function-name", "record", "--payload", '{"cli": 1}', str(out))
    assert good.returncode == 0, good.stderr
    assert json.loads(out.read_text())["ran"] is True
    listed = aws_cli(verifying, KEY, SECRET, "list-functions")
    assert listed.returncode == 0 and json.loads(listed.stdout)["Functions"]
    bad = aws_cli(verifying, KEY, "wrong", "list-functions")
    assert bad.returncode != 0 and "(InvalidSignatureException)" in bad.stderr
    unknown = aws_cli(verifying, "AKIDNOTKNOWN", SECRET, "get-account-settings")
    assert unknown.returncode != 0 and "(UnrecognizedClientException)" in unknown.stderr


def test_verify_sigv4_takes_a_credentials_file(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[ci]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = {SECRET}\n")
    running = start_serve(
        write_project(tmp_path / "p"), "--backend", "process", "--verify-sigv4", "--credentials-file", str(credentials)
    )
    try:
        assert client(running, "AKIDFROMFILE", SECRET).get_account_settings()["AccountLimit"]
        assert (
            error_of(lambda: client(running, "AKIDFROMFILE", "x").get_account_settings()).response["Error"]["Code"]
            == "InvalidSignatureException"
        )
    finally:
        assert stop_serve(running) == 0
