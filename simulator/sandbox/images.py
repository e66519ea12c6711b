"""The container images lsim runs functions in, built on this machine without a container registry.

Two layers of images:

* a **base image** per Debian suite, ``lsim/base:bookworm`` (Python 3.11) and ``lsim/base:trixie``
  (Python 3.13), made once per machine with ``debootstrap`` and ``docker import`` (needs root and a
  Debian mirror, nothing else). With a registry (``LSIM_BASE=registry``) the base is instead
  ``python:3.X-slim-bookworm`` or ``debian:bookworm-slim``, pulled;
* a **runtime image** per Lambda runtime, ``lsim/runtime:<runtime>-<hash12>``, built from
  ``runtimes/<kind>/`` on top of its base. The hash covers every file of that build context and the
  base image id, so editing ``runtimes/python/bootstrap.py`` yields a new tag and a rebuild, and an
  unchanged tree reuses the image.

Finding an existing runtime image is on every cold start's path: it costs one Docker API call the
first time in a process and none after that.

Run ``python3 -m simulator.sandbox.images python3.11 provided.al2023`` to build images ahead of time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ..config import RUNTIMES
from ..errors import RuntimeUnavailableError
from . import labels
from .engine import connect, docker_errors, ignoring_docker_errors

if TYPE_CHECKING:
    import docker

__all__ = ["SUPPORTED_RUNTIMES", "RuntimeUnavailableError", "ensure_base_image", "ensure_runtime_image"]

Progress = Callable[[str], None]


SUPPORTED_RUNTIMES: tuple[str, ...] = RUNTIMES

# Bump when the way images are built changes in a way the build context files don't show
# (build arguments, labels, base image recipe): every runtime image then gets a new tag.
_RECIPE_VERSION = "1"

BASE_REPOSITORY = "lsim/base"
RUNTIME_REPOSITORY = "lsim/runtime"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"

# The Python each offline base suite provides (Debian's python3 package).
_SUITE_PYTHON: dict[str, str] = {"bookworm": "3.11", "trixie": "3.13"}


@dataclass(frozen=True)
class _RuntimeRecipe:
    kind: str  # build context folder under runtimes/: "python" or "provided"
    lambda_os: str  # the Amazon Linux Lambda runs it on, "al2" or "al2023" (decides the en_US locale)
    suite: str | None  # Debian suite of the offline base; None when no offline base has the interpreter
    registry_base: str  # base image when a registry is reachable


# Which Amazon Linux each runtime runs on: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
_RECIPES: dict[str, _RuntimeRecipe] = {
    "python3.11": _RuntimeRecipe("python", "al2", "bookworm", "python:3.11-slim-bookworm"),
    "python3.12": _RuntimeRecipe("python", "al2023", None, "python:3.12-slim-bookworm"),
    "python3.13": _RuntimeRecipe("python", "al2023", "trixie", "python:3.13-slim-trixie"),
    "provided.al2023": _RuntimeRecipe("provided", "al2023", "bookworm", "debian:bookworm-slim"),
    "provided.al2": _RuntimeRecipe("provided", "al2", "bookworm", "debian:bookworm-slim"),
}


def runtime_kind(runtime: str) -> str:
    """ "python" or "provided": which folder of ``runtimes/`` builds the runtime's image."""
    return _recipe(runtime).kind


def runtimes_dir() -> pathlib.Path:
    """The ``runtimes/`` folder: ``simulator/_runtimes`` in an installed wheel, ``<repo>/runtimes`` in a
    source checkout."""
    package = pathlib.Path(__file__).resolve().parent.parent
    for candidate in (package / "_runtimes", package.parent / "runtimes"):
        if candidate.is_dir():
            return candidate
    raise RuntimeUnavailableError(
        f"lsim's runtime files are missing: neither {package / '_runtimes'} nor {package.parent / 'runtimes'}"
        " exists. Reinstall lsim (pip install lsim) or run it from a full source checkout."
    )


