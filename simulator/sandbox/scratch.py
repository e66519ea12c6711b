"""An execution environment's /tmp as a disk: an ext4 file system in a sparse file, loop-mounted on the
host and bind-mounted into the container.

On Lambda /tmp is disk, sized by EphemeralStorage, and it survives a reset of the environment (after a
timeout or a crash). A tmpfs would count what a function writes there against its memory limit; this does
not. It needs root (mount) and `mkfs.ext4`; where either is missing lsim falls back to a tmpfs and says so
once (README: "Where lsim is not faithful"). Making one costs about 20 ms.

Disks live under ``<system temp>/lsim-scratch/<project id>/<owner>/`` (lifetime.py), so what a killed lsim
left is found by project and removed once its process is gone, never a live process's disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from ..lifetime import current_owner, owner_alive

ROOT = Path(tempfile.gettempdir()) / "lsim-scratch"


class ScratchDisk:
    """One environment's /tmp: `path` is the mounted folder, `image` the sparse file behind it."""

    def __init__(self, path: Path, image: Path) -> None:
        self.path = path
        self.image = image

    @classmethod
    def create(cls, size_mb: int, project: str = "") -> ScratchDisk:
        """Make and mount a file system of `size_mb` MB for a project (its lifetime.project_id); raises
        OSError (or CalledProcessError) when this host cannot."""
        if os.geteuid() != 0:
            raise PermissionError("mounting a file system needs root")
        name = uuid.uuid4().hex[:16]
        folder = owner_folder(project)
        image, path = folder / f"{name}.img", folder / name
        for attempt in (1, 2):  # the folder goes with the last disk in it: it may go while we make it
            folder.mkdir(parents=True, exist_ok=True)
            try:
                with image.open("wb") as sparse:
                    sparse.truncate(size_mb * 1024 * 1024)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            _run("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                 "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image))  # fmt: skip
            path.mkdir()
            _run("mount", "-o", "loop,nosuid,nodev", str(image), str(path))
        except BaseException:
            with contextlib.suppress(OSError):
                path.rmdir()
            image.unlink(missing_ok=True)
            raise
        shutil.rmtree(path / "lost+found", ignore_errors=True)
        os.chmod(path, 0o1777)  # writable by the function's user, as /tmp is
        return cls(path, image)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            _run("umount", "-l", str(self.path))
        with contextlib.suppress(OSError):
            self.path.rmdir()
        self.image.unlink(missing_ok=True)
        for folder in (self.path.parent, self.path.parent.parent):  # the owner's, the project's, once empty
            if folder == ROOT:
                break
            with contextlib.suppress(OSError):
                folder.rmdir()


def owner_folder(project: str, owner: str | None = None) -> Path:
    """The folder of one process's disks for one project."""
    return ROOT / (project or "_") / (owner or current_owner())


def scratch_leftovers(projects: set[str] | None, dead_only: bool = True) -> list[Path]:
    """Owner folders of scratch disks: of these projects (None: every project, and the disks older lsim
    versions kept directly in ROOT), of dead owners only unless `dead_only` is False."""
    if not ROOT.is_dir():
        return []
    found: list[Path] = []
    for project in sorted(ROOT.iterdir()):
        if not project.is_dir() or (projects is not None and project.name not in projects):
            continue
        if projects is None and (project.with_suffix(".img")).exists():
            found.append(project)  # an older lsim's disk, mounted right here
            continue
        for owner in sorted(project.iterdir()):
            if owner.is_dir() and not (dead_only and owner_alive(owner.name)):
                found.append(owner)
    return found


def remove_scratch(folder: Path) -> int:
    """Unmount and delete the disks in an owner folder (or one older-style disk); returns how many."""
    if (image := folder.with_suffix(".img")).exists():
        ScratchDisk(folder, image).remove()
        return 1
    removed = 0
    for image in folder.glob("*.img"):
        ScratchDisk(folder / image.stem, image).remove()
        removed += 1
    for mount in folder.iterdir() if folder.is_dir() else ():  # a mount point whose image went first
        ScratchDisk(mount, mount.with_suffix(".img")).remove()
        if mount.is_dir() and not os.path.ismount(mount):  # the process backend's /tmp folders: plain folders
            shutil.rmtree(mount, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # the project's folder, once no process has disks there
    return removed


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)
