"""Lambda layers: immutable, numbered versions of a zip, attached to functions in order.

https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html
- a version is immutable, its number never reused, even after it is deleted;
- a deleted version keeps working for functions that already use it, but cannot be attached anew;
- at most 5 layers a function; a direct upload at most 50 MB zipped; function plus layers at most
  250 MB unzipped; CompatibleRuntimes (<= 15) and CompatibleArchitectures (<= 2) are checked at attach.

Layer versions belong to the account, as on AWS: they live in the account's Store (account.py; SQLite
rows, zips as content-addressed blobs, so publishing the same zip twice stores its bytes once), shared by
every project of that account and Region; which functions attached which version stays in the project's
Store. Layer versions a project published before layers moved to the account are copied to the account
when the project is opened (numbers kept); one whose number the account already gave to other content stays
the project's own, and that project keeps reading it from its own store (project rows come first for it).
This module knows nothing of Docker or HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .archive import folder_size, inspect_zip, zip_folder
from .config import RUNTIMES, FunctionConfig, ProjectConfig
from .errors import InvalidParameterValueException, RequestTooLargeException, ResourceNotFoundException
from .store import Store

MB = 1024 * 1024
DIRECT_UPLOAD_LIMIT = 50 * MB  # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
UNZIPPED_LIMIT = 250 * MB
LONG_MAX = 2**63 - 1  # LayerVersionNumber is a Long in botocore's model
LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,140}")
LAYER_VERSION_ARN = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+):(?P<version>\d+)"
)
NAME_AND_VERSION = re.compile(r"(?P<name>[a-zA-Z0-9_-]+):(?P<version>\d+)")
ARCHITECTURES = ("x86_64", "arm64")
# Every runtime name botocore knows; lsim runs only RUNTIMES, but a layer may declare any of them.
KNOWN_RUNTIMES = frozenset(
    {*RUNTIMES, "python3.8", "python3.9", "python3.10", "python3.14", "provided", "nodejs18.x", "nodejs20.x",
     "nodejs22.x", "nodejs24.x", "java11", "java17", "java21", "java25", "dotnet6", "dotnet8", "dotnet10",
     "ruby3.2", "ruby3.3", "ruby3.4", "ruby4.0", "go1.x"}
)  # fmt: skip

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS layer_versions (
        layer_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        compatible_runtimes TEXT NOT NULL DEFAULT '[]',
        compatible_architectures TEXT NOT NULL DEFAULT '[]',
        license_info TEXT,
        code_sha256 TEXT NOT NULL,
        code_size INTEGER NOT NULL,
        unzipped_size INTEGER NOT NULL,
        created_date TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (layer_name, version)
    )""",
    """CREATE TABLE IF NOT EXISTS layer_attachments (
        function_name TEXT NOT NULL,
        layer_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (function_name, layer_name, version)
    )""",
]


@dataclass(frozen=True)
class LayerVersion:
    """One published version, as GetLayerVersion describes it."""

    layer_name: str
    version: int
    layer_arn: str
    description: str
    compatible_runtimes: tuple[str, ...]
    compatible_architectures: tuple[str, ...]
    license_info: str | None
    code_sha256: str  # hex, as stored; the API shows it base64 as AWS does
    code_size: int
    unzipped_size: int
    created_date: str
    deleted: bool
    location: str  # where the zip is kept (AWS: a presigned S3 URL)

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"


