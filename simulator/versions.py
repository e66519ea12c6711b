"""$LATEST's configuration, published versions and aliases, as Lambda keeps them.

- $LATEST is the function as lsim.toml describes it, plus what UpdateFunctionConfiguration (`lsim config
  set`) changed since, kept in the store (lsim.toml itself is never rewritten);
- PublishVersion snapshots code and configuration: the code folder is zipped deterministically and kept
  as a content-addressed blob, so editing the folder never changes a published version; publishing with
  nothing changed returns the last version;
- an alias points at one version, plus at most one more with a weight (RoutingConfig).
https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html

This module knows nothing of Docker or HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .archive import zip_folder
from .config import FunctionConfig, ProjectConfig
from .errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from .execution_role import ENI_PERMISSION_MESSAGE, ExecutionRole
from .invocation import LATEST
from .layers import LayerRegistry
from .logging_config import LEVELS_NEED_JSON, LoggingConfig
from .store import Store
from .tenancy import TenancyConfig

ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
VERSION_NUMBER = re.compile(r"[0-9]+")
#: the configuration UpdateFunctionConfiguration may change, by lsim.toml key
UPDATABLE = (
    "handler",
    "runtime",
    "memory_size",
    "timeout",
    "ephemeral_storage",
    "environment",
    "layers",
    "description",
    "logging_config",
    "role",
)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS function_updates (
        function_name TEXT PRIMARY KEY,
        changes TEXT NOT NULL,
        last_modified TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS function_versions (
        function_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        config TEXT NOT NULL,
        code_sha256 TEXT NOT NULL,
        code_size INTEGER NOT NULL,
        revision_id TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (function_name, version)
    )""",
    """CREATE TABLE IF NOT EXISTS aliases (
        function_name TEXT NOT NULL,
        name TEXT NOT NULL,
        function_version TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        weights TEXT NOT NULL DEFAULT '{}',
        revision_id TEXT NOT NULL,
        PRIMARY KEY (function_name, name)
    )""",
]


