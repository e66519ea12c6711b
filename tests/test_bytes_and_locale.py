"""`lsim invoke` writes the payload's bytes as they came, and every project file is read as UTF-8 whatever the
locale says (a C locale with Python's UTF-8 mode off, as some CI images and cron jobs run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

#: a custom runtime whose answer is not UTF-8 (an image, a compressed blob): bytes 0xff 0xfe 0x00 0x80
BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
    headers=$(mktemp)
    curl -sS -D "$headers" -o /dev/null "$API/invocation/next"
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '[:space:]' | cut -d: -f2)
    printf '\\377\\376\\000\\200lsim' | curl -sS -X POST --data-binary @- "$API/invocation/$id/response" >/dev/null
done
"""

PROJECT = """# Caf\u00e9 \u2615: a comment and a description that are not ASCII
[functions.binary]
runtime = "provided.al2023"
handler = "unused"
code = "binary"

[functions.hello]
runtime = "python3.11"
handler = "app.handler"
code = "src"
description = "na\u00efve r\u00e9sum\u00e9"
environment = { GREETING = "h\u00e9llo" }
"""

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: caf\u00e9 \u2615
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Description: na\u00efve r\u00e9sum\u00e9
"""


def lsim(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        capture_output=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        timeout=300,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "bootstrap").write_text(BOOTSTRAP)
    (tmp_path / "binary" / "bootstrap").chmod(0o755)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import os\n\ndef handler(event, context):\n    return os.environ.get('GREETING', '')\n", encoding="utf-8"
    )
    (tmp_path / "lsim.toml").write_text(PROJECT, encoding="utf-8")
    return tmp_path


@pytest.mark.docker
def test_a_binary_answer_reaches_stdout_byte_for_byte(folder: Path) -> None:
    done = lsim(folder, "invoke", "binary")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert done.stdout == b"\xff\xfe\x00\x80lsim\n"  # the bytes, then the newline lsim ends its output with


C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}


def test_lsim_toml_is_read_as_utf8_in_a_c_locale(folder: Path) -> None:
    done = lsim(folder, "config", "show", "hello", **C_LOCALE)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert "r\u00e9sum\u00e9".encode() in done.stdout or b"r\\u00e9sum\\u00e9" in done.stdout


def test_template_yaml_is_read_as_utf8_in_a_c_locale(folder: Path) -> None:
    (folder / "lsim.toml").unlink()
    (folder / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    done = lsim(folder, "config", "show", "Hello", **C_LOCALE)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert "r\u00e9sum\u00e9".encode() in done.stdout or b"r\\u00e9sum\\u00e9" in done.stdout


@pytest.mark.docker
def test_a_non_ascii_answer_and_log_survive_a_c_locale(folder: Path) -> None:
    done = lsim(folder, "invoke", "hello", **C_LOCALE)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert done.stdout == b'"h\\u00e9llo"\n'  # the handler's JSON answer, as the runtime serialised it
