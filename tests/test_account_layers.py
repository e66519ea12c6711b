"""Layers belong to the account, as on AWS: `lsim layer publish` works outside any project, a version
published once is attached by every project of the account (in real containers), numbers run per layer name
across projects, a project's older layers are copied into the account without losing one, and a missing
version's message says how to get that exact version."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from simulator.account import lsim_home
from simulator.blocking import BlockingSimulator
from simulator.errors import InvalidParameterValueException
from simulator.layers import LayerRegistry
from simulator.project import load_project
from simulator.store import Store

from .cli import lsim

ARN = "arn:aws:lambda:us-east-1:123456789012:layer"
APP = "import shared\n\ndef handler(event, context):\n    return {'value': shared.VALUE}\n"


@pytest.fixture(autouse=True)
def _own_account(own_lsim_home: Path) -> Path:
    """Each test counts the account's versions: an account of its own."""
    return own_lsim_home


def layer_zip(value: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/shared.py", f"VALUE = {value!r}\n")
    return buffer.getvalue()


def project(folder: Path, *layers: str, settings: str = "") -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "lsim.toml").write_text(
        f"{settings}[functions.reader]\nhandler = \"app.handler\"\nruntime = \"python3.11\"\ncode = \"src\"\n"
        f"layers = {json.dumps(list(layers))}\n"
    )
    return folder


def test_the_session_never_uses_the_real_home() -> None:
    assert lsim_home() != Path.home() / ".lsim"
    assert os.environ["LSIM_HOME"] == str(lsim_home())


def test_publish_works_outside_any_project_and_writes_nothing_there(tmp_path: Path, own_lsim_home: Path) -> None:
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    (nowhere / "shared.zip").write_bytes(layer_zip("first"))
    published = lsim("layer", "publish", "shared", "--zip", "shared.zip", cwd=nowhere)
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["LayerVersionArn"] == f"{ARN}:shared:1"
    assert sorted(p.name for p in nowhere.iterdir()) == ["shared.zip"]  # no .lsim/ where no project is
    assert (own_lsim_home / "accounts" / "123456789012" / "us-east-1" / "state.db").is_file()
    listed = json.loads(lsim("layer", "versions", "shared", cwd=nowhere).stdout)["LayerVersions"]
    assert [v["Version"] for v in listed] == [1]


def test_numbers_run_per_layer_name_across_the_projects_of_an_account(tmp_path: Path) -> None:
    first, second = project(tmp_path / "first"), project(tmp_path / "second")
    (tmp_path / "shared.zip").write_bytes(layer_zip("x"))
    versions = [
        json.loads(lsim("layer", "publish", "shared", "--zip", str(tmp_path / "shared.zip"), cwd=folder).stdout)["Version"]
        for folder in (first, second, first)
    ]
    assert versions == [1, 2, 3]
    other = project(tmp_path / "other-account", settings='[settings]\naccount_id = "210987654321"\n\n')
    published = lsim("layer", "publish", "shared", "--zip", str(tmp_path / "shared.zip"), cwd=other)
    assert json.loads(published.stdout)["LayerVersionArn"] == "arn:aws:lambda:us-east-1:210987654321:layer:shared:1"


@pytest.mark.docker
def test_a_version_published_once_runs_in_every_project_of_the_account(tmp_path: Path) -> None:
    (tmp_path / "shared.zip").write_bytes(layer_zip("from the account"))
    assert lsim("layer", "publish", "shared", "--zip", "shared.zip", cwd=tmp_path).returncode == 0
    for name in ("orders", "billing"):
        folder = project(tmp_path / name, f"{ARN}:shared:1")
        with BlockingSimulator(load_project(folder), backend="docker") as simulator:
            result = simulator.invoke("reader")
        assert result.ok, result.body
        assert result.payload == {"value": "from the account"}


def test_a_missing_version_says_how_to_get_that_exact_version(tmp_path: Path) -> None:
    (tmp_path / "shared.zip").write_bytes(layer_zip("x"))
    assert lsim("layer", "publish", "shared", "--zip", "shared.zip", cwd=tmp_path).returncode == 0
    folder = project(tmp_path / "app", f"{ARN}:shared:3")
    with (
        BlockingSimulator(load_project(folder), backend="process") as simulator,
        pytest.raises(InvalidParameterValueException) as caught,
    ):
        simulator.invoke("reader")
    message = str(caught.value)
    assert f"Layer version {ARN}:shared:3 does not exist." in message
    assert "`lsim layer publish shared --zip FILE` makes version 2, and version 3 after 1 more" in message
    assert "versions of shared: 1" in message
    shown = lsim("layer", "get", "shared:7", cwd=tmp_path)
    assert shown.returncode == 2 and "ResourceNotFoundException" in shown.stderr and f"{ARN}:shared:7" in shown.stderr


def test_a_projects_older_layers_are_copied_into_the_account_and_none_is_lost(tmp_path: Path) -> None:
    """Before layers moved to the account, a project kept them in its .lsim/state.db (a registry without an
    account store still writes there). Opened now, they are copied with their numbers; a number another
    project already took with other content stays the project's own, read from its own store."""
    older = project(tmp_path / "older", f"{ARN}:shared:1", f"{ARN}:tools:2")
    legacy = LayerRegistry(Store.for_project(older), load_project(older))
    legacy.publish_layer_version("shared", layer_zip("older's own"))
    legacy.publish_layer_version("tools", layer_zip("tools 1"))
    legacy.publish_layer_version("tools", layer_zip("tools 2"))
    (tmp_path / "clash.zip").write_bytes(layer_zip("another project's"))
    assert lsim("layer", "publish", "shared", "--zip", "clash.zip", cwd=tmp_path).returncode == 0  # shared:1 taken

    versions = json.loads(lsim("layer", "versions", "tools", cwd=older).stdout)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    with BlockingSimulator(load_project(older), backend="process") as simulator:
        older_sees = simulator.call(simulator.simulator.get_layer_version("shared", 1))
    with BlockingSimulator(load_project(project(tmp_path / "newer")), backend="process") as simulator:
        newer_sees = simulator.call(simulator.simulator.get_layer_version("shared", 1))
        assert simulator.call(simulator.simulator.get_layer_version("tools", 2)).code_size > 0  # copied
    assert older_sees.code_sha256 != newer_sees.code_sha256  # each project keeps the shared:1 it knew
    published = lsim("layer", "publish", "shared", "--zip", str(tmp_path / "clash.zip"), cwd=older)
    assert json.loads(published.stdout)["Version"] == 2  # never a number the project already knows

    # A copied version is the account's: deleted by one project, it is deleted for all. The version the
    # project kept is its own: deleting it leaves the account's version of that number alone.
    assert lsim("layer", "delete", "tools", "2", cwd=tmp_path / "newer").returncode == 0
    assert [v["Version"] for v in json.loads(lsim("layer", "versions", "tools", cwd=older).stdout)["LayerVersions"]] == [1]
    assert lsim("layer", "delete", "shared", "1", cwd=older).returncode == 0
    assert lsim("layer", "get", "shared:1", cwd=tmp_path / "newer").returncode == 0
