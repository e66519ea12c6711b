"""`lsim runtime build` and `lsim clean`: the images and containers lsim manages."""

from typing import Annotated

import typer

from ..errors import LsimError
from .common import describe, fail, group, project_of

app = group("Runtime images: lsim builds them itself, offline.")


@app.command("build")
def build(
    runtimes: Annotated[list[str] | None, typer.Argument(help="e.g. python3.12 provided.al2023")] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="a CPython installation of the runtime's version (pyenv, uv or python-build-standalone folder) "
            "to build a Python runtime from, for versions Debian has not (python3.10, python3.12)",
        ),
    ] = None,
    arch: Annotated[str, typer.Option("--arch", help="x86_64 or arm64 (arm64 runs under QEMU emulation)")] = "x86_64",
) -> None:
    """Build runtime images (done automatically on first use; this does it ahead)."""
    from ..sandbox.engine import connect
    from ..sandbox.images import ensure_runtime_image

    if arch not in ("x86_64", "arm64"):
        raise fail(f"--arch {arch}: Lambda's architectures are x86_64 and arm64")
    try:
        client = connect(timeout=600)
        for runtime in runtimes or ["python3.11", "provided.al2023"]:
            tag = ensure_runtime_image(
                client, runtime, architecture=arch, python=python, progress=lambda line: typer.echo(line, err=True)
            )
            typer.echo(f"{runtime}: {tag}")
    except LsimError as error:
        raise fail(str(error)) from None


def clean(
    ctx: typer.Context,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="every lsim container, VPC network and /tmp disk on this machine's Docker engine, of any project, "
            "live or not (other lsim processes lose theirs)",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be removed; remove nothing")] = False,
    only_project: Annotated[
        list[str] | None,
        typer.Option("--only-project", hidden=True, help="with --all: only these project ids (for tests)"),
    ] = None,
) -> None:
    """Remove what lsim processes that are gone (killed, crashed) left of this project: containers, VPC
    networks, /tmp disks, staging folders. Live lsim processes and other projects are left alone."""
    from ..lifetime import project_id
    from ..sandbox import leftovers
    from ..sandbox.engine import connect_or_none
    from ..store import STATE_FOLDER

    state_folder = None
    if everything:
        projects = set(only_project) if only_project else None
    else:
        try:
            project = project_of(ctx)
        except LsimError as error:
            raise fail(f"{describe(error)} (lsim clean works on a project; `lsim clean --all` on everything)") from None
        projects = {project_id(project.root)}
        state_folder = project.root / STATE_FOLDER
    client = connect_or_none(timeout=30)  # without an engine the folders can still be cleaned
    try:
        found = leftovers.find(client, projects, dead_only=not everything, state_folder=state_folder)
        done = found if dry_run else leftovers.remove(client, found)
    except LsimError as error:
        raise fail(describe(error)) from None
    for line in done.describe():
        typer.echo(f"{'would remove' if dry_run else 'removed'} {line}")
    where = "on this machine" if projects is None else "of this project" if not everything else "of those projects"
    typer.echo(
        f"{'would remove' if dry_run else 'removed'} {len(done.containers)} container(s), {len(done.networks)} "
        f"network(s), {len(done.disks)} /tmp disk folder(s) and {len(done.staging)} staging folder(s) {where}"
        + ("" if client is not None else " (no Docker engine answered: containers and networks not checked)")
    )
