"""`lsim runtime build` and `lsim clean`: the images and containers lsim manages."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import LsimError
from .common import fail

app = typer.Typer(help="Runtime images: lsim builds them itself, offline.", no_args_is_help=True)


@app.command("build")
def build(
    runtimes: Annotated[list[str] | None, typer.Argument(help="e.g. python3.11 provided.al2023")] = None,
) -> None:
    """Build runtime images (done automatically on first use; this does it ahead)."""
    import docker

    from ..sandbox.images import ensure_runtime_image

    client = docker.from_env(timeout=600)
    for runtime in runtimes or ["python3.11", "provided.al2023"]:
        try:
            tag = ensure_runtime_image(client, runtime, progress=lambda line: typer.echo(line, err=True))
        except LsimError as error:
            raise fail(str(error)) from None
        typer.echo(f"{runtime}: {tag}")


def clean() -> None:
    """Remove every container lsim left behind (after a crash, say)."""
    import docker

    from ..sandbox.docker import remove_containers
    from ..sandbox.scratch import clean_scratch

    removed = remove_containers(docker.from_env())
    disks = clean_scratch()
    typer.echo(f"removed {removed} container(s) and {disks} /tmp disk(s)")
