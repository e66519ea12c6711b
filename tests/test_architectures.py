"""`architecture = "arm64"`: the function runs as arm64 (under QEMU user emulation on an x86_64 machine), its
arm64 layer's native code loads, and where emulation is not set up lsim refuses with the reason and the fix,
never running it as x86_64."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.errors import RuntimeUnavailableError
from simulator.project import load_project
from simulator.sandbox import emulation

from .conftest import REPO

x86_only = pytest.mark.skipif(emulation.host_architecture() != "x86_64", reason="written for an x86_64 host")

HANDLER = """
import platform, struct, sys
import boto3

def handler(event, context):
    result = {
        "machine": platform.machine(),
        "version": list(sys.version_info[:2]),
        "pointer_bits": struct.calcsize("P") * 8,
        "boto3": boto3.__version__,
    }
    if event.get("native"):
        import orjson  # a compiled extension from the layer, built for the function's architecture
        result["native"] = orjson.dumps({"ok": True}).decode()
    return result
"""


# --- no engine needed ------------------------------------------------------------------------------


def test_elf_architecture_reads_the_header(tmp_path: Path) -> None:
    assert emulation.elf_architecture(Path(os.path.realpath(sys.executable))) == emulation.host_architecture()
    aarch64 = bytes.fromhex("7f454c46020101000000000000000000") + (2).to_bytes(2, "little") + (183).to_bytes(2, "little")
    (tmp_path / "arm").write_bytes(aarch64 + b"\0" * 44)
    assert emulation.elf_architecture(tmp_path / "arm") == "arm64"
    (tmp_path / "text").write_text("#!/bin/sh\n")
    assert emulation.elf_architecture(tmp_path / "text") is None


@x86_only
def test_the_hosts_own_architecture_needs_nothing(tmp_path: Path) -> None:
    emulation.check_can_run("x86_64", tmp_path)  # an empty binfmt_misc folder does not matter


@x86_only
@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({}, "binfmt_misc is not mounted at"),
        ({"status": "enabled\n"}, "no QEMU interpreter for arm64 is registered"),
        ({"status": "enabled\n", "qemu-aarch64": "disabled\ninterpreter /x\nflags: F\n"}, "update-binfmts --enable"),
        ({"status": "enabled\n", "qemu-aarch64": "enabled\ninterpreter /x\nflags: P\n"}, "F (fix binary) flag"),
    ],
)
def test_arm64_without_emulation_is_refused_with_why_and_how(
    tmp_path: Path, entries: dict[str, str], expected: str
) -> None:
    for name, text in entries.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(RuntimeUnavailableError) as caught:
        emulation.check_can_run("arm64", tmp_path)
    message = str(caught.value)
    assert "arm64 functions run under QEMU user emulation on this x86_64 machine" in message
    assert expected in message
    if "disabled" not in str(entries):
        assert "apt-get install -y qemu-user-static binfmt-support" in message
        assert "never runs an arm64 function on x86_64" in message


@x86_only
def test_a_registered_interpreter_with_the_fix_flag_is_enough(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n")
    emulation.check_can_run("arm64", tmp_path)


@x86_only
def test_the_process_backend_refuses_arm64(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "lsim.toml").write_text(
        '[functions.f]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\narchitecture = "arm64"\n'
    )
    refused = pytest.raises(RuntimeUnavailableError, match="process backend runs functions on this machine's own x86_64")
    with BlockingSimulator(load_project(tmp_path), backend="process") as lsim, refused:
        lsim.invoke("f", {})


# --- real containers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arm_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    try:
        emulation.check_can_run("arm64")
    except RuntimeUnavailableError as error:
        pytest.skip(f"this machine cannot emulate arm64 (the refusal is tested above): {error}")
    root = tmp_path_factory.mktemp("arm")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    (root / "requirements.txt").write_text("orjson\n")
    layers = []
    for arch in ("arm64", "x86_64"):
        done = subprocess.run(
            [sys.executable, "-m", "simulator.cli", "layer", "build", f"native-{arch}", "--requirements",
             "requirements.txt", "--python", "3.11", "--arch", arch],
            cwd=root, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"lsim layer build could not fetch orjson from PyPI: {done.stderr[-400:]}")
        layers.append(f"native-{arch}.zip")
    function = '[functions.{name}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\nmemory_size = 1024\n'
    (root / "lsim.toml").write_text(
        function.format(name="arm") + 'architecture = "arm64"\nlayers = ["native-arm64.zip"]\n\n'
        + function.format(name="x86") + 'layers = ["native-x86_64.zip"]\n\n'
        + function.format(name="arm-with-x86-layer") + 'architecture = "arm64"\nlayers = ["native-x86_64.zip"]\n'
    )
    yield root


@pytest.mark.docker
def test_arm64_function_runs_as_arm64_with_its_arm64_layer(arm_project: Path) -> None:
    with BlockingSimulator(load_project(arm_project), backend="docker") as lsim:
        arm = lsim.invoke("arm", {"native": True})
        x86 = lsim.invoke("x86", {"native": True})
        wrong = lsim.invoke("arm-with-x86-layer", {"native": True})
    assert arm.ok, arm.body
    assert arm.payload["machine"] == "aarch64" and arm.payload["pointer_bits"] == 64
    assert arm.payload["version"] == [3, 11]
    assert arm.payload["native"] == '{"ok":true}'
    assert x86.payload["machine"] == "x86_64" and x86.payload["native"] == '{"ok":true}'
    # an x86_64 layer on an arm64 function fails to import, as on Lambda
    assert wrong.function_error == "Unhandled"
    assert wrong.payload["errorType"] in ("ImportError", "ModuleNotFoundError"), wrong.payload