def base_reference(runtime: str, *, source: str = "auto") -> str:
    """The image a runtime's image is built FROM: ``lsim/base:<suite>`` offline, or the registry image.

    Raises RuntimeUnavailableError when only a registry could provide the interpreter (python3.12)."""
    recipe = _recipe(runtime)
    if _resolve_source(source) == "registry":
        return recipe.registry_base
    if recipe.suite is None:
        version = runtime.removeprefix("python")
        offline = ", ".join(f"Debian {suite} has {py}" for suite, py in _SUITE_PYTHON.items())
        choices = " or ".join(r for r in _RECIPES if r.startswith("python") and _RECIPES[r].suite)
        raise RuntimeUnavailableError(
            f"Runtime {runtime} needs a Python {version} interpreter, which no offline base provides "
            f"({offline}). Connect to a registry and set LSIM_BASE=registry to build it from "
            f"{recipe.registry_base}, or choose {choices}."
        )
    return f"{BASE_REPOSITORY}:{recipe.suite}"


def context_hash(context_dir: pathlib.Path, base_image_id: str, runtime: str = "") -> str:
    """sha256 (hex) of what makes a runtime image: every build context file (name, mode, bytes), the
    base image id, the runtime and the recipe version. Equal hash, equal image."""
    recipe = _RECIPES.get(runtime)
    digest = hashlib.sha256()
    for part in (_RECIPE_VERSION, runtime, recipe.lambda_os if recipe else "", base_image_id):
        digest.update(part.encode() + b"\0")
    for name, path in _context_files(context_dir):
        data = path.read_bytes()
        digest.update(f"{name}\0{_tar_mode(name, path):o}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def runtime_image_tag(runtime: str, digest: str) -> str:
    """``lsim/runtime:<runtime>-<first 12 hex digits of the context hash>``."""
    return f"{RUNTIME_REPOSITORY}:{runtime}-{digest[:12]}"


# ---------------------------------------------------------------------------------------------------
# Runtime images


# (runtime, source, fingerprint of the context files' stat) -> tag. A hit costs no Docker call; an
# edit of a context file changes the fingerprint, so even a long-running server picks it up.
_resolved: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], str] = {}


def ensure_runtime_image(
    client: docker.DockerClient,
    runtime: str,
    *,
    source: str = "auto",
    progress: Progress | None = None,
) -> str:
    """The tag of ``runtime``'s image, building the base and the image first if they are missing.

    ``source``: "local" (the debootstrap base), "registry" (pull python:3.X-slim) or "auto" (the
    ``LSIM_BASE`` environment variable, else "local"). Safe to call from many threads and processes."""
    recipe = _recipe(runtime)
    resolved_source = _resolve_source(source)
    base_ref = base_reference(runtime, source=resolved_source)
    context_dir = runtimes_dir() / recipe.kind
    key = (runtime, resolved_source, _fingerprint(context_dir))
    tag = _resolved.get(key)
    if tag is not None:
        return tag
    tag = _find_runtime_image(client, runtime, base_ref, context_dir)
    if tag is None:
        with _build_lock():
            tag = _build_runtime_image(client, runtime, recipe, resolved_source, base_ref, context_dir, progress)
    _resolved[key] = tag
    return tag


def clear_cache() -> None:
    """Forget the runtime images resolved in this process (for example after ``docker rmi``)."""
    _resolved.clear()


def prune_runtime_images(client: docker.DockerClient) -> list[str]:
    """Remove the runtime image tags that the current ``runtimes/`` files no longer produce (left behind
    by edits of a bootstrap) and that no container uses. Never automatic: another lsim process may
    still be about to start a container from an older tag. Returns the removed tags."""
    current: set[str] = set()
    for runtime, recipe in _RECIPES.items():
        bases = [recipe.registry_base] + ([f"{BASE_REPOSITORY}:{recipe.suite}"] if recipe.suite else [])
        for base_ref in bases:
            base_id = _image_id(client, base_ref)
            if base_id is not None:
                digest = context_hash(runtimes_dir() / recipe.kind, base_id, runtime)
                current.add(runtime_image_tag(runtime, digest))
    removed = []
    for image in client.api.images(name=RUNTIME_REPOSITORY, filters={"label": f"{labels.MANAGED}=1"}):
        for tag in image.get("RepoTags") or ():
            if tag.startswith(f"{RUNTIME_REPOSITORY}:") and tag not in current:
                with ignoring_docker_errors():  # in use by a container, or already gone
                    client.api.remove_image(tag)
                    removed.append(tag)
    clear_cache()
    return removed


