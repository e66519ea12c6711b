"""lsim: a local AWS Lambda execution simulator.

The public surface is small on purpose: load a project, start a Simulator (async) or a
BlockingSimulator (sync), invoke, read the InvocationResult.
"""

from .blocking import BlockingSimulator
from .config import FunctionConfig, Limits, ProjectConfig
from .errors import LambdaError, LsimError
from .invocation import InvocationResult, Report
from .project import load_project
from .simulator import Simulator

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
