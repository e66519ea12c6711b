"""What the Lambda API's read operations describe: a function version, a page of functions, the account.

Domain objects only: the services (services/functions.py) build them, and `shapes.py` turns them into AWS's JSON.
Nothing here knows HTTP, Docker or the command line.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import FunctionConfig
from .versions import package_code, revision_of

#: folders and files that are not part of a deployment package (caches the process backend writes)
IGNORED_NAMES = frozenset({"__pycache__", ".lsim", ".git", ".pytest_cache", ".mypy_cache"})


@dataclass(frozen=True)
class CodeFingerprint:
    """The deployment package's identity, as Lambda reports it.

    Lambda's CodeSha256 is the base64 SHA-256 of the uploaded zip and CodeSize its size; lsim runs a
    folder, so it hashes the folder's files (relative path and content, in path order) and reports their
    total size unzipped. Both change exactly when a file's content, name or presence changes."""

    sha256: str
    size: int
    last_modified: float  # epoch seconds of the newest file: when the code last changed


@dataclass(frozen=True)
class LayerReference:
    """One entry of FunctionConfiguration.Layers."""

    arn: str
    code_size: int


@dataclass(frozen=True)
class FunctionDescription:
    """One version of one function: what GetFunctionConfiguration and GetFunction describe."""

    function: FunctionConfig
    version: str
    function_arn: str
    code: CodeFingerprint | None  # None for a container-image function
    revision_id: str
    region: str
    layers: tuple[LayerReference, ...] = ()
    reserved_concurrency: int | None = None  # GetFunction's Concurrency, when the function has some
    #: https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
    state: str = "Active"
    last_update_status: str = "Successful"
    state_reason_code: str | None = None  # e.g. Creating, SubnetOutOfIPAddresses (a VPC function's ENI)
    state_reason: str | None = None
    role_arn: str | None = None  # the execution role's ARN (Role)

    @property
    def log_group(self) -> str:
        return self.function.logging_config.group(self.function.name)


@dataclass(frozen=True)
class FunctionPage:
    """One page of ListFunctions (or ListVersionsByFunction): the items and the marker of the next page."""

    functions: tuple[FunctionDescription, ...]
    next_marker: str | None = None


@dataclass(frozen=True)
class AccountSettings:
    """GetAccountSettings: the account's limits and what the project uses of them.
    https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html"""

    total_code_size_limit: int
    code_size_unzipped: int
    code_size_zipped: int
    concurrent_executions: int
    unreserved_concurrent_executions: int
    total_code_size: int
    function_count: int


_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], CodeFingerprint]] = {}
_cache_lock = threading.Lock()


def _listing(folder: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every file under `folder`, in path order."""
    files: list[tuple[str, int, int]] = []
    for directory, subdirectories, names in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if d not in IGNORED_NAMES)
        for name in names:
            if name.endswith(".pyc"):
                continue
            path = Path(directory, name)
            try:
                stat = path.stat()
            except OSError:  # removed while we walked, or a dangling link
                continue
            files.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    files.sort()
    return files


def fingerprint_code(folder: Path) -> CodeFingerprint:
    """The fingerprint of a code folder: SHA-256 and size of its deterministic zip (what PublishVersion
    snapshots), recomputed only when a file's size or mtime changed."""
    listing = tuple(_listing(folder))
    with _cache_lock:
        cached = _cache.get(folder)
    if cached is not None and cached[0] == listing:
        return cached[1]
    package = package_code(folder)
    fingerprint = CodeFingerprint(
        sha256=package.sha256_base64,
        size=package.size,
        last_modified=max((mtime for _p, _s, mtime in listing), default=0) / 1e9,
    )
    with _cache_lock:
        _cache[folder] = (listing, fingerprint)
    return fingerprint


def revision_id(function: FunctionConfig, code: CodeFingerprint | None) -> str:
    """A RevisionId that changes whenever the configuration or the code does (Lambda: a UUID); the same
    formula PublishVersion's preconditions check (versions.revision_of)."""
    sha_hex = base64.b64decode(code.sha256).hex() if code else ""
    return revision_of(function.model_dump(mode="json", exclude={"code"}), sha_hex)
