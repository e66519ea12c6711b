"""Layers through the API are layer version ARNs (hardening item 3). `UpdateFunctionConfiguration(Layers=
["/any/host/folder"])` used to zip that host folder and mount it at /opt; through `lsim serve`, as on AWS,
only a LayerVersionArn is taken. Local folders and zips stay allowed in lsim.toml, which the user wrote."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from .test_api import Api, serve, write_project


@pytest.fixture(scope="module", autouse=True)
def _own_account(module_lsim_home: Path) -> Path:
    """These tests count the account's layer versions: the module has an account of its own."""
    return module_lsim_home


PATTERN = r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = write_project(tmp_path_factory.mktemp("api-layers"))
    (folder / "shared").mkdir()
    (folder / "shared" / "python").mkdir()
    (folder / "shared" / "python" / "shared.py").write_text("SHARED = 1\n")
    with (folder / "lsim.toml").open("a") as toml:  # a local folder in lsim.toml: the user's own choice
        toml.write('\n[functions.local]\nhandler = "app.echo"\nruntime = "python3.11"\ncode = "src"\n'
                   'layers = ["shared"]\n')  # fmt: skip
    yield from serve(folder, "process")


@pytest.fixture
def host_folder(tmp_path: Path) -> Path:
    """A folder of the host that no one meant to publish."""
    (tmp_path / "secrets" / "python").mkdir(parents=True)
    (tmp_path / "secrets" / "python" / "key.py").write_text("KEY = 'do not mount me'\n")
    return tmp_path / "secrets"


def refused(api: Api, layers: list[str]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        api.client().update_function_configuration(FunctionName="echo", Layers=layers)
    return caught.value


def blobs(api: Api) -> list[Path]:
    return [p for p in (api.lsim.simulator.store.blobs).rglob("*") if p.is_file()]


@pytest.mark.parametrize("kind", ["absolute", "relative", "dotdot"])
def test_a_host_path_is_refused_with_awss_validation_error(api: Api, host_folder: Path, kind: str) -> None:
    project = api.lsim.simulator.project.root
    path = {
        "absolute": str(host_folder),
        "relative": "shared",  # a folder of the project: still a path, still not an ARN
        "dotdot": os.path.relpath(host_folder, project),  # ../test_.../secrets
    }[kind]
    stored = blobs(api)
    error = refused(api, [path]).response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationException"
    message = error["Error"]["Message"]
    assert message.startswith(f"1 validation error detected: Value '[{path}]' at 'layers' failed to satisfy constraint")
    assert PATTERN in message and "Member must have length less than or equal to 140" in message
    assert "LayerVersionArn" in message  # and the fix
    assert api.client().get_function_configuration(FunctionName="echo").get("Layers") is None
    assert blobs(api) == stored  # nothing of the host folder was zipped or stored
    assert "secrets" not in {layer["LayerName"] for layer in api.client().list_layers()["Layers"]}


def test_name_and_version_is_not_an_arn_either(api: Api) -> None:
    error = refused(api, ["shared:1"]).response
    assert error["Error"]["Code"] == "ValidationException"
    assert "Value '[shared:1]' at 'layers'" in error["Error"]["Message"]


def test_one_bad_entry_refuses_the_whole_change(api: Api, host_folder: Path) -> None:
    arn = publish(api, "good")
    error = refused(api, [arn, str(host_folder)]).response
    assert f"Value '[{arn}, {host_folder}]' at 'layers'" in error["Error"]["Message"]
    assert api.client().get_function_configuration(FunctionName="echo").get("Layers") is None


def test_a_layer_version_arn_is_taken(api: Api) -> None:
    arn = publish(api, "taken")
    client = api.client()
    configuration = client.update_function_configuration(FunctionName="echo", Layers=[arn])
    assert [layer["Arn"] for layer in configuration["Layers"]] == [arn]
    client.update_function_configuration(FunctionName="echo", Layers=[])


def test_a_local_folder_in_lsim_toml_still_works(api: Api) -> None:
    layers = api.client().get_function_configuration(FunctionName="local")["Layers"]
    assert [layer["Arn"] for layer in layers] == ["arn:aws:lambda:us-east-1:123456789012:layer:shared:1"]


def publish(api: Api, name: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"python/{name}.py", "X = 1\n")
    published = api.client().publish_layer_version(LayerName=name, Content={"ZipFile": buffer.getvalue()})
    return str(published["LayerVersionArn"])
