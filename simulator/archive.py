"""Zip archives as Lambda takes them: checked before anything is stored, extracted safely, and made
deterministically from a folder (the same files always give the same bytes, so the same CodeSha256).

Used by layers (publish, attach, the /opt cache) and by anything else that snapshots code.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
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


#: what Python's zipfile can decompress; anything else (e.g. method 99, AES) cannot be extracted
SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                     zipfile.ZIP_LZMA: "lzma"}  # fmt: skip
NAME_MAX = 255  # bytes in one path component (Linux's NAME_MAX)
# PATH_MAX is 4096 bytes with its NUL; the entry lands under /opt/ (or /var/task/) in the function
ENTRY_PATH_MAX = 4096 - 1 - len("/var/task/")
LINK_HOPS_MAX = 40  # Linux's MAXSYMLINKS: a longer chain is a loop
UNZIP_HINT = "rebuild the zip from inside the folder with relative paths (`cd layer && zip -r ../layer.zip .`)"


class _Refused(Exception):
    """Why one entry cannot be extracted (becomes InvalidParameterValueException with the archive's name)."""


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # the normalised path: no "", "." or ".."
    kind: str  # "dir", "file" or "link"
    target: str = ""  # a link's target


class _Tree:
    """The folder as extraction leaves it, entry after entry: each entry is judged against the links
    that exist at that moment, with every link resolved as the kernel would resolve it."""

    def __init__(self) -> None:
        self.dirs: set[tuple[str, ...]] = {()}
        self.files: set[tuple[str, ...]] = set()
        self.links: dict[tuple[str, ...], str] = {}

    def resolve(self, parts: Sequence[str], *, follow_last: bool = True) -> tuple[tuple[str, ...], list[str]]:
        """(where `parts` really lands, the links passed on the way); _Refused when it leaves the folder,
        loops, or goes through a file."""
        stack = list(reversed(parts))
        current: list[str] = []
        via: list[str] = []
        while stack:
            part = stack.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not current:
                    raise _Refused("outside")
                current.pop()
                continue
            candidate = (*current, part)
            target = self.links.get(candidate)
            if target is not None and (follow_last or any(p not in ("", ".") for p in stack)):
                via.append("/".join(candidate))
                if len(via) > LINK_HOPS_MAX:
                    raise _Refused("loop")
                if target.startswith("/"):
                    raise _Refused("outside")
                stack.extend(reversed(target.split("/")))
                continue
            if candidate in self.files and any(p not in ("", ".") for p in stack):
                raise _Refused("file")
            current.append(part)
        return tuple(current), via

    def add(self, entry: _Entry, what: str) -> None:
        """Record an entry, or refuse it: nothing is ever written through a link, no entry replaces a
        link or changes a file into a folder (or back), and every link keeps pointing inside."""
        name = entry.info.filename
        parents = entry.parts[:-1]
        for depth in range(1, len(parents) + 1):
            prefix = parents[:depth]
            if prefix in self.links:
                try:
                    landing, _via = self.resolve(entry.parts)
                    outside = False
                except _Refused as reason:
                    outside = str(reason) == "outside"
                    landing = ()
                where = "outside its folder" if outside else f"at {'/'.join(landing) or '.'}"
                raise InvalidParameterValueException(
                    f"{what}: entry {name!r} would be written through the symbolic link {'/'.join(prefix)!r} "
                    f"(it would land {where}); lsim never writes through a link: {UNZIP_HINT}, storing "
                    "each file at its real path"
                )
            if prefix in self.files:
                raise InvalidParameterValueException(
                    f"{what}: entry {name!r} needs {'/'.join(prefix)!r} to be a folder, but an earlier entry "
                    f"made it a file; {UNZIP_HINT}"
                )
        existing = self._kind(entry.parts)
        if existing == "link" or (existing is not None and existing != entry.kind):
            raise InvalidParameterValueException(
                f"{what}: entry {name!r} ({entry.kind}) has the same path as an earlier {existing} entry; "
                f"a zip holds each path once: {UNZIP_HINT}"
            )
        self.dirs.update(parents[:depth] for depth in range(1, len(parents) + 1))
        if entry.kind == "dir":
            self.dirs.add(entry.parts)
        elif entry.kind == "file":
            self.files.add(entry.parts)
        else:
            self.links[entry.parts] = entry.target
            self.check_link(entry.parts, what)

    def check_link(self, parts: tuple[str, ...], what: str) -> None:
        target = self.links[parts]
        try:
            self.resolve([*parts[:-1], *target.split("/")])
        except _Refused as reason:
            problem = {
                "outside": "points outside the archive",
                "loop": f"is a loop of symbolic links (more than {LINK_HOPS_MAX} in a chain)",
                "file": "goes through a file as if it were a folder",
            }[str(reason)]
            raise InvalidParameterValueException(
                f"{what}: symbolic link {'/'.join(parts)!r} -> {target!r} {problem}, with every link resolved; "
                "replace it with the file it points to"
            ) from None

    def _kind(self, parts: tuple[str, ...]) -> str | None:
        if parts in self.links:
            return "link"
        if parts in self.files:
            return "file"
        return "dir" if parts in self.dirs else None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> _Entry | None:
    """One entry, checked as text: its name, its compression, a link's target. None for the root."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file. Please check your file, then try to upload again. ({what}: entry "
            f"{name!r} is encrypted; zip it without a password)"
        )
    if info.compress_type not in SUPPORTED_METHODS:
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file. Please check your file, then try to upload again. ({what}: entry "
            f"{name!r} uses compression method {info.compress_type}, which cannot be unzipped; use deflate, "
            "as `zip` does)"
        )
    if "\\" in name or "\0" in name:
        raise InvalidParameterValueException(
            f"{what}: entry {name!r} has a backslash or NUL in its name; Lambda unzips on Linux, where '/' "
            f"separates folders: {UNZIP_HINT}"
        )
    path = PurePosixPath(name)
    if name.startswith("/") or ".." in path.parts or (len(name) > 1 and name[1] == ":"):
        raise InvalidParameterValueException(
            f"{what}: entry {name!r} would be extracted outside its folder (absolute path or '..'); {UNZIP_HINT}"
        )
    encoded = name.encode("utf-8", "surrogateescape")
    long_part = next((p for p in path.parts if len(p.encode("utf-8", "surrogateescape")) > NAME_MAX), None)
    if long_part is not None or len(encoded) > ENTRY_PATH_MAX:
        size, limit = (len(long_part.encode("utf-8", "surrogateescape")), f"{NAME_MAX} bytes a file or folder name") \
            if long_part is not None else (len(encoded), f"{ENTRY_PATH_MAX} bytes a path")  # fmt: skip
        raise InvalidParameterValueException(
            f"{what}: entry {name[:80]!r}... has a name of {size} bytes; Linux allows {limit} (File name too "
            "long): shorten it"
        )
    parts = tuple(p for p in path.parts if p not in ("", "."))
    symlink = _is_symlink(info)
    if not parts:
        if symlink or not info.is_dir():
            raise InvalidParameterValueException(f"{what}: entry {name!r} has no name; {UNZIP_HINT}")
        return None
    if not symlink:
        return _Entry(info, parts, "dir" if info.is_dir() else "file")
    if info.file_size > ENTRY_PATH_MAX or info.is_dir():
        raise InvalidParameterValueException(f"{what}: symbolic link {name!r} is malformed; {UNZIP_HINT}")
    try:
        target = archive.read(info).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameterValueException(f"{what}: symbolic link {name!r} has a target that is not UTF-8") from None
    if not target or "\0" in target or target.startswith("/"):
        raise InvalidParameterValueException(
            f"{what}: symbolic link {name!r} -> {target!r} points outside the archive (an absolute or empty "
            "target); replace it with the file it points to"
        )
    return _Entry(info, parts, "link", target)


def _plan(archive: zipfile.ZipFile, what: str) -> list[_Entry]:
    """Every entry, checked in order against the tree as it would be at that moment, then every link
    again against the finished tree (a link may go through a link made after it)."""
    tree = _Tree()
    entries = []
    for info in archive.infolist():
        entry = _entry(archive, info, what)
        if entry is not None:
            tree.add(entry, what)
            entries.append(entry)
    for parts in tree.links:
        tree.check_link(parts, what)
    return entries


def inspect_zip(source: Path | bytes, *, what: str = "zip file") -> ZipSummary:
    """Check an archive the way Lambda would before accepting it; raise InvalidParameterValueException
    naming the problem. Entries that would land outside the target, or be written through a symbolic
    link, and links that lead outside (resolved through every other link) are refused: nothing from
    such a zip is ever written."""
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidParameterValueException(
            f"Could not unzip uploaded file. Please check your file, then try to upload again. ({what} is not "
            f"a valid zip archive: {exc}; make one with `zip -r layer.zip python/`)"
        ) from None
    with archive:
        try:
            entries = _plan(archive, what)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:
            raise InvalidParameterValueException(
                f"Could not unzip uploaded file. Please check your file, then try to upload again. ({what}: {exc})"
            ) from None
        total = sum(entry.info.file_size for entry in entries)
        return ZipSummary(files=len(archive.infolist()), unzipped_size=total)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_folder(root: int, parts: Sequence[str], opened: dict[tuple[str, ...], int]) -> int:
    """A descriptor of the folder `parts` below `root`, made as needed; each step is opened with
    O_NOFOLLOW relative to the one before, so a link on the way fails (ELOOP) instead of being followed."""
    fd = root
    for depth in range(1, len(parts) + 1):
        key = tuple(parts[:depth])
        known = opened.get(key)
        if known is None:
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[depth - 1], 0o755, dir_fd=fd)
            known = os.open(parts[depth - 1], _DIR_FLAGS, dir_fd=fd)
            os.fchmod(known, 0o755)
            opened[key] = known
        fd = known
    return fd


def _write(archive: zipfile.ZipFile, entries: list[_Entry], staging: Path) -> None:
    root = os.open(staging, _DIR_FLAGS)
    opened: dict[tuple[str, ...], int] = {(): root}
    try:
        for entry in entries:
            try:
                if entry.kind == "dir":
                    _open_folder(root, entry.parts, opened)
                    continue
                parent = _open_folder(root, entry.parts[:-1], opened)
                if entry.kind == "link":
                    os.symlink(entry.target, entry.parts[-1], dir_fd=parent)
                    continue
                mode = (entry.info.external_attr >> 16) & 0o777
                fd = os.open(entry.parts[-1], _FILE_FLAGS, 0o600, dir_fd=parent)
                with os.fdopen(fd, "wb") as out, archive.open(entry.info) as data:
                    shutil.copyfileobj(data, out, COPY_BUFFER)
                    os.fchmod(out.fileno(), (mode or 0o644) | 0o444 | (0o111 if mode & 0o111 else 0))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EISDIR):
                    raise InvalidParameterValueException(
                        f"refusing zip entry {entry.info.filename!r}: {exc.strerror}; {UNZIP_HINT}"
                    ) from None
                raise
    finally:
        for fd in opened.values():
            os.close(fd)


def extract_zip(source: Path, target: Path, *, what: str = "zip file", staging: Path | None = None) -> None:
    """Extract into `target` (which must not exist yet) atomically: into a temporary folder first (in
    `staging`, on the same file system, else beside the target), then renamed, so a reader sees all of it
    or none. The whole archive is checked before a byte is written,
    and nothing is written through a link. Files keep their unix mode but are always readable by the
    function's user, as Lambda extracts layers readable to sbx_user1051."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=staging or target.parent, prefix=f".{target.name}-"))
    try:
        with zipfile.ZipFile(source) as archive:
            entries = _plan(archive, what)  # never trust twice-read input: inspect_zip ran at publish
            os.chmod(staging, 0o755)
            _write(archive, entries, staging)
        os.rename(staging, target)
    except FileExistsError:  # another process extracted it first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:  # bad data shows when read
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidParameterValueException(f"Could not unzip uploaded file: {exc}; rebuild the zip") from None
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and target.is_dir():  # lost a race to another extractor
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
