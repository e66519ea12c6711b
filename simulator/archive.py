"""Zip archives as Lambda takes them: checked before anything is stored, extracted safely, and made
deterministically from a folder (the same files always give the same bytes, so the same CodeSha256).

Used by layers (publish, attach, the /opt cache) and by anything else that snapshots code.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import InvalidParameterValueException

#: never part of a deployment package: caches and lsim's own state
IGNORED_NAMES = frozenset({"__pycache__", ".lsim", ".git", ".pytest_cache", ".mypy_cache"})
# 1980-01-01, the earliest time a zip can hold: fixed so that zipping the same files twice is byte-equal.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
COPY_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class ZipSummary:
    files: int
    unzipped_size: int


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(("/", "\\")) or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def inspect_zip(source: Path | bytes, *, what: str = "zip file") -> ZipSummary:
    """Check an archive the way Lambda would before accepting it; raise InvalidParameterValueException
    naming the problem. Entries that would land outside the target (absolute paths, `..`, symlinks
    pointing outside) are refused: nothing from such a zip is ever written."""
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file. Please check your file, then try to upload again. ({what} is not "
            f"a valid zip archive: {exc}; make one with `zip -r layer.zip python/`)"
        ) from None
    with archive:
        total = 0
        for info in archive.infolist():
            if _unsafe(info.filename):
                raise InvalidParameterValueException(
                    f"{what}: entry {info.filename!r} would be extracted outside its folder (absolute path or "
                    "'..'); rebuild the zip from inside the folder with relative paths"
                )
            if _is_symlink(info):
                target = archive.read(info).decode("utf-8", "replace")
                resolved = PurePosixPath(info.filename).parent / target
                if target.startswith("/") or _escapes(resolved):
                    raise InvalidParameterValueException(
                        f"{what}: symbolic link {info.filename!r} -> {target!r} points outside the archive; "
                        "replace it with the file it points to"
                    )
            total += info.file_size
        return ZipSummary(files=len(archive.infolist()), unzipped_size=total)


def _escapes(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            return True
    return False


def extract_zip(source: Path, target: Path) -> None:
    """Extract into `target` (which must not exist yet) atomically: into a temporary sibling first, then
    renamed, so a reader sees all of it or none. Files keep their unix mode but are always readable by
    the function's user, as Lambda extracts layers readable to sbx_user1051."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        with zipfile.ZipFile(source) as archive:
            made: set[Path] = set()
            for info in archive.infolist():
                if _unsafe(info.filename):  # inspect_zip refused these already; never trust twice-read input
                    raise InvalidParameterValueException(f"refusing zip entry {info.filename!r}")
                destination = staging / info.filename
                mode = (info.external_attr >> 16) & 0o777
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                parent = destination.parent
                if parent not in made:
                    parent.mkdir(parents=True, exist_ok=True)
                    made.add(parent)
                if _is_symlink(info):
                    link = archive.read(info).decode()
                    if link.startswith("/") or _escapes(PurePosixPath(info.filename).parent / link):
                        raise InvalidParameterValueException(f"refusing symbolic link {info.filename!r}")
                    os.symlink(link, destination)
                    continue
                with archive.open(info) as data, open(destination, "wb") as out:
                    shutil.copyfileobj(data, out, COPY_BUFFER)
                os.chmod(destination, (mode or 0o644) | 0o444 | (0o111 if mode & 0o111 else 0))
        for folder, _dirs, _files in os.walk(staging):
            os.chmod(folder, 0o755)
        os.rename(staging, target)
    except FileExistsError:  # another process extracted it first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    except (zipfile.BadZipFile, zlib.error) as exc:  # bad data shows only when it is read
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidParameterValueException(f"Could not unzip uploaded file: {exc}; rebuild the zip") from None
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if target.is_dir():  # lost a race to another extractor
            return
        raise exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def zip_folder(folder: Path) -> bytes:
    """The folder's files as a zip with sorted entries, fixed dates and normalised modes (0644, or 0755
    for executables), so the same content always gives the same bytes and the same SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if IGNORED_NAMES.intersection(path.relative_to(folder).parts) or path.name.endswith(".pyc"):
                continue
            if path.is_symlink() or not path.is_file():
                continue
            info = zipfile.ZipInfo(relative, FIXED_DATE_TIME)
            executable = os.access(path, os.X_OK)
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as data, archive.open(info, "w") as out:
                shutil.copyfileobj(data, out, COPY_BUFFER)
    return buffer.getvalue()


def folder_size(folder: Path) -> int:
    """Bytes of the regular files below a folder, as Lambda counts unzipped size."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
