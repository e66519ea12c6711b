"""Functions in a VPC: their states while Hyperplane ENIs are made, Invoke's answers meanwhile, and the
network an execution environment joins.

When the simulator starts, every function with a `vpc` gets its ENIs, as a function does on AWS when it is
created: the allocation (vpc.py) is immediate, the plumbing (the backend's VpcPlumbing, sandbox/network.py on
Docker) runs in the background while the function is `Pending` (`Creating`), at least
`eni_creation_delay_s`; then it is `Active`, or `Failed` with AWS's StateReasonCode. A backend without
networks (the process backend) cannot isolate a function: a VPC function is refused there, clearly.
This service speaks of VPCs, subnets and ENIs only; what they are made of is the sandbox seam's business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ..config import FunctionConfig, ProjectConfig
from ..errors import LambdaError, LsimError, ResourceConflictException, ServiceException, VpcUnavailableError
from ..runtime_api import RuntimeApiServer
from ..sandbox import SandboxBackend
from ..sandbox.base import VpcPlumbing
from ..vpc import Attachment, AttachmentFailed, EniKey, Hyperplane, HyperplaneEni, PlacedResource, SubnetUsage
from .lookup import FunctionLookup

#: Runtime API ports lsim reserves per VPC up front; it doubles them (one exec per ENI) when all are taken.
RUNTIME_API_PORTS_PER_VPC = 16
#: Invoke's answer while the function is Pending (AWS's words)
PENDING_MESSAGE = (
    "The operation cannot be performed at this time. The function is currently in the following state: Pending"
)

VpcState = tuple[str, str | None, str | None]  # (State, StateReasonCode, StateReason)


@dataclass
class FunctionVpcState:
    """A VPC function's State, StateReasonCode and StateReason, and the error Invoke gives while Failed."""

    state: str  # Pending | Active | Failed
    reason_code: str | None = None
    reason: str | None = None
    error: LambdaError | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def as_tuple(self) -> VpcState:
        return (self.state, self.reason_code, self.reason)

    def become(self, other: FunctionVpcState) -> None:
        self.state, self.reason_code, self.reason, self.error = (
            other.state,
            other.reason_code,
            other.reason,
            other.error,
        )
        self.settled.set()


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


