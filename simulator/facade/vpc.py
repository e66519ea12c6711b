"""The VPC side of the Simulator facade (issue 8): function states while Hyperplane ENIs are created, the
409 / 502 answers Invoke gives meanwhile, and the network an execution environment joins.

When the simulator starts, every function with a `vpc` gets its ENIs, as a function does on AWS when it is
created: the allocation (vpc.py) is immediate, the Docker work (sandbox/network.py) runs in the background
while the function is `Pending` (`Creating`), at least `eni_creation_delay_s`; then it is `Active`, or
`Failed` with AWS's StateReasonCode. The process backend has no networks: a VPC function is refused there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import FunctionConfig, ProjectConfig
from ..errors import LambdaError, LsimError, ResourceConflictException, ServiceException, VpcUnavailableError
from ..vpc import Attachment, AttachmentFailed, EniKey, Hyperplane, HyperplaneEni, PlacedResource, SubnetUsage

if TYPE_CHECKING:
    from ..runtime_api import RuntimeApiServer
    from ..sandbox import SandboxBackend
    from ..sandbox.network import VpcNetworks

#: Runtime API ports lsim reserves per VPC up front; it doubles them (one exec per ENI) when all are taken.
RUNTIME_API_PORTS_PER_VPC = 16
#: Invoke's answer while the function is Pending (AWS's words)
PENDING_MESSAGE = (
    "The operation cannot be performed at this time. The function is currently in the following state: Pending"
)


@dataclass
class FunctionVpcState:
    """A VPC function's State, StateReasonCode and StateReason, and the error Invoke gives while Failed."""

    state: str  # Pending | Active | Failed
    reason_code: str | None = None
    reason: str | None = None
    error: LambdaError | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def as_tuple(self) -> tuple[str, str | None, str | None]:
        return (self.state, self.reason_code, self.reason)


@dataclass(frozen=True)
class EniDescription:
    eni_id: str
    subnet: str
    security_groups: tuple[str, ...]
    ip: str
    functions: tuple[str, ...]
    status: str  # planned | creating | in-use | failed
    container: str | None


@dataclass(frozen=True)
class VpcDescription:
    """What `lsim vpc show` prints for one VPC."""

    name: str
    cidr: str
    subnets: tuple[SubnetUsage, ...]
    enis: tuple[EniDescription, ...]
    resources: tuple[PlacedResource, ...]
    failed: tuple[tuple[str, str, str], ...]  # (function, StateReasonCode, StateReason)


class _VpcRuntime:
    """Per-simulator VPC state, made on first use (the facade's __init__ is not this module's)."""

    def __init__(self, project: ProjectConfig) -> None:
        self.hyperplane = Hyperplane(project.vpcs, eni_quota=project.limits.enis_per_vpc)
        self.outcomes: dict[str, Attachment | AttachmentFailed] = {}
        self.states: dict[str, FunctionVpcState] = {}
        self.networks: VpcNetworks | None = None
        self.eni_tasks: dict[EniKey, asyncio.Task[str]] = {}
        self.eni_containers: dict[EniKey, str] = {}
        self.eni_failed: set[EniKey] = set()
        self.setup: asyncio.Task[None] | None = None
        self.started = False
        self.unavailable: str | None = None
        for name in sorted(project.functions):
            self.plan(project.functions[name])

    def plan(self, function: FunctionConfig) -> Attachment | AttachmentFailed | None:
        if function.vpc is None:
            return None
        if function.name not in self.outcomes:
            try:
                self.outcomes[function.name] = self.hyperplane.attach(function.name, function.vpc)
            except AttachmentFailed as failure:
                self.outcomes[function.name] = failure
        return self.outcomes[function.name]


