"""Runtime images: built offline from the debootstrap base, reused by tag, rebuilt when a context file
changes. The Docker tests build real images and run real containers; the rest needs no engine."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.sandbox import images
from simulator.sandbox.images import RuntimeUnavailableError

REPO = Path(__file__).resolve().parent.parent


# --- no engine needed ------------------------------------------------------------------------------


def test_supported_runtimes_and_kinds() -> None:
    assert images.SUPPORTED_RUNTIMES == (
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "provided.al2023",
        "provided.al2",
    )
    assert [images.runtime_kind(r) for r in images.SUPPORTED_RUNTIMES] == ["python"] * 5 + ["provided"] * 2


def test_runtimes_dir_is_the_source_checkout() -> None:
    found = images.runtimes_dir()
    assert found == REPO / "runtimes"
    assert (found / "python" / "Dockerfile").is_file()
    assert (found / "provided" / "init").is_file()
    assert (found / "base" / "mkrootfs.sh").is_file()
    assert (found / "lang" / "mklang.sh").is_file()
    assert (found / "aws" / "init").is_file()


def test_a_version_no_debian_suite_has_is_refused_with_the_command_that_builds_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """python3.12 offline, with no interpreter named and no image yet: the refusal names `lsim runtime build
    python3.12 --python ...`, the variable, what the suites have, and never falls back to another version."""
    monkeypatch.delenv("LSIM_BASE", raising=False)
    monkeypatch.delenv("LSIM_PYTHON_3_12", raising=False)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv"))
    with pytest.raises(RuntimeUnavailableError) as caught:
        images.ensure_runtime_image(_NoImages(), "python3.12")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "Python 3.12" in message
    assert "`lsim runtime build python3.12 --python " in message and "LSIM_PYTHON_3_12" in message
    assert "bookworm has 3.11, trixie has 3.13, forky has 3.14" in message
    assert "LSIM_BASE=registry" in message and "python:3.12-slim-bookworm" in message
    assert "never runs it on another Python version" in message


class _NoImages:
    """A Docker client on which no image exists (inspect_image raises ImageNotFound)."""

    class api:
        @staticmethod
        def inspect_image(ref: str) -> Any:
            import docker.errors

            raise docker.errors.ImageNotFound(ref)


def test_unknown_runtime_lists_the_supported_ones() -> None:
    with pytest.raises(RuntimeUnavailableError) as caught:
        images.ensure_runtime_image(object(), "nodejs20.x")  # type: ignore[arg-type]
    assert "nodejs20.x" in str(caught.value)
    for runtime in images.SUPPORTED_RUNTIMES:
        assert runtime in str(caught.value)


def test_base_reference_local_registry_and_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LSIM_BASE", raising=False)
    assert images.base_reference("python3.11") == "lsim/lang:python3.11"
    assert images.base_reference("python3.12", architecture="arm64") == "lsim/lang:python3.12-arm64"
    assert images.base_reference("provided.al2023") == "lsim/base:bookworm"
    assert images.base_reference("provided.al2", architecture="arm64") == "lsim/base:bookworm-arm64"
    assert images.base_reference("python3.12", source="registry") == "lsim/lang:python3.12-registry"
    assert images.base_reference("provided.al2023", source="registry") == "debian:bookworm-slim"
    assert images.base_reference("python3.14", source="aws") == "public.ecr.aws/lambda/python:3.14"
    assert images.base_reference("provided.al2023", source="aws") == "public.ecr.aws/lambda/provided:al2023"
    monkeypatch.setenv("LSIM_BASE", "aws")
    assert images.base_reference("python3.10") == "public.ecr.aws/lambda/python:3.10"
    assert images.base_reference("python3.11", source="local") == "lsim/lang:python3.11"
    monkeypatch.setenv("LSIM_BASE", "ftp")
    with pytest.raises(RuntimeUnavailableError, match="LSIM_BASE"):
        images.base_reference("python3.11")


def test_the_sdk_goes_where_aws_puts_it() -> None:
    """boto3 in /var/runtime up to python3.10, in /var/lang/lib/python3.X/site-packages from 3.11 on."""
    from simulator.sandbox import sdk

    assert sdk.sdk_folder("python3.10") == "/var/runtime"
    for minor in (11, 12, 13, 14):
        assert sdk.sdk_folder(f"python3.{minor}") == f"/var/lang/lib/python3.{minor}/site-packages"
    assert set(sdk.SDK_VERSIONS) == {r for r in images.SUPPORTED_RUNTIMES if r.startswith("python")}


def test_sdk_version_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.sandbox import sdk

    monkeypatch.setenv("LSIM_BOTO3_VERSION", "1.35.0")
    chosen = sdk.sdk_for("python3.12")
    assert (chosen.boto3, chosen.botocore) == ("1.35.0", "1.35.0")
    monkeypatch.setenv("LSIM_BOTO3_VERSION", "1.26.90,1.29.90")
    assert sdk.sdk_for("python3.10").key == "boto3==1.26.90 botocore==1.29.90 in /var/runtime"


def _write_context(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text("FROM scratch\n")
    (directory / "init").write_text("#!/bin/sh\n")
    (directory / "bootstrap.py").write_text("print('v1')\n")


def test_context_hash_follows_the_context_files(tmp_path: Path) -> None:
    _write_context(tmp_path)
    base = "sha256:" + "a" * 64
    first = images.context_hash(tmp_path, base, "python3.11")
    assert first == images.context_hash(tmp_path, base, "python3.11")  # deterministic

    # Caches and editor droppings are not part of the context.
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "bootstrap.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / ".bootstrap.py.swp").write_bytes(b"\0")
    assert images.context_hash(tmp_path, base, "python3.11") == first

    (tmp_path / "bootstrap.py").write_text("print('v2')\n")
    edited = images.context_hash(tmp_path, base, "python3.11")
    assert edited != first
    assert images.runtime_image_tag("python3.11", edited) != images.runtime_image_tag("python3.11", first)

    (tmp_path / "helper.py").write_text("")
    added = images.context_hash(tmp_path, base, "python3.11")
    assert added != edited

    (tmp_path / "helper.py").chmod(0o755)
    assert images.context_hash(tmp_path, base, "python3.11") != added

    assert images.context_hash(tmp_path, "sha256:" + "b" * 64, "python3.11") != images.context_hash(
        tmp_path, base, "python3.11"
    )
    assert images.context_hash(tmp_path, base, "provided.al2") != images.context_hash(
        tmp_path, base, "provided.al2023"
    )
    # an arm64 image and another boto3 are other images
    assert images.context_hash(tmp_path, base, "python3.11", "arm64") != images.context_hash(tmp_path, base, "python3.11")
    assert images.context_hash(tmp_path, base, "python3.11", extra="boto3==1") != images.context_hash(
        tmp_path, base, "python3.11", extra="boto3==2"
    )


def test_runtime_image_tag_format() -> None:
    digest = "0123456789abcdef" * 4
    assert images.runtime_image_tag("python3.11", digest) == "lsim/runtime:python3.11-0123456789ab"
    assert images.runtime_image_tag("python3.11", digest, "arm64") == "lsim/runtime:python3.11-arm64-0123456789ab"
    assert images.runtime_image_tag("python3.12", digest, source="aws") == "lsim/runtime:python3.12-aws-0123456789ab"


# --- real images and containers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    import docker

    try:
        engine = docker.from_env()
        engine.ping()
    except Exception as error:  # no engine here: the docker-marked tests cannot run
        pytest.skip(f"no Docker engine: {error}")
    yield engine
    engine.close()


def _run(client: Any, image: str, command: list[str], *, entrypoint: str | None = None) -> tuple[int, str]:
    """Run a throwaway container to completion; (exit code, stdout+stderr). Always removed."""
    container = client.containers.create(image, command, entrypoint=entrypoint, network_disabled=True)
    try:
        container.start()
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


class _Counting:
    """A Docker client whose low-level calls are counted (what a lookup costs, without timing it)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        outer = self

        class Api:
            def __getattr__(self, name: str) -> Any:
                method = getattr(client.api, name)

                def counted(*args: Any, **kwargs: Any) -> Any:
                    outer.calls.append(name)
                    return method(*args, **kwargs)

                return counted

        self.api = Api()


