"""What a container sees at /var/task: the function's code, read-only, and with a requirements.txt the
packages lsim installed for it (simulator/dependencies.py) in the same folder, as `sam build` lays them out.

Two ways were weighed to put two host folders at one path without copying the user's code:
- a staging folder (code and packages copied or hard-linked into one folder, bind-mounted): a copy costs
  every cold start after an edit, and hard links go stale when an editor replaces a file (a new inode), so
  the code would no longer be live for --watch;
- a read-only overlayfs, `lowerdir=<code>:<packages>`, mounted by Docker's local volume driver as the
  container's /var/task (`type=overlay`): nothing is copied, an overlay made only of lower folders is
  read-only by construction (EROFS, as Lambda's /var/task), the code's own files win over a package of the
  same name (the leftmost folder wins), and every new environment mounts the folders as they are now, so an
  edit reaches the next cold start. This is the one lsim uses.

The volume is anonymous, made with the container and removed with it (`remove_container(v=True)`). Docker
refuses the read-only flag on an anonymous volume; the overlay is read-only all the same. Paths holding
`:` or `,` cannot be written in overlay's options: such a function is told to move its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DockerUnavailableError

TASK_ROOT = "/var/task"


def task_mounts(code_dir: Path, dependencies_dir: Path) -> list[Any]:
    """The docker-py Mount of /var/task as the overlay of the code over its packages."""
    from docker.types import Mount

    for folder in (code_dir, dependencies_dir):
        if ":" in str(folder) or "," in str(folder):
            raise DockerUnavailableError(
                f"{folder}: a folder whose path holds ':' or ',' cannot be layered at /var/task with the packages "
                "of requirements.txt; move it to a path without them"
            )
    return [
        Mount(
            target=TASK_ROOT,
            source="",
            type="volume",
            driver_config={
                "Name": "local",
                "Options": {"type": "overlay", "device": "overlay", "o": f"lowerdir={code_dir}:{dependencies_dir}"},
            },
        )
    ]
