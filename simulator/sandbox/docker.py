"""Execution environments as Docker containers, limited the way Lambda limits them.

Each container: the runtime image of its runtime (or the user's image), the code read-only at /var/task,
the merged layers read-only at /opt, a read-only root file system with /tmp as the only writable path,
user 993 (Lambda's sbx_user1051), no capabilities, memory = MemorySize with no swap, and a CPU share in
proportion to memory. https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html

docker-py is synchronous, so its calls run on a private thread pool; each container's output is read
by one thread of its own and handed to the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DockerUnavailableError
from ..lifetime import current_owner
from . import labels as lsim_labels
from .base import ExitStatus, OutputSink, Sandbox, SandboxBackend, SandboxSpec, VpcPlumbing
from .engine import connect, ignoring_docker_errors, list_containers
from .fence import STREAMS, MarkScanner, new_mark, write_mark
from .scratch import ScratchDisk
from .sockets import owner_check
from .task_root import task_mounts

if TYPE_CHECKING:
    from .leftovers import Leftovers

NETWORK = "lsim"
DEBUGPY_PORT = 5678  # where debugpy listens inside the container (debugging.py relays the IDE to it)
# How long a fence's marks may take to come back out of the container: a bound, never reached while the
# engine works (they take a millisecond or two); past it the caller goes on without the fence.
FENCE_WAIT_S = 2.0
CPU_PERIOD_US = 100_000
LAMBDA_USER = "993:990"  # sbx_user1051, the user Lambda runs functions as


class DockerBackend(SandboxBackend):
    name = "docker"

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        self.warn = warn
        self._scratch_warned = False
        self.client = connect(max_pool_size=64, timeout=120)
        self.session = uuid.uuid4().hex[:12]
        self.owner = current_owner()
        self.project = ""  # lifetime.project_id, once a simulator adopts this backend for its project
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lsim-docker")
        self._images: dict[str, str] = {}
        self._gateways: dict[str, str] = {}
        self._namespace_addresses: dict[str, str] = {}  # container:<eni> -> the ENI's address
        self._shared_warned = False
        self._fence_warned = False
        self._sandboxes: set[DockerSandbox] = set()

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def prepare(self, spec: SandboxSpec, progress: Callable[[str], None] | None = None) -> None:
        key = _image_key(spec)
        if key not in self._images:
            from .images import function_image

            self._images[key] = await self.call(function_image, self.client, spec, progress)
            if self.warn is not None:
                from .emulation import emulation_note

                note = emulation_note(spec.architecture)
                if note:
                    self.warn(f"note: {spec.function_name}: {note}")
        network = spec.network or NETWORK
        if network not in self._gateways:
            self._gateways[network] = await self.call(self._ensure_network, network)

    def image_for(self, spec: SandboxSpec) -> str:
        return self._images[_image_key(spec)]

    def _ensure_network(self, name: str) -> str:
        """The gateway address of `name`, creating lsim's own bridge network on first use."""
        if name.startswith("container:"):  # a Hyperplane ENI's namespace: its label names the address (network.py)
            eni = self.client.api.inspect_container(name.removeprefix("container:"))
            labels = eni["Config"]["Labels"] or {}
            if lsim_labels.RUNTIME_API_HOST in labels:
                host = str(labels[lsim_labels.RUNTIME_API_HOST])
                for settings in (eni["NetworkSettings"].get("Networks") or {}).values():
                    if settings.get("Gateway") == host:  # the ENI's address: where its environments connect from
                        self._namespace_addresses[name] = str(settings["IPAddress"])
                return host
            raise DockerUnavailableError(f"{name} is not one of lsim's Hyperplane ENI containers")
        networks = self.client.networks.list(names=[name])
        network = next((n for n in networks if n.name == name), None)
        if network is None and name == NETWORK:
            with ignoring_docker_errors():  # another process created it meanwhile
                network = self.client.networks.create(name, driver="bridge", labels={lsim_labels.MANAGED: "1"})
            if network is None:
                network = self.client.networks.get(name)
        if network is None:
            raise DockerUnavailableError(f"Docker network {name!r} does not exist")
        network.reload()
        for config in network.attrs.get("IPAM", {}).get("Config") or []:
            if config.get("Gateway"):
                return str(config["Gateway"])
        raise DockerUnavailableError(f"Docker network {name!r} has no gateway address")

    def runtime_api_host(self, spec: SandboxSpec) -> str:
        return self._gateways[spec.network or NETWORK]

    async def service_host(self) -> str:
        """The gateway of lsim's bridge network: the host, as every container outside a VPC reaches it."""
        if NETWORK not in self._gateways:
            self._gateways[NETWORK] = await self.call(self._ensure_network, NETWORK)
        return self._gateways[NETWORK]

    def create(self, spec: SandboxSpec, scratch: Path | None = None) -> Sandbox:
        sandbox = DockerSandbox(self, spec, scratch)
        self._sandboxes.add(sandbox)
        return sandbox

    def adopt_project(self, project: str) -> None:
        self.project = project

    def labels(self) -> dict[str, str]:
        """What every object this backend makes carries: project, owner process, session (labels.py)."""
        return lsim_labels.owned(self.project, self.owner, self.session)

    def scratch_disk(self, spec: SandboxSpec) -> ScratchDisk | None:
        try:
            return ScratchDisk.create(spec.ephemeral_storage_mb, self.project)
        except (OSError, subprocess.SubprocessError) as exc:
            if not self._scratch_warned and self.warn is not None:
                self._scratch_warned = True
                self.warn(
                    f"note: /tmp is a tmpfs, not a disk ({exc}): what functions write there counts against their "
                    "memory; run lsim as root with mkfs.ext4 installed for a disk-backed /tmp"
                )
            return None

    def vpc_networks(self, progress: Callable[[str], None] | None = None) -> VpcPlumbing:
        from .network import DockerVpcPlumbing

        return DockerVpcPlumbing(self, progress)

    def remove_leftovers(self, project: str, state_folder: Path) -> Leftovers:
        from .leftovers import remove_dead

        return remove_dead(self.client, project, state_folder)

    def warn_shared_namespace(self) -> None:
        if not self._shared_warned and self.warn is not None:
            self._shared_warned = True
            self.warn(
                "note: execution environments that share a Hyperplane ENI can reach each other's Runtime API: "
                "lsim tells their connections apart only when it runs as root"
            )

    def warn_no_fence(self) -> None:
        if not self._fence_warned and self.warn is not None:
            self._fence_warned = True
            self.warn(
                "note: lsim cannot mark its containers' output pipes (that needs root, with the Docker engine on "
                "this machine): an invocation's log ends once its output has been quiet for a moment, so a busy "
                "machine may put its last lines in the next invocation's log"
            )

    def forget(self, sandbox: DockerSandbox) -> None:
        self._sandboxes.discard(sandbox)

    async def close(self) -> None:
        await asyncio.gather(*(s.stop() for s in list(self._sandboxes)), return_exceptions=True)
        # Anything of this session that escaped (e.g. a start that was cancelled half-way).
        await self.call(remove_containers, self.client, self.session)
        self.executor.shutdown(wait=False)
        self.client.close()


