"""Where layers become a function's /opt: each version extracted once (keyed by its SHA-256), and each
distinct ordered list of layers merged once into a folder that is mounted read-only at /opt.

The merge follows Lambda: layers are extracted into /opt in the listed order, so a later layer's file
wins over an earlier one's. Merged folders are made of hard links to the extracted files, so a merge
copies no data, and changing a function's code never touches them (nothing is rebuilt, no image).

Both are built in this process's staging folder (.lsim/run/<owner>/staging, lifetime.py) and renamed into
place, so what a killed lsim was building is found and removed by the next lsim on the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
import urllib.parse
import zipfile
from collections.abc import Sequence
from pathlib import Path

from .archive import extract_zip
from .errors import InvalidParameterValueException, ServiceException
from .layers import LayerVersion
from .lifetime import staging_folder
from .store import Store


class PackageMissingError(ServiceException):
    """A layer version's or function version's zip is gone or damaged, and its files with it: lsim cannot
    rebuild them; the message names the version and how to repair it."""


class LayerCache:
    def __init__(self, store: Store, account: Store | None = None) -> None:
        """`store` is the project's (published function versions' code); `account` the store layer
        versions live in (account.py), where they are extracted and merged once for every project."""
        self.store = store
        self.account = account or store
        self.extracted = store.folder / "extracted"
        self.merged = self.account.folder / "opt"

    def extract_package(self, sha256: str, what: str | None = None) -> Path:
        """A stored zip's files, extracted once per content hash: a layer version, or a published
        function version's code (mounted at /var/task). An extraction that is missing or damaged is
        made again from its blob; a blob that is missing or corrupt is named with `what` and the repair."""
        return self._extract(self.store, self.store.blob_path(sha256), sha256, what)

    def extract_layer(self, sha256: str, what: str | None = None, blob: Path | None = None) -> Path:
        """A layer version's files, in the account's store; `blob` where its zip is, when not there (a
        version a project kept as its own)."""
        return self._extract(self.account, blob or self.account.blob_path(sha256), sha256, what)

    def _extract(self, store: Store, blob: Path, sha256: str, what: str | None) -> Path:
        extracted = store.folder / "extracted"
        target = extracted / sha256
        if target.is_dir() and not target.is_symlink() and _intact(target, blob) is not False:
            return target  # intact, or its blob is gone or unreadable: the files are the best copy left
        if not _blob_matches(blob, sha256):
            raise PackageMissingError(_missing_message(blob, sha256, what or f"the package {sha256}"))
        if target.exists() or target.is_symlink():  # damaged: set aside (atomically), then extract anew
            aside = extracted / f".damaged-{sha256[:12]}-{os.getpid()}-{time.monotonic_ns()}"
            with contextlib.suppress(FileNotFoundError):
                os.rename(target, aside)
            if aside.is_dir() and not aside.is_symlink():
                shutil.rmtree(aside, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    aside.unlink()
        extract_zip(blob, target, what=what or "zip file", staging=staging_folder(store.folder))
        return target

    def extract(self, layer: LayerVersion) -> Path:
        blob = Path(urllib.parse.unquote(urllib.parse.urlparse(layer.location).path))
        return self.extract_layer(layer.code_sha256, f"layer version {layer.arn}", blob)

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
        staging = Path(tempfile.mkdtemp(dir=staging_folder(self.account.folder), prefix=f"opt-{key[:12]}-"))
        try:
            for folder in folders:
                _overlay(folder, staging)
            _check_links_inside(staging, layers)
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


def _check_links_inside(folder: Path, layers: Sequence[LayerVersion]) -> None:
    """Each layer's links were checked alone; merged, a link of one layer may go through another's
    (`a -> x/..` over a layer where x is a folder, not a link): every link must still resolve inside."""
    root = os.path.realpath(folder)
    for current, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            path = os.path.join(current, name)
            if os.path.islink(path):
                real = os.path.realpath(path)
                if real != root and not real.startswith(root + os.sep):
                    raise InvalidParameterValueException(
                        f"the layers {', '.join(layer.arn for layer in layers)} cannot be merged at /opt: symbolic "
                        f"link {os.path.relpath(path, folder)} -> {os.readlink(path)} of one layer leads outside /opt "
                        "through another layer's files; replace the link with the file it points to"
                    )


def _replace_with_link(origin: Path, destination: Path) -> None:
    if destination.is_dir() and not destination.is_symlink():
        shutil.rmtree(destination)
    elif destination.exists() or destination.is_symlink():
        destination.unlink()
    os.symlink(os.readlink(origin), destination)


def _blob_matches(blob: Path, sha256: str) -> bool:
    """Whether the stored zip is there and still has the content its name promises."""
    digest = hashlib.sha256()
    try:
        with blob.open("rb") as data:
            while chunk := data.read(1024 * 1024):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == sha256


def _intact(target: Path, blob: Path) -> bool | None:
    """Whether an extraction still holds every file and link of its zip, each file at its size (a
    cheap walk of the zip's central directory and one lstat per entry); None when the blob cannot say."""
    try:
        with zipfile.ZipFile(blob) as archive:
            entries = {info.filename.rstrip("/"): info for info in archive.infolist()}  # the last one wins
    except (OSError, zipfile.BadZipFile):
        return None
    try:
        for name, info in entries.items():
            if name not in ("", "."):
                found = os.lstat(target / name)
                if stat.S_ISLNK(info.external_attr >> 16):
                    kind_ok = stat.S_ISLNK(found.st_mode)
                elif info.is_dir():
                    kind_ok = stat.S_ISDIR(found.st_mode)
                else:
                    kind_ok = stat.S_ISREG(found.st_mode) and found.st_size == info.file_size
                if not kind_ok:
                    return False
    except OSError:
        return False
    return True


def _missing_message(blob: Path, sha256: str, what: str) -> str:
    state = "is missing" if not blob.exists() else "is damaged (its SHA-256 no longer matches)"
    if what.startswith("layer version "):
        arn = what.removeprefix("layer version ")
        name = arn.rsplit(":", 2)[-2]
        repair = (
            f"publish the layer again (`lsim layer publish {name} --zip FILE`) and attach the new version, or put "
            f"the original zip back at {blob}"
        )
    else:
        repair = (
            f"put the original zip back at {blob}, or publish a new version (`lsim publish-version NAME`) and "
            "point the aliases that use this one at it"
        )
    return (
        f"{what} cannot be unpacked: its zip {blob} {state}, and no intact copy of its files is left. "
        f"To repair: {repair}."
    )