def now() -> str:
    """Lambda's LastModified format: 2026-11-27T14:30:00.000+0000."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass(frozen=True)
class CodePackage:
    """A function's code as Lambda would hold it: the zip's bytes and their SHA-256 (hex)."""

    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256_base64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def package_code(folder: Path) -> CodePackage:
    data = zip_folder(folder)
    return CodePackage(data, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class FunctionVersion:
    """A published version: its frozen configuration (code = the snapshot's sha) and identity."""

    function_name: str
    version: str  # "1", "2", ...
    config: FunctionConfig  # `code` is None here: the snapshot is `code_sha256`
    code_sha256: str
    code_size: int
    description: str
    revision_id: str
    last_modified: str


@dataclass(frozen=True)
class Alias:
    function_name: str
    name: str
    function_version: str
    description: str
    weights: dict[str, float] = field(default_factory=dict)  # AdditionalVersionWeights
    revision_id: str = ""


def revision_of(config: dict[str, Any], code_sha256: str) -> str:
    """Lambda's RevisionId is a UUID that changes with every change of code or configuration."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(config, sort_keys=True) + code_sha256))


class VersionRegistry:
    """$LATEST updates, published versions and aliases of one project's functions."""

    def __init__(self, store: Store, project: ProjectConfig, layers: LayerRegistry) -> None:
        self.store = store
        self.project = project
        self.layers = layers
        self.random = random.Random()
        store.ensure_schema("versions", 1, SCHEMA)

    # -- $LATEST ------------------------------------------------------------------------------------
    def declared(self, name: str) -> FunctionConfig:
        try:
            return self.project.functions[name]
        except KeyError:
            known = ", ".join(sorted(self.project.functions)) or "none: the project file defines no functions"
            raise ResourceNotFoundException(
                f"Function not found: {self.project.function_arn(name)} (known functions: {known})"
            ) from None

    def latest(self, name: str) -> FunctionConfig:
        """$LATEST: lsim.toml's function with the configuration updates made since applied."""
        function = self.declared(name)
        rows = self.store.query("SELECT changes FROM function_updates WHERE function_name = ?", (name,))
        if not rows:
            return function
        return function.model_copy(update=_typed(json.loads(rows[0]["changes"])))

    def update_function_configuration(
        self, name: str, changes: dict[str, Any], *, revision_id: str | None = None
    ) -> FunctionConfig:
        """Change $LATEST's configuration, checked against Lambda's rules before anything is stored."""
        unknown = set(changes) - set(UPDATABLE)
        if unknown:
            raise InvalidParameterValueException(
                f"cannot update {', '.join(sorted(unknown))}: UpdateFunctionConfiguration changes "
                + ", ".join(UPDATABLE)
            )
        current = self.latest(name)
        if revision_id is not None and revision_id != self.revision_id(current):
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API "
                "to retrieve the latest Revision Id"
            )
        if isinstance(changes.get("role"), str):  # a role ARN: one the project describes is known by its policies
            changes = {**changes, "role": self.project.known_role(changes["role"])}
        if isinstance(changes.get("logging_config"), dict):  # members given replace, the others stay
            changes = {**changes, "logging_config": current.logging_config.updated(changes["logging_config"])}
        merged = {**current.model_dump(), **changes, "name": name}
        try:
            updated = FunctionConfig.model_validate(merged, context={"limits": self.project.limits})
        except ValidationError as exc:
            problems = "; ".join(_problem(e) for e in exc.errors())
            raise InvalidParameterValueException(problems) from None
        with self.store.transaction() as db:
            row = db.execute("SELECT changes FROM function_updates WHERE function_name = ?", (name,)).fetchone()
            stored = {**(json.loads(row["changes"]) if row else {}), **updated.model_dump(include=set(changes))}
            db.execute(
                "INSERT OR REPLACE INTO function_updates (function_name, changes, last_modified) VALUES (?, ?, ?)",
                (name, json.dumps(stored, default=str), now()),
            )
        return self.latest(name)

    def reset_configuration(self, name: str) -> FunctionConfig:
        """Drop the updates: $LATEST is lsim.toml's function again."""
        self.declared(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM function_updates WHERE function_name = ?", (name,))
        return self.latest(name)

    def comparable(self, function: FunctionConfig) -> dict[str, Any]:
        """The configuration as a version freezes it: layers as the ARNs they resolve to, no code path."""
        config = function.model_dump(mode="json", exclude={"code"})
        config["layers"] = [layer.arn for layer in self.layers.resolve_all(function)] if function.layers else []
        return config

    def code_of(self, function: FunctionConfig) -> CodePackage | None:
        return package_code(function.code) if function.code is not None else None

    def revision_id(self, function: FunctionConfig, code: CodePackage | None = None) -> str:
        code = code if code is not None else self.code_of(function)
        return revision_of(function.model_dump(mode="json", exclude={"code"}), code.sha256 if code else "")

    # -- PublishVersion -----------------------------------------------------------------------------
    def publish_version(
        self, name: str, *, description: str = "", code_sha256: str | None = None, revision_id: str | None = None
    ) -> FunctionVersion:
        """Snapshot $LATEST. With nothing changed since the last version, that version is returned and
        none is created. Preconditions on CodeSha256 (base64, as GetFunction shows it) or RevisionId
        answer 412 PreconditionFailedException when $LATEST moved on."""
        latest = self.latest(name)
        code = self.code_of(latest)
        sha = code.sha256 if code else _image_identity(latest)
        if code_sha256 is not None and code is not None and code_sha256 not in (code.sha256_base64, code.sha256):
            raise PreconditionFailedException(
                f"CodeSha256 ({code_sha256}) is different from current CodeSha256 in $LATEST ({code.sha256_base64}). "
                "Please try again with the CodeSha256 in $LATEST."
            )
        if revision_id is not None and revision_id != self.revision_id(latest, code):
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API "
                "to retrieve the latest Revision Id"
            )
        config = self.comparable(latest)
        last = self._last_version(name)
        if last is not None and last.code_sha256 == sha and self.comparable_of(last) == config:
            return last
        if code is not None:
            self.store.put_blob(code.data)
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT MAX(version) AS v FROM function_versions WHERE function_name = ?", (name,)
            ).fetchone()
            number = (row["v"] or 0) + 1
            db.execute(
                "INSERT INTO function_versions (function_name, version, description, config, code_sha256, code_size, "
                "revision_id, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, description, json.dumps(config), sha, code.size if code else 0,
                 revision_of(config, sha), now()),
            )  # fmt: skip
        return self.version(name, str(number))

    def comparable_of(self, version: FunctionVersion) -> dict[str, Any]:
        config = version.config.model_dump(mode="json", exclude={"code"})
        config["layers"] = list(version.config.layers)
        return config

    def version(self, name: str, number: str) -> FunctionVersion:
        self.declared(name)
        rows = (
            self.store.query(
                "SELECT * FROM function_versions WHERE function_name = ? AND version = ?", (name, int(number))
            )
            if VERSION_NUMBER.fullmatch(number)
            else []
        )
        if not rows:
            raise ResourceNotFoundException(
                f"Function not found: {self.project.function_arn(name, number)} "
                f"(published versions: {', '.join(v.version for v in self.list_versions(name)) or 'none yet'}; "
                f"publish one with `lsim publish-version {name}`)"
            )
        return self._version(rows[0])

    def list_versions(self, name: str) -> list[FunctionVersion]:
        self.declared(name)
        rows = self.store.query("SELECT * FROM function_versions WHERE function_name = ? ORDER BY version", (name,))
        return [self._version(row) for row in rows]

    def _last_version(self, name: str) -> FunctionVersion | None:
        rows = self.store.query(
            "SELECT * FROM function_versions WHERE function_name = ? ORDER BY version DESC LIMIT 1", (name,)
        )
        return self._version(rows[0]) if rows else None

    def _version(self, row: sqlite3.Row) -> FunctionVersion:
        stored = json.loads(row["config"])
        config = FunctionConfig.model_construct(**_typed({**stored, "code": None}))
        return FunctionVersion(
            function_name=row["function_name"],
            version=str(row["version"]),
            config=config,
            code_sha256=row["code_sha256"],
            code_size=row["code_size"],
            description=row["description"],
            revision_id=row["revision_id"],
            last_modified=row["last_modified"],
        )

    # -- aliases ------------------------------------------------------------------------------------
    def create_alias(
        self,
        name: str,
        alias: str,
        function_version: str,
        *,
        description: str = "",
        weights: dict[str, float] | None = None,
    ) -> Alias:
        self._check_alias(name, alias, function_version, weights or {})
        created = Alias(name, alias, function_version, description, dict(weights or {}))
        created = _with_revision(created)
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM aliases WHERE function_name = ? AND name = ?", (name, alias)).fetchone():
                raise ResourceConflictException(
                    f"Alias already exists: {self.project.function_arn(name, alias)} (change it with "
                    f"`lsim alias update {name} {alias} ...`)"
                )
            db.execute(
                "INSERT INTO aliases (function_name, name, function_version, description, weights, revision_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, alias, function_version, description, json.dumps(created.weights), created.revision_id),
            )
        return created

    def update_alias(
        self,
        name: str,
        alias: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        weights: dict[str, float] | None = None,
        revision_id: str | None = None,
    ) -> Alias:
        current = self.get_alias(name, alias)
        if revision_id is not None and revision_id != current.revision_id:
            raise PreconditionFailedException(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API "
                "to retrieve the latest Revision Id"
            )
        version = function_version or current.function_version
        new_weights = current.weights if weights is None else weights
        self._check_alias(name, alias, version, new_weights)
        updated = _with_revision(
            Alias(name, alias, version, current.description if description is None else description, dict(new_weights))
        )
        with self.store.transaction() as db:
            db.execute(
                "UPDATE aliases SET function_version = ?, description = ?, weights = ?, revision_id = ? "
                "WHERE function_name = ? AND name = ?",
                (version, updated.description, json.dumps(updated.weights), updated.revision_id, name, alias),
            )
        return updated

    def delete_alias(self, name: str, alias: str) -> None:
        self.declared(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM aliases WHERE function_name = ? AND name = ?", (name, alias))

    def get_alias(self, name: str, alias: str) -> Alias:
        self.declared(name)
        rows = self.store.query("SELECT * FROM aliases WHERE function_name = ? AND name = ?", (name, alias))
        if not rows:
            raise ResourceNotFoundException(
                f"Alias not found: {self.project.function_arn(name, alias)} (aliases of {name}: "
                f"{', '.join(a.name for a in self.list_aliases(name)) or 'none'})"
            )
        return _alias(rows[0])

    def list_aliases(self, name: str, function_version: str | None = None) -> list[Alias]:
        self.declared(name)
        rows = self.store.query("SELECT * FROM aliases WHERE function_name = ? ORDER BY name", (name,))
        aliases = [_alias(row) for row in rows]
        return [a for a in aliases if function_version is None or a.function_version == function_version]

    def _check_alias(self, name: str, alias: str, version: str, weights: dict[str, float]) -> None:
        if not ALIAS_NAME.fullmatch(alias):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{alias}' at 'name' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+) (1-128 characters, not only digits)"
            )
        if version != LATEST:
            self.version(name, version)  # an unpublished version is not found
        if len(weights) > 1:
            raise InvalidParameterValueException(
                "Number of items in AdditionalVersionWeights cannot be greater than 1: an alias routes to its version "
                "and at most one more"
            )
        for extra, weight in weights.items():
            if not 0.0 <= weight <= 1.0:
                raise InvalidParameterValueException(
                    f"1 validation error detected: Value '{weight}' at 'routingConfig.additionalVersionWeights' "
                    "failed to satisfy constraint: Member must have value between 0.0 and 1.0"
                )
            if LATEST in (version, extra):
                raise InvalidParameterValueException(
                    "$LATEST is not supported for an alias pointing to more than 1 version: publish the code as a "
                    "version and route between published versions"
                )
            if extra == version:
                raise InvalidParameterValueException(
                    "The routing configuration cannot route to the alias's own FunctionVersion: give another version"
                )
            self.version(name, extra)

    def route(self, alias: Alias) -> str:
        """The version this invocation runs: the additional one with its weight's probability."""
        for extra, weight in alias.weights.items():
            if self.random.random() < weight:
                return extra
        return alias.function_version


