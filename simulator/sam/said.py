"""A template's warnings, said once per change of the template: every `lsim` command reads the template, and
repeating the same twenty lines before each answer buries the answer.

The digest of what the warnings depend on (every template read, the overrides, the warnings themselves) is
kept in `.lsim/template-warnings-<template>`; when it is the same as last time the warnings are not said again. A
changed template, other --parameter-overrides or another warning says them all again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..store import STATE_FOLDER
from .notes import Warn

DIGEST_FILE = "template-warnings"


def digest(templates: Iterable[Path], overrides: Mapping[str, str], warnings: Iterable[str]) -> str:
    sha = hashlib.sha256()
    for path in templates:
        sha.update(str(path).encode() + b"\0")
        with contextlib.suppress(OSError):
            sha.update(path.read_bytes())
        sha.update(b"\0")
    for key, value in sorted(overrides.items()):
        sha.update(f"{key}={value}\0".encode())
    for warning in warnings:
        sha.update(warning.encode() + b"\0")
    return sha.hexdigest()


def say_once(
    root: Path, templates: Iterable[Path], overrides: Mapping[str, str], warnings: list[str], warn: Warn
) -> None:
    """Say `warnings` unless the same template said the same ones last time; remember what was said."""
    if not warnings:
        return
    templates = list(templates)
    current = digest(templates, overrides, warnings)
    # one per root template: two templates used in turn in one folder each say their warnings once
    which = hashlib.sha256(str(templates[0] if templates else root).encode()).hexdigest()[:12]
    remembered = root / STATE_FOLDER / f"{DIGEST_FILE}-{which}"
    try:
        if remembered.read_text(encoding="utf-8").strip() == current:
            return
    except OSError:
        pass
    for warning in warnings:
        warn(warning)
    with contextlib.suppress(OSError):  # a read-only project still runs; it says its warnings every time
        remembered.parent.mkdir(parents=True, exist_ok=True)
        partial = remembered.with_suffix(".partial")
        partial.write_text(current + "\n", encoding="utf-8")
        partial.replace(remembered)
