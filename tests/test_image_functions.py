"""Container-image functions whose image does not exist yet: a clear error naming the `docker build` to run
(exit 2), never a traceback; and lsim says it does not build images only then."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.docker


def lsim(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_missing_image_of_an_lsim_toml_function(tmp_path: Path) -> None:
    image = f"lsim-test-missing-{uuid.uuid4().hex[:8]}:latest"
    (tmp_path / "lsim.toml").write_text(f'[functions.img]\nimage = "{image}"\n')
    done = lsim(tmp_path, "invoke", "img", "--payload", "{}")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"function img runs the image {image}, which is not on this machine" in done.stderr
    assert f"docker build -t {image} " in done.stderr and "lsim does not build images" in done.stderr


def test_missing_image_of_a_sam_function_names_its_metadata_build(tmp_path: Path) -> None:
    tag = f"v{uuid.uuid4().hex[:8]}"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  BuiltHere:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      PackageType: Image\n"
        "    Metadata:\n"
        "      Dockerfile: Dockerfile\n"
        "      DockerContext: ./app\n"
        f"      DockerTag: {tag}\n"
    )
    listed = lsim(tmp_path, "config", "show", "BuiltHere")
    assert "docker build" not in listed.stderr, listed.stderr  # no note while nothing is missing yet
    done = lsim(tmp_path, "invoke", "BuiltHere", "--payload", "{}")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    build = f"docker build -t builthere:{tag} -f {tmp_path / 'app' / 'Dockerfile'} {tmp_path / 'app'}"
    assert f"`{build}`" in done.stderr
