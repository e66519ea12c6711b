"""Where layers become a function's /opt: each version extracted once (keyed by its SHA-256), and each
distinct ordered list of layers merged once into a folder that is mounted read-only at /opt.

The merge follows Lambda: layers are extracted into /opt in the listed order, so a later layer's file
wins over an earlier one's. Merged folders are made of hard links to the extracted files, so a merge
copies no data, and changing a function's code never touches them (nothing is rebuilt, no image).

Both are built in this process's staging folder (.lsim/run/<owner>/staging, lifetime.py) and renamed into
place, so what a killed lsim was building is found and removed by the next lsim on the project.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from .archive import extract_zip
from .layers import LayerVersion
from .lifetime import staging_folder
from .store import Store


class LayerCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.extracted = store.folder / "extracted"
        self.merged = store.folder / "opt"

    def extract_package(self, sha256: str) -> Path:
        """A stored zip's files, extracted once per content hash: a layer version, or a published
        function version's code (mounted at /var/task)."""
        target = self.extracted / sha256
        if not target.is_dir():
            staged = staging_folder(self.store.folder) / f"extract-{sha256[:12]}-{uuid.uuid4().hex[:8]}"
            extract_zip(self.store.blob_path(sha256), staged)
            self.extracted.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staged, target)
            except OSError:
                shutil.rmtree(staged, ignore_errors=True)
                if not target.is_dir():  # not a lost race with another process: a real failure
                    raise
        return target

    def extract(self, layer: LayerVersion) -> Path:
        return self.extract_package(layer.code_sha256)

    def opt_dir(self, layers: Sequence[LayerVersion]) -> Path | None:
        """The folder to mount at /opt for these layers, in this order (None for no layers)."""
        if not layers:
            return None
        folders = [self.extract(layer) for layer in layers]
        if len(folders) == 1:
            return folders[0]  # nothing to merge: mount the extracted layer itself
        key = hashlib.sha256("\n".join(layer.code_sha256 for layer in layers).encode()).hexdigest()
        target = self.merged / key
        if target.is_dir():
            return target
        self.merged.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=staging_folder(self.store.folder), prefix=f"opt-{key[:12]}-"))
        try:
            for folder in folders:
                _overlay(folder, staging)
            os.chmod(staging, 0o755)
            os.rename(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():  # not a lost race with another process: a real failure
                raise
        return target


def _overlay(source: Path, target: Path) -> None:
    """Lay `source` over `target`: files and links replace what is there, folders merge."""
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        into = target / relative
        for name in dirs:
            destination = into / name
            if (source / relative / name).is_symlink():
                _replace_with_link(source / relative / name, destination)
            elif destination.is_symlink() or destination.is_file():
                destination.unlink()
                destination.mkdir(mode=0o755)
            elif not destination.exists():
                destination.mkdir(mode=0o755)
        for name in files:
            origin, destination = source / relative / name, into / name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            elif destination.exists() or destination.is_symlink():
                destination.unlink()
            if origin.is_symlink():
                os.symlink(os.readlink(origin), destination)
            else:
                os.link(origin, destination)


def _replace_with_link(origin: Path, destination: Path) -> None:
    if destination.is_dir() and not destination.is_symlink():
        shutil.rmtree(destination)
    elif destination.exists() or destination.is_symlink():
        destination.unlink()
    os.symlink(os.readlink(origin), destination)
