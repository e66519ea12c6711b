"""An execution environment's /tmp as a disk: an ext4 file system in a sparse file, loop-mounted on the
host and bind-mounted into the container.

On Lambda /tmp is disk, sized by EphemeralStorage, and it survives a reset of the environment (after a
timeout or a crash). A tmpfs would count what a function writes there against its memory limit; this does
not. It needs root (mount) and `mkfs.ext4`; where either is missing lsim falls back to a tmpfs and says so
once (README: "Where lsim is not faithful"). Making one costs about 20 ms.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

ROOT = Path(tempfile.gettempdir()) / "lsim-scratch"


class ScratchDisk:
    """One environment's /tmp: `path` is the mounted folder, `image` the sparse file behind it."""

    def __init__(self, path: Path, image: Path) -> None:
        self.path = path
        self.image = image

    @classmethod
    def create(cls, size_mb: int) -> ScratchDisk:
        """Make and mount a file system of `size_mb` MB; raises OSError (or CalledProcessError) when this
        host cannot."""
        if os.geteuid() != 0:
            raise PermissionError("mounting a file system needs root")
        name = uuid.uuid4().hex[:16]
        ROOT.mkdir(parents=True, exist_ok=True)
        image, path = ROOT / f"{name}.img", ROOT / name
        with image.open("wb") as sparse:
            sparse.truncate(size_mb * 1024 * 1024)
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


def clean_scratch() -> int:
    """Unmount and delete the scratch disks a crashed lsim left behind; returns how many."""
    if not ROOT.is_dir():
        return 0
    removed = 0
    for image in ROOT.glob("*.img"):
        ScratchDisk(ROOT / image.stem, image).remove()
        removed += 1
    return removed


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)
