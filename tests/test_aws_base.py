"""LSIM_BASE=aws: functions run on AWS's own base image, public.ecr.aws/lambda/python:3.X, with AWS's runtime
inside, through lsim's Runtime API.

No registry is reachable here, so the test builds a stand-in with that exact name and AWS's layout: Python at
/var/lang, AWS's runtime interface client (awslambdaric, from PyPI) as the runtime, AWS's environment
(x86_64/Dockerfile.python3.12 of aws/aws-lambda-base-images) and an entry point like AWS's
/lambda-entrypoint.sh, which takes the handler as its one argument. It is removed afterwards; a real image of
that name is never touched.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.sandbox import images

pytestmark = pytest.mark.docker

STAND_IN = "public.ecr.aws/lambda/python:3.12"
STAND_IN_LABEL = "lsim.test-stand-in"
DOCKERFILE = """\
FROM {base}
USER root
COPY site-packages/ /var/lang/lib/python3.12/site-packages/
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
RUN mkdir -p /var/runtime /var/task && /var/lang/bin/python3.12 -m compileall -q /var/lang/lib/python3.12/site-packages
ENV LANG=en_US.UTF-8 TZ=:/etc/localtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin \\
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \\
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
LABEL {label}=1
"""
# Like AWS's: the handler is the one argument; there is no runtime interface emulator in the stand-in.
ENTRYPOINT = """\
#!/bin/sh
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
exec /var/lang/bin/python3.12 -m awslambdaric "$1"
"""
HANDLER = """
import os, sys

def handler(event, context):
    if event.get("fail"):
        raise ValueError("from AWS's runtime")
    return {
        "ric": "awslambdaric" in sys.modules,
        "version": list(sys.version_info[:2]),
        "handler": os.environ["_HANDLER"],
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "request_id": context.aws_request_id,
        "uid": os.getuid(),
    }
"""


def _tar(files: dict[str, bytes], folder: Path | None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        if folder is not None:
            tar.add(folder, arcname="site-packages")
    buffer.seek(0)
    return buffer


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import docker
    import docker.errors

    client = docker.from_env()
    try:
        existing = client.images.get(STAND_IN)
    except docker.errors.ImageNotFound:
        existing = None
    if existing is not None and STAND_IN_LABEL not in existing.labels:
        pytest.skip(f"a real {STAND_IN} is on this machine: the test does not replace it")
    if not client.images.list(name="lsim/lang:python3.12"):
        pytest.skip("no lsim/lang:python3.12 to build the stand-in on (lsim runtime build python3.12 --python ...)")
    site = tmp_path_factory.mktemp("ric") / "site-packages"
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
        "--no-compile", "--target", str(site), "--only-binary=:all:", "--implementation", "cp",
        "--python-version", "3.12", "--platform", "manylinux2014_x86_64", "awslambdaric",
    ]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"awslambdaric could not be installed from PyPI: {done.stderr[-500:]}")
    context = _tar(
        {
            "Dockerfile": DOCKERFILE.format(base="lsim/lang:python3.12", label=STAND_IN_LABEL).encode(),
            "lambda-entrypoint.sh": ENTRYPOINT.encode(),
        },
        site,
    )
    client.images.build(fileobj=context, custom_context=True, tag=STAND_IN, rm=True, forcerm=True)
    yield STAND_IN
    for image in client.images.list(name="lsim/runtime", filters={"label": "lsim.runtime=python3.12"}):
        for tag in image.tags:
            if tag.startswith("lsim/runtime:python3.12-aws-"):
                client.images.remove(tag, force=True)
    client.images.remove(STAND_IN, force=True)


def test_a_function_runs_on_aws_base_image_with_aws_runtime(
    stand_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSIM_BASE", "aws")
    images.clear_cache()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "lsim.toml").write_text('[functions.f]\nhandler = "app.handler"\nruntime = "python3.12"\ncode = "src"\n')
    with BlockingSimulator(load_project(tmp_path), backend="docker") as lsim:
        result = lsim.invoke("f", {})
        failed = lsim.invoke("f", {"fail": True})
        backend: Any = lsim.simulator.backend
        spec = lsim.simulator.sandbox_spec(lsim.simulator.function("f"), "$LATEST")
        image = backend.image_for(spec)
    images.clear_cache()
    assert result.ok, result.body
    assert result.payload == {
        "ric": True,  # AWS's runtime interface client runs the handler, not lsim's
        "version": [3, 12],
        "handler": "app.handler",
        "execution_env": "AWS_Lambda_python3.12",
        "request_id": result.request_id,
        "uid": 993,
    }
    assert image.startswith("lsim/runtime:python3.12-aws-")
    # awslambdaric's own error document, through lsim's Runtime API
    assert failed.function_error == "Unhandled"
    assert failed.payload["errorType"] == "ValueError"
    assert failed.payload["errorMessage"] == "from AWS's runtime"
    assert failed.payload["requestId"] == failed.request_id


def test_every_tail_holds_exactly_its_own_output_with_aws_runtime(
    stand_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log fence needs nothing of the runtime: AWS's own gets exactly its output in each Tail too."""
    from .test_api import serve
    from .test_log_fences import run_many, write_project

    monkeypatch.setenv("LSIM_BASE", "aws")
    images.clear_cache()
    served = serve(write_project(tmp_path, "python3.12"), "docker")
    try:
        problems = run_many(next(served), sequential=20, concurrent=20)
    finally:
        served.close()
        images.clear_cache()
    assert not problems, "\n".join(problems)
