"""A function's `requirements.txt`, installed as `sam build` would, without `sam build`.

`sam build` finds `requirements.txt` in the function's code folder (CodeUri), installs it for Lambda's
platform and copies the packages beside the code in the function's build folder, so that they sit in
/var/task. lsim installs the same file with pip the way AWS's guide says for Lambda's platform
(https://repost.aws/knowledge-center/lambda-python-package-compatible: `pip install --platform
manylinux2014_x86_64 --target ... --implementation cp --python-version 3.X --only-binary=:all:`;
`manylinux2014_aarch64` for arm64), from the package index, and keeps the result:

- cached by content: the digest of requirements.txt, the runtime and the architecture name a folder of a
  user-level cache (`$LSIM_DEPENDENCIES_CACHE`, else `$XDG_CACHE_HOME/lsim/dependencies`, else
  `~/.cache/lsim/dependencies`), shared by every project; the same file is installed once;
- built once even when processes race: the builder holds an exclusive lock on `<key>.lock`, and the one
  that waited finds the folder made;
- never half-written: pip installs into a temporary folder beside the cache entry, renamed into place once
  pip succeeded (a killed build leaves a temporary folder, removed by the next build of that key).

The sandbox puts the folder at /var/task with the code, the code winning (sandbox/docker.py), or on
sys.path right after the code (sandbox/process.py). A requirements.txt that names other files (`-r`, `-c`,
a local path) is keyed by its own text only: change the file itself to rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import LsimError

REQUIREMENTS_FILE = "requirements.txt"
CACHE_ENV = "LSIM_DEPENDENCIES_CACHE"
#: part of every key: a change of how lsim installs (the pip options) installs everything afresh
RECIPE = "pip --only-binary=:all: --implementation cp --platform manylinux2014 v1"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
PIP_TIMEOUT_S = 900

Progress = Callable[[str], None]


class DependencyInstallError(LsimError):
    """pip could not install a function's requirements.txt for Lambda's platform."""


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lsim" / "dependencies"


def requirements_of(code_dir: Path | None, runtime: str | None) -> Path | None:
    """The requirements.txt lsim installs for a function: in its code folder, for a Python runtime, unless
    the folder is what `sam build` produced."""
    if code_dir is None or runtime is None or not runtime.startswith("python"):
        return None
    if ".aws-sam" in code_dir.parts:  # `sam build`'s output: the packages are in the folder already
        return None
    path = code_dir / REQUIREMENTS_FILE
    return path if path.is_file() else None


def dependency_key(requirements: bytes, runtime: str, architecture: str) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE.encode(), runtime.encode(), architecture.encode(), requirements):
        digest.update(len(part).to_bytes(8, "big") + part)
    return f"{runtime}-{architecture}-{digest.hexdigest()[:32]}"


def pip_command(requirements: Path, target: Path, runtime: str, architecture: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
        "--no-compile", "--no-input", "--target", str(target), "--implementation", "cp",
        "--python-version", runtime.removeprefix("python"), "--platform", PLATFORMS[architecture],
        "--only-binary=:all:", "-r", str(requirements),
    ]  # fmt: skip


def installed_dependencies(requirements: Path, runtime: str, architecture: str) -> Path | None:
    """The cached folder for this requirements.txt, if it has been installed already (no pip, no lock)."""
    folder = cache_root() / dependency_key(requirements.read_bytes(), runtime, architecture)
    return folder if folder.is_dir() else None


def install_dependencies(
    requirements: Path, runtime: str, architecture: str, function_name: str, say: Progress | None = None
) -> Path:
    """The folder holding requirements.txt's packages for the runtime and architecture: from the cache, or
    installed with pip now (once, whatever other processes do meanwhile)."""
    content = requirements.read_bytes()
    root = cache_root()
    key = dependency_key(content, runtime, architecture)
    folder = root / key
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when this process dies
        if folder.is_dir():  # another process built it while this one waited
            return folder
        for stale in root.glob(f".{key}.partial-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        if say is not None:
            say(f"lsim: installing {requirements} for {function_name} ({runtime}, {architecture}) with pip, "
                f"as sam build would; kept in {root} for every project")  # fmt: skip
        partial = Path(tempfile.mkdtemp(prefix=f".{key}.partial-", dir=root))
        try:
            _pip(requirements, content, partial, runtime, architecture, function_name)
            os.chmod(partial, 0o755)  # mkdtemp's 0700 would hide it from the sandbox's user
            partial.rename(folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    with contextlib.suppress(OSError):
        (root / f"{key}.lock").unlink()
    return folder


def _pip(requirements: Path, content: bytes, target: Path, runtime: str, architecture: str, name: str) -> None:
    command = pip_command(requirements, target, runtime, architecture)
    try:
        done = subprocess.run(
            command, cwd=requirements.parent, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        done = subprocess.CompletedProcess(command, 1, "", str(error))
    if done.returncode == 0:
        return
    output = (done.stderr or done.stdout or "").strip()
    raise DependencyInstallError(_explain(requirements, output, runtime, architecture, name))


def _explain(requirements: Path, output: str, runtime: str, architecture: str, name: str) -> str:
    """pip's failure in one message: the requirement it stopped at, and what to do."""
    platform = f"{PLATFORMS[architecture]}, CPython {runtime.removeprefix('python')}, wheels only"
    missing = re.search(r"No matching distribution found for (\S+)", output)
    tail = "\n".join(output.splitlines()[-4:])
    where = f"{requirements} (function {name})"
    if missing:
        requirement = missing[1]
        project = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        return (
            f"{where}: pip found no wheel of {requirement} for Lambda's platform ({platform}). Lambda needs "
            f"built wheels: pin a version of {project} that publishes a manylinux2014 wheel for this Python "
            f"(https://pypi.org/project/{project}/#files), or move it to a layer built with `sam build "
            f"--use-container`. pip said:\n{tail}"
        )
    if re.search(r"(Network is unreachable|Failed to establish a new connection|Temporary failure in name "
                 r"resolution|ProxyError|Could not fetch URL)", output):  # fmt: skip
        return (
            f"{where}: pip could not reach the package index to install it ({platform}). Connect once: lsim "
            f"keeps what it installs in {cache_root()} and needs no network for that file again. pip said:\n{tail}"
        )
    return (
        f"{where}: pip could not install it for Lambda's platform ({platform}); fix the file and retry. pip "
        f"said:\n{tail}"
    )
