"""The image of lsim's Hyperplane ENI containers, `lsim/vpc:<suite>-<hash12>`: Debian with iptables and iproute2.

Built on this machine like the runtime images' base (rootfs.py): offline with ``debootstrap`` from a Debian
mirror and ``docker import`` (needs root, once per machine, 20-50 s), or with ``LSIM_BASE=registry`` from
``debian:bookworm-slim`` and apt. The tag hashes the recipe (``runtimes/base/mkrootfs.sh`` and the package
list), so editing it builds a new image.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RuntimeUnavailableError
from . import labels
from .engine import docker_errors
from .images import runtimes_dir
from .rootfs import build_lock as _build_lock
from .rootfs import image_id as _image_id
from .rootfs import import_rootfs, resolve_source
from .rootfs import pull as _pull


def _resolve_source(source: str) -> str:
    """ "local" or "registry": with LSIM_BASE=aws (AWS's base images for the runtimes), the ENI image, which
    AWS has no counterpart of, is built offline as usual."""
    resolved = resolve_source(source)
    return "local" if resolved == "aws" else resolved


if TYPE_CHECKING:
    import docker

VPC_REPOSITORY = "lsim/vpc"
SUITE = "bookworm"
REGISTRY_BASE = f"debian:{SUITE}-slim"
PACKAGES = "iptables,iproute2"  # iptables enforces the security groups, `ip` sets the ENI's route
_RECIPE_VERSION = "1"
_REGISTRY_DOCKERFILE = f"""FROM {REGISTRY_BASE}
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 && rm -rf /var/lib/apt/lists/*
"""

Progress = Callable[[str], None]
_resolved: dict[str, str] = {}


def vpc_image_tag(source: str = "auto") -> str:
    """``lsim/vpc:bookworm-<first 12 hex digits of the recipe's hash>``."""
    resolved = _resolve_source(source)
    script = runtimes_dir() / "base" / "mkrootfs.sh"
    recipe = script.read_bytes() + PACKAGES.encode() if resolved == "local" else _REGISTRY_DOCKERFILE.encode()
    digest = hashlib.sha256(_RECIPE_VERSION.encode() + b"\0" + resolved.encode() + b"\0" + recipe).hexdigest()
    return f"{VPC_REPOSITORY}:{SUITE}-{digest[:12]}"


def ensure_vpc_image(client: docker.DockerClient, *, source: str = "auto", progress: Progress | None = None) -> str:
    """The ENI image's tag, building it first if this machine lacks it. Safe across threads and processes."""
    tag = vpc_image_tag(source)
    if tag in _resolved:
        return tag
    if _image_id(client, tag) is None:
        with _build_lock():
            if _image_id(client, tag) is None:
                if _resolve_source(source) == "registry":
                    _build_from_registry(client, tag, progress or _quiet)
                else:
                    _build_offline(client, tag, progress or _quiet)
    _resolved[tag] = tag
    return tag


def _build_offline(client: docker.DockerClient, tag: str, say: Progress) -> None:
    say(f"lsim: building the ENI image {tag} with debootstrap (once per machine, 20-50 s)")
    import_rootfs(client, tag, SUITE, PACKAGES, [f"LABEL {labels.ROLE}={labels.IMAGE_ROLE_VPC}"], say)


def _build_from_registry(client: docker.DockerClient, tag: str, say: Progress) -> None:
    _pull(client, REGISTRY_BASE, say)
    say(f"lsim: building the ENI image {tag} from {REGISTRY_BASE}")
    with docker_errors(f"building {tag} failed", RuntimeUnavailableError):
        for chunk in client.api.build(
            fileobj=io.BytesIO(_REGISTRY_DOCKERFILE.encode()),
            tag=tag,
            labels={labels.MANAGED: "1", labels.ROLE: labels.IMAGE_ROLE_VPC},
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        ):
            if "error" in chunk:
                raise RuntimeUnavailableError(f"building {tag} failed: {chunk['error'].strip()}")


def _quiet(_line: str) -> None:
    pass
