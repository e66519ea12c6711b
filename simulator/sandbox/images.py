"""The container images lsim runs functions in, built on this machine without a container registry.

Three layers of images, each built once and found again by tag:

* a **base image** per Debian suite and architecture (rootfs.py): ``lsim/base:bookworm`` (and
  ``lsim/base:bookworm-arm64``), made with ``debootstrap`` and ``docker import``;
* for the Python runtimes, the **interpreter image** ``lsim/lang:python3.X`` (interpreters.py): the runtime's
  Python at /var/lang, from a Debian suite's own Python or from a CPython installation the user names;
* a **runtime image** per runtime, ``lsim/runtime:<runtime>[-arm64]-<hash12>``, built from ``runtimes/<kind>/``
  on top of its base, with boto3 and botocore for the Python runtimes (sdk.py). The hash covers every file of
  that build context, the SDK's versions and the base image id, so editing ``runtimes/python/bootstrap.py``
  yields a new tag and a rebuild, and an unchanged tree reuses the image.

The base can be chosen with ``LSIM_BASE``: ``local`` (the default, offline), ``registry`` (Docker's
``python:3.X-slim`` and ``debian:<suite>-slim``, pulled) or ``aws`` (AWS's own
``public.ecr.aws/lambda/python:3.X``, with AWS's runtime inside, runtimes/aws/).

Finding an existing runtime image is on every cold start's path: a few Docker API calls the first time in a
process and none after that.

Run ``python3 -m simulator.sandbox.images python3.11 provided.al2023`` to build images ahead of time.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ..config import RUNTIMES
from ..errors import RuntimeUnavailableError
from . import emulation, interpreters, labels, rootfs, sdk
from .engine import connect, docker_errors, ignoring_docker_errors

if TYPE_CHECKING:
    import docker

    from .base import SandboxSpec

__all__ = [
    "SUPPORTED_RUNTIMES",
    "RuntimeUnavailableError",
    "ensure_base_image",
    "ensure_runtime_image",
    "function_image",
]

Progress = Callable[[str], None]

SUPPORTED_RUNTIMES: tuple[str, ...] = RUNTIMES
ensure_base_image = rootfs.ensure_base_image
cache_dir = rootfs.cache_dir

# Bump when the way images are built changes in a way the build context files don't show
# (build arguments, labels, base image recipe): every runtime image then gets a new tag.
_RECIPE_VERSION = "2"

RUNTIME_REPOSITORY = "lsim/runtime"


@dataclass(frozen=True)
class _RuntimeRecipe:
    kind: str  # build context folder under runtimes/: "python" or "provided"
    lambda_os: str  # the Amazon Linux Lambda runs it on, "al2" or "al2023" (decides the en_US locale)
    aws_base: str  # AWS's own base image (LSIM_BASE=aws)


# Which Amazon Linux each runtime runs on: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
_RECIPES: dict[str, _RuntimeRecipe] = {
    "python3.10": _RuntimeRecipe("python", "al2", "public.ecr.aws/lambda/python:3.10"),
    "python3.11": _RuntimeRecipe("python", "al2", "public.ecr.aws/lambda/python:3.11"),
    "python3.12": _RuntimeRecipe("python", "al2023", "public.ecr.aws/lambda/python:3.12"),
    "python3.13": _RuntimeRecipe("python", "al2023", "public.ecr.aws/lambda/python:3.13"),
    "python3.14": _RuntimeRecipe("python", "al2023", "public.ecr.aws/lambda/python:3.14"),
    "provided.al2023": _RuntimeRecipe("provided", "al2023", "public.ecr.aws/lambda/provided:al2023"),
    "provided.al2": _RuntimeRecipe("provided", "al2", "public.ecr.aws/lambda/provided:al2"),
}
_PROVIDED_SUITE = "bookworm"
_PROVIDED_REGISTRY_BASE = "debian:bookworm-slim"


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


def base_reference(runtime: str, *, source: str = "auto", architecture: str = "x86_64") -> str:
    """The image a runtime's image is built FROM: ``lsim/lang:python3.X`` / ``lsim/base:<suite>``, their
    registry counterparts, or AWS's base image. Builds nothing."""
    recipe = _recipe(runtime)
    resolved = rootfs.resolve_source(source)
    if resolved == "aws":
        return recipe.aws_base
    if recipe.kind == "python":
        return interpreters.lang_tag(runtime, architecture, resolved)
    return _PROVIDED_REGISTRY_BASE if resolved == "registry" else rootfs.base_tag(_PROVIDED_SUITE, architecture)