class LayerRegistry:
    """Publish, look up, delete and attach layer versions of one project."""

    def __init__(
        self,
        store: Store | None,
        project: ProjectConfig,
        extract: Callable[[str], object] | None = None,
        *,
        account: Store | None = None,
    ) -> None:
        """`store` is the project's (None outside any project); `account` the account's, where layer versions
        live (without it, the project's store holds them too)."""
        if store is None and account is None:
            raise ValueError("a layer registry needs a project store, an account store, or both")
        self.store: Store = store if store is not None else account  # type: ignore[assignment]
        self.account: Store = account if account is not None else self.store
        #: the project's own layer versions, read before the account's (see the module's docstring)
        self.local: Store | None = store if store is not None and account is not None else None
        self.project = project
        #: extracts a stored zip by its hash (LayerCache.extract_layer): done at publish, so a zip whose
        #: data is corrupt is refused then, and the first cold start finds the layer ready
        self.extract = extract
        for each in {id(s): s for s in (self.store, self.account)}.values():
            each.ensure_schema("layers", 1, SCHEMA)
        if self.local is not None:
            self.migrated = migrate_project_layers(self.local, self.account)

    def layer_arn(self, layer_name: str) -> str:
        settings = self.project.settings
        return f"arn:aws:lambda:{settings.region}:{settings.account_id}:layer:{layer_name}"

    # -- PublishLayerVersion ------------------------------------------------------------------------
    def publish_layer_version(
        self,
        layer_name: str,
        zip_file: Path | bytes,
        *,
        description: str = "",
        compatible_runtimes: list[str] | None = None,
        compatible_architectures: list[str] | None = None,
        license_info: str | None = None,
    ) -> LayerVersion:
        """Store a new immutable version; numbers are taken under the database's write lock, so two
        processes publishing at once never get the same number."""
        name = self._check_name(layer_name)
        runtimes = _check_list(compatible_runtimes, KNOWN_RUNTIMES, 15, "CompatibleRuntimes")
        architectures = _check_list(compatible_architectures, ARCHITECTURES, 2, "CompatibleArchitectures")
        size = len(zip_file) if isinstance(zip_file, bytes) else _file_size(zip_file)
        if size > DIRECT_UPLOAD_LIMIT:
            raise RequestTooLargeException(
                f"Request must be smaller than {DIRECT_UPLOAD_LIMIT} bytes for the PublishLayerVersion operation "
                f"(this zip is {size} bytes); Lambda takes larger layers only from S3, which lsim does not "
                "simulate: split the layer or trim it"
            )
        summary = inspect_zip(zip_file, what=f"layer {name}")
        if summary.unzipped_size > UNZIPPED_LIMIT:
            raise InvalidParameterValueException(
                f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes (layer {name} unzips to "
                f"{summary.unzipped_size} bytes)"
            )
        sha256, code_size = self.account.put_blob(zip_file)
        if self.extract is not None:
            self.extract(sha256)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        kept = self._local_max(name)
        with self.account.transaction() as db:
            row = db.execute("SELECT MAX(version) AS v FROM layer_versions WHERE layer_name = ?", (name,)).fetchone()
            version = max(row["v"] or 0, kept) + 1  # never a number this project knows as another version
            db.execute(
                "INSERT INTO layer_versions (layer_name, version, description, compatible_runtimes, "
                "compatible_architectures, license_info, code_sha256, code_size, unzipped_size, created_date) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, description, json.dumps(runtimes), json.dumps(architectures), license_info,
                 sha256, code_size, summary.unzipped_size, created),
            )  # fmt: skip
        return self.get_layer_version(name, version, include_deleted=True)

    # -- lookups ------------------------------------------------------------------------------------
    def get_layer_version(self, layer_name: str, version: int, *, include_deleted: bool = False) -> LayerVersion:
        version = _check_version(version)
        found = self._row(layer_name, version)
        if found is None or (found[0]["deleted"] and not include_deleted):
            raise ResourceNotFoundException(
                f"The resource you requested does not exist. ({self.how_to_get(layer_name, version)})"
            )
        return self._version(*found)

    def how_to_get(self, layer_name: str, version: int) -> str:
        """Why a layer version cannot be had, and how to get that exact version: what exists, and which
        number the next `lsim layer publish` makes (numbers are never reused nor skipped)."""
        arn = f"{self.layer_arn(layer_name)}:{version}"
        found = self._row(layer_name, version)
        live = [v.version for v in reversed(self.list_layer_versions(layer_name))]
        following = self._next_version(layer_name)
        account = f"account {self.project.settings.account_id} in {self.project.settings.region}"
        if found is not None:
            said = f"layer version {arn} was deleted: its number is never used again"
        elif version >= following:
            said = (
                f"layer version {arn} was never published in {account}; `lsim layer publish {layer_name} --zip FILE` "
                f"makes version {following}"
                + (f", and version {version} after {version - following} more" if version > following else "")
            )
        else:
            said = f"layer version {arn} does not exist in {account}"
        exists = (
            f"versions of {layer_name}: {', '.join(map(str, live))}" if live else f"no live version of {layer_name}"
        )
        return f"{said}; {exists} (`lsim layer versions {layer_name}`)"

    def _next_version(self, name: str) -> int:
        rows = self.account.query("SELECT MAX(version) AS v FROM layer_versions WHERE layer_name = ?", (name,))
        return max(rows[0]["v"] or 0, self._local_max(name)) + 1

    def _local_max(self, name: str) -> int:
        if self.local is None:
            return 0
        rows = self.local.query("SELECT MAX(version) AS v FROM layer_versions WHERE layer_name = ?", (name,))
        return int(rows[0]["v"] or 0)

    def _row(self, name: str, version: int) -> tuple[sqlite3.Row, Store] | None:
        """A version's row and the store it is in (see the module's docstring)."""
        found = self._rows("layer_name = ? AND version = ?", (name, version))
        return found[0] if found else None

    def _rows(self, where: str, parameters: tuple[object, ...]) -> list[tuple[sqlite3.Row, Store]]:
        """Matching rows, by name and newest first: the account's, except where the project kept a version
        of its own that the account has not (or has with other content)."""
        found: dict[tuple[str, int], tuple[sqlite3.Row, Store]] = {}
        for row in self.account.query(f"SELECT * FROM layer_versions WHERE {where}", parameters):
            found[(row["layer_name"], row["version"])] = (row, self.account)
        if self.local is not None:
            for row in self.local.query(f"SELECT * FROM layer_versions WHERE {where}", parameters):
                key = (row["layer_name"], row["version"])
                if key not in found or found[key][0]["code_sha256"] != row["code_sha256"]:
                    found[key] = (row, self.local)
        return [found[key] for key in sorted(found, key=lambda key: (key[0], -key[1]))]

    def _live(self, where: str, parameters: tuple[object, ...]) -> list[tuple[sqlite3.Row, Store]]:
        return [(row, store) for row, store in self._rows(where, parameters) if not row["deleted"]]

    def get_layer_version_by_arn(self, arn: str, *, include_deleted: bool = False) -> LayerVersion:
        match = LAYER_VERSION_ARN.fullmatch(arn)
        if match is None:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{arn}' at 'arn' failed to satisfy constraint: a layer "
                "version ARN is arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION"
            )
        return self.get_layer_version(match["name"], int(match["version"]), include_deleted=include_deleted)

    def list_layer_versions(
        self,
        layer_name: str,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
    ) -> list[LayerVersion]:
        """Live versions, newest first, as ListLayerVersions orders them."""
        rows = self._live("layer_name = ?", (layer_name,))
        versions = [self._version(row, store) for row, store in rows]
        return [v for v in versions if _matches(v, compatible_runtime, compatible_architecture)]

    def list_layers(
        self, compatible_runtime: str | None = None, compatible_architecture: str | None = None
    ) -> list[LayerVersion]:
        """The latest matching live version of every layer, by name."""
        names = sorted({row["layer_name"] for row, _ in self._live("1 = 1", ())})
        latest = []
        for name in names:
            versions = self.list_layer_versions(name, compatible_runtime, compatible_architecture)
            if versions:
                latest.append(versions[0])
        return latest

    def delete_layer_version(self, layer_name: str, version: int) -> None:
        """Mark a version deleted (AWS answers 204 even when it does not exist). Its zip stays: functions
        that already use it keep working."""
        version = _check_version(version)
        found = self._row(layer_name, version)
        if found is None:
            return
        with found[1].transaction() as db:  # the account's version, or the one this project kept
            db.execute(
                "UPDATE layer_versions SET deleted = 1 WHERE layer_name = ? AND version = ?", (layer_name, version)
            )

    # -- attaching ----------------------------------------------------------------------------------
    def resolve(self, function: FunctionConfig, reference: str) -> LayerVersion:
        """One entry of a function's `layers`: an ARN, `NAME:N`, or a local folder or zip (relative to
        lsim.toml) that is published on the fly when its content changed."""
        match = LAYER_VERSION_ARN.fullmatch(reference) or NAME_AND_VERSION.fullmatch(reference)
        if match is not None:
            return self._attachable(function, match["name"], int(match["version"]), reference)
        path = (self.project.root / reference).resolve()
        if path.exists():
            return self._publish_local(path)
        raise InvalidParameterValueException(
            f"functions.{function.name}.layers: {reference!r} is neither a layer version ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N), NAME:N, nor an existing folder or zip"
        )

    def resolve_all(self, function: FunctionConfig) -> list[LayerVersion]:
        """The function's layers in merge order, checked against AWS's rules at attach time."""
        limit = self.project.limits.layers_per_function
        if len(function.layers) > limit:
            raise InvalidParameterValueException(
                f"Cannot reference more than {limit} layers (functions.{function.name} lists {len(function.layers)})."
            )
        layers = [self.resolve(function, reference) for reference in function.layers]
        for layer in layers:
            self._check_compatible(function, layer)
        code_size = folder_size(function.code) if function.code is not None else 0
        total = code_size + sum(layer.unzipped_size for layer in layers)
        if total > UNZIPPED_LIMIT:
            raise InvalidParameterValueException(
                f"Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_LIMIT} bytes. "
                f"The actual size is {total} bytes. (functions.{function.name}: code {code_size} bytes + layers)"
            )
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO layer_attachments (function_name, layer_name, version) VALUES (?, ?, ?)",
                [(function.name, layer.layer_name, layer.version) for layer in layers],
            )
        return layers

    def _attachable(self, function: FunctionConfig, name: str, version: int, reference: str) -> LayerVersion:
        layer = self.get_layer_version(name, version, include_deleted=True) if self._exists(name, version) else None
        if layer is None:
            raise InvalidParameterValueException(
                f"Layer version {self.layer_arn(name)}:{version} does not exist. (functions.{function.name}.layers: "
                f"{reference}: {self.how_to_get(name, version)})"
            )
        if layer.deleted and not self._attached(function.name, name, version):
            raise InvalidParameterValueException(
                f"Layer version {layer.arn} does not exist. (it was deleted: functions that already used it keep "
                f"it, but it cannot be attached anew; {self.how_to_get(name, version)})"
            )
        return layer

    def _check_compatible(self, function: FunctionConfig, layer: LayerVersion) -> None:
        if function.runtime and layer.compatible_runtimes and function.runtime not in layer.compatible_runtimes:
            raise InvalidParameterValueException(
                f"Layer version {layer.arn} is not compatible with the function's runtime {function.runtime} "
                f"(CompatibleRuntimes: {', '.join(layer.compatible_runtimes)})"
            )
        if layer.compatible_architectures and function.architecture not in layer.compatible_architectures:
            raise InvalidParameterValueException(
                f"Layer version {layer.arn} is not compatible with the function's architecture "
                f"{function.architecture} (CompatibleArchitectures: {', '.join(layer.compatible_architectures)})"
            )

    def _publish_local(self, path: Path) -> LayerVersion:
        """A local folder or zip as a layer named after it; a new version only when its bytes changed."""
        data = zip_folder(path) if path.is_dir() else path.read_bytes()
        name = re.sub(r"[^a-zA-Z0-9_-]", "-", path.stem if path.is_file() else path.name)[:140] or "layer"
        sha256 = hashlib.sha256(data).hexdigest()
        # Any live version with these bytes, not only the latest: two projects of the account with a folder
        # of the same name must not publish a new version each time the other one runs.
        for row, store in self._live("layer_name = ?", (name,)):
            if row["code_sha256"] == sha256:
                return self._version(row, store)
        return self.publish_layer_version(name, data, description=f"published by lsim from {path}")

    def _exists(self, name: str, version: int) -> bool:
        return self._row(name, _check_version(version)) is not None

    def _attached(self, function_name: str, name: str, version: int) -> bool:
        return bool(self.store.query(
            "SELECT 1 FROM layer_attachments WHERE function_name = ? AND layer_name = ? AND version = ?",
            (function_name, name, version),
        ))  # fmt: skip

    def _check_name(self, layer_name: str) -> str:
        match = LAYER_VERSION_ARN.fullmatch(layer_name + ":1") if layer_name.startswith("arn:") else None
        name = match["name"] if match else layer_name
        if not LAYER_NAME.fullmatch(name):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{layer_name}' at 'layerName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ (1-140 characters)"
            )
        return name

    def _version(self, r: sqlite3.Row, store: Store | None = None) -> LayerVersion:
        return LayerVersion(
            layer_name=r["layer_name"],
            version=r["version"],
            layer_arn=self.layer_arn(r["layer_name"]),
            description=r["description"],
            compatible_runtimes=tuple(json.loads(r["compatible_runtimes"])),
            compatible_architectures=tuple(json.loads(r["compatible_architectures"])),
            license_info=r["license_info"],
            code_sha256=r["code_sha256"],
            code_size=r["code_size"],
            unzipped_size=r["unzipped_size"],
            created_date=r["created_date"],
            deleted=bool(r["deleted"]),
            location=(store or self.account).blob_path(r["code_sha256"]).as_uri(),
        )


