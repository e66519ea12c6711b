"""The interpreter of each Python runtime: ``lsim/lang:python3.X``, with Python at /var/lang as on Lambda.

Lambda's Python runtimes keep their interpreter under /var/lang (``/var/lang/bin/python3.12``, the standard
library in ``/var/lang/lib/python3.12``, packages in ``/var/lang/lib/python3.12/site-packages``). lsim's
runtime images build on an image laid out the same way, made from one of two sources:

* **a Debian suite's own Python** (``runtimes/lang/Dockerfile.system``): bookworm's python3.11, trixie's
  python3.13, forky's python3.14, copied to /var/lang; with ``LSIM_BASE=registry``, python:3.X-slim's;
* **a CPython installation on this machine** (``Dockerfile.tree``) for a version no suite has (python3.10,
  python3.12): a pyenv, uv or python-build-standalone tree the user names with ``lsim runtime build
  python3.12 --python PATH`` or ``LSIM_PYTHON_3_12=PATH``. It is copied without its site-packages (so none of
  the user's packages leak in), on bookworm (glibc 2.36), and the build fails unless it runs there.

Nothing replaces a version with another: a tree must be exactly Python 3.X, for the function's architecture,
and the build checks the interpreter it produced.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import RuntimeUnavailableError
from . import emulation, labels, rootfs
from .engine import ignoring_docker_errors

if TYPE_CHECKING:
    import docker

__all__ = ["Interpreter", "ensure_lang_image", "inspect_tree", "lang_tag", "local_candidates", "tree_variable"]

Progress = Callable[[str], None]

LANG_REPOSITORY = "lsim/lang"
TREE_SUITE = "bookworm"  # the oldest glibc of the suites (2.36): a tree built on most machines runs on it
# Registry bases for LSIM_BASE=registry (Docker's official images, whose Python is in /usr/local).
_REGISTRY_SUITE = {"3.10": "bookworm", "3.11": "bookworm", "3.12": "bookworm", "3.13": "trixie", "3.14": "trixie"}


def lang_tag(runtime: str, architecture: str = "x86_64", source: str = "local") -> str:
    """``lsim/lang:python3.12``, ``lsim/lang:python3.12-arm64``, ``lsim/lang:python3.12-registry``."""
    suffix = ("" if source == "local" else f"-{source}") + ("" if architecture == "x86_64" else f"-{architecture}")
    return f"{LANG_REPOSITORY}:{runtime}{suffix}"


def registry_base(version: str) -> str:
    return f"python:{version}-slim-{_REGISTRY_SUITE.get(version, 'bookworm')}"


def tree_variable(version: str) -> str:
    """``LSIM_PYTHON_3_12``: the environment variable naming a CPython tree for python3.12."""
    return "LSIM_PYTHON_" + version.replace(".", "_")


def debian_suite(version: str) -> str | None:
    """The Debian suite whose own Python is ``version``, if any."""
    return next((name for name, suite in rootfs.SUITES.items() if suite.python == version), None)


@dataclass(frozen=True)
class Interpreter:
    """A CPython installation on this machine, checked to be the runtime's version."""

    root: pathlib.Path
    version: str  # "3.12.1"
    architecture: str  # Lambda's word

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def inspect_tree(path: str | os.PathLike[str], runtime: str, architecture: str = "x86_64") -> Interpreter:
    """Check that ``path`` is a CPython installation of the runtime's exact version and the function's
    architecture; raise RuntimeUnavailableError naming what is wrong otherwise."""
    want = runtime.removeprefix("python")
    root = pathlib.Path(path).expanduser()
    if (root / "install" / "bin").is_dir() and not (root / "bin").is_dir():  # python-build-standalone's tarball
        root = root / "install"
    root = root.resolve()
    executable = root / "bin" / f"python{want}"
    if not executable.is_file() or not (root / "lib" / f"python{want}" / "os.py").is_file():
        found = sorted(p.name for p in (root / "bin").glob("python3.*") if p.name[8:].isdigit())
        raise RuntimeUnavailableError(
            f"{root} is not a CPython {want} installation: it has no bin/python{want} with lib/python{want}"
            + (f" (it has {', '.join(found)})" if found else "")
            + f". Give the folder of a Python {want} (e.g. ~/.pyenv/versions/{want}.N)."
        )
    built_for = emulation.elf_architecture(executable)
    if built_for is not None and built_for != architecture:
        raise RuntimeUnavailableError(
            f"{executable} is built for {built_for}, but the function runs on {architecture}: give a CPython {want} "
            f"built for {architecture} (python-build-standalone has aarch64-unknown-linux-gnu builds)."
        )
    version = _version_of(root, executable, want, built_for)
    if ".".join(version.split(".")[:2]) != want:
        raise RuntimeUnavailableError(
            f"{root} is Python {version}, not {want}: lsim never runs {runtime} on another version"
        )
    return Interpreter(root, version, architecture)


