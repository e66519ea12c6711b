"""The offline base images: Debian root file systems made with ``debootstrap`` and ``docker import``.

``lsim/base:<suite>`` (``lsim/base:<suite>-arm64`` for arm64) is made once per machine from a Debian mirror
alone, no container registry: ``runtimes/base/mkrootfs.sh`` bootstraps a trimmed Debian into the cache folder,
which is streamed as a tar into ``docker import`` and deleted. Each suite brings its own Python (the one the
Python runtime of that version uses); an architecture other than the host's is bootstrapped in two stages,
the second under QEMU user emulation (emulation.py).

Also here: what every image build shares (the cache folder, the build lock, the Debian mirror, pulls).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ..errors import RuntimeUnavailableError
from . import emulation, labels
from .engine import docker_errors, ignoring_docker_errors

if TYPE_CHECKING:
    import docker

__all__ = [
    "BASE_REPOSITORY",
    "SUITES",
    "base_tag",
    "build_lock",
    "cache_dir",
    "debian_mirror",
    "ensure_base_image",
    "image_id",
    "import_rootfs",
    "pull",
    "resolve_source",
]

Progress = Callable[[str], None]

BASE_REPOSITORY = "lsim/base"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
SOURCES = ("local", "registry", "aws")


@dataclass(frozen=True)
class Suite:
    """A Debian suite lsim bootstraps, and the Python its own package gives."""

    python: str  # "3.11": the suite's python3.X package
    script: str | None = None  # debootstrap script to use when this debootstrap does not know the suite


#: Debian's suites and their Python (checked in each suite's Packages index, dists/<suite>/main): bookworm
#: (12) has python3.11, trixie (13) python3.13, forky (testing, 14) python3.14. forky is not in bookworm's
#: debootstrap, whose sid script bootstraps it.
SUITES: dict[str, Suite] = {
    "bookworm": Suite("3.11"),
    "trixie": Suite("3.13"),
    "forky": Suite("3.14", script="sid"),
}


def base_packages(suite: str) -> str:
    """What mkrootfs.sh installs: the suite's own python3.X (named with its version, so that a suite that
    moved on fails instead of giving another Python), ca-certificates for HTTPS from function code, curl
    (AWS's custom-runtime examples use it), and locales, kept only long enough to compile en_US.UTF-8."""
    return f"python{SUITES[suite].python},ca-certificates,curl,locales"


def base_tag(suite: str, architecture: str = "x86_64") -> str:
    """``lsim/base:bookworm`` on x86_64, ``lsim/base:bookworm-arm64`` on arm64."""
    return f"{BASE_REPOSITORY}:{suite}" + ("" if architecture == "x86_64" else f"-{architecture}")


def ensure_base_image(
    client: docker.DockerClient,
    suite: str,
    *,
    architecture: str = "x86_64",
    source: str = "auto",
    progress: Progress | None = None,
) -> str:
    """The reference of the base image for a Debian suite, building it once per machine if missing.

    Offline ("local"): ``lsim/base:<suite>`` from debootstrap. "registry": ``debian:<suite>-slim``, pulled.
    """
    say = progress or quiet
    if resolve_source(source) == "registry":
        ref = f"debian:{suite}-slim"
        pull(client, ref, say, architecture)
        return ref
    if suite not in SUITES:
        raise RuntimeUnavailableError(f"no offline base for Debian suite {suite!r}; lsim builds {', '.join(SUITES)}")
    ref = base_tag(suite, architecture)
    if image_id(client, ref) is not None:
        return ref
    emulation.check_can_run(architecture)
    with build_lock():
        if image_id(client, ref) is None:  # not built by another process meanwhile
            python = SUITES[suite].python
            minutes = "about a minute" if not emulation.needs_emulation(architecture) else "about 5 minutes, emulated"
            say(f"lsim: building base image {ref} with debootstrap (once per machine, {minutes})")
            changes = [f"LABEL {labels.BASE_SUITE}={suite}", f"LABEL {labels.PYTHON}={python}", 'CMD ["/bin/bash"]']
            import_rootfs(client, ref, suite, base_packages(suite), changes, say, architecture=architecture)
    return ref


def import_rootfs(
    client: docker.DockerClient,
    ref: str,
    suite: str,
    packages: str,
    changes: list[str],
    say: Progress,
    *,
    architecture: str = "x86_64",
) -> None:
    """Build image ``ref`` offline: runtimes/base/mkrootfs.sh debootstraps `suite` with `packages` into the
    cache folder, which is streamed as a tar into ``docker import`` and deleted. Used for the runtimes' base
    and for the VPC's ENI image."""
    from .images import runtimes_dir

    _check_can_debootstrap(suite, ref)
    cache = cache_dir()
    rootfs = cache / "rootfs" / ref.replace("/", "_").replace(":", "_")
    remove_tree(rootfs)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    script = runtimes_dir() / "base" / "mkrootfs.sh"
    started = time.monotonic()
    known = pathlib.Path("/usr/share/debootstrap/scripts")
    fallback = SUITES[suite].script if suite in SUITES and not (known / suite).exists() else None
    try:
        command = [
            "bash", str(script), suite, str(rootfs), debian_mirror(), str(cache / "debs"), packages,
            emulation.debian_architecture(architecture), str(known / fallback) if fallback else "",
        ]  # fmt: skip
        run_streaming(command, say)
        say(f"lsim: importing {ref}")
        # /dev, /proc and /sys stay empty folders: Docker mounts its own at run time.
        excludes = ["--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*"]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), *excludes, "-cf", "-", "."], stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        try:
            everything = [
                f"LABEL {labels.MANAGED}=1",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                *changes,
            ]
            _import(client, tar.stdout, ref, everything, architecture)
        finally:
            tar.stdout.close()
            if tar.wait() != 0:
                raise RuntimeUnavailableError(f"tar of {rootfs} failed (exit {tar.returncode})")
        if image_id(client, ref) is None:
            raise RuntimeUnavailableError(f"docker import of {rootfs} did not create {ref}")
    finally:
        remove_tree(rootfs)
    say(f"lsim: built {ref} in {time.monotonic() - started:.0f} s")