def _debugging(spec: SandboxSpec, binds: dict[str, dict[str, str]]) -> dict[str, str]:
    """With a debugger: debugpy mounted read-only, and the variable that has the runtime start it."""
    if spec.debugpy_dir is None:
        return {}
    binds[str(spec.debugpy_dir)] = {"bind": "/var/lsim/debugpy", "mode": "ro"}
    return {"_LSIM_DEBUG": f"/var/lsim/debugpy:{DEBUGPY_PORT}"}


def _image_key(spec: SandboxSpec) -> str:
    return spec.image or f"{spec.runtime}/{spec.architecture}"


def remove_containers(client: Any, session: str | None = None) -> int:
    """Force-remove lsim's containers (all of them, or one session's); returns how many."""
    removed = 0
    mine = lsim_labels.selector(session=session)
    for container in list_containers(client, mine):
        try:
            container.remove(force=True, v=True)
            removed += 1
        except Exception:  # already gone
            pass
    return removed


class DockerSandbox(Sandbox):
    def __init__(self, backend: DockerBackend, spec: SandboxSpec, scratch: Path | None = None) -> None:
        self.backend = backend
        self.spec = spec
        self.scratch = scratch
        self.container_id: str | None = None
        self._exit: asyncio.Future[ExitStatus] | None = None
        self._memory_file: Path | None = None
        self._cpu_file: tuple[Path, str] | None = None
        self._stopped = False
        self._peak_mb = 0
        self._pid = 0  # the container's first process, which holds the runtime's stdout and stderr pipes
        self._mark = new_mark()
        self._marks_sent = dict.fromkeys(STREAMS, 0)
        self._marks_seen = dict.fromkeys(STREAMS, 0)
        self._mark_arrived = asyncio.Event()
        self._fences = True  # until a mark cannot be written: then never again

    async def start(self, runtime_api: str, on_output: OutputSink) -> None:
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        if self.spec.attach_delay_s:  # the cold-start cost of attaching to a VPC (Hyperplane ENI)
            await asyncio.sleep(self.spec.attach_delay_s)
        container_id = await self.backend.call(self._create, runtime_api)
        self.container_id = container_id
        stream = await self.backend.call(
            self.backend.client.api.attach, container_id, stdout=True, stderr=True, stream=True, logs=True, demux=True
        )
        threading.Thread(
            target=self._pump,
            args=(stream, on_output, loop),
            name=f"lsim-out-{container_id[:12]}",
            daemon=True,
        ).start()
        await self.backend.call(self.backend.client.api.start, container_id)
        self.started_at = await self.backend.call(self._process_started_at, container_id)
        self._find_cgroup_files(container_id)

    def _learn_runtime_address(self, container: dict[str, Any]) -> None:
        """Where the runtime's connections to its Runtime API come from: the container's address, or in a
        Hyperplane ENI's namespace the ENI's, shared, told apart by socket ownership (sockets.py, as root)."""
        network = self.spec.network or NETWORK
        if not network.startswith("container:"):
            settings = (container["NetworkSettings"].get("Networks") or {}).get(network) or {}
            self.runtime_address = settings.get("IPAddress") or None
            return
        self.runtime_address = self.backend._namespace_addresses.get(network)
        pid = int(container["State"].get("Pid") or 0)
        check = owner_check(pid) if pid else None
        if check is None and pid:
            self.backend.warn_shared_namespace()
        self.owns_connection = check if pid else (lambda peer, local: False)

    def _process_started_at(self, container_id: str) -> float:
        """When the engine started the runtime process (State.StartedAt), on the monotonic clock: the
        runtime may be ready before the start call even returns. Also learns the runtime's address."""
        fallback = time.monotonic()
        container = self.backend.client.api.inspect_container(container_id)
        self._learn_runtime_address(container)
        self._pid = int(container["State"].get("Pid") or 0)
        if self.spec.debugpy_dir is not None and self.runtime_address is not None:
            # Reached at the container's own address, as the Runtime API reaches it: no port is published
            # (the IDE's port is lsim's, on 127.0.0.1), and a refused connection means "not listening yet".
            self.debug_address = (self.runtime_address, DEBUGPY_PORT)
        started = container["State"].get("StartedAt", "")
        match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", started)
        if not match:
            return fallback
        epoch = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
        epoch += float(match[2] or 0)
        return min(fallback, time.monotonic() - (time.time() - epoch))

    def _create(self, runtime_api: str) -> str:
        spec, api = self.spec, self.backend.client.api
        binds, mounts = {}, []
        if spec.code_dir is not None and spec.dependencies_dir is not None:  # requirements.txt's packages too
            mounts = task_mounts(spec.code_dir, spec.dependencies_dir)
        elif spec.code_dir is not None:
            binds[str(spec.code_dir)] = {"bind": "/var/task", "mode": "ro"}
        if spec.opt_dir is not None:
            binds[str(spec.opt_dir)] = {"bind": "/opt", "mode": "ro"}
        if self.scratch is not None:  # /tmp as a disk of ephemeral_storage MB (scratch.py)
            binds[str(self.scratch)] = {"bind": "/tmp", "mode": "rw"}
        debugging = _debugging(spec, binds)
        host_config = api.create_host_config(
            binds=binds,
            mounts=mounts or None,
            mem_limit=f"{spec.memory_mb}m",
            memswap_limit=f"{spec.memory_mb}m",  # equal to mem_limit: no swap
            # Init runs with every host core; end_init_phase() applies the memory-proportional share.
            cpu_period=CPU_PERIOD_US,
            cpu_quota=int(self.backend.host_cpus() * CPU_PERIOD_US),
            read_only=True,
            tmpfs=None if self.scratch else {"/tmp": f"rw,size={spec.ephemeral_storage_mb}m,mode=1777,exec"},
            network_mode=spec.network or NETWORK,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=1024,  # Lambda: 1,024 processes and threads
            # Lambda's runtime is not PID 1: an init runs it, so the runtime dies of its own `kill -9`
            # (PID 1 ignores signals it has no handler for) and exits are reported as signals.
            init=True,
            # No /dev/shm, as on Lambda: POSIX semaphores fail, so multiprocessing.Queue and Pool raise
            # OSError while Process and Pipe work.
            # https://aws.amazon.com/blogs/compute/parallel-processing-in-python-with-aws-lambda/
            ipc_mode="none",
            ulimits=[{"Name": "nofile", "Soft": 1024, "Hard": 1024}],  # Lambda: 1,024 file descriptors
        )
        environment = {**spec.environment, "AWS_LAMBDA_RUNTIME_API": runtime_api, **debugging}
        labels = {**self.backend.labels(), lsim_labels.FUNCTION: spec.function_name}
        # sandbox.localdomain (and sandbox) name the execution environment itself, as on Lambda: where
        # Telemetry and Logs API listeners bind. A container in an ENI's network namespace cannot have them.
        own_network = not str(spec.network or NETWORK).startswith("container:")
        names = {"hostname": "sandbox", "domainname": "localdomain"} if own_network else {}
        created = api.create_container(
            self.backend.image_for(spec),
            **names,
            environment=environment,
            user=LAMBDA_USER,
            labels={**labels, **spec.labels},
            host_config=host_config,
            name=f"lsim-{spec.function_name}-{uuid.uuid4().hex[:8]}",
        )
        return str(created["Id"])

    def _pump(self, stream: Any, on_output: OutputSink, loop: asyncio.AbstractEventLoop) -> None:
        """Read the container's output until it exits, then learn how it exited. Fence marks are taken out
        of each stream and reported in their place, after the output that came before them."""
        scanners = {number: MarkScanner(self._mark) for number in STREAMS}
        try:
            for frames in stream:  # (stdout bytes, stderr bytes), one of them None
                for number, chunk in zip(STREAMS, frames, strict=True):
                    if chunk:
                        for piece in scanners[number].feed(chunk):
                            if piece is None:
                                loop.call_soon_threadsafe(self._mark_seen, number)
                            else:
                                loop.call_soon_threadsafe(on_output, piece)
        except Exception:  # the stream breaks when the container is removed
            pass
        for scanner in scanners.values():
            if rest := scanner.rest():
                loop.call_soon_threadsafe(on_output, rest)
        status = self._exit_status()
        loop.call_soon_threadsafe(self._set_exit, status)

    def _mark_seen(self, stream: int) -> None:
        self._marks_seen[stream] += 1
        self._mark_arrived.set()

    async def fence(self) -> bool:
        """Mark both output pipes of the runtime and wait until both marks came out (fence.py)."""
        if not self._fences or not self._pid or self.exited:
            return self.exited  # an exited container's output was all read before its exit was known
        if not await self.backend.call(write_mark, self._pid, self._mark):
            self._fences = False  # a mark may be half written (stdout only): counting stops here
            if not self.exited:
                self.backend.warn_no_fence()
            return self.exited
        for number in STREAMS:
            self._marks_sent[number] += 1
        deadline = time.monotonic() + FENCE_WAIT_S
        while any(self._marks_seen[n] < self._marks_sent[n] for n in STREAMS) and not self.exited:
            self._mark_arrived.clear()
            try:
                await asyncio.wait_for(self._mark_arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                return False
        return True

    def _exit_status(self) -> ExitStatus:
        try:
            state = self.backend.client.api.inspect_container(self.container_id)["State"]
        except Exception:  # removed by stop(): it was killed
            return ExitStatus(signal=9)
        code = int(state.get("ExitCode") or 0)
        if state.get("OOMKilled"):
            return ExitStatus(code=code, signal=9, oom_killed=True)
        if code > 128:
            return ExitStatus(code=code, signal=code - 128)
        return ExitStatus(code=code)

    def _set_exit(self, status: ExitStatus) -> None:
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(status)

    async def wait(self) -> ExitStatus:
        assert self._exit is not None, "start() first"
        return await asyncio.shield(self._exit)

    def _find_cgroup_files(self, container_id: str) -> None:
        """Locate the container's memory-peak and CPU-quota files (cgroup v1 or v2, either driver)."""
        root = Path("/sys/fs/cgroup")
        v1 = [root / "memory" / "docker" / container_id]
        v2 = [root / "docker" / container_id, root / "system.slice" / f"docker-{container_id}.scope"]
        for folder in v1:
            if (folder / "memory.max_usage_in_bytes").exists():
                self._memory_file = folder / "memory.max_usage_in_bytes"
                for cpu in ("cpu,cpuacct", "cpu"):
                    quota = root / cpu / "docker" / container_id / "cpu.cfs_quota_us"
                    if quota.exists():
                        self._cpu_file = (quota, "v1")
                        break
                return
        for folder in v2:
            if (folder / "memory.peak").exists():
                self._memory_file = folder / "memory.peak"
                self._cpu_file = (folder / "cpu.max", "v2")
                return

    def end_init_phase(self) -> None:
        quota = max(1000, int(self.spec.cpus * CPU_PERIOD_US))
        if self._cpu_file is not None:
            path, version = self._cpu_file
            try:
                path.write_text(str(quota) if version == "v1" else f"{quota} {CPU_PERIOD_US}")
                return
            except OSError:
                pass
        if self.container_id is not None:  # no access to the cgroup files: ask the engine
            self.backend.executor.submit(self.backend.client.api.update_container, self.container_id, cpu_quota=quota)

    def max_memory_used_mb(self) -> int:
        """The cgroup's peak. Once the container is gone its cgroup is too: an environment killed for
        memory used all of it, as Lambda reports; otherwise the last figure read stands."""
        if self._exit is not None and self._exit.done() and self._exit.result().oom_killed:
            return self.spec.memory_mb
        if self._memory_file is not None:
            with contextlib.suppress(OSError, ValueError):
                self._peak_mb = math.ceil(int(self._memory_file.read_text()) / (1024 * 1024))
        return self._peak_mb

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.backend.forget(self)
        if self.container_id is not None:
            with contextlib.suppress(Exception):  # already gone
                await self.backend.call(self.backend.client.api.remove_container, self.container_id, force=True, v=True)
        self._set_exit(ExitStatus(signal=9))
