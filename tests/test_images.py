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
        "python3.11",
        "python3.12",
        "python3.13",
        "provided.al2023",
        "provided.al2",
    )
    assert [images.runtime_kind(r) for r in images.SUPPORTED_RUNTIMES] == [
        "python",
        "python",
        "python",
        "provided",
        "provided",
    ]


def test_runtimes_dir_is_the_source_checkout() -> None:
    found = images.runtimes_dir()
    assert found == REPO / "runtimes"
    assert (found / "python" / "Dockerfile").is_file()
    assert (found / "provided" / "init").is_file()
    assert (found / "base" / "mkrootfs.sh").is_file()


def test_python312_is_refused_offline_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LSIM_BASE", raising=False)
    with pytest.raises(RuntimeUnavailableError) as caught:
        images.ensure_runtime_image(object(), "python3.12")  # type: ignore[arg-type]  # fails before any call
    message = str(caught.value)
    assert "Python 3.12" in message
    assert "LSIM_BASE=registry" in message
    assert "python:3.12-slim" in message
    assert "python3.11" in message and "python3.13" in message


def test_unknown_runtime_lists_the_supported_ones() -> None:
    with pytest.raises(RuntimeUnavailableError) as caught:
        images.ensure_runtime_image(object(), "nodejs20.x")  # type: ignore[arg-type]
    assert "nodejs20.x" in str(caught.value)
    for runtime in images.SUPPORTED_RUNTIMES:
        assert runtime in str(caught.value)


def test_base_reference_local_and_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LSIM_BASE", raising=False)
    assert images.base_reference("python3.11") == "lsim/base:bookworm"
    assert images.base_reference("python3.13") == "lsim/base:trixie"
    assert images.base_reference("provided.al2023") == "lsim/base:bookworm"
    assert images.base_reference("provided.al2") == "lsim/base:bookworm"
    assert images.base_reference("python3.12", source="registry") == "python:3.12-slim-bookworm"
    assert images.base_reference("python3.11", source="registry") == "python:3.11-slim-bookworm"
    assert images.base_reference("provided.al2023", source="registry") == "debian:bookworm-slim"
    monkeypatch.setenv("LSIM_BASE", "registry")
    assert images.base_reference("python3.12") == "python:3.12-slim-bookworm"
    assert images.base_reference("python3.11", source="local") == "lsim/base:bookworm"
    monkeypatch.setenv("LSIM_BASE", "ftp")
    with pytest.raises(RuntimeUnavailableError, match="LSIM_BASE"):
        images.base_reference("python3.11")


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


def test_runtime_image_tag_format() -> None:
    digest = "0123456789abcdef" * 4
    assert images.runtime_image_tag("python3.11", digest) == "lsim/runtime:python3.11-0123456789ab"


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


@pytest.mark.docker
@pytest.mark.parametrize("runtime", ["python3.11", "provided.al2023"])
def test_runtime_image_is_built_then_reused(client: Any, runtime: str) -> None:
    tag = images.ensure_runtime_image(client, runtime)
    assert tag.startswith(f"lsim/runtime:{runtime}-")
    labels = client.images.get(tag).labels
    assert labels["lsim.managed"] == "1"
    assert labels["lsim.runtime"] == runtime
    assert tag.endswith(labels["lsim.runtime-hash"][:12])

    images.clear_cache()  # as in a new process: one lookup, no build
    started = time.perf_counter()
    assert images.ensure_runtime_image(client, runtime) == tag
    assert time.perf_counter() - started < 0.5

    started = time.perf_counter()  # resolved in this process: no Docker call at all
    assert images.ensure_runtime_image(client, runtime) == tag
    assert time.perf_counter() - started < 0.01


@pytest.mark.docker
def test_python311_image_has_python311_and_lambdas_user(client: Any) -> None:
    tag = images.ensure_runtime_image(client, "python3.11")
    code, out = _run(client, tag, ["-c", "import sys; print(sys.version)"], entrypoint="python3")
    assert code == 0 and out.startswith("3.11."), out

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
        import locale, os, pwd, stat
        print(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name)
        for path in ("/var/task", "/opt", "/var/runtime"):
            st = os.stat(path)
            print(path, st.st_uid, oct(st.st_mode & 0o777), sorted(os.listdir(path)))
        print(oct(os.stat("/tmp").st_mode & 0o7777), os.access("/var/runtime/init", os.X_OK))
        print(locale.setlocale(locale.LC_ALL, ""))
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


@pytest.mark.docker
def test_python_init_execs_the_bootstrap(client: Any) -> None:
    tag = images.ensure_runtime_image(client, "python3.11")
    code, out = _run(client, tag, ["-c", "cat /var/runtime/init"], entrypoint="/bin/sh")
    assert code == 0
    assert 'exec /usr/bin/python3 -u /var/runtime/bootstrap.py "$@"' in out


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