def migrate_project_layers(project: Store, account: Store) -> list[tuple[str, int]]:
    """Copy the layer versions a project published into its account (same numbers, same zips); a number the
    account already gave to other content is left to the project, which keeps reading its own. Nothing is
    removed from the project. Returns the versions copied."""
    rows = project.query("SELECT * FROM layer_versions")
    copied: list[tuple[str, int]] = []
    for row in rows:
        name, version = row["layer_name"], row["version"]
        if account.query("SELECT 1 FROM layer_versions WHERE layer_name = ? AND version = ?", (name, version)):
            continue  # copied before, or another project's version of that number
        blob = project.blob_path(row["code_sha256"])
        if not blob.is_file():
            continue  # the project keeps it (its extracted files may still serve it)
        account.put_blob(blob)
        with account.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO layer_versions (layer_name, version, description, compatible_runtimes, "
                "compatible_architectures, license_info, code_sha256, code_size, unzipped_size, created_date, deleted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(row[key] for key in ("layer_name", "version", "description", "compatible_runtimes",
                      "compatible_architectures", "license_info", "code_sha256", "code_size", "unzipped_size",
                      "created_date", "deleted")),
            )  # fmt: skip
            if cursor.rowcount:
                copied.append((name, version))
    return copied


def _check_list(values: list[str] | None, allowed: object, limit: int, field: str) -> list[str]:
    values = list(values or [])
    if len(values) > limit:
        raise InvalidParameterValueException(f"{field}: at most {limit} values, {len(values)} given")
    unknown = [v for v in values if v not in allowed]  # type: ignore[operator]
    if unknown:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{unknown[0]}' at '{field[0].lower() + field[1:]}' failed to "
            f"satisfy constraint: Member must satisfy enum value set"
            + (f": [{', '.join(ARCHITECTURES)}]" if field == "CompatibleArchitectures" else "")
        )
    return values


def _matches(version: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    if runtime and version.compatible_runtimes and runtime not in version.compatible_runtimes:
        return False
    return not (
        architecture and version.compatible_architectures and architecture not in version.compatible_architectures
    )


def _check_version(version: int) -> int:
    """A layer version number is a Long in Lambda's API (and an INTEGER in SQLite): a bigger one names
    no version, and is refused instead of overflowing."""
    version = int(version)
    if not 1 <= version <= LONG_MAX:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{version}' at 'versionNumber' failed to satisfy constraint: "
            f"Member must have value between 1 and {LONG_MAX} (layer versions are numbered from 1; "
            "`lsim layer versions NAME` lists them)"
        )
    return version


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise InvalidParameterValueException(f"cannot read {path}: {exc.strerror}") from None