def _import(client: docker.DockerClient, data: IO[bytes], ref: str, changes: list[str], architecture: str) -> None:
    """``docker import`` with the image's platform set (docker-py's import has no parameter for it), so an
    arm64 root file system is an arm64 image."""
    repository, _, tag = ref.partition(":")
    api: Any = client.api
    platform = emulation.docker_platform(architecture)
    params = {"fromSrc": "-", "repo": repository, "tag": tag, "changes": changes, "platform": platform}
    response = api._post(
        api._url("/images/create"), data=data, params=params, headers={"Content-Type": "application/tar"}, timeout=None
    )
    api._raise_for_status(response)


def _check_can_debootstrap(suite: str, ref: str) -> None:
    fix = (
        "Run `sudo scripts/setup.sh` once (or `sudo python3 -m simulator.sandbox.images python3.11`), "
        "or on a machine that can pull images set LSIM_BASE=registry."
    )
    if not sys.platform.startswith("linux"):
        raise RuntimeUnavailableError(f"building {ref} needs Linux (debootstrap). Set LSIM_BASE=registry.")
    if os.geteuid() != 0:
        raise RuntimeUnavailableError(f"building the offline base image {ref} needs root (debootstrap). {fix}")
    if shutil.which("debootstrap") is None:
        raise RuntimeUnavailableError(
            f"building the offline base image {ref} needs debootstrap: apt-get install -y debootstrap. {fix}"
        )
    scripts = pathlib.Path("/usr/share/debootstrap/scripts")
    fallback = SUITES[suite].script if suite in SUITES else None
    if scripts.is_dir() and not (scripts / suite).exists() and not (fallback and (scripts / fallback).exists()):
        raise RuntimeUnavailableError(
            f"this debootstrap does not know Debian {suite}; install a newer debootstrap "
            f"(apt-get install -y -t {suite} debootstrap, or from backports). {fix}"
        )


