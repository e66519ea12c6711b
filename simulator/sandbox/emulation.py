"""Instruction set architectures: which one a function asks for, which one this machine has, and whether
the kernel can run the other one under QEMU user emulation.

Lambda runs a function on the architecture it names (``x86_64`` or ``arm64``,
https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html). On a machine of the other architecture
lsim runs it under QEMU user emulation, registered in the kernel's ``binfmt_misc`` with the ``F`` (fix
binary) flag so that it works inside containers; where that is not set up, it refuses with the reason and
the fix, and never runs the function on the host's architecture instead.
"""

from __future__ import annotations

import os
import pathlib
import platform

from ..errors import RuntimeUnavailableError

__all__ = [
    "ARCHITECTURES",
    "check_can_run",
    "debian_architecture",
    "docker_platform",
    "elf_architecture",
    "host_architecture",
    "needs_emulation",
]

#: Lambda's names, as in FunctionConfig.architecture and CompatibleArchitectures
ARCHITECTURES = ("x86_64", "arm64")

# Lambda's name -> (uname -m, Debian's name, Docker's platform, QEMU's binfmt entry, ELF e_machine)
_FACTS: dict[str, tuple[str, str, str, str, int]] = {
    "x86_64": ("x86_64", "amd64", "linux/amd64", "qemu-x86_64", 62),
    "arm64": ("aarch64", "arm64", "linux/arm64", "qemu-aarch64", 183),
}
BINFMT_MISC = pathlib.Path("/proc/sys/fs/binfmt_misc")


def host_architecture() -> str:
    """This machine's architecture in Lambda's words ("x86_64" or "arm64"; else uname's own word)."""
    machine = platform.machine().lower()
    for name, facts in _FACTS.items():
        if machine in (facts[0], facts[1]):
            return name
    return machine


def needs_emulation(architecture: str) -> bool:
    return architecture != host_architecture()


def debian_architecture(architecture: str) -> str:
    """``amd64`` / ``arm64``: what debootstrap and dpkg call it."""
    return _facts(architecture)[1]


def docker_platform(architecture: str) -> str:
    """``linux/amd64`` / ``linux/arm64``."""
    return _facts(architecture)[2]


def elf_architecture(path: pathlib.Path) -> str | None:
    """The architecture an ELF executable is built for, in Lambda's words; None if not an ELF file we know."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return next((name for name, facts in _FACTS.items() if facts[4] == machine), None)


def check_can_run(architecture: str, binfmt_misc: pathlib.Path | None = None) -> None:
    """Return if this machine can run ``architecture`` (natively, or emulated in containers); otherwise
    raise RuntimeUnavailableError saying why and how to fix it."""
    binfmt_misc = binfmt_misc or BINFMT_MISC
    if architecture not in _FACTS:
        raise RuntimeUnavailableError(f"unknown architecture {architecture!r}: Lambda has x86_64 and arm64")
    if not needs_emulation(architecture):
        return
    entry_name = _facts(architecture)[3]
    host = host_architecture()
    fix = (
        f"Set it up once, as root: `mount -t binfmt_misc binfmt_misc {binfmt_misc}` if it is not mounted, then "
        f"`apt-get install -y qemu-user-static binfmt-support` (Debian's packages register {entry_name} with the "
        "F flag); `sudo make setup` does both. In a container, the host must do it (the kernel is shared). lsim "
        f"never runs an {architecture} function on {host} instead."
    )
    why = f"{architecture} functions run under QEMU user emulation on this {host} machine, and "
    if not sys_platform_is_linux():
        raise RuntimeUnavailableError(why + "lsim sets that up only on Linux (binfmt_misc).")
    if not (binfmt_misc / "status").exists():
        raise RuntimeUnavailableError(
            why + f"the kernel's binfmt_misc is not mounted at {binfmt_misc} (or the kernel lacks it). " + fix
        )
    entry = binfmt_misc / entry_name
    try:
        lines = entry.read_text().splitlines()
    except OSError:
        raise RuntimeUnavailableError(
            why + f"no QEMU interpreter for {architecture} is registered ({entry} is missing). " + fix
        ) from None
    if "enabled" not in lines:
        raise RuntimeUnavailableError(
            why + f"{entry} is registered but disabled. Enable it as root: `update-binfmts --enable {entry_name}`."
        )
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    if "F" not in flags:
        raise RuntimeUnavailableError(
            why + f"{entry} lacks the F (fix binary) flag, without which the interpreter cannot be found inside "
            f"a container: `update-binfmts --disable {entry_name}` and register Debian's entry instead. " + fix
        )


#: what emulation cost here (benchmarks/bench_runtimes.py, README "arm64"): a cold start about 3x, a warm
#: invocation about 5x, importing boto3 and making a client at init about 6x (10 s against 1.7 s)
SLOWDOWN = "3-6x"


def emulation_note(architecture: str) -> str | None:
    """The one-line note lsim prints once per function that runs emulated: it is slower than on Lambda."""
    if not needs_emulation(architecture):
        return None
    return (
        f"{architecture} runs under QEMU user emulation on this {host_architecture()} machine, {SLOWDOWN} slower "
        "than natively: code that Lambda initialises within its 10 s can time out here (importing boto3 and "
        "making a client takes about 10 s). For local runs, raise `init_timeout_s` under [limits] and the "
        "function's timeout."
    )


def sys_platform_is_linux() -> bool:
    return os.uname().sysname == "Linux"


def _facts(architecture: str) -> tuple[str, str, str, str, int]:
    try:
        return _FACTS[architecture]
    except KeyError:
        raise RuntimeUnavailableError(f"unknown architecture {architecture!r}: Lambda has x86_64 and arm64") from None
