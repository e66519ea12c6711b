"""The Docker labels lsim puts on what it creates, and the label filters that select them: one place.

Every container and network lsim makes carries ``lsim.managed=1``, the project it belongs to (a stable id
of the project root, lifetime.project_id), the process that owns it (lifetime.current_owner: host, boot,
pid and the process's start time, so a reused pid cannot pass for the owner) and the simulator session
inside that process. Cleanup selects by these labels and never by name, so it touches only lsim's
objects, and only the project's unless told otherwise.
"""

from __future__ import annotations

MANAGED = "lsim.managed"
SESSION = "lsim.session"  # one Simulator's backend: close() removes what it made
PROJECT = "lsim.project"  # lifetime.project_id of the project root
OWNER = "lsim.owner"  # lifetime.current_owner(): the process that must be gone before cleanup takes it
ROLE = "lsim.role"  # vpc | internet | eni | resource (networks and VPC containers); runtime images: none
FUNCTION = "lsim.function"
VPC = "lsim.vpc"
ENI = "lsim.eni"
SUBNET = "lsim.subnet"
SECURITY_GROUPS = "lsim.security-groups"
RESOURCE = "lsim.resource"
#: the address the Runtime API must listen on for environments that join an ENI container's namespace
RUNTIME_API_HOST = "lsim.runtime-api-host"
RUNTIME = "lsim.runtime"  # runtime images: the runtime, and the hash of what built the image
RUNTIME_HASH = "lsim.runtime-hash"
BASE_SUITE = "lsim.base-suite"  # the offline base image: its Debian suite and the Python it provides
PYTHON = "lsim.python"
PYTHON_SOURCE = "lsim.python-source"  # an interpreter image's Python: "debian bookworm", a registry image or a folder
PYTHON_VERSION = "lsim.python-version"
LANG_KEY = "lsim.lang-key"  # an interpreter image: the hash of its recipe and Python, so a change rebuilds it
ARCHITECTURE = "lsim.architecture"  # x86_64 or arm64: Docker 20.10 ignores an imported image's platform
IMAGE_ROLE_VPC = "vpc-image"  # the ROLE of the Hyperplane ENI image


def owned(project: str, owner: str, session: str) -> dict[str, str]:
    """The labels of an object a simulator session makes for a project."""
    labels = {MANAGED: "1", SESSION: session, OWNER: owner}
    if project:
        labels[PROJECT] = project
    return labels


def selector(**labels: str | None) -> dict[str, list[str]]:
    """A docker-py ``filters`` value selecting lsim's objects with these labels (keyword: the label's
    constant name in lower case, e.g. ``selector(project=p, role="eni")``; None: any value)."""
    names = {
        "session": SESSION, "project": PROJECT, "owner": OWNER, "role": ROLE, "function": FUNCTION,
        "vpc": VPC, "eni": ENI,
    }  # fmt: skip
    wanted = [f"{MANAGED}=1"]
    for key, value in labels.items():
        if value is not None:
            wanted.append(f"{names[key]}={value}")
    return {"label": wanted}
