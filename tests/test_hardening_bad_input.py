"""Bad input that answered 500 (or was taken wrongly) now answers as AWS does (hardening item 13): over real
HTTP against `lsim serve` (boto3, and raw requests for what boto3 refuses to send), real SQLite, real files."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from simulator import Simulator
from simulator.layer_cache import LayerCache, PackageMissingError
from simulator.project import load_project
from simulator.store import Store, StoreCorruptError

from .test_api import Api, serve, write_project


@pytest.fixture(scope="module", autouse=True)
def _own_account(module_lsim_home: Path) -> Path:
    """These tests count the account's layer versions: the module has an account of its own."""
    return module_lsim_home


CONFIGURATION = "/2015-03-31/functions/echo/configuration"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("bad-input")), "process")


def answer(api: Api, method: str, path: str, body: Any) -> tuple[int, str, str]:
    """(status, error type, message) of a raw request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, headers, reply = api.raw(method, path, data, JSON)
    parsed = json.loads(reply) if reply else {}
    return status, headers.get("x-amzn-errortype", ""), parsed.get("message") or parsed.get("Message") or ""


def stage(api: Api) -> Any:
    return api.client().get_function_configuration(FunctionName="echo")["Environment"]["Variables"]


# -- JSON members of the wrong type ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "variables", ["STAGE=prod", ["STAGE", "prod"], {"STAGE": None}, {"STAGE": 1}, {"STAGE": True}, {"STAGE": {}}]
)
def test_environment_variables_of_the_wrong_type_are_400(api: Api, variables: Any) -> None:
    status, kind, message = answer(api, "PUT", CONFIGURATION, {"Environment": {"Variables": variables}})
    assert (status, kind) == (400, "SerializationException"), message
    assert "Environment.Variables" in message
    assert stage(api) == {"STAGE": "test"}  # nothing changed, and never 'null'


def test_additional_version_weights_as_a_list_is_400(api: Api) -> None:
    body = {"Name": "weighted", "FunctionVersion": "$LATEST", "RoutingConfig": {"AdditionalVersionWeights": [0.5]}}
    status, kind, message = answer(api, "POST", "/2015-03-31/functions/echo/aliases", body)
    assert (status, kind) == (400, "SerializationException"), message
    assert "RoutingConfig.AdditionalVersionWeights" in message


def test_json_nested_100000_levels_is_400(api: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for method, path in (("PUT", CONFIGURATION), ("POST", "/2015-03-31/functions/echo/invocations")):
        status, kind, message = answer(api, method, path, deep)
        assert (status, kind) == (400, "InvalidRequestContentException"), message
        assert message.startswith("Could not parse request body into json")


# -- numbers beyond AWS's Long ---------------------------------------------------------------------------
def test_a_23_digit_layer_version_is_400_not_500(api: Api) -> None:
    huge = "12345678901234567890123"
    for method in ("GET", "DELETE"):
        status, kind, message = answer(api, method, f"/2018-10-31/layers/any/versions/{huge}", b"")
        assert status == 400 and kind == "SerializationException", message
    arn = f"arn:aws:lambda:us-east-1:123456789012:layer:any:{huge}"
    with pytest.raises(ClientError) as caught:
        api.client().get_layer_version_by_arn(Arn=arn)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"


# -- zips Lambda cannot unpack ---------------------------------------------------------------------------
def zip_of(name: str, content: bytes = b"X = 1\n", method: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, content)
    data = bytearray(buffer.getvalue())
    if method is not None:  # the method field of the local header (offset 8) and the central one (offset 10)
        data[8:10] = method.to_bytes(2, "little")
        central = data.index(b"PK\x01\x02")
        data[central + 10 : central + 12] = method.to_bytes(2, "little")
    return bytes(data)


def publish_error(api: Api, data: bytes) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        api.client().publish_layer_version(LayerName="bad", Content={"ZipFile": data})
    return caught.value.response


def test_an_unknown_compression_method_is_400(api: Api) -> None:
    error = publish_error(api, zip_of("python/mod.py", method=99))
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert "compression method 99" in error["Error"]["Message"] and "python/mod.py" in error["Error"]["Message"]


def test_an_entry_name_over_the_file_name_limit_is_400_naming_it(api: Api) -> None:
    name = "python/" + "a" * 300 + ".py"
    error = publish_error(api, zip_of(name))
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error["Error"]["Message"]
    assert name[:60] in message and "File name too long" in message and "255 bytes" in message
    assert api.client().list_layer_versions(LayerName="bad")["LayerVersions"] == []


# -- ARNs of another Region or account -------------------------------------------------------------------
def test_an_arn_of_another_region_is_not_reachable(api: Api) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:echo"
    for call in (lambda c: c.invoke(FunctionName=arn), lambda c: c.get_function_configuration(FunctionName=arn)):
        with pytest.raises(ClientError) as caught:
            call(api.client())
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert error["Error"]["Code"] == "ResourceNotFoundException"
        assert error["Error"]["Message"].startswith(
            "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
        )


def test_an_arn_of_another_account_is_access_denied(api: Api) -> None:
    arn = "arn:aws:lambda:us-east-1:999999999999:function:echo"
    with pytest.raises(ClientError) as caught:
        api.client().invoke(FunctionName=arn)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert arn in error["Error"]["Message"] and "123456789012" in error["Error"]["Message"]
    own = "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert api.client().invoke(FunctionName=own)["StatusCode"] == 200  # the project's own ARN still runs


# -- a layer's blob or extraction gone ---------------------------------------------------------------------
def test_a_missing_layer_blob_names_the_version_and_the_repair(api: Api) -> None:
    simulator = api.lsim.simulator
    published = api.client().publish_layer_version(LayerName="fragile", Content={"ZipFile": zip_of("python/f.py")})
    arn = published["LayerVersionArn"]
    layer = simulator.layers.registry.get_layer_version_by_arn(arn)
    extracted = simulator.account.folder / "extracted" / layer.code_sha256  # layers belong to the account
    blob = simulator.account.blob_path(layer.code_sha256)
    kept = blob.read_bytes()
    try:
        api.client().update_function_configuration(FunctionName="echo", Layers=[arn])
        shutil.rmtree(extracted)
        blob.chmod(0o644)
        blob.unlink()
        with pytest.raises(ClientError) as caught:
            api.client().invoke(FunctionName="echo")
        message = caught.value.response["Error"]["Message"]
        assert f"layer version {arn} cannot be unpacked" in message
        assert str(blob) in message and "lsim layer publish fragile --zip FILE" in message
        blob.write_bytes(kept)  # the repair the message names
        assert api.client().invoke(FunctionName="echo")["StatusCode"] == 200  # not stuck
        assert (extracted / "python" / "f.py").is_file()
    finally:
        api.client().update_function_configuration(FunctionName="echo", Layers=[])


def test_a_missing_or_damaged_extraction_is_rebuilt_from_its_blob(tmp_path: Path) -> None:
    store = Store(tmp_path / ".lsim")
    cache = LayerCache(store)
    sha, _size = store.put_blob(zip_of("python/f.py", b"F = 1\n"))
    target = cache.extract_package(sha)
    (target / "python" / "f.py").unlink()  # damaged
    assert (cache.extract_package(sha) / "python" / "f.py").read_text() == "F = 1\n"
    shutil.rmtree(target)  # missing
    assert (cache.extract_package(sha) / "python" / "f.py").read_text() == "F = 1\n"
    blob = store.blob_path(sha)
    blob.chmod(0o644)
    blob.write_bytes(b"not the zip any more")  # corrupt blob, intact extraction: it still runs
    assert cache.extract_package(sha) == target
    shutil.rmtree(target)
    with pytest.raises(
        PackageMissingError, match=r"is damaged \(its SHA-256 no longer matches\).*lsim layer publish x"
    ):
        cache.extract_package(sha, "layer version arn:aws:lambda:us-east-1:123456789012:layer:x:1")


# -- state.db that is empty, or a folder -------------------------------------------------------------------
@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "lsim.toml").write_text(
        '[functions.orders]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    return tmp_path


def run(project_dir: Path, operation: str, *args: Any) -> Any:
    simulator = Simulator(load_project(project_dir), backend="process")
    return asyncio.run(getattr(simulator, operation)(*args))


def test_an_empty_state_db_beside_stored_blobs_is_reported_not_restarted(project_dir: Path) -> None:
    run(project_dir, "publish_version", "orders")
    database = project_dir / ".lsim" / "state.db"
    for extra in database.parent.glob("state.db-*"):
        extra.unlink()
    database.write_bytes(b"")
    with pytest.raises(StoreCorruptError, match=r"it is empty, yet .* holds stored zips.*mv .*state.db .*corrupt"):
        run(project_dir, "list_versions_by_function", "orders")
    assert database.read_bytes() == b""  # left as found
    assert any(p.is_file() for p in (project_dir / ".lsim" / "blobs").rglob("*"))


def test_a_folder_in_place_of_state_db_is_reported(project_dir: Path) -> None:
    database = project_dir / ".lsim" / "state.db"
    database.mkdir(parents=True)
    (database / "keep.txt").write_text("mine")
    with pytest.raises(StoreCorruptError, match=r"it is a folder, not lsim's SQLite database.*mv "):
        run(project_dir, "publish_version", "orders")
    assert (database / "keep.txt").read_text() == "mine"


def test_a_fresh_project_still_starts_a_database(project_dir: Path) -> None:
    assert run(project_dir, "publish_version", "orders").version == "1"