class VpcService:
    """The project's VPCs: ENIs allocated for every VPC function (at once, for what Lambda's API reports),
    created when the simulator starts on a backend with networks, removed when it closes."""

    def __init__(
        self,
        project: ProjectConfig,
        lookup: FunctionLookup,
        runtime_api: RuntimeApiServer,
        warn: Callable[[str], None],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.project = project
        self.lookup = lookup
        self.runtime_api = runtime_api
        self.warn = warn
        self.progress = progress
        self.hyperplane = Hyperplane(project.vpcs, eni_quota=project.limits.enis_per_vpc)
        self._outcomes: dict[str, Attachment | AttachmentFailed] = {}
        self._states: dict[str, FunctionVpcState] = {}
        self._plumbing: VpcPlumbing | None = None
        self._eni_tasks: dict[EniKey, asyncio.Task[str]] = {}
        self._eni_ids: dict[EniKey, str] = {}  # the plumbing's id of each ENI created
        self._eni_failed: set[EniKey] = set()
        self._setup: asyncio.Task[None] | None = None
        self._started = False
        self._unavailable: str | None = None
        # lsim's API as (host, port), started on demand (the Simulator sets it): behind a NAT gateway a VPC
        # function reaches it as AWS's public endpoints; None: it has none
        self.public_api: Callable[[], Awaitable[tuple[str, int] | None]] | None = None
        for name in sorted(project.functions):
            self._plan(project.functions[name])

    def _plan(self, function: FunctionConfig) -> Attachment | AttachmentFailed | None:
        if function.vpc is None:
            return None
        if function.name not in self._outcomes:
            try:
                self._outcomes[function.name] = self.hyperplane.attach(function.name, function.vpc)
            except AttachmentFailed as failure:
                self._outcomes[function.name] = failure
        return self._outcomes[function.name]

    # -- what Lambda's API reports ------------------------------------------------------------------------
    def vpc_state(self, function_name: str) -> VpcState | None:
        """(State, StateReasonCode, StateReason) of a function in a VPC; None for a function without one.
        Before the simulator starts: Active, or Failed when its ENIs cannot be allocated."""
        function = self.project.functions.get(function_name)
        if function is None or function.vpc is None:
            return None
        state = self._states.get(function_name)
        if state is not None:
            return state.as_tuple()
        outcome = self._plan(function)
        if isinstance(outcome, AttachmentFailed):
            return ("Failed", outcome.reason_code, outcome.reason)
        return ("Active", None, None)

    async def wait_function_active(self, function_name: str, timeout_s: float | None = None) -> VpcState | None:
        """Wait until a VPC function leaves Pending (what `aws lambda wait function-active-v2` does); returns
        its vpc_state. `function_name` may be a name, name:qualifier or ARN."""
        try:
            function_name = self.lookup.resolve(function_name)[0].name
        except LsimError:  # the invocation that follows reports it
            return None
        state = self._states.get(function_name)
        if state is not None:
            await asyncio.wait_for(state.settled.wait(), timeout_s)
        return self.vpc_state(function_name)

    def describe_vpcs(self) -> list[VpcDescription]:
        """Each VPC: subnets with used and free addresses, Hyperplane ENIs with the functions sharing them,
        resources, and the functions that could not get ENIs."""
        hyperplane = self.hyperplane
        described = []
        for vpc in self.project.vpcs.values():
            enis = tuple(self._describe_eni(eni) for eni in hyperplane.enis(vpc.name))
            failed = tuple(
                (name, outcome.reason_code, outcome.reason)
                for name, outcome in sorted(self._outcomes.items())
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
        if eni.key in self._eni_failed:
            status = "failed"
        elif eni.key in self._eni_ids:
            status = "in-use"
        elif eni.key in self._eni_tasks or (self._started and self._unavailable is None):
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
            container=self._eni_ids.get(eni.key),
        )

    def _vpc_of_function(self, name: str) -> str | None:
        function = self.project.functions.get(name)
        if function is None or function.vpc is None:
            return None
        for vpc in self.project.vpcs.values():
            if any(vpc.subnet(s) for s in function.vpc.subnets):
                return vpc.name
        return None

    # -- what the invocation path asks ----------------------------------------------------------------------
    def check_invocable(self, function: FunctionConfig) -> None:
        """409 ResourceConflictException while Pending, the 502 of its StateReasonCode while Failed, and a
        clear refusal on a backend without networks."""
        if function.vpc is None:
            return
        if self._unavailable is not None:
            raise VpcUnavailableError(self._unavailable)
        state = self._states.get(function.name)
        if state is None:  # not started, or a function the simulator did not know at start
            return
        if state.state == "Pending":
            raise ResourceConflictException(PENDING_MESSAGE)
        if state.state == "Failed" and state.error is not None:
            raise state.error

    def network(self, function: FunctionConfig) -> str | None:
        """The network of the function's execution environments: its ENI's (the ENI in the first subnet it
        lists), or None for a function without a VPC."""
        if function.vpc is None:
            return None
        self.check_invocable(function)
        outcome = self._outcomes.get(function.name)
        if not isinstance(outcome, Attachment):
            raise ServiceException(f"{function.name} has no Hyperplane ENI: the simulator has not started")
        eni = self._eni_ids.get(outcome.enis[0].key)
        if eni is None or self._plumbing is None:
            raise ResourceConflictException(PENDING_MESSAGE)
        return self._plumbing.network_of(eni)

    def cold_start_s(self, function: FunctionConfig) -> float:
        """The configured cost of attaching a new execution environment to the VPC (`vpc_cold_start_ms`)."""
        return self.project.limits.vpc_cold_start_ms / 1000 if function.vpc is not None else 0.0

    # -- life cycle -----------------------------------------------------------------------------------------
    async def start(self, backend: SandboxBackend) -> None:
        """Allocate every VPC function's ENIs now and create them in the background."""
        functions = [f for _, f in sorted(self.project.functions.items()) if f.vpc is not None]
        if not functions and not self.project.vpcs:
            return
        plumbing = backend.vpc_networks(self.progress)
        if plumbing is None:
            names = ", ".join(f.name for f in functions)
            self._unavailable = (
                f"function(s) {names} are attached to a VPC, which needs Docker networks: the "
                f"{backend.name} backend cannot isolate a function's network. Run "
                "with --backend docker (start a Docker engine), or remove `vpc` from the function."
            )
            if functions:
                self.warn(f"warning: {self._unavailable}")
            return
        self._plumbing = plumbing
        self._started = True
        for function in functions:
            outcome = self._plan(function)
            if isinstance(outcome, AttachmentFailed):
                self._states[function.name] = _failed(outcome.reason_code, outcome.reason, outcome.error())
            else:
                self._states[function.name] = FunctionVpcState("Pending", "Creating", "The function is being created.")
        self._setup = asyncio.create_task(self._set_up(plumbing))

    async def _set_up(self, plumbing: VpcPlumbing) -> None:
        try:
            await plumbing.prepare()
            for vpc in self.project.vpcs.values():
                gateway = await plumbing.create_vpc(vpc)
                await self._reserve_runtime_api_ports(plumbing, vpc.name, gateway)
        except Exception as error:
            self.warn(f"warning: lsim could not set up the VPCs: {error}")
            self._settle_all(_internal_failure(error))
            return
        for placed in self.hyperplane.resources():
            try:
                await plumbing.create_resource(placed, self.project.root)
            except Exception as error:  # the functions can still run; they will not reach this resource
                self.warn(f"warning: VPC {placed.vpc}: resource {placed.config.name} did not start: {error}")
        for eni in self.hyperplane.enis():
            self._eni_tasks[eni.key] = asyncio.create_task(self._create_eni(plumbing, eni))
        await asyncio.gather(
            *(self._settle(name) for name, state in self._states.items() if state.state == "Pending"),
            return_exceptions=True,
        )

    async def _reserve_runtime_api_ports(self, plumbing: VpcPlumbing, vpc: str, gateway: str) -> None:
        """The Runtime API ports of the VPC's environments, reserved now so that the ENIs' packet filters can
        admit exactly those of the host; more are reserved, and admitted, if needed."""

        async def admit(ports: Sequence[int]) -> None:
            await plumbing.admit_runtime_api_ports(vpc, ports)

        await self.runtime_api.reserve(gateway, RUNTIME_API_PORTS_PER_VPC, admit)

    async def _create_eni(self, plumbing: VpcPlumbing, eni: HyperplaneEni) -> str:
        vpc = self.project.vpcs[eni.key.vpc]
        subnet = vpc.subnet(eni.key.subnet)
        nat = bool(subnet and subnet.nat)
        ports = self.runtime_api.reserved(plumbing.gateway(vpc.name))
        try:
            public_api = await self.public_api() if nat and self.public_api is not None else None
            eni_id, _ = await asyncio.gather(
                plumbing.create_eni(self.hyperplane, eni, ports, nat, public_api),
                asyncio.sleep(self.project.limits.eni_creation_delay_s),
            )
        except Exception:
            self._eni_failed.add(eni.key)
            raise
        self._eni_ids[eni.key] = eni_id
        return str(eni_id)

    async def _settle(self, function_name: str) -> None:
        """Active once all the function's ENIs exist; Failed (InternalError) if lsim could not make one."""
        outcome = self._outcomes[function_name]
        assert isinstance(outcome, Attachment)
        state = self._states[function_name]
        try:
            await asyncio.gather(*(self._eni_tasks[eni.key] for eni in outcome.enis))
        except Exception as error:
            self.warn(f"warning: {function_name}: lsim could not create its Hyperplane ENI: {error}")
            state.become(_internal_failure(error))
        else:
            state.become(FunctionVpcState("Active"))

    def _settle_all(self, failed: FunctionVpcState) -> None:
        for state in self._states.values():
            if state.state == "Pending":
                state.become(failed)

    async def close(self) -> None:
        """Remove the ENIs, resources and networks this simulator created (the execution environments that
        joined the ENIs are gone by now)."""
        if self._plumbing is None:
            return
        tasks = [t for t in (self._setup, *self._eni_tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._plumbing.close()
        self._eni_ids.clear()


def _failed(reason_code: str, reason: str, error: LambdaError) -> FunctionVpcState:
    state = FunctionVpcState("Failed", reason_code, reason, error)
    state.settled.set()
    return state


def _internal_failure(error: BaseException) -> FunctionVpcState:
    reason = f"lsim could not create the function's Hyperplane ENI: {error}"
    return _failed("InternalError", reason, ServiceException(reason))
