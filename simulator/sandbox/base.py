"""The seam between lsim and what runs its execution environments: everything Docker lives behind it.

An execution environment (environment.py) owns the Runtime API side and the Lambda semantics; a sandbox
only runs the runtime process with the right limits and reports its output, memory and exit (start, wait,
stats, stop). A backend makes sandboxes and, when it has networks, the plumbing of lsim's VPCs
(`VpcPlumbing`: networks, resources, Hyperplane ENIs); it also removes what a killed lsim left. The
services above it (services/vpcs.py, simulator.py) ask for these in lsim's words, never Docker's.
"""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from ..vpc import Hyperplane, HyperplaneEni, PlacedResource, VpcConfig
    from .leftovers import Leftovers
    from .scratch import ScratchDisk

OutputSink = Callable[[bytes], None]


@dataclass(frozen=True)
class SandboxSpec:
    """Everything a backend needs to start one execution environment."""

    function_name: str
    runtime: str | None  # e.g. "python3.11"; None for a container-image function
    image: str | None  # the user's image, for a container-image function
    code_dir: Path | None  # mounted read-only at /var/task
    opt_dir: Path | None  # the merged layers, mounted read-only at /opt
    environment: dict[str, str]  # every variable but AWS_LAMBDA_RUNTIME_API
    memory_mb: int
    cpus: float  # the share of CPU for the invoke phase, already capped at the host's cores
    ephemeral_storage_mb: int
    network: str | None = None  # a Docker network, or container:<id> to join a Hyperplane ENI's namespace
    labels: dict[str, str] = field(default_factory=dict)
    attach_delay_s: float = 0.0  # a VPC attachment's cold-start cost, before the runtime starts
    architecture: str = "x86_64"  # Lambda's x86_64 or arm64: what the runtime runs on (emulated if not the host's)
    image_build: str | None = None  # how to build `image` when it is missing (a SAM template's Metadata)
    debugpy_dir: Path | None = None  # --debug-port: debugpy's folder; the runtime listens for a debugger
    #: the packages of the code's requirements.txt (dependencies.py): at /var/task beside the code, which wins
    dependencies_dir: Path | None = None


@dataclass(frozen=True)
class ExitStatus:
    """How the runtime process ended, in the words Lambda uses in `Runtime exited with error: ...`."""

    code: int | None = None
    signal: int | None = None
    oom_killed: bool = False

    def describe(self) -> str:
        if self.oom_killed:
            return "signal: killed"
        if self.signal is not None:
            return f"signal: {_SIGNAL_WORDS.get(self.signal, signal.Signals(self.signal).name.lower())}"
        return f"exit status {self.code}"


# The words Go's os.ProcessState uses, which is what Lambda prints.
_SIGNAL_WORDS: dict[int, str] = {
    signal.SIGKILL.value: "killed",
    signal.SIGTERM.value: "terminated",
    signal.SIGABRT.value: "aborted",
    signal.SIGSEGV.value: "segmentation fault",
    signal.SIGBUS.value: "bus error",
    signal.SIGINT.value: "interrupt",
}


class Sandbox(ABC):
    """One running runtime process with its limits."""

    #: time.monotonic() when the runtime process began: the start of Lambda's init phase
    started_at: float = 0.0
    #: resolved with the runtime's exit status by start()'s machinery (see wait())
    _exit: asyncio.Future[ExitStatus] | None = None

    @property
    def exited(self) -> bool:
        """The runtime process is known to have exited. No system call: this is on the warm path."""
        return self._exit is not None and self._exit.done()

    #: once started: the address the runtime's connections come from (None: the backend cannot tell, and
    #: anyone may connect), and for an address several sandboxes share, a check of whether a connection
    #: ((peer host, port), (local host, port)) is this sandbox's own
    runtime_address: str | None = None
    owns_connection: Callable[[tuple[str, int], tuple[str, int]], bool] | None = None
    #: with spec.debugpy_dir, once started: where this machine reaches the runtime's debugpy
    debug_address: tuple[str, int] | None = None

    @abstractmethod
    async def start(self, runtime_api: str, on_output: OutputSink) -> None:
        """Start the runtime with AWS_LAMBDA_RUNTIME_API=`runtime_api`; feed its stdout and stderr to
        `on_output` as they arrive. Returns once the process runs."""

    @abstractmethod
    async def wait(self) -> ExitStatus:
        """Resolve when the runtime process has exited."""

    async def fence(self) -> bool:
        """Resolve once every byte the runtime wrote before this call has gone to `on_output`, and nothing
        written after it; True when that holds, False when this sandbox cannot tell (the caller then waits
        for its output to go quiet)."""
        return False

    @abstractmethod
    def end_init_phase(self) -> None:
        """Init is over: apply the invoke phase's CPU share (init runs unthrottled, see the README)."""

    @abstractmethod
    def max_memory_used_mb(self) -> int:
        """The peak memory of the environment so far, in MB, as REPORT's Max Memory Used."""

    @abstractmethod
    async def stop(self) -> None:
        """Kill the runtime at once and free everything it held. Safe to call twice."""