def _with_revision(alias: Alias) -> Alias:
    seed = {"v": alias.function_version, "d": alias.description, "w": alias.weights, "t": now()}
    return Alias(
        alias.function_name, alias.name, alias.function_version, alias.description, alias.weights,
        revision_of(seed, alias.name),
    )  # fmt: skip


def _alias(row: sqlite3.Row) -> Alias:
    return Alias(
        row["function_name"], row["name"], row["function_version"], row["description"],
        {k: float(v) for k, v in json.loads(row["weights"]).items()}, row["revision_id"],
    )  # fmt: skip


def _image_identity(function: FunctionConfig) -> str:
    """A container-image function's 'code' is its image reference (lsim does not snapshot images)."""
    return hashlib.sha256((function.image or "").encode()).hexdigest()


def _problem(error: Any) -> str:
    """One validation error in the words the API answers with (Lambda's own sentence where it has one)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if message == LEVELS_NEED_JSON or message.startswith(ENI_PERMISSION_MESSAGE):
        return message
    return f"{'.'.join(str(p) for p in error['loc']) or 'configuration'}: {message}"


def _typed(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored fields as FunctionConfig holds them (model_copy and model_construct do not validate)."""
    if isinstance(stored.get("logging_config"), dict):
        stored = {**stored, "logging_config": LoggingConfig.model_validate(stored["logging_config"])}
    if isinstance(stored.get("role"), dict | str):
        stored = {**stored, "role": _role(stored["role"])}
    if isinstance(stored.get("tenancy_config"), dict):
        stored = {**stored, "tenancy_config": TenancyConfig.model_validate(stored["tenancy_config"])}
    return stored


def _role(value: dict[str, Any] | str) -> ExecutionRole:
    return ExecutionRole.model_validate({"arn": value} if isinstance(value, str) else value)
