"""Hot reload (`lsim serve --watch`): when a function's code folder or a local layer folder changes, the
next invocations get fresh execution environments with the new code; in-flight ones finish on the old.

watchdog reports file events from its own thread. A change counts only when a file's size or mtime
differs from what was last seen (or it appeared or went away), so the reads a starting environment makes
(which update access times) never trigger a reload. Changes are gathered for a short moment, then each
affected function's environments are retired on the simulator's loop (`Simulator.retire`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .invocation import LATEST
from .project import PROJECT_FILE

if TYPE_CHECKING:
    from .simulator import Simulator

DEBOUNCE_S = 0.1  # an editor's save is a burst of events: reload once, soon after the last
IGNORED_PARTS = frozenset({"__pycache__", ".lsim", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
IGNORED_SUFFIXES = (".pyc", ".swp", ".swx", "~")
CHANGE_EVENTS = frozenset({"created", "deleted", "modified", "moved", "closed"})
Stamp = tuple[int, int] | None  # (mtime_ns, size), None when the file is not there


def _ignored(path: Path) -> bool:
    name = path.name
    return (
        any(part in IGNORED_PARTS for part in path.parts)
        or name.endswith(IGNORED_SUFFIXES)
        or name.startswith(".#")
        or name == "4913"  # the probe file vim writes to test a folder
    )


def _stamp(path: Path) -> Stamp:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def watched_roots(simulator: Simulator) -> dict[Path, set[str]]:
    """Each folder (or layer zip) to watch, and the functions that use it: code folders and the local
    layer folders or zips their `layers` name."""
    project = simulator.project
    roots: dict[Path, set[str]] = {}
    for function in project.functions.values():
        if function.code is not None:
            roots.setdefault(Path(function.code).resolve(), set()).add(function.name)
        for reference in function.layers:
            candidate = (project.root / reference).resolve()
            if candidate.exists():
                roots.setdefault(candidate, set()).add(function.name)
    return roots


class CodeWatcher:
    """Watches the project's code and local layers for as long as it runs; `say` gets a line per reload."""

    def __init__(
        self,
        simulator: Simulator,
        loop: asyncio.AbstractEventLoop,
        say: Callable[[str], None],
        *,
        debounce_s: float = DEBOUNCE_S,
    ) -> None:
        self.simulator = simulator
        self.loop = loop
        self.say = say
        self.debounce_s = debounce_s
        self.roots = watched_roots(simulator)
        self.project_file = (simulator.project.root / PROJECT_FILE).resolve()
        self._stamps: dict[Path, Stamp] = {}
        self._pending: dict[str, set[Path]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._reloading: set[asyncio.Task[None]] = set()
        self._observer = Observer()
        self.reloads = 0

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        for root in self.roots:
            for path in self._files(root):
                self._stamps[path] = _stamp(path)
        self._stamps[self.project_file] = _stamp(self.project_file)
        handler = _Handler(self)
        folders: dict[Path, bool] = {}  # folder -> recursive
        for root in self.roots:
            if root.is_dir():
                folders[root] = True
            else:
                folders.setdefault(root.parent, False)
        folders.setdefault(self.project_file.parent, False)
        for folder in _outermost(folders):
            self._observer.schedule(handler, str(folder), recursive=folders[folder])
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        if self._timer is not None:
            self._timer.cancel()

    async def wait_idle(self) -> None:
        """Wait for reloads that have begun (used when shutting down)."""
        if self._reloading:
            await asyncio.gather(*self._reloading, return_exceptions=True)

    @property
    def describe(self) -> str:
        return ", ".join(sorted(self._relative(root) for root in self.roots)) or "nothing"

    # -- events (watchdog's thread) ---------------------------------------------------------------------
    def on_paths(self, paths: Iterable[str]) -> None:
        for raw in paths:
            path = Path(os.fsdecode(raw))
            if _ignored(path):
                continue
            if path == self.project_file:
                if self._moved(path):
                    self.loop.call_soon_threadsafe(
                        self.say,
                        f"{PROJECT_FILE} changed: restart `lsim serve` to apply it (--watch reloads code and "
                        "layer folders)",
                    )
                continue
            functions = self._functions_of(path)
            if functions and self._moved(path):
                self.loop.call_soon_threadsafe(self._note, functions, path)

    def _moved(self, path: Path) -> bool:
        """Did this path's content change since last seen? (A directory counts when it appears or goes.)"""
        if path.is_dir():  # a folder moved in: its files are new
            fresh = [f for f in self._files(path) if f not in self._stamps]
            for file in fresh:
                self._stamps[file] = _stamp(file)
            return bool(fresh)
        stamp = _stamp(path)
        if path in self._stamps and self._stamps[path] == stamp:
            return False
        if path not in self._stamps and stamp is None:
            # a folder that went away: every file we knew under it changed
            gone = [known for known in self._stamps if path in known.parents]
            for known in gone:
                del self._stamps[known]
            return bool(gone)
        self._stamps[path] = stamp
        return True

    def _functions_of(self, path: Path) -> set[str]:
        found: set[str] = set()
        for root, functions in self.roots.items():
            if path == root or root in path.parents:
                found |= functions
        return found

    # -- reloads (the simulator's loop) --------------------------------------------------------------
    def _note(self, functions: set[str], path: Path) -> None:
        for name in functions:
            self._pending.setdefault(name, set()).add(path)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(self.debounce_s, self._flush)

    def _flush(self) -> None:
        self._timer = None
        pending, self._pending = self._pending, {}
        if pending:
            task = self.loop.create_task(self._reload(pending))
            self._reloading.add(task)
            task.add_done_callback(self._reloading.discard)

    async def _reload(self, pending: dict[str, set[Path]]) -> None:
        by_change: dict[tuple[Path, ...], list[str]] = {}
        for name, changed_paths in pending.items():
            by_change.setdefault(tuple(sorted(changed_paths)), []).append(name)
        for paths, names in by_change.items():
            in_flight = 0
            for name in names:
                in_flight += sum(
                    pool.size - pool.idle
                    for (fn, version), pool in self.simulator.pools().items()
                    if fn == name and version == LATEST
                )
                # Published versions are snapshots of their code and layers: only $LATEST changes.
                await self.simulator.retire(name, version=LATEST)
            self.reloads += 1
            changed = ", ".join(self._relative(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
            finishing = f"; {in_flight} in-flight invocation(s) finish on the old code" if in_flight else ""
            self.say(
                f"reloaded {', '.join(sorted(names))}: {changed} changed; new invocations start fresh "
                f"environments{finishing}"
            )

    # -- helpers --------------------------------------------------------------------------------------
    def _files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        files: list[Path] = []
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if d not in IGNORED_PARTS]
            files.extend(Path(directory, name) for name in names if not _ignored(Path(directory, name)))
        return files

    def _relative(self, path: Path) -> str:
        root = self.simulator.project.root.resolve()
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: CodeWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGE_EVENTS:
            return  # opened, closed without writing: a reader, not a change
        if event.is_directory and event.event_type not in ("deleted", "moved"):
            return  # a folder's own mtime moves with its entries, which report themselves
        paths = [event.src_path]
        if getattr(event, "dest_path", ""):
            paths.append(event.dest_path)
        self.watcher.on_paths(str(p) for p in paths)


def _outermost(folders: dict[Path, bool]) -> list[Path]:
    """Folders to schedule: one watched recursively covers those beneath it."""
    recursive = [f for f, deep in folders.items() if deep]
    return [f for f in folders if not any(other != f and other in f.parents for other in recursive)]
