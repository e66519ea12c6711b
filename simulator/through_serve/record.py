"""The record a running `lsim serve` keeps in its project's `.lsim/run/`, so that `lsim invoke` can find it.

One JSON file per serve process (`.lsim/run/serve-<pid>.json`, mode 0600: it may hold the credentials the
serve verifies signatures with), written once the port listens and removed when the serve stops. A record
whose process is gone (or whose pid now belongs to another process), whose port does not answer, or whose
port answers for another serve is stale: the reader ignores it and removes it.

Standard library only: this is read on the path of `lsim invoke` through a warm serve, which must not pay
for pydantic, the Simulator or Docker's client.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import NamedTuple

PROJECT_FILE = "lsim.toml"
TEMPLATE_FILES = ("template.yaml", "template.yml", "template.json")  # as simulator.sam looks for them
RUN_FOLDER = Path(".lsim") / "run"
RECORD_PREFIX = "serve-"


def locate_project_file(option: Path | str | None) -> Path | None:
    """The project file `--project`/`--template` names (a file or its folder), or the nearest lsim.toml (or
    SAM template where there is none) upwards, as `simulator.project.load_project` finds it; None when there
    is none. Resolved, so that a serve and an invoke started in different folders compare equal."""
    if option is not None:
        path = Path(option)
        if path.is_dir():
            if (path / PROJECT_FILE).is_file():
                return (path / PROJECT_FILE).resolve()
            return next(((path / name).resolve() for name in TEMPLATE_FILES if (path / name).is_file()), None)
        return path.resolve() if path.is_file() else None
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder / PROJECT_FILE
        for name in TEMPLATE_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


class ServeRecord(NamedTuple):
    """Who serves a project, and how it was started: what an invoke must match to go through it."""

    pid: int
    host: str
    port: int
    token: str  # random per start: a request for another serve on a reused port is refused (421)
    project_file: str
    parameter_overrides: tuple[str, ...] = ()
    env_vars: str | None = None
    backend: str = "docker"  # the backend the serve runs (never "auto")
    region: str = "us-east-1"  # the project's Region: the client signs for it
    process_start: str | None = None  # /proc/<pid>/stat's start time: tells a reused pid apart
    access_key_id: str | None = None  # the credentials to sign with, when the serve verifies SigV4
    secret_access_key: str | None = None
    functions: tuple[str, ...] | None = None  # `lsim serve F1 F2` serves only these; None: every function
    credentials: str | None = None  # what its functions get: --credentials as given (None: the project's)
    profile: str | None = None

    @property
    def address(self) -> str:
        """Where to connect: a serve listening on every address is reached on loopback."""
        if self.host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if self.host == "::":
            return "::1"
        return self.host

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port} (pid {self.pid})"


def new_token() -> str:
    import secrets

    return secrets.token_hex(16)


def process_start(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (Linux), or None where /proc has none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22; the name in parentheses may hold spaces


def process_alive(record: ServeRecord) -> bool:
    """The record's process still runs, and is the same process (not a later one given the same pid)."""
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not a serve this user started
        return False
    return record.process_start is None or process_start(record.pid) in (None, record.process_start)


def record_path(project_root: Path, pid: int) -> Path:
    return project_root / RUN_FOLDER / f"{RECORD_PREFIX}{pid}.json"


def write_record(project_root: Path, record: ServeRecord) -> Path:
    """Write the record whole or not at all (a temporary file renamed), readable by this user only."""
    import tempfile

    path = record_path(project_root, record.pid)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".serve-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(record._asdict(), out)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def remove_record(path: Path, token: str | None = None) -> None:
    """Remove a record; with `token`, only if it is still that serve's (another may have replaced it)."""
    if token is not None:
        current = read_record(path)
        if current is None or current.token != token:
            return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_record(path: Path) -> ServeRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["parameter_overrides"] = tuple(data.get("parameter_overrides") or ())
        if data.get("functions") is not None:
            data["functions"] = tuple(data["functions"])
        return ServeRecord(**data)
    except (OSError, ValueError, TypeError):  # half-gone, or written by another version of lsim
        return None


def live_records(project_root: Path) -> list[tuple[Path, ServeRecord]]:
    """The records of serves whose process runs, newest first; the records of dead ones are removed."""
    folder = project_root / RUN_FOLDER
    try:
        paths = sorted(folder.glob(f"{RECORD_PREFIX}*.json"), key=_mtime, reverse=True)
    except OSError:
        return []
    found = []
    for path in paths:
        record = read_record(path)
        if record is None:
            continue
        if not process_alive(record):
            remove_record(path, record.token)
            continue
        found.append((path, record))
    return found


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