def debian_mirror() -> str:
    """The Debian mirror for debootstrap: ``LSIM_DEBIAN_MIRROR``, else the one this host's apt uses
    (it may be a local mirror or proxy), else deb.debian.org."""
    explicit = os.environ.get("LSIM_DEBIAN_MIRROR", "").strip()
    if explicit:
        return explicit.rstrip("/")
    candidates: list[str] = []
    sources = pathlib.Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for line in _read_lines(path):
            if line.startswith("URIs:"):
                candidates.extend(line.split()[1:])
    for path in [pathlib.Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]:
        for line in _read_lines(path):
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) >= 2 and words[0] == "deb":
                candidates.append(words[1])
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian") and uri.startswith(("http://", "https://")):
            return uri.rstrip("/")
    return DEFAULT_DEBIAN_MIRROR


def _read_lines(path: pathlib.Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------------
# What every image build shares


def cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/lsim`` or ``~/.cache/lsim``: the debootstrap work folder, .deb cache, the SDK
    downloads, build contexts, the lock file."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(root) / "lsim"


def resolve_source(source: str) -> str:
    """ "local", "registry" or "aws"; "auto" means the LSIM_BASE environment variable, else "local"."""
    chosen = source
    if source == "auto":
        chosen = os.environ.get("LSIM_BASE", "").strip().lower() or "local"
    if chosen not in SOURCES:
        where = "LSIM_BASE" if source == "auto" else "source"
        raise RuntimeUnavailableError(f"{where}={chosen!r} is not a base source: use local, registry or aws")
    return chosen


def image_id(client: docker.DockerClient, ref: str) -> str | None:
    with ignoring_docker_errors(missing_only=True):
        return str(client.api.inspect_image(ref)["Id"])
    return None


def pull(client: docker.DockerClient, ref: str, say: Progress, architecture: str = "x86_64") -> None:
    """Pull a registry image unless it is already here."""
    if image_id(client, ref) is not None:
        return
    say(f"lsim: pulling {ref}")
    repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    with docker_errors(lambda error: _pull_failed(ref, str(error)), RuntimeUnavailableError):
        stream = client.api.pull(
            repository, tag=tag, stream=True, decode=True, platform=emulation.docker_platform(architecture)
        )
        for chunk in stream:
            if "error" in chunk:
                raise RuntimeUnavailableError(_pull_failed(ref, str(chunk["error"])))
            if chunk.get("status") and not chunk.get("progressDetail"):
                say(f"{chunk.get('id', ref)}: {chunk['status']}")


def _pull_failed(ref: str, error: str) -> str:
    return (
        f"could not pull {ref} ({error.strip()}). LSIM_BASE=registry and LSIM_BASE=aws need a reachable "
        "registry; unset LSIM_BASE to build lsim's offline Debian base instead."
    )


_thread_lock = threading.RLock()
_lock_file: IO[str] | None = None
_lock_depth = 0


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time: a re-entrant thread lock, plus ``flock`` on a file in the cache folder so
    two lsim processes don't build the same image at once (the second then finds it built)."""
    global _lock_file, _lock_depth
    with _thread_lock:
        if _lock_depth == 0:
            cache = cache_dir()
            cache.mkdir(parents=True, exist_ok=True)
            _lock_file = open(cache / "build.lock", "a")  # noqa: SIM115 - held across the with-block
            fcntl.flock(_lock_file, fcntl.LOCK_EX)
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            if _lock_depth == 0 and _lock_file is not None:
                fcntl.flock(_lock_file, fcntl.LOCK_UN)
                _lock_file.close()
                _lock_file = None


def run_streaming(command: list[str], say: Progress, env: dict[str, str] | None = None) -> None:
    """Run a command, passing each output line to ``say``; on failure raise with the output's tail."""
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-19:], line]
            say(line)
    if proc.returncode != 0:
        output = "\n".join(tail)
        raise RuntimeUnavailableError(f"{' '.join(command)} failed (exit {proc.returncode}):\n{output}")


def remove_tree(path: pathlib.Path) -> None:
    """Delete a debootstrap folder safely: unmount anything a failed debootstrap left mounted inside
    it (/proc, /sys, /dev) first, and never cross into another file system."""
    if not path.exists():
        return
    prefix = str(path.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in pathlib.Path("/proc/self/mounts").read_text().splitlines()]
    except OSError:
        mounts = []
    for mountpoint in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mountpoint], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def quiet(_line: str) -> None:
    pass
