"""Who owns what lsim leaves on the machine: the project (a stable id of its root) and the process.

A killed lsim cannot clean up after itself, so everything it makes is marked with its owner: Docker objects
by label (sandbox/labels.py), /tmp disks and staging folders by the folder they live in
(``<system temp>/lsim-scratch/<project>/<owner>/``, ``.lsim/run/<owner>/``). The next lsim on the project
removes what belongs to owners that are gone, and never what a live process owns.

An owner is ``host.boot.pid.start``: the host name, the kernel's boot id, the pid and the process's start
time in clock ticks since boot (/proc/<pid>/stat field 22). A pid reused by another process has another
start time, and no process survives a reboot, so neither can make a dead owner look alive. Where /proc is
missing (not Linux) the start time is 0 and only the pid is checked, which errs on the side of "alive".
No Docker, no HTTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
from pathlib import Path

RUN_FOLDER = "run"  # under the project's .lsim: one folder per live (or dead) process
_owner: tuple[int, str] | None = None


def project_id(root: Path) -> str:
    """A stable id of a project: 16 hex digits of the SHA-256 of its resolved root folder."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    except OSError:
        return "0"


def _start_ticks(pid: int) -> str | None:
    """The process's start time since boot (clock ticks), "0" without /proc, None when there is no such
    process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _kill_zero(pid)
    except OSError:
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name in parentheses may hold spaces


def _kill_zero(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "0"


def current_owner() -> str:
    """This process as an owner (recomputed after a fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{_host()}.{_boot_id()}.{pid}.{_start_ticks(pid) or '0'}")
    return _owner[1]


def owner_alive(owner: str) -> bool:
    """Whether the process `owner` names still runs. An owner of another host, or one that cannot be read,
    counts as alive: lsim never removes what it cannot prove abandoned."""
    parts = owner.rsplit(".", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        return True
    host, boot, pid, ticks = parts
    if host != _host():
        return True
    if boot != _boot_id() and "0" not in (boot, _boot_id()):
        return False  # no process outlives a reboot
    found = _start_ticks(int(pid))
    if found is None:
        return False
    return ticks == "0" or found == "0" or found == ticks


GITIGNORE = "# Created by lsim: its state (databases, stored zips, extracted layers) is not source.\n*\n"


def make_state_folder(state_folder: Path) -> Path:
    """Create a project's state folder (`.lsim`) if it is missing. A folder lsim creates gets a `.gitignore`
    of its own that ignores everything in it, so it never shows in the user's `git status`; one that
    exists is left as it is (a user who removed the file meant it)."""
    if not state_folder.is_dir():
        state_folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a read-only place: the state matters, the courtesy does not
            (state_folder / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    return state_folder


def run_folder(state_folder: Path, owner: str | None = None) -> Path:
    """This process's own folder under the project's .lsim (its staging folders)."""
    return state_folder / RUN_FOLDER / (owner or current_owner())


def staging_folder(state_folder: Path) -> Path:
    """Where this process builds things before renaming them into place (same file system as .lsim)."""
    folder = run_folder(make_state_folder(state_folder)) / "staging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def release_run_folder(state_folder: Path) -> None:
    """Remove this process's run folder once nothing is staged in it (a clean exit leaves nothing)."""
    folder = run_folder(state_folder)
    for empty in (folder / "staging", folder):
        try:
            empty.rmdir()
        except OSError:  # not empty (another simulator of this process is busy) or not there
            return


def dead_run_folders(state_folder: Path) -> list[Path]:
    """The run folders of owners that are gone."""
    root = state_folder / RUN_FOLDER
    if not root.is_dir():
        return []
    return [f for f in sorted(root.iterdir()) if f.is_dir() and not owner_alive(f.name)]


def remove_dead_run_folders(state_folder: Path) -> list[Path]:
    """Delete what dead processes left under .lsim/run (their staging folders); returns the folders."""
    removed = []
    for folder in dead_run_folders(state_folder):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