def context_hash(
    context_dir: pathlib.Path, base_image_id: str, runtime: str = "", architecture: str = "x86_64", extra: str = ""
) -> str:
    """sha256 (hex) of what makes a runtime image: every build context file (name, mode, bytes), the base
    image id, the runtime, its architecture, ``extra`` (the SDK's versions) and the recipe version."""
    recipe = _RECIPES.get(runtime)
    digest = hashlib.sha256()
    parts = (_RECIPE_VERSION, runtime, recipe.lambda_os if recipe else "", base_image_id, architecture, extra)
    for part in parts:
        digest.update(part.encode() + b"\0")
    for name, path in _context_files(context_dir):
        data = path.read_bytes()
        digest.update(f"{name}\0{_tar_mode(name, path):o}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def runtime_image_tag(runtime: str, digest: str, architecture: str = "x86_64", source: str = "local") -> str:
    """``lsim/runtime:<runtime>[-aws][-arm64]-<first 12 hex digits of the context hash>``."""
    variant = ("-aws" if source == "aws" else "") + ("" if architecture == "x86_64" else f"-{architecture}")
    return f"{RUNTIME_REPOSITORY}:{runtime}{variant}-{digest[:12]}"


# ---------------------------------------------------------------------------------------------------
# Runtime images


# (runtime, architecture, source, fingerprint of the context files' stat) -> tag. A hit costs no Docker
# call; an edit of a context file changes the fingerprint, so even a long-running server picks it up.
_resolved: dict[tuple[str, str, str, tuple[tuple[str, int, int], ...]], str] = {}


def ensure_runtime_image(
    client: docker.DockerClient,
    runtime: str,
    *,
    architecture: str = "x86_64",
    source: str = "auto",
    python: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> str:
    """The tag of ``runtime``'s image for ``architecture``, building what is missing first.

    ``source``: "local" (offline), "registry", "aws" or "auto" (``LSIM_BASE``, else "local"). ``python``: a
    CPython installation to build a Python runtime's interpreter from (interpreters.py). Safe to call from
    many threads and processes."""
    recipe = _recipe(runtime)
    resolved = rootfs.resolve_source(source)
    emulation.check_can_run(architecture)
    context_dir = _context_dir(recipe, resolved)
    key = (runtime, architecture, resolved, _fingerprint(context_dir))
    tag = _resolved.get(key) if python is None else None
    if tag is not None:
        return tag
    base_ref = _ensure_base(client, runtime, recipe, resolved, architecture, python, progress)
    tag = _find_runtime_image(client, runtime, recipe, resolved, architecture, base_ref, context_dir)
    if tag is None:
        with rootfs.build_lock():
            tag = _build_runtime_image(client, runtime, recipe, resolved, architecture, base_ref, context_dir, progress)
    _resolved[key] = tag
    return tag


def function_image(client: docker.DockerClient, spec: SandboxSpec, progress: Progress | None = None) -> str:
    """The image an execution environment runs: the runtime's image, or the function's own (which must
    exist: lsim does not build it, and says how to)."""
    architecture = spec.architecture
    if spec.image is None:
        return ensure_runtime_image(client, spec.runtime or "", architecture=architecture, progress=progress)
    emulation.check_can_run(architecture)
    if rootfs.image_id(client, spec.image) is None:
        build = spec.image_build or f"docker build -t {spec.image} <the folder with its Dockerfile>"
        raise RuntimeUnavailableError(
            f"function {spec.function_name} runs the image {spec.image}, which is not on this machine. lsim does "
            f"not build images: build it with `{build}` (or pull it), then invoke again."
        )
    return spec.image


def clear_cache() -> None:
    """Forget the runtime images resolved in this process (for example after ``docker rmi``)."""
    _resolved.clear()


def prune_runtime_images(client: docker.DockerClient) -> list[str]:
    """Remove the runtime image tags that the current ``runtimes/`` files no longer produce (left behind
    by edits of a bootstrap) and that no container uses. Never automatic: another lsim process may
    still be about to start a container from an older tag. Returns the removed tags."""
    current: set[str] = set()
    for runtime, recipe in _RECIPES.items():
        for architecture in emulation.ARCHITECTURES:
            for source in rootfs.SOURCES:
                base_id = rootfs.image_id(client, base_reference(runtime, source=source, architecture=architecture))
                if base_id is not None:
                    context_dir = _context_dir(recipe, source)
                    digest = context_hash(context_dir, base_id, runtime, architecture, _extra(runtime, recipe, source))
                    current.add(runtime_image_tag(runtime, digest, architecture, source))
    removed = []
    for image in client.api.images(name=RUNTIME_REPOSITORY, filters={"label": f"{labels.MANAGED}=1"}):
        for tag in image.get("RepoTags") or ():
            if tag.startswith(f"{RUNTIME_REPOSITORY}:") and tag not in current:
                with ignoring_docker_errors():  # in use by a container, or already gone
                    client.api.remove_image(tag)
                    removed.append(tag)
    clear_cache()
    return removed


def _ensure_base(
    client: docker.DockerClient,
    runtime: str,
    recipe: _RuntimeRecipe,
    source: str,
    architecture: str,
    python: str | os.PathLike[str] | None,
    progress: Progress | None,
) -> str:
    """The base image's reference, built or pulled if missing."""
    say = progress or rootfs.quiet
    if source == "aws":
        if python is not None:
            raise RuntimeUnavailableError("--python builds lsim's own images; LSIM_BASE=aws runs AWS's instead")
        rootfs.pull(client, recipe.aws_base, say, architecture)
        return recipe.aws_base
    if recipe.kind == "python":
        return interpreters.ensure_lang_image(
            client, runtime, architecture=architecture, source=source, python=python, progress=progress
        )
    if python is not None:
        raise RuntimeUnavailableError(f"--python is for the Python runtimes; {runtime} brings no interpreter")
    if source == "registry":
        rootfs.pull(client, _PROVIDED_REGISTRY_BASE, say, architecture)
        return _PROVIDED_REGISTRY_BASE
    return rootfs.ensure_base_image(client, _PROVIDED_SUITE, architecture=architecture, progress=progress)


def _find_runtime_image(
    client: docker.DockerClient,
    runtime: str,
    recipe: _RuntimeRecipe,
    source: str,
    architecture: str,
    base_ref: str,
    context_dir: pathlib.Path,
) -> str | None:
    """The existing image's tag, found with a single API call that lists the base and this runtime's
    images together (the base id is part of the hash); None if it has to be built."""
    _check_context(runtime, context_dir, source)
    images = client.api.images(filters={"reference": [base_ref, f"{RUNTIME_REPOSITORY}:{runtime}-*"]})
    base_id = next((image["Id"] for image in images if base_ref in (image.get("RepoTags") or ())), None)
    if base_id is None:
        base_id = rootfs.image_id(client, base_ref)  # a registry name the reference filter does not match
    if base_id is None:
        return None
    digest = context_hash(context_dir, base_id, runtime, architecture, _extra(runtime, recipe, source))
    tag = runtime_image_tag(runtime, digest, architecture, source)
    if any(tag in (image.get("RepoTags") or ()) for image in images):
        return tag
    return tag if rootfs.image_id(client, tag) is not None else None


def _build_runtime_image(
    client: docker.DockerClient,
    runtime: str,
    recipe: _RuntimeRecipe,
    source: str,
    architecture: str,
    base_ref: str,
    context_dir: pathlib.Path,
    progress: Progress | None,
) -> str:
    """Build the runtime image with the engine's (legacy) builder; the caller holds the build lock."""
    say = progress or rootfs.quiet
    base_id = rootfs.image_id(client, base_ref)
    if base_id is None:
        raise RuntimeUnavailableError(f"base image {base_ref} disappeared while building {runtime}; try again")
    digest = context_hash(context_dir, base_id, runtime, architecture, _extra(runtime, recipe, source))
    tag = runtime_image_tag(runtime, digest, architecture, source)
    if rootfs.image_id(client, tag) is not None:  # another process built it while we waited for the lock
        return tag

    extras: list[tuple[str, pathlib.Path]] = []
    # FROM the id, not the name: the image is built from exactly the base that was hashed.
    buildargs = {"BASE_IMAGE": base_id, "LAMBDA_OS": recipe.lambda_os}
    if source == "aws":
        extras.append(("init-provided", runtimes_dir() / "provided" / "init"))
        buildargs = {"BASE_IMAGE": base_id, "INIT": "init" if recipe.kind == "python" else "init-provided"}
    elif recipe.kind == "python":
        tree = sdk.sdk_tree(runtime, architecture, say)
        extras.extend(_sdk_files(tree))
        buildargs["SDK_FOLDER"] = sdk.sdk_folder(runtime)

    say(f"lsim: building {tag} from {base_ref}")
    started = time.monotonic()
    with tempfile.TemporaryFile(dir=_contexts_dir()) as context:
        _write_context(context, context_dir, extras)
        context.seek(0)
        run_build(
            client,
            context,
            tag=tag,
            buildargs=buildargs,
            build_labels={
                labels.MANAGED: "1",
                labels.RUNTIME: runtime,
                labels.RUNTIME_HASH: digest,
                labels.ARCHITECTURE: architecture,
            },
            architecture=architecture,
            failure=f"building the {runtime} image from {context_dir} failed",
            say=say,
        )
    say(f"lsim: built {tag} in {time.monotonic() - started:.1f} s")
    return tag


def run_build(
    client: docker.DockerClient,
    context: IO[bytes],
    *,
    tag: str,
    buildargs: dict[str, str],
    build_labels: dict[str, str],
    architecture: str,
    failure: str,
    say: Progress,
    dockerfile: str = "Dockerfile",
) -> None:
    """One ``docker build`` of a tar context with the legacy builder, streaming its output to ``say``.

    No platform is asked for: an emulated base is an image of the host's platform holding arm64 files (an
    imported root file system has no platform of its own), and the builder runs its steps under QEMU."""
    del architecture  # the tag and labels carry it
    with docker_errors(failure, RuntimeUnavailableError):
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            dockerfile=dockerfile,
            buildargs=buildargs,
            labels=build_labels,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise RuntimeUnavailableError(f"{failure}: {str(detail).strip()}")
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    say(line)
    if rootfs.image_id(client, tag) is None:
        raise RuntimeUnavailableError(f"{failure}: the build reported success but {tag} is missing")


def _extra(runtime: str, recipe: _RuntimeRecipe, source: str) -> str:
    """What a runtime image holds besides its context files: the SDK's versions (python, not on AWS's base)."""
    return sdk.sdk_for(runtime).key if recipe.kind == "python" and source != "aws" else ""


def _context_dir(recipe: _RuntimeRecipe, source: str) -> pathlib.Path:
    return runtimes_dir() / ("aws" if source == "aws" else recipe.kind)


def _contexts_dir() -> pathlib.Path:
    folder = rootfs.cache_dir() / "contexts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def _sdk_files(tree: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """The installed SDK as context entries under ``sdk/``."""
    return [(f"sdk/{name}", path) for name, path in _context_files(tree)]


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
    if pathlib.PurePosixPath(name).name.startswith("init") or path.stat().st_mode & 0o111:
        return 0o755
    return 0o644


def _write_context(out: IO[bytes], context_dir: pathlib.Path, extras: list[tuple[str, pathlib.Path]]) -> None:
    """The build context as a tar of exactly the hashed files (plus ``extras``), owned by root, fixed mtime."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in [*_context_files(context_dir), *extras]:
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mode = _tar_mode(name, path)
            info.mtime = 0
            with open(path, "rb") as data:
                tar.addfile(info, data)


def _check_context(runtime: str, context_dir: pathlib.Path, source: str = "local") -> None:
    needed = ["Dockerfile", "init"] + (
        ["bootstrap.py"] if _recipe(runtime).kind == "python" and source != "aws" else []
    )
    missing = [name for name in needed if not (context_dir / name).is_file()]
    if missing:
        raise RuntimeUnavailableError(
            f"the build context {context_dir} for {runtime} lacks {', '.join(missing)}; "
            "reinstall lsim or restore the files from the repository"
        )


def _recipe(runtime: str) -> _RuntimeRecipe:
    recipe = _RECIPES.get(runtime)
    if recipe is None:
        raise RuntimeUnavailableError(f"unsupported runtime {runtime!r}; lsim supports {', '.join(SUPPORTED_RUNTIMES)}")
    return recipe


# ---------------------------------------------------------------------------------------------------
# python3 -m simulator.sandbox.images [-v] [--prune] [--arch arm64] [--python PATH] [RUNTIME...]


def main(argv: list[str] | None = None) -> int:
    """Build (or find) the images of the runtimes named on the command line (default: python3.11 and
    provided.al2023), printing progress; ``-v`` shows every build line, ``--prune`` first removes superseded
    runtime images, ``--arch arm64`` builds arm64 images, ``--python PATH`` builds a Python runtime's
    interpreter from that CPython installation."""
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m simulator.sandbox.images")
    parser.add_argument("runtimes", nargs="*")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--arch", default="x86_64", choices=emulation.ARCHITECTURES)
    parser.add_argument("--python", default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def progress(line: str) -> None:
        if args.verbose or line.startswith("lsim: "):
            print(line if line.startswith("lsim: ") else f"    {line}", flush=True)

    client = connect(timeout=600)
    if args.prune:
        for tag in prune_runtime_images(client):
            print(f"lsim: removed {tag}", flush=True)
        if not args.runtimes:
            return 0
    failed = 0
    for runtime in args.runtimes or ["python3.11", "provided.al2023"]:
        started = time.monotonic()
        try:
            tag = ensure_runtime_image(client, runtime, architecture=args.arch, python=args.python, progress=progress)
        except RuntimeUnavailableError as error:
            print(f"lsim: {runtime}: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(f"lsim: {runtime} -> {tag} ({time.monotonic() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
