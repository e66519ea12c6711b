"""`lsim layer ...`: build, publish, list, inspect and delete layer versions, as Lambda's layer API does.

These commands need no Docker engine. Layer versions belong to the account (account.py: `$LSIM_HOME`, default
`~/.lsim`), so they work outside any project too, on the default account and Region (those of a project
without [settings]); inside one, on the project's account and Region.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .. import shapes
from .common import call, describe, exit_code, fail, group, print_json

T = TypeVar("T")
app = group("Layers: build, publish as immutable versions, list, get, delete (they belong to the account).")


def _call(ctx: typer.Context, operation: str, *args: object, **kwargs: object) -> Any:
    """A layer operation in the project's account, or, outside any project, in the default account."""
    import asyncio

    from ..errors import LsimError, ProjectFileError
    from ..project import find_project_file

    if (ctx.find_root().obj or {}).get("project") is None:
        try:
            find_project_file()
        except ProjectFileError:
            from ..account import account_store
            from ..config import ProjectConfig
            from ..layer_cache import LayerCache
            from ..layers import LayerRegistry
            from ..services.layers import LayerService

            outside = ProjectConfig(root=Path.cwd())  # nothing is written there: only its default settings count
            account = account_store(outside.settings)
            registry = LayerRegistry(None, outside, LayerCache(account).extract_layer, account=account)
            try:
                return asyncio.run(getattr(LayerService(registry), operation)(*args, **kwargs))
            except LsimError as error:
                raise fail(describe(error), exit_code(error)) from None
    return call(ctx, operation, *args, **kwargs)


@app.command()
def build(
    name: Annotated[str, typer.Argument(help="layer name; the zip is NAME.zip unless --output says otherwise")],
    requirements: Annotated[Path | None, typer.Option("--requirements", "-r", help="pip requirements file")] = None,
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="a folder already laid out (python/, bin/, lib/...)")
    ] = None,
    python: Annotated[str, typer.Option("--python", help="target Python, e.g. 3.11, 3.12, 3.13")] = "3.11",
    arch: Annotated[str, typer.Option("--arch", help="x86_64 or arm64")] = "x86_64",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="where to write the zip")] = None,
) -> None:
    """Build a layer zip: packages installed for Lambda's platform into python/, or a prepared folder."""
    from ..archive import zip_folder

    if (requirements is None) == (from_dir is None):
        raise fail("give exactly one of --requirements FILE or --from DIR")
    if arch not in ("x86_64", "arm64"):
        raise fail(f"--arch {arch}: Lambda has x86_64 and arm64")
    if not re.fullmatch(r"3\.\d+", python):
        raise fail(f"--python {python}: give a version like 3.12")
    target = output or Path(f"{name}.zip")
    if from_dir is not None:
        if not from_dir.is_dir():
            raise fail(f"--from {from_dir}: no such folder")
        known = [p for p in ("python", "bin", "lib", "bootstrap", "extensions", "nodejs") if (from_dir / p).exists()]
        if not known:
            typer.echo(
                f"warning: {from_dir} has none of python/, bin/, lib/, bootstrap, extensions/: Lambda puts the "
                "layer at /opt, so Python finds only /opt/python and /opt/python/lib/python3.X/site-packages",
                err=True,
            )
        data = zip_folder(from_dir)
    else:
        assert requirements is not None
        data = _pip_layer(requirements, python, arch)
    target.write_bytes(data)
    typer.echo(f"{target}: {len(data)} bytes; publish it with: lsim layer publish {name} --zip {target}")


def _pip_layer(requirements: Path, python: str, arch: str) -> bytes:
    """Install the requirements as Lambda needs them: wheels for manylinux on the target architecture and
    Python version, into python/ (which Lambda puts on sys.path as /opt/python)."""
    from ..archive import zip_folder

    if not requirements.is_file():
        raise fail(f"--requirements {requirements}: no such file")
    platform = f"manylinux2014_{'x86_64' if arch == 'x86_64' else 'aarch64'}"
    with tempfile.TemporaryDirectory(prefix="lsim-layer-") as folder:
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(Path(folder) / "python"), "--platform", platform, "--implementation", "cp",
            "--python-version", python, "--only-binary=:all:", "-r", str(requirements),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            missing = re.findall(r"No matching distribution found for (\S+)", done.stderr)
            if missing:
                raise fail(
                    f"no wheel of {', '.join(missing)} for {platform} and Python {python}: Lambda cannot build from "
                    "source, so this package needs a wheel for the target (pick a version that ships one, or build "
                    "the wheel on Amazon Linux for that architecture and pass the folder with --from)"
                )
            raise fail(f"pip failed:\n{done.stderr.strip()}")
        return zip_folder(Path(folder))


@app.command()
def publish(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="layer name: letters, digits, '-' and '_'")],
    zip_file: Annotated[Path, typer.Option("--zip", help="the layer's zip file")],
    description: Annotated[str, typer.Option("--description")] = "",
    compatible_runtimes: Annotated[list[str] | None, typer.Option("--compatible-runtimes", help="repeatable")] = None,
    compatible_architectures: Annotated[
        list[str] | None, typer.Option("--compatible-architectures", help="x86_64 and/or arm64")
    ] = None,
    license_info: Annotated[str | None, typer.Option("--license-info")] = None,
) -> None:
    """Store a new immutable version; prints what PublishLayerVersion returns."""
    if not zip_file.is_file():
        raise fail(f"--zip {zip_file}: no such file; build one with `lsim layer build {name} ...`")
    layer = _call(
        ctx,
        "publish_layer_version",
        name,
        zip_file,
        description=description,
        compatible_runtimes=compatible_runtimes,
        compatible_architectures=compatible_architectures,
        license_info=license_info,
    )
    print_json(shapes.layer_version(layer))


@app.command("list")
def list_layers(
    ctx: typer.Context,
    compatible_runtime: Annotated[str | None, typer.Option("--compatible-runtime")] = None,
    compatible_architecture: Annotated[str | None, typer.Option("--compatible-architecture")] = None,
) -> None:
    """Every layer with its latest version (ListLayers)."""
    print_json(shapes.list_layers(_call(ctx, "list_layers", compatible_runtime, compatible_architecture)))


@app.command()
def versions(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """A layer's live versions, newest first (ListLayerVersions)."""
    print_json(shapes.list_layer_versions(_call(ctx, "list_layer_versions", name)))


@app.command()
def get(ctx: typer.Context, arn: Annotated[str, typer.Argument(help="layer version ARN, or NAME:N")]) -> None:
    """One version (GetLayerVersionByArn / GetLayerVersion)."""
    match = re.fullmatch(r"([a-zA-Z0-9_-]+):(\d+)", arn)
    layer = (
        _call(ctx, "get_layer_version", match[1], int(match[2]))
        if match
        else _call(ctx, "get_layer_version_by_arn", arn)
    )
    print_json(shapes.layer_version(layer))


@app.command()
def delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument()], version: Annotated[int, typer.Argument()]
) -> None:
    """Delete a version: functions using it keep it; it can't be attached anew; its number is never reused."""
    _call(ctx, "delete_layer_version", name, version)
    typer.echo(f"deleted {name}:{version}")