class VpcOperations:
    """VPC functions on the facade: `vpc_state`, `wait_function_active`, `describe_vpcs`, and the hooks the
    Simulator calls (`_start_vpcs`, `_close_vpcs`, `_check_vpc_invocable`, `vpc_network`)."""

    project: ProjectConfig
    backend: SandboxBackend | None
    runtime_api: RuntimeApiServer
    warn: Callable[[str], None]
    progress: Callable[[str], None] | None

    @property
    def _vpc(self) -> _VpcRuntime:
        runtime: _VpcRuntime | None = self.__dict__.get("_vpc_runtime")
        if runtime is None:
            runtime = self.__dict__["_vpc_runtime"] = _VpcRuntime(self.project)
        return runtime

    # -- what Lambda's API reports ------------------------------------------------------------------------
    def vpc_state(self, function_name: str) -> tuple[str, str | None, str | None] | None:
        """(State, StateReasonCode, StateReason) of a function in a VPC; None for a function without one.
        Before the simulator starts: Active, or Failed when its ENIs cannot be allocated."""
        function = self.project.functions.get(function_name)
        if function is None or function.vpc is None:
            return None
        runtime = self._vpc
        state = runtime.states.get(function_name)
        if state is not None:
            return state.as_tuple()
        outcome = runtime.plan(function)
        if isinstance(outcome, AttachmentFailed):
            return ("Failed", outcome.reason_code, outcome.reason)
        return ("Active", None, None)

    async def wait_function_active(
        self, function_name: str, timeout_s: float | None = None
    ) -> tuple[str, str | None, str | None] | None:
        """Wait until a VPC function leaves Pending (what `aws lambda wait function-active-v2` does); returns
        its vpc_state. `function_name` may be a name, name:qualifier or ARN."""
        simulator: Any = self
        try:
            function_name = simulator.resolve(function_name)[0].name
        except LsimError:  # the invocation that follows reports it
            return None
        state = self._vpc.states.get(function_name)
        if state is not None:
            await asyncio.wait_for(state.settled.wait(), timeout_s)
        return self.vpc_state(function_name)

    def describe_vpcs(self) -> list[VpcDescription]:
        """Each VPC: subnets with used and free addresses, Hyperplane ENIs with the functions sharing them,
        resources, and the functions that could not get ENIs."""
        runtime = self._vpc
        hyperplane = runtime.hyperplane
        described = []
        for vpc in self.project.vpcs.values():
            enis = tuple(self._describe_eni(eni) for eni in hyperplane.enis(vpc.name))
            failed = tuple(
                (name, outcome.reason_code, outcome.reason)
                for name, outcome in sorted(runtime.outcomes.items())
                if isinstance(outcome, AttachmentFailed) and self._vpc_of_function(name) in (vpc.name, None)
            )
            described.append(
                VpcDescription(
                    name=vpc.name,
                    cidr=vpc.cidr,
                    subnets=tuple(u for u in hyperplane.subnet_usage() if u.vpc == vpc.name),
                    enis=enis,
                    resources=tuple(hyperplane.resources(vpc.name)),
                    failed=failed,
                )
            )
        return described

    def _describe_eni(self, eni: HyperplaneEni) -> EniDescription:
        runtime = self._vpc
        task = runtime.eni_tasks.get(eni.key)
        if eni.key in runtime.eni_failed:
            status = "failed"
        elif eni.key in runtime.eni_containers:
            status = "in-use"
        elif task is not None or (runtime.started and runtime.unavailable is None):
            status = "creating"
        else:
            status = "planned"
        return EniDescription(
            eni_id=eni.eni_id,
            subnet=eni.key.subnet,
            security_groups=eni.key.security_groups,
            ip=str(eni.ip),
            functions=tuple(eni.functions),
            status=status,
            container=runtime.eni_containers.get(eni.key),
        )

    def _vpc_of_function(self, name: str) -> str | None:
        function = self.project.functions.get(name)
        if function is None or function.vpc is None:
            return None
        for vpc in self.project.vpcs.values():
            if any(vpc.subnet(s) for s in function.vpc.subnets):
                return vpc.name
        return None

    # -- hooks of the invoke path ---------------------------------------------------------------------------
    def _check_vpc_invocable(self, function: FunctionConfig) -> None:
        """409 ResourceConflictException while Pending, the 502 of its StateReasonCode while Failed, and a
        clear refusal on a backend without networks."""
        if function.vpc is None:
            return
        runtime = self._vpc
        if runtime.unavailable is not None:
            raise VpcUnavailableError(runtime.unavailable)
        state = runtime.states.get(function.name)
        if state is None:  # not started, or a function the simulator did not know at start
            return
        if state.state == "Pending":
            raise ResourceConflictException(PENDING_MESSAGE)
        if state.state == "Failed" and state.error is not None:
            raise state.error

    def vpc_network(self, function: FunctionConfig) -> str | None:
        """The network mode of the function's execution environments: its ENI's namespace (the ENI in the
        first subnet it lists), or None for a function without a VPC."""
        if function.vpc is None:
            return None
        self._check_vpc_invocable(function)
        outcome = self._vpc.outcomes.get(function.name)
        if not isinstance(outcome, Attachment):
            raise ServiceException(f"{function.name} has no Hyperplane ENI: the simulator has not started")
        container = self._vpc.eni_containers.get(outcome.enis[0].key)
        if container is None:
            raise ResourceConflictException(PENDING_MESSAGE)
        return f"container:{container}"

    def vpc_cold_start_s(self, function: FunctionConfig) -> float:
        """The configured cost of attaching a new execution environment to the VPC (`vpc_cold_start_ms`)."""
        return self.project.limits.vpc_cold_start_ms / 1000 if function.vpc is not None else 0.0

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def _start_vpcs(self) -> None:
        """Allocate every VPC function's ENIs now and create them in the background."""
        runtime = self._vpc
        functions = [f for _, f in sorted(self.project.functions.items()) if f.vpc is not None]
        if not functions and not self.project.vpcs:
            return
        from ..sandbox.docker import DockerBackend

        if not isinstance(self.backend, DockerBackend):
            names = ", ".join(f.name for f in functions)
            runtime.unavailable = (
                f"function(s) {names} are attached to a VPC, which needs Docker networks: the "
                f"{getattr(self.backend, 'name', 'process')} backend cannot isolate a function's network. Run "
                "with --backend docker (start a Docker engine), or remove `vpc` from the function."
            )
            if functions:
                self.warn(f"warning: {runtime.unavailable}")
            return
        runtime.started = True
        for function in functions:
            outcome = runtime.plan(function)
            if isinstance(outcome, AttachmentFailed):
                runtime.states[function.name] = _failed(outcome.reason_code, outcome.reason, outcome.error())
            else:
                runtime.states[function.name] = FunctionVpcState(
                    "Pending", "Creating", "The function is being created."
                )
        runtime.setup = asyncio.create_task(self._set_up_vpcs(self.backend))

    async def _set_up_vpcs(self, backend: Any) -> None:
        from ..sandbox.network import VpcNetworks
        from ..sandbox.vpc_image import ensure_vpc_image

        runtime = self._vpc
        networks = runtime.networks = VpcNetworks(backend.client, backend.session, backend.labels())
        try:
            image = await backend.call(ensure_vpc_image, backend.client, progress=self.progress)
            for vpc in self.project.vpcs.values():
                gateway = await backend.call(networks.create_vpc, vpc)
                await self._reserve_runtime_api_ports(backend, vpc.name, gateway)
        except Exception as error:
            self.warn(f"warning: lsim could not set up the VPCs: {error}")
            self._settle_all(_internal_failure(error))
            return
        for placed in runtime.hyperplane.resources():
            try:
                await backend.call(networks.create_resource, placed, self.project.root)
            except Exception as error:  # the functions can still run; they will not reach this resource
                self.warn(f"warning: VPC {placed.vpc}: resource {placed.config.name} did not start: {error}")
        for eni in runtime.hyperplane.enis():
            runtime.eni_tasks[eni.key] = asyncio.create_task(self._create_eni(backend, image, eni))
        await asyncio.gather(
            *(self._settle(name) for name, state in runtime.states.items() if state.state == "Pending"),
            return_exceptions=True,
        )

    async def _reserve_runtime_api_ports(self, backend: Any, vpc: str, gateway: str) -> None:
        """The Runtime API ports of the VPC's environments, reserved now so that the ENIs' packet filters can
        admit exactly those of the host (network.filter_rules); more are reserved, and admitted, if needed."""
        runtime = self._vpc
        assert runtime.networks is not None
        networks = runtime.networks

        async def admit(ports: list[int]) -> None:
            await backend.call(networks.admit_runtime_api_ports, vpc, ports)

        await self.runtime_api.reserve(gateway, RUNTIME_API_PORTS_PER_VPC, admit)

    async def _create_eni(self, backend: Any, image: str, eni: HyperplaneEni) -> str:
        from ..sandbox.network import filter_rules, host_addresses

        runtime = self._vpc
        assert runtime.networks is not None
        networks = runtime.networks
        vpc = self.project.vpcs[eni.key.vpc]
        subnet = vpc.subnet(eni.key.subnet)
        nat = bool(subnet and subnet.nat)
        if nat:  # its gateway is one of the host's addresses the ENI must not reach
            await backend.call(networks.ensure_internet)
        gateway = networks.gateway(vpc.name)
        ports = self.runtime_api.reserved(gateway)
        rules = filter_rules(runtime.hyperplane, eni, gateway, ports, await backend.call(host_addresses), nat)
        try:
            container, _ = await asyncio.gather(
                backend.call(networks.create_eni, image, eni, rules, nat),
                asyncio.sleep(self.project.limits.eni_creation_delay_s),
            )
        except Exception:
            runtime.eni_failed.add(eni.key)
            raise
        runtime.eni_containers[eni.key] = container
        return str(container)

    async def _settle(self, function_name: str) -> None:
        """Active once all the function's ENIs exist; Failed (InternalError) if lsim could not make one."""
        runtime = self._vpc
        outcome = runtime.outcomes[function_name]
        assert isinstance(outcome, Attachment)
        state = runtime.states[function_name]
        try:
            await asyncio.gather(*(runtime.eni_tasks[eni.key] for eni in outcome.enis))
        except Exception as error:
            self.warn(f"warning: {function_name}: lsim could not create its Hyperplane ENI: {error}")
            failed = _internal_failure(error)
            state.state, state.reason_code, state.reason, state.error = (
                failed.state,
                failed.reason_code,
                failed.reason,
                failed.error,
            )
        else:
            state.state, state.reason_code, state.reason, state.error = ("Active", None, None, None)
        state.settled.set()

    def _settle_all(self, failed: FunctionVpcState) -> None:
        for state in self._vpc.states.values():
            if state.state == "Pending":
                state.state, state.reason_code, state.reason, state.error = (
                    failed.state,
                    failed.reason_code,
                    failed.reason,
                    failed.error,
                )
                state.settled.set()

    async def _close_vpcs(self) -> None:
        """Remove the ENIs, resources and networks this simulator created (the execution environments that
        joined the ENIs are gone by now)."""
        runtime = self.__dict__.get("_vpc_runtime")
        if runtime is None or runtime.networks is None:
            return
        tasks = [t for t in (runtime.setup, *runtime.eni_tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        networks = runtime.networks
        backend = self.backend
        if backend is not None and hasattr(backend, "call"):
            with contextlib.suppress(Exception):
                await backend.call(networks.close)
        else:
            await asyncio.to_thread(networks.close)
        runtime.eni_containers.clear()


def _failed(reason_code: str, reason: str, error: LambdaError) -> FunctionVpcState:
    state = FunctionVpcState("Failed", reason_code, reason, error)
    state.settled.set()
    return state


def _internal_failure(error: BaseException) -> FunctionVpcState:
    reason = f"lsim could not create the function's Hyperplane ENI: {error}"
    return _failed("InternalError", reason, ServiceException(reason))
