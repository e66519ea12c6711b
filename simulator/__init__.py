"""lsim: a local AWS Lambda execution simulator.

The public surface is small on purpose: load a project, start a Simulator (async) or a
BlockingSimulator (sync), invoke, read the InvocationResult.

The names are imported on first use (PEP 562): importing any module of the package runs this file
first, and `lsim generate-event` or `lsim --help` should not pay for pydantic, aiohttp and Docker's client
to print a few lines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .blocking import BlockingSimulator
    from .config import FunctionConfig, Limits, ProjectConfig
    from .errors import LambdaError, LsimError
    from .invocation import InvocationResult, Report
    from .project import load_project
    from .simulator import Simulator

#: Each public name and the module that defines it.
_EXPORTS = {
    "BlockingSimulator": "blocking",
    "FunctionConfig": "config",
    "InvocationResult": "invocation",
    "LambdaError": "errors",
    "Limits": "config",
    "LsimError": "errors",
    "ProjectConfig": "config",
    "Report": "invocation",
    "Simulator": "simulator",
    "load_project": "project",
}

__all__ = [
    "BlockingSimulator",
    "FunctionConfig",
    "InvocationResult",
    "LambdaError",
    "Limits",
    "LsimError",
    "ProjectConfig",
    "Report",
    "Simulator",
    "load_project",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