def _find_runtime_image(
    client: docker.DockerClient, runtime: str, base_ref: str, context_dir: pathlib.Path
) -> str | None:
    """The existing image's tag, found with a single API call that lists the base and this runtime's
    images together (the base id is part of the hash); None if it has to be built."""
    _check_context(runtime, context_dir)
    images = client.api.images(filters={"reference": [base_ref, f"{RUNTIME_REPOSITORY}:{runtime}-*"]})
    base_id = next((image["Id"] for image in images if base_ref in (image.get("RepoTags") or ())), None)
    if base_id is None:
        return None
    tag = runtime_image_tag(runtime, context_hash(context_dir, base_id, runtime))
    if any(tag in (image.get("RepoTags") or ()) for image in images):
        return tag
    return None


def _build_runtime_image(
    client: docker.DockerClient,
    runtime: str,
    recipe: _RuntimeRecipe,
    source: str,
    base_ref: str,
    context_dir: pathlib.Path,
    progress: Progress | None,
) -> str:
    """Build the runtime image with the engine's (legacy) builder; the caller holds the build lock."""
    say = progress or _quiet
    if source == "registry":
        _pull(client, base_ref, say)
    else:
        assert recipe.suite is not None  # base_reference() refused runtimes without an offline suite
        ensure_base_image(client, recipe.suite, source="local", progress=progress)
    base_id = _image_id(client, base_ref)
    if base_id is None:
        raise RuntimeUnavailableError(f"base image {base_ref} disappeared while building {runtime}; try again")
    digest = context_hash(context_dir, base_id, runtime)
    tag = runtime_image_tag(runtime, digest)
    if _image_id(client, tag) is not None:  # another process built it while we waited for the lock
        return tag

    say(f"lsim: building {tag} from {base_ref}")
    started = time.monotonic()
    stream = client.api.build(
        fileobj=io.BytesIO(_context_tar(context_dir)),
        custom_context=True,
        tag=tag,
        # FROM the id, not the name: the image is built from exactly the base that was hashed.
        buildargs={"BASE_IMAGE": base_id, "LAMBDA_OS": recipe.lambda_os},
        labels={labels.MANAGED: "1", labels.RUNTIME: runtime, labels.RUNTIME_HASH: digest},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    with docker_errors(f"building the {runtime} image failed", RuntimeUnavailableError):
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise RuntimeUnavailableError(
                    f"building the {runtime} image from {context_dir} failed: {detail.strip()}"
                )
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    say(line)
    if _image_id(client, tag) is None:
        raise RuntimeUnavailableError(f"building the {runtime} image reported success but {tag} is missing")
    say(f"lsim: built {tag} in {time.monotonic() - started:.1f} s")
    return tag


def _context_files(context_dir: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """The build context: every file under the folder, sorted, minus caches and editor/hidden files."""
    files: list[tuple[str, pathlib.Path]] = []
    for root, dirs, names in os.walk(context_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in names:
            if name.startswith(".") or name.endswith((".pyc", "~", ".swp")):
                continue
            path = pathlib.Path(root, name)
            if path.is_file():
                files.append((path.relative_to(context_dir).as_posix(), path))
    return sorted(files)


def _fingerprint(context_dir: pathlib.Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap stand-in for the content hash (names, mtimes, sizes) to key the in-process cache."""
    out = []
    for name, path in _context_files(context_dir):
        stat = path.stat()
        out.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def _tar_mode(name: str, path: pathlib.Path) -> int:
    """Mode in the build context: executable if the file is (``init`` always), else 0644; the legacy
    builder has no ``COPY --chmod``, so the mode in the tar is the mode in the image."""
    if pathlib.PurePosixPath(name).name == "init" or path.stat().st_mode & 0o111:
        return 0o755
    return 0o644


def _context_tar(context_dir: pathlib.Path) -> bytes:
    """The build context as an in-memory tar of exactly the hashed files, owned by root, fixed mtime."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in _context_files(context_dir):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = _tar_mode(name, path)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _check_context(runtime: str, context_dir: pathlib.Path) -> None:
    needed = ["Dockerfile", "init"] + (["bootstrap.py"] if _recipe(runtime).kind == "python" else [])
    missing = [name for name in needed if not (context_dir / name).is_file()]
    if missing:
        raise RuntimeUnavailableError(
            f"the build context {context_dir} for {runtime} lacks {', '.join(missing)}; "
            "reinstall lsim or restore the files from the repository"
        )


# ---------------------------------------------------------------------------------------------------
# Base images


def ensure_base_image(
    client: docker.DockerClient,
    suite: str,
    *,
    source: str = "auto",
    progress: Progress | None = None,
) -> str:
    """The reference of the base image for a Debian suite, building it once per machine if missing.

    Offline ("local"): ``lsim/base:<suite>`` from debootstrap. "registry": ``debian:<suite>-slim``, pulled.
    """
    say = progress or _quiet
    if _resolve_source(source) == "registry":
        ref = f"debian:{suite}-slim"
        _pull(client, ref, say)
        return ref
    if suite not in _SUITE_PYTHON:
        raise RuntimeUnavailableError(
            f"no offline base for Debian suite {suite!r}; lsim builds {', '.join(_SUITE_PYTHON)}"
        )
    ref = f"{BASE_REPOSITORY}:{suite}"
    if _image_id(client, ref) is not None:
        return ref
    with _build_lock():
        if _image_id(client, ref) is None:  # not built by another process meanwhile
            _build_base_image(client, suite, ref, say)
    return ref


def _build_base_image(client: docker.DockerClient, suite: str, ref: str, say: Progress) -> None:
    """debootstrap a trimmed Debian into the cache folder, stream it as a tar into ``docker import``."""
    say(f"lsim: building base image {ref} with debootstrap (once per machine, about a minute)")
    changes = [
        f"LABEL {labels.BASE_SUITE}={suite}",
        f"LABEL {labels.PYTHON}={_SUITE_PYTHON[suite]}",
        'CMD ["/bin/bash"]',
    ]
    import_rootfs(client, ref, suite, BASE_PACKAGES, changes, say)


#: what runtimes/base/mkrootfs.sh installs by default (see its comment for why)
BASE_PACKAGES = "python3,ca-certificates,curl,locales"


def import_rootfs(
    client: docker.DockerClient, ref: str, suite: str, packages: str, changes: list[str], say: Progress
) -> None:
    """Build image ``ref`` offline: runtimes/base/mkrootfs.sh debootstraps `suite` with `packages` into the
    cache folder, which is streamed as a tar into ``docker import`` and deleted. Used for the runtimes' base
    and for the VPC's ENI image."""
    _check_can_debootstrap(suite, ref)
    cache = cache_dir()
    rootfs = cache / "rootfs" / ref.replace("/", "_").replace(":", "_")
    _remove_tree(rootfs)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    script = runtimes_dir() / "base" / "mkrootfs.sh"
    started = time.monotonic()
    try:
        command = ["bash", str(script), suite, str(rootfs), debian_mirror(), str(cache / "debs"), packages]
        _run_streaming(command, say)
        say(f"lsim: importing {ref}")
        # /dev, /proc and /sys stay empty folders: Docker mounts its own at run time.
        excludes = ["--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*"]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), *excludes, "-cf", "-", "."], stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        try:
            repository, _, tag = ref.partition(":")
            everything = [
                f"LABEL {labels.MANAGED}=1",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                *changes,
            ]
            client.api.import_image_from_data(tar.stdout, repository=repository, tag=tag, changes=everything)
        finally:
            tar.stdout.close()
            if tar.wait() != 0:
                raise RuntimeUnavailableError(f"tar of {rootfs} failed (exit {tar.returncode})")
        if _image_id(client, ref) is None:
            raise RuntimeUnavailableError(f"docker import of {rootfs} did not create {ref}")
    finally:
        _remove_tree(rootfs)
    say(f"lsim: built {ref} in {time.monotonic() - started:.0f} s")


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
    if scripts.is_dir() and not (scripts / suite).exists():
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
# Helpers


def cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/lsim`` or ``~/.cache/lsim``: the debootstrap work folder, .deb cache, lock file."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(root) / "lsim"


def _recipe(runtime: str) -> _RuntimeRecipe:
    recipe = _RECIPES.get(runtime)
    if recipe is None:
        raise RuntimeUnavailableError(f"unsupported runtime {runtime!r}; lsim supports {', '.join(SUPPORTED_RUNTIMES)}")
    return recipe


def _resolve_source(source: str) -> str:
    """ "local" or "registry"; "auto" means the LSIM_BASE environment variable, else "local"."""
    chosen = source
    if source == "auto":
        chosen = os.environ.get("LSIM_BASE", "").strip().lower() or "local"
    if chosen not in ("local", "registry"):
        where = "LSIM_BASE" if source == "auto" else "source"
        raise RuntimeUnavailableError(f"{where}={chosen!r} is not a base source: use local or registry")
    return chosen


def _image_id(client: docker.DockerClient, ref: str) -> str | None:
    with ignoring_docker_errors(missing_only=True):
        return str(client.api.inspect_image(ref)["Id"])
    return None


def _pull(client: docker.DockerClient, ref: str, say: Progress) -> None:
    """Pull a registry base image unless it is already here."""
    if _image_id(client, ref) is not None:
        return
    say(f"lsim: pulling {ref}")
    repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    with docker_errors(lambda error: _pull_failed(ref, str(error)), RuntimeUnavailableError):
        for chunk in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise RuntimeUnavailableError(_pull_failed(ref, str(chunk["error"])))
            if chunk.get("status") and not chunk.get("progressDetail"):
                say(f"{chunk.get('id', ref)}: {chunk['status']}")


def _pull_failed(ref: str, error: str) -> str:
    return (
        f"could not pull {ref} ({error.strip()}). LSIM_BASE=registry needs a reachable registry; "
        "unset it to build the offline Debian base instead."
    )


_thread_lock = threading.RLock()
_lock_file: IO[str] | None = None
_lock_depth = 0


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
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


def _run_streaming(command: list[str], say: Progress) -> None:
    """Run a command, passing each output line to ``say``; on failure raise with the output's tail."""
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-19:], line]
            say(line)
    if proc.returncode != 0:
        output = "\n".join(tail)
        raise RuntimeUnavailableError(f"{' '.join(command)} failed (exit {proc.returncode}):\n{output}")