def _version_of(root: pathlib.Path, executable: pathlib.Path, want: str, built_for: str | None) -> str:
    """The full version: asked of the interpreter when it runs here, else read from patchlevel.h."""
    if built_for is None or not emulation.needs_emulation(built_for):
        probe = (
            "import sys, sysconfig; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3], "
            "sysconfig.get_config_var('Py_GIL_DISABLED') or 0)"
        )
        try:
            done = subprocess.run([str(executable), "-I", "-c", probe], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            raise RuntimeUnavailableError(f"{executable} does not run on this machine: {error}") from None
        if done.returncode != 0:
            raise RuntimeUnavailableError(f"{executable} does not run on this machine: {done.stderr.strip()[-500:]}")
        implementation, version, free_threaded = done.stdout.split()
        if implementation != "cpython":
            raise RuntimeUnavailableError(f"{executable} is {implementation}, not CPython: Lambda runs CPython")
        if free_threaded not in ("0", "None"):
            raise RuntimeUnavailableError(
                f"{executable} is a free-threaded build: Lambda's Python runtimes are built with the GIL "
                "(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-disabled-features)"
            )
        return version
    header = root / "include" / f"python{want}" / "patchlevel.h"
    try:
        match = re.search(r'#define\s+PY_VERSION\s+"([0-9.]+)', header.read_text(errors="replace"))
    except OSError:
        match = None
    return match[1] if match else want


def local_candidates(version: str, architecture: str = "x86_64") -> list[pathlib.Path]:
    """CPython installations of ``version`` found in the usual places (pyenv, uv, python-build-standalone
    under /opt), for the refusal message; lsim never uses one the user did not name."""
    home = pathlib.Path.home()
    roots = [
        pathlib.Path(os.environ.get("PYENV_ROOT") or home / ".pyenv") / "versions",
        pathlib.Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or home / ".local" / "share" / "uv" / "python"),
        pathlib.Path("/opt/python"),
        pathlib.Path("/opt"),
    ]
    found: list[pathlib.Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            for candidate in (folder, folder / "install"):
                executable = candidate / "bin" / f"python{version}"
                stdlib = candidate / "lib" / f"python{version}" / "os.py"
                if not (executable.is_file() and stdlib.is_file()) or candidate in found:
                    continue
                if emulation.elf_architecture(executable.resolve()) in (architecture, None):
                    found.append(candidate)
    return found


# ---------------------------------------------------------------------------------------------------
# The image


def ensure_lang_image(
    client: docker.DockerClient,
    runtime: str,
    *,
    architecture: str = "x86_64",
    source: str = "local",
    python: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> str:
    """The tag of the runtime's /var/lang image, building it if missing or if its recipe changed.

    ``python``: a CPython tree to build it from (else ``LSIM_PYTHON_3_X``; else the image already here, which
    keeps the source it was built from; else the Debian suite that has the version)."""
    say = progress or rootfs.quiet
    version = runtime.removeprefix("python")
    ref = lang_tag(runtime, architecture, source)
    if source == "registry":
        base = registry_base(version)
        rootfs.pull(client, base, say, architecture)
        return _ensure_system(client, ref, runtime, base, f"registry {base}", architecture, say, _labels(client, ref))
    named = python or os.environ.get(tree_variable(version), "").strip() or None
    existing = _labels(client, ref)
    if named is not None:
        return _ensure_tree(client, ref, runtime, inspect_tree(named, runtime, architecture), say)
    if existing is not None and not existing.get(labels.PYTHON_SOURCE, "").startswith("debian "):
        tree = pathlib.Path(existing.get(labels.PYTHON_SOURCE, ""))
        try:  # the folder it was built from: rebuilt from it when lsim's recipe changed, else kept as is
            return _ensure_tree(client, ref, runtime, inspect_tree(tree, runtime, architecture), say)
        except RuntimeUnavailableError:
            return ref
    suite = debian_suite(version)
    if suite is None:
        raise RuntimeUnavailableError(_no_interpreter(runtime, architecture))
    base = rootfs.ensure_base_image(client, suite, architecture=architecture, source="local", progress=progress)
    return _ensure_system(client, ref, runtime, base, f"debian {suite}", architecture, say, existing)


def _no_interpreter(runtime: str, architecture: str) -> str:
    version = runtime.removeprefix("python")
    offline = ", ".join(f"{name} has {suite.python}" for name, suite in rootfs.SUITES.items())
    candidates = local_candidates(version, architecture)
    folder = str(candidates[0]) if candidates else f"~/.pyenv/versions/{version}.N"
    found = (
        f" (found on this machine: {', '.join(str(c) for c in candidates[:3])})"
        if candidates
        else f" (none found in ~/.pyenv, uv's folder or /opt: `pyenv install {version}` or "
        f"`uv python install {version}` makes one)"
        if architecture == emulation.host_architecture()
        else f" (none found: python-build-standalone's cpython-{version}.N-aarch64-unknown-linux-gnu install_only "
        "archive, unpacked, is one)"
    )
    arch = " --arch arm64" if architecture == "arm64" else ""
    return (
        f"Runtime {runtime} needs a Python {version} interpreter, which no Debian suite lsim builds offline has "
        f"({offline}). Build its image once from a CPython {version} installation on this machine (pyenv, uv or "
        f"python-build-standalone{', built for aarch64' if architecture == 'arm64' else ''}): "
        f"`lsim runtime build {runtime}{arch} --python {folder}`{found}, or set {tree_variable(version)} to its "
        f"folder. With a registry reachable, LSIM_BASE=registry builds it from {registry_base(version)} instead. "
        "lsim never runs it on another Python version."
    )


def _labels(client: docker.DockerClient, ref: str) -> dict[str, str] | None:
    with ignoring_docker_errors(missing_only=True):
        return dict(client.api.inspect_image(ref)["Config"].get("Labels") or {})
    return None


def _recipe_digest(dockerfile: str) -> hashlib._Hash:
    from .images import runtimes_dir

    digest = hashlib.sha256(b"lang 1\0")
    folder = runtimes_dir() / "lang"
    for name in (dockerfile, "mklang.sh"):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return digest


def _ensure_system(
    client: docker.DockerClient,
    ref: str,
    runtime: str,
    base: str,
    source: str,
    architecture: str,
    say: Progress,
    existing: dict[str, str] | None,
) -> str:
    base_id = rootfs.image_id(client, base)
    digest = _recipe_digest("Dockerfile.system")
    digest.update(f"{base_id}\0{source}\0{architecture}".encode())
    key = digest.hexdigest()
    if (existing or {}).get(labels.LANG_KEY) == key:
        return ref
    with rootfs.build_lock():
        if (_labels(client, ref) or {}).get(labels.LANG_KEY) != key:
            version = runtime.removeprefix("python")
            say(f"lsim: building {ref}: /var/lang from the Python of {base}")
            meta = {labels.PYTHON_SOURCE: source, labels.PYTHON_VERSION: version, labels.LANG_KEY: key}
            _build(client, ref, runtime, "Dockerfile.system", base, version, architecture, meta, None, say)
    return ref


def _ensure_tree(client: docker.DockerClient, ref: str, runtime: str, tree: Interpreter, say: Progress) -> str:
    digest = _recipe_digest("Dockerfile.tree")
    executable = tree.root / "bin" / f"python{tree.minor}"
    stat = executable.stat()
    digest.update(f"{tree.root}\0{tree.version}\0{tree.architecture}\0{stat.st_mtime_ns}\0{stat.st_size}".encode())
    key = digest.hexdigest()
    if (_labels(client, ref) or {}).get(labels.LANG_KEY) == key:
        return ref
    emulation.check_can_run(tree.architecture)
    base = rootfs.ensure_base_image(client, TREE_SUITE, architecture=tree.architecture, source="local", progress=say)
    with rootfs.build_lock():
        if (_labels(client, ref) or {}).get(labels.LANG_KEY) != key:
            say(f"lsim: building {ref}: /var/lang from {tree.root} (Python {tree.version}) on {base}")
            meta = {labels.PYTHON_SOURCE: str(tree.root), labels.PYTHON_VERSION: tree.version, labels.LANG_KEY: key}
            _build(client, ref, runtime, "Dockerfile.tree", base, tree.minor, tree.architecture, meta, tree.root, say)
    return ref


def _build(
    client: docker.DockerClient,
    ref: str,
    runtime: str,
    dockerfile: str,
    base: str,
    version: str,
    architecture: str,
    meta: dict[str, str],
    tree: pathlib.Path | None,
    say: Progress,
) -> None:
    from .images import run_build, runtimes_dir

    folder = runtimes_dir() / "lang"
    cache = rootfs.cache_dir() / "contexts"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=cache) as context:
        with tarfile.open(fileobj=context, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in ("Dockerfile.system", "Dockerfile.tree", "mklang.sh"):
                tar.add(folder / name, arcname=name, filter=_root_owned)
            if tree is not None:
                for path, arcname in _tree_files(tree, version):
                    tar.add(path, arcname=arcname, recursive=False, filter=_root_owned)
        context.seek(0)
        build_labels = {
            labels.MANAGED: "1",
            labels.RUNTIME: runtime,
            labels.ARCHITECTURE: architecture,
            **meta,
        }
        failure = (
            f"the CPython at {tree} does not run in Debian {TREE_SUITE} (glibc 2.36) as Python {version}; use an "
            "installation built for an older glibc (python-build-standalone's run anywhere)"
            if tree is not None
            else f"making /var/lang from the Python of {base} failed"
        )
        run_build(
            client,
            context,
            tag=ref,
            dockerfile=dockerfile,
            buildargs={"BASE_IMAGE": rootfs.image_id(client, base) or base, "PYTHON_VERSION": version},
            build_labels=build_labels,
            architecture=architecture,
            failure=failure,
            say=say,
        )


def _tree_files(root: pathlib.Path, version: str) -> Iterator[tuple[pathlib.Path, str]]:
    """What of a CPython installation goes to /var/lang: the interpreter, its libraries and headers; not its
    site-packages (the user's own packages are not Lambda's), test suite, static libraries or other tools."""
    stdlib = f"lib/python{version}"
    skip_dirs = {f"{stdlib}/site-packages", f"{stdlib}/test", f"{stdlib}/idlelib", f"{stdlib}/tkinter", "share"}
    yield root / "bin", "tree/bin"
    executable = root / "bin" / f"python{version}"
    yield executable.resolve(), f"tree/bin/python{version}"
    for top in ("lib", "include"):
        base = root / top
        if not base.is_dir():
            continue
        for folder, dirs, files in os.walk(base):
            relative = pathlib.Path(folder).relative_to(root).as_posix()
            dirs[:] = sorted(d for d in dirs if f"{relative}/{d}" not in skip_dirs and d != "idle_test")
            yield pathlib.Path(folder), f"tree/{relative}"
            for name in sorted(files):
                if name.endswith((".a", ".opt-1.pyc", ".opt-2.pyc")):
                    continue
                yield pathlib.Path(folder, name), f"tree/{relative}/{name}"
            for name in sorted(d for d in os.listdir(folder) if pathlib.Path(folder, d).is_symlink()):
                if pathlib.Path(folder, name).is_dir():  # a symlink to a folder: os.walk listed it as a dir
                    yield pathlib.Path(folder, name), f"tree/{relative}/{name}"


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
