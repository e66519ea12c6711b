"""What changed between two readings of a project file (`lsim serve --watch`): functions added, removed
or re-pointed (code, handler, runtime, memory, environment...), and what only a restart applies.

Pure comparison of two ProjectConfigs: no files, no Docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import FunctionConfig, ProjectConfig


@dataclass(frozen=True)
class ProjectChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # function -> the keys that changed
    needs_restart: list[str] = field(default_factory=list)  # what a running simulator cannot take in
    events: list[str] = field(default_factory=list)  # functions whose declared event source mappings changed

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.needs_restart or self.events)


def changed_keys(old: FunctionConfig, new: FunctionConfig) -> list[str]:
    """The function's settings that differ, named as lsim.toml names them."""
    before, after = old.model_dump(), new.model_dump()
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def compare_projects(old: ProjectConfig, new: ProjectConfig) -> ProjectChanges:
    """The changes from `old` to `new`. VPC networks and ENIs are made when the simulator starts, so a
    function that joins, leaves or moves between VPCs, [vpcs], [settings], [limits] and [queues] need a
    restart."""
    added = sorted(set(new.functions) - set(old.functions))
    removed = sorted(set(old.functions) - set(new.functions))
    changed: dict[str, list[str]] = {}
    restart: list[str] = []
    for name in sorted(set(old.functions) & set(new.functions)):
        keys = changed_keys(old.functions[name], new.functions[name])
        if "vpc" in keys:
            restart.append(f"functions.{name}.vpc")
        elif keys:
            changed[name] = keys
    restart += [f"functions.{name}.vpc" for name in added if new.functions[name].vpc is not None]
    for section in ("settings", "limits", "vpcs", "queues"):  # queues are declared when the simulator starts
        if getattr(old, section) != getattr(new, section):
            restart.append(section)
    events = sorted(  # event source mappings are resources of their own, not the function's settings
        name
        for name in set(old.functions) | set(new.functions)
        if (old.functions[name].events if name in old.functions else {})
        != (new.functions[name].events if name in new.functions else {})
    )
    return ProjectChanges(added, removed, changed, restart, events)
