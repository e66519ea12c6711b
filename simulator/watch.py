"""Hot reload (`lsim serve --watch`): when a function's code folder or a local layer folder changes, the
next invocations get fresh execution environments with the new code; in-flight ones finish on the old.
When the project file (lsim.toml or template.yaml, and an --env-vars file) changes, it is read again:
functions are added, removed or re-pointed, one console line each; a file that no longer reads keeps the
functions as they were and says why.

watchdog reports file events from its own thread. A change counts only when a file's size or mtime
differs from what was last seen (or it appeared or went away), so the reads a starting environment makes
(which update access times) never trigger a reload. Changes are gathered for a short moment, then each
affected function's environments are retired on the simulator's loop (`Simulator.retire`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .errors import LsimError
from .invocation import LATEST
from .mappings.declarations import declarations
from .project import PROJECT_FILE
from .project_changes import compare_projects

if TYPE_CHECKING:
    from .config import ProjectConfig
    from .simulator import Simulator

DEBOUNCE_S = 0.1  # an editor's save is a burst of events: reload once, soon after the last
# Folders lsim, Python and the tools write to on their own, never code a function is made of (a change there
# reloads nothing, so lsim's own writes can never start a loop); `sam build`'s output is one.
IGNORED_PARTS = frozenset(
    {"__pycache__", ".lsim", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".aws-sam", "node_modules"}
)
IGNORED_SUFFIXES = (".pyc", ".swp", ".swx", "~")
CHANGE_EVENTS = frozenset({"created", "deleted", "modified", "moved", "closed"})
Stamp = tuple[int, int] | None  # (mtime_ns, size), None when the file is not there


def _ignored(path: Path, root: Path | None = None) -> bool:
    """Whether a change to `path` is noise; the folders are looked for below the watched `root` only (code
    may itself live in one, as `sam build`'s .aws-sam/build/Fn or inline code under .lsim/inline)."""
    name = path.name
    parts = path.relative_to(root).parts if root is not None and path.is_relative_to(root) else path.parts
    return (
        any(part in IGNORED_PARTS for part in parts)
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
        project_files: Sequence[Path] = (),
        reload_project: Callable[[], ProjectConfig] | None = None,
        on_project: Callable[[ProjectConfig], Awaitable[list[str]]] | None = None,
    ) -> None:
        """`project_files` (the project file, an --env-vars file) are read again with `reload_project` when
        they change; without it, a change of lsim.toml is only reported. `on_project` gets each project read
        again, once its functions are applied (the HTTP front door's routes), and returns lines to say."""
        self.simulator = simulator
        self.loop = loop
        self.say = say
        self.debounce_s = debounce_s
        self.roots = watched_roots(simulator)
        self.project_files = [p.resolve() for p in project_files] or [(simulator.project.root / PROJECT_FILE).resolve()]
        self.project_file = self.project_files[0]
        self.reload_project = reload_project
        self.on_project = on_project
        self._project_timer: asyncio.TimerHandle | None = None
        self._scheduled: dict[Path, bool] = {}  # folder -> watched recursively
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
        for path in self.project_files:
            self._stamps[path] = _stamp(path)
        self._handler = _Handler(self)
        self._schedule()
        self._observer.start()

    def _schedule(self) -> None:
        """Watch the folders the roots and project files need that no watch covers yet."""
        folders: dict[Path, bool] = {}  # folder -> recursive
        for root in self.roots:
            if root.is_dir():
                folders[root] = True
            else:
                folders.setdefault(root.parent, False)
        for path in self.project_files:
            folders.setdefault(path.parent, False)
        for folder in _outermost(folders):
            deep = folders[folder]
            covered = (
                self._scheduled.get(folder, False) >= deep
                if folder in self._scheduled
                else any(other in folder.parents for other, recursive in self._scheduled.items() if recursive)
            )
            if not covered:
                self._observer.schedule(self._handler, str(folder), recursive=deep)
                self._scheduled[folder] = deep

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        for timer in (self._timer, self._project_timer):
            if timer is not None:
                timer.cancel()

    async def wait_idle(self) -> None:
        """Wait for reloads that have begun (used when shutting down)."""
        if self._reloading:
            await asyncio.gather(*self._reloading, return_exceptions=True)

    @property
    def describe(self) -> str:
        watched = sorted(self._relative(root) for root in self.roots)
        if self.reload_project is not None:
            watched += [self._relative(path) for path in self.project_files]
        return ", ".join(watched) or "nothing"

    # -- events (watchdog's thread) ---------------------------------------------------------------------
    def on_paths(self, paths: Iterable[str]) -> None:
        for raw in paths:
            path = Path(os.fsdecode(raw))
            if path in self.project_files:
                if self._moved(path):
                    self.loop.call_soon_threadsafe(self._project_changed, path)
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
        for root, functions in list(self.roots.items()):
            if (path == root or root in path.parents) and not _ignored(path, root):
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

    def _project_changed(self, path: Path) -> None:
        if self.reload_project is None:
            self.say(f"{self._relative(path)} changed: restart `lsim serve` to apply it (--watch reloads code and "
                     "layer folders)")  # fmt: skip
            return
        if self._project_timer is not None:
            self._project_timer.cancel()
        self._project_timer = self.loop.call_later(self.debounce_s, self._start_project_reload, path)

    def _start_project_reload(self, path: Path) -> None:
        self._project_timer = None
        task = self.loop.create_task(self._reload_project(path))
        self._reloading.add(task)
        task.add_done_callback(self._reloading.discard)

    async def _reload_project(self, path: Path) -> None:
        """Read the project again and bring the running simulator to it, one console line per change."""
        assert self.reload_project is not None
        project = self.simulator.project
        where = self._relative(path)
        try:
            fresh = await asyncio.to_thread(self.reload_project)
        except LsimError as error:
            kept = ", ".join(sorted(project.functions)) or "none"
            self.say(f"{where} changed but cannot be read, so the functions stay as they were ({kept}): {error}")
            return
        changes = compare_projects(project, fresh)
        if not changes:
            if not await self._tell_project(fresh, where):
                self.say(f"{where} changed: no function changed")
            return
        for name in changes.added:
            if fresh.functions[name].vpc is None:
                project.functions[name] = fresh.functions[name]
                self.say(f"{where}: function {name} added")
        for name in changes.removed:
            del project.functions[name]
            await self.simulator.retire(name)
            self.say(f"{where}: function {name} removed; invoking it now answers ResourceNotFoundException")
        for name, keys in changes.changed.items():
            project.functions[name] = fresh.functions[name]
            await self.simulator.retire(name, version=LATEST)  # published versions keep their snapshot
            self.say(f"{where}: function {name} changed ({', '.join(keys)}): new invocations start fresh "
                     "environments")  # fmt: skip
        if changes.events:
            for name in changes.events:
                if name in project.functions and name in fresh.functions:
                    events = fresh.functions[name].events
                    project.functions[name] = project.functions[name].model_copy(update={"events": events})
            self._apply_mappings(where)
        if changes.needs_restart:
            self.say(f"{where}: {', '.join(changes.needs_restart)} changed: restart `lsim serve` to apply "
                     "(VPC networks, settings and limits are set when it starts)")  # fmt: skip
        await self._tell_project(fresh, where)
        self.roots = watched_roots(self.simulator)
        for root in self.roots:
            for file in self._files(root):
                self._stamps.setdefault(file, _stamp(file))
        self._schedule()
        self.reloads += 1

    async def _tell_project(self, fresh: ProjectConfig, where: str) -> bool:
        """Hand the project read again to `on_project`; whether it had something to say."""
        if self.on_project is None:
            return False
        lines = await self.on_project(fresh)
        for line in lines:
            self.say(f"{where}: {line}")
        return bool(lines)

    def _apply_mappings(self, where: str) -> None:
        """Bring the event source mappings to the project's declarations, one console line per change."""
        try:
            said = self.simulator.mappings.apply_declarations(declarations(self.simulator.project))
        except LsimError as error:
            self.say(f"{where}: the event source mappings stay as they were: {error}")
            return
        for line in said:
            self.say(f"{where}: {line}")

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
            files.extend(Path(directory, name) for name in names if not _ignored(Path(directory, name), root))
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