def _remove_tree(path: pathlib.Path) -> None:
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


def _quiet(_line: str) -> None:
    pass


# ---------------------------------------------------------------------------------------------------
# python3 -m simulator.sandbox.images [-v] [--prune] [RUNTIME...]


def main(argv: list[str] | None = None) -> int:
    """Build (or find) the images of the runtimes named on the command line (default: python3.11 and
    provided.al2023, what the tests use), printing progress; ``-v`` shows every build line, ``--prune``
    first removes superseded runtime images."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args
    runtimes = [a for a in args if not a.startswith("-")] or ["python3.11", "provided.al2023"]

    def progress(line: str) -> None:
        if verbose or line.startswith("lsim: "):
            print(line if line.startswith("lsim: ") else f"    {line}", flush=True)

    client = connect()
    if "--prune" in args:
        for tag in prune_runtime_images(client):
            print(f"lsim: removed {tag}", flush=True)
        if not [a for a in args if not a.startswith("-")]:
            return 0
    failed = 0
    for runtime in runtimes:
        started = time.monotonic()
        try:
            tag = ensure_runtime_image(client, runtime, progress=progress)
        except RuntimeUnavailableError as error:
            print(f"lsim: {runtime}: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(f"lsim: {runtime} -> {tag} ({time.monotonic() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