class SandboxBackend(ABC):
    """Makes sandboxes; one per simulator."""

    name: str

    @abstractmethod
    async def prepare(self, spec: SandboxSpec, progress: Callable[[str], None] | None = None) -> None:
        """Make sure what `spec` needs exists (e.g. build the runtime image); slow only the first time."""

    @abstractmethod
    def runtime_api_host(self, spec: SandboxSpec) -> str:
        """The host address the Runtime API must listen on so this sandbox's runtime reaches it."""

    async def service_host(self) -> str:
        """The address of this machine where every sandbox outside a VPC reaches a server lsim runs for them
        (lsim's own API: AWS_ENDPOINT_URL_LAMBDA, _SQS). VPC functions reach it there too, through a NAT
        gateway, as they reach AWS's public endpoints."""
        return "127.0.0.1"

    @abstractmethod
    def create(self, spec: SandboxSpec, scratch: Path | None = None) -> Sandbox:
        """A sandbox for `spec`; `scratch` is a folder to mount as its /tmp (else a tmpfs)."""

    def adopt_project(self, project: str) -> None:
        """Mark what this backend makes as the project's (lifetime.project_id), so that the next lsim on
        the project can remove it should this process die."""
        return None

    def scratch_disk(self, spec: SandboxSpec) -> ScratchDisk | None:
        """A disk for an environment's /tmp that outlives its sandboxes, or None (a tmpfs then)."""
        return None

    def vpc_networks(self, progress: Callable[[str], None] | None = None) -> VpcPlumbing | None:
        """The plumbing of lsim's VPCs on this backend, or None when it has no networks to isolate a
        function with (the process backend)."""
        return None

    def remove_leftovers(self, project: str, state_folder: Path) -> Leftovers:
        """Remove what killed lsim processes left of `project` (never a live process's objects): their
        /tmp disks and staging folders, and on a backend with containers, those. Blocks."""
        from .leftovers import remove_dead

        return remove_dead(None, project, state_folder)

    @abstractmethod
    async def close(self) -> None:
        """Stop whatever this backend still has running."""

    def host_cpus(self) -> int:
        import os

        return os.cpu_count() or 1


class VpcPlumbing(ABC):
    """What lsim's VPCs are made of on a backend with networks (sandbox/network.py on Docker): a network per
    VPC, its resources at their addresses, and each Hyperplane ENI with the packet filter of its security
    groups, whose network namespace the execution environments of the functions sharing it join."""

    @abstractmethod
    async def prepare(self) -> None:
        """Make sure what ENIs are made from exists (their image): slow only the first time."""

    @abstractmethod
    async def create_vpc(self, vpc: VpcConfig) -> str:
        """The VPC's network; returns the VPC router's address on the host side, where the Runtime API of
        the VPC's environments listens."""

    @abstractmethod
    def gateway(self, vpc: str) -> str:
        """The address create_vpc returned for `vpc`."""

    @abstractmethod
    async def admit_runtime_api_ports(self, vpc: str, ports: Sequence[int]) -> None:
        """Let the VPC's ENIs reach these Runtime API ports of the host as well."""

    @abstractmethod
    async def create_resource(self, placed: PlacedResource, root: Path) -> str:
        """Start (or connect) one resource at its address; returns its id. `root`: where the paths of its
        volumes start (lsim.toml's folder)."""

    @abstractmethod
    async def create_eni(
        self,
        hyperplane: Hyperplane,
        eni: HyperplaneEni,
        runtime_api_ports: Sequence[int],
        nat: bool,
        public_api: tuple[str, int] | None = None,
    ) -> str:
        """Create the ENI with the packet filter of its security groups (`hyperplane` knows every member of
        the VPC), reaching of the host only `runtime_api_ports`, the internet only with `nat`, and then
        also lsim's API at `public_api` (host, port) as a public AWS endpoint; returns its id."""

    @abstractmethod
    def network_of(self, eni: str) -> str:
        """The network (SandboxSpec.network) of an execution environment that joins the ENI `eni`."""

    @abstractmethod
    async def close(self) -> None:
        """Remove every ENI, resource and network this plumbing made. Never raises."""
