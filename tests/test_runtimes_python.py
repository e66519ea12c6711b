"""Every Python runtime Lambda supports, end to end in real containers: the version named is the version that
runs, sys.path and the file layout are AWS's for that version, boto3 is there where AWS puts it, and a
function's or a layer's own boto3 wins over it.

python3.11, 3.13 and 3.14 come from Debian (bookworm, trixie, forky); python3.10 and 3.12 from a CPython
installation on this machine (pyenv here), as `lsim runtime build python3.12 --python PATH` makes them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.sandbox import images, interpreters, sdk

pytestmark = pytest.mark.docker

RUNTIMES = ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]

HANDLER = '''
import os, platform, sys
import boto3, botocore  # at module level, as real code does: every Lambda Python runtime has them

def handler(event, context):
    import layer_top, layer_site
    return {
        "version": list(sys.version_info[:3]),
        "executable": sys.executable,
        "path": sys.path,
        "machine": platform.machine(),
        "env": {k: os.environ.get(k) for k in ("AWS_EXECUTION_ENV", "PYTHONPATH", "LAMBDA_RUNTIME_DIR")},
        "boto3": [boto3.__version__, boto3.__file__, botocore.__version__, botocore.__file__],
        "layer": [layer_top.WHERE, layer_site.WHERE],
    }
'''
PLAIN = '''
import sys
import boto3

def handler(event, context):
    return {"path": sys.path, "boto3": [boto3.__version__, boto3.__file__]}
'''


def _prepare(client: Any, runtime: str) -> None:
    """Build (or find) the runtime's image; the tree-based ones from this machine's CPython, if it has one."""
    version = runtime.removeprefix("python")
    python = None
    if interpreters.debian_suite(version) is None:
        tag = interpreters.lang_tag(runtime)
        if not client.images.list(name=tag):
            found = interpreters.local_candidates(version)
            if not found:
                pytest.skip(f"no CPython {version} on this machine to build {runtime} from (pyenv install {version})")
            python = found[0]
    images.ensure_runtime_image(client, runtime, python=python)


@pytest.fixture(scope="module")
def lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    import docker

    client = docker.from_env()
    root = tmp_path_factory.mktemp("runtimes")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    (root / "plain").mkdir()
    (root / "plain" / "app.py").write_text(textwrap.dedent(PLAIN))
    # the function's own boto3 (a different one: only its version string) beside its code
    (root / "bundled" / "boto3").mkdir(parents=True)
    (root / "bundled" / "app.py").write_text(textwrap.dedent(PLAIN))
    (root / "bundled" / "boto3" / "__init__.py").write_text('__version__ = "0.0.1-bundled"\n')
    layer = root / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "layer_top.py").write_text('WHERE = "/opt/python"\n')
    (root / "layerboto").mkdir()
    (root / "layerboto" / "python" / "boto3").mkdir(parents=True)
    (root / "layerboto" / "python" / "boto3" / "__init__.py").write_text('__version__ = "0.0.2-layer"\n')
    lines = []
    for runtime in RUNTIMES:
        site = layer / "python" / "lib" / runtime / "site-packages"
        site.mkdir(parents=True)
        (site / "layer_site.py").write_text(f'WHERE = "/opt/python/lib/{runtime}/site-packages"\n')
        name = runtime.replace(".", "")
        lines += [
            f'[functions.{name}]\nhandler = "app.handler"\nruntime = "{runtime}"\ncode = "src"\nlayers = ["layer"]\n'
            "memory_size = 1024\n",
            f'[functions.{name}-plain]\nhandler = "app.handler"\nruntime = "{runtime}"\ncode = "plain"\nmemory_size = 1024\n',
            f'[functions.{name}-bundled]\nhandler = "app.handler"\nruntime = "{runtime}"\ncode = "bundled"\nmemory_size = 1024\n',
            f'[functions.{name}-layerboto]\nhandler = "app.handler"\nruntime = "{runtime}"\ncode = "plain"\n'
            'layers = ["layerboto"]\nmemory_size = 1024\n',
        ]
    (root / "lsim.toml").write_text("\n".join(lines))
    with BlockingSimulator(load_project(root), backend="docker") as simulator:
        simulator.client = client  # type: ignore[attr-defined]
        yield simulator


def _expected_path(runtime: str, *, layer: bool) -> list[str]:
    """sys.path as AWS's runtime makes it (see runtimes/python/bootstrap.py configure_sys_path)."""
    version = runtime.removeprefix("python")
    lang = f"/var/lang/lib/{runtime}"
    opt_site = f"/opt/python/lib/{runtime}/site-packages"
    head = ["/var/task", opt_site, "/opt/python"]
    stdlib = [f"/var/lang/lib/python{version.replace('.', '')}.zip", lang, f"{lang}/lib-dynload"]
    if version == "3.10":  # boto3 in /var/runtime, ahead of site-packages
        path = [*head, "/var/runtime", *stdlib, f"{lang}/site-packages"]
    else:  # site-packages, with boto3, ahead of /var/runtime
        path = [*head, f"{lang}/site-packages", "/var/runtime", *stdlib, f"{lang}/site-packages"]
    # AWS's bootstrap adds the layer folders as site folders too: one that does not exist goes at the end again
    return path if layer else [*path, opt_site, "/opt/python"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_runs_its_own_version_with_aws_layout(lsim: BlockingSimulator, runtime: str) -> None:
    _prepare(lsim.client, runtime)  # type: ignore[attr-defined]
    name = runtime.replace(".", "")
    result = lsim.invoke(name, {})
    assert result.ok, result.body
    got = result.payload
    minor = int(runtime.removeprefix("python3."))
    assert got["version"][:2] == [3, minor]  # never another version
    assert got["executable"] == f"/var/lang/bin/{runtime}"
    assert got["machine"] == "x86_64"
    assert got["env"] == {
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "PYTHONPATH": "/var/runtime",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
    }
    assert got["path"] == _expected_path(runtime, layer=True)
    assert got["layer"] == ["/opt/python", f"/opt/python/lib/{runtime}/site-packages"]
    versions = sdk.sdk_for(runtime)
    folder = sdk.sdk_folder(runtime)
    assert got["boto3"] == [
        versions.boto3,
        f"{folder}/boto3/__init__.py",
        versions.botocore,
        f"{folder}/botocore/__init__.py",
    ]
    print(f"{runtime}: Python {'.'.join(map(str, got['version']))}, sys.path = {got['path']}")

    plain = lsim.invoke(f"{name}-plain", {})
    assert plain.ok, plain.body
    assert plain.payload["path"] == _expected_path(runtime, layer=False)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_functions_or_layers_own_boto3_wins(lsim: BlockingSimulator, runtime: str) -> None:
    _prepare(lsim.client, runtime)  # type: ignore[attr-defined]
    name = runtime.replace(".", "")
    bundled = lsim.invoke(f"{name}-bundled", {})
    assert bundled.payload["boto3"] == ["0.0.1-bundled", "/var/task/boto3/__init__.py"]
    layered = lsim.invoke(f"{name}-layerboto", {})
    assert layered.payload["boto3"] == ["0.0.2-layer", "/opt/python/boto3/__init__.py"]


def test_tree_interpreter_must_be_the_runtimes_version(tmp_path: Path) -> None:
    """A CPython of another version named for python3.12 is refused, never used."""
    found = interpreters.local_candidates("3.11")
    if not found:
        pytest.skip("no CPython 3.11 tree on this machine")
    fake = tmp_path / "py"
    (fake / "bin").mkdir(parents=True)
    (fake / "lib" / "python3.12").mkdir(parents=True)
    (fake / "lib" / "python3.12" / "os.py").write_text("")
    (fake / "bin" / "python3.12").symlink_to(found[0] / "bin" / "python3.11")
    with pytest.raises(images.RuntimeUnavailableError, match=r"is Python 3\.11\.\d+, not 3\.12"):
        interpreters.inspect_tree(fake, "python3.12")