@pytest.mark.docker
@pytest.mark.parametrize("runtime", ["python3.11", "provided.al2023"])
def test_runtime_image_is_built_then_reused(client: Any, runtime: str) -> None:
    tag = images.ensure_runtime_image(client, runtime)
    assert tag.startswith(f"lsim/runtime:{runtime}-")
    labels = client.images.get(tag).labels
    assert labels["lsim.managed"] == "1"
    assert labels["lsim.runtime"] == runtime
    assert labels["lsim.architecture"] == "x86_64"
    assert tag.endswith(labels["lsim.runtime-hash"][:12])

    images.clear_cache()  # as in a new process: a few lookups, no build
    counting = _Counting(client)
    assert images.ensure_runtime_image(counting, runtime) == tag  # type: ignore[arg-type]
    assert "build" not in counting.calls and len(counting.calls) <= 4, counting.calls

    counting.calls.clear()  # resolved in this process: no Docker call at all
    assert images.ensure_runtime_image(counting, runtime) == tag  # type: ignore[arg-type]
    assert counting.calls == []


@pytest.mark.docker
def test_python311_image_has_python311_at_var_lang_and_lambdas_user(client: Any) -> None:
    tag = images.ensure_runtime_image(client, "python3.11")
    code, out = _run(client, tag, ["-c", "import sys; print(sys.version)"], entrypoint="python3")
    assert code == 0 and out.startswith("3.11."), out
    labels = client.images.get(tag).labels
    assert labels["lsim.python-source"] == "debian bookworm" and labels["lsim.python-version"] == "3.11"

    config = client.images.get(tag).attrs["Config"]
    assert config["User"] == "993:990"
    assert config["Entrypoint"] == ["/var/runtime/init"]
    assert config["WorkingDir"] == "/var/task"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["LANG"] == "en_US.UTF-8"
    assert env["TZ"] == ":UTC"
    assert env["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"

    script = textwrap.dedent(
        """
        import locale, os, pwd, shutil, sys
        print(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name)
        for path in ("/var/task", "/opt", "/var/runtime"):
            st = os.stat(path)
            print(path, st.st_uid, oct(st.st_mode & 0o777), sorted(os.listdir(path)))
        print(oct(os.stat("/tmp").st_mode & 0o7777), os.access("/var/runtime/init", os.X_OK))
        print(locale.setlocale(locale.LC_ALL, ""))
        print(sys.prefix, os.path.realpath(shutil.which("python3")))
        import boto3, botocore
        print(boto3.__file__, boto3.__version__, botocore.__version__)
        """
    )
    code, out = _run(client, tag, ["-c", script], entrypoint="python3")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "993 990 sbx_user1051"
    assert lines[1] == "/var/task 0 0o755 []"
    assert lines[2] == "/opt 0 0o755 []"
    assert lines[3] == "/var/runtime 0 0o755 ['bootstrap.py', 'init']"
    assert lines[4] == "0o1777 True"
    assert lines[5] == "en_US.UTF-8"  # Amazon Linux 2 (python3.11) has this locale
    assert lines[6] == "/var/lang /var/lang/bin/python3.11"
    from simulator.sandbox import sdk

    version = sdk.sdk_for("python3.11")
    assert lines[7] == f"/var/lang/lib/python3.11/site-packages/boto3/__init__.py {version.boto3} {version.botocore}"


@pytest.mark.docker
def test_python_init_execs_the_bootstrap(client: Any) -> None:
    tag = images.ensure_runtime_image(client, "python3.11")
    code, out = _run(client, tag, ["-c", "cat /var/runtime/init"], entrypoint="/bin/sh")
    assert code == 0
    assert 'exec "$(readlink -f /var/lang/bin/python3)" -u /var/runtime/bootstrap.py "$@"' in out


def _put_bootstrap(container: Any, directory: str, body: str, mode: int = 0o755) -> None:
    data = body.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("bootstrap")
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
    container.put_archive(directory, buffer.getvalue())


def _run_provided(client: Any, tag: str, bootstraps: dict[str, tuple[str, int]]) -> tuple[int, str]:
    container = client.containers.create(tag, network_disabled=True)
    try:
        for directory, (body, mode) in bootstraps.items():
            _put_bootstrap(container, directory, body, mode)
        container.start()
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_provided_init_finds_the_bootstrap_like_lambda(client: Any) -> None:
    tag = images.ensure_runtime_image(client, "provided.al2023")
    assert client.images.get(tag).attrs["Config"]["User"] == "993:990"

    code, out = _run_provided(client, tag, {})
    assert code == 1
    assert "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]" in out

    task = ("#!/bin/sh\necho task $(id -u) $LAMBDA_TASK_ROOT\n", 0o755)
    layer = ("#!/bin/sh\necho layer\n", 0o755)
    assert _run_provided(client, tag, {"/opt": layer}) == (0, "layer\n")
    assert _run_provided(client, tag, {"/var/task": task, "/opt": layer}) == (0, "task 993 /var/task\n")

    # As on Lambda, an existing bootstrap that cannot be executed is the error; /opt is not tried.
    code, out = _run_provided(client, tag, {"/var/task": (task[0], 0o644), "/opt": layer})
    assert code == 126
    assert "fork/exec /var/task/bootstrap: permission denied" in out


@pytest.mark.docker
def test_edited_context_builds_a_new_image_once_across_processes(client: Any, tmp_path: Path) -> None:
    """A changed bootstrap gives a new tag; two processes asking at once build it once (file lock)."""
    runtimes = tmp_path / "runtimes"
    shutil.copytree(images.runtimes_dir() / "provided", runtimes / "provided")
    (runtimes / "provided" / "marker.txt").write_text(f"{time.time_ns()}\n")  # a context nobody built
    program = textwrap.dedent(
        f"""
        import pathlib, docker
        from simulator.sandbox import images
        images.runtimes_dir = lambda: pathlib.Path({str(runtimes)!r})
        print(images.ensure_runtime_image(docker.from_env(), "provided.al2023"))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", program], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    tags = {proc.communicate(timeout=300)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(tags) == 1
    tag = tags.pop()
    try:
        assert tag != images.ensure_runtime_image(client, "provided.al2023")
        assert len(client.images.list(name=tag)) == 1
    finally:
        client.images.remove(tag)


@pytest.mark.docker
def test_concurrent_threads_get_the_same_image(client: Any) -> None:
    images.clear_cache()
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(images.ensure_runtime_image(client, "python3.11")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
