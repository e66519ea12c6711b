"""`lsim vpc show` and `lsim vpc clean`: the project's fake VPCs and what lsim left of them in Docker."""

from typing import Annotated, Any

import typer

from ..errors import LsimError
from .common import describe, exit_code, fail, group, project_of

app = group("Fake VPCs: subnets, security groups, Hyperplane ENIs (README: 'Functions in a VPC').")


@app.command("show")
def show(ctx: typer.Context) -> None:
    """VPCs, subnets with used and free addresses, Hyperplane ENIs and the functions that share them."""
    from ..sandbox.network import running_enis
    from ..simulator import Simulator

    try:
        simulator = Simulator(project_of(ctx))
        described = simulator.describe_vpcs()
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    if not described:
        typer.echo("this project has no [vpcs.NAME] tables (see the README's 'Functions in a VPC')")
        return
    running = running_enis()
    for vpc in described:
        typer.echo(f"VPC {vpc.name}  {vpc.cidr}")
        rows: list[tuple[str, ...]] = [("subnet", "cidr", "zone", "0.0.0.0/0 via", "used", "free")]
        for usage in vpc.subnets:
            subnet = usage.subnet
            route = "NAT gateway" if subnet.nat else "internet gateway" if subnet.public else "none"
            rows.append(
                (subnet.id, subnet.cidr, subnet.availability_zone or "-", route, str(usage.used), str(usage.free))
            )
        _table(rows)
        if vpc.enis:
            rows = [("Hyperplane ENI", "subnet", "security groups", "ip", "functions", "container")]
            for eni in vpc.enis:
                status = f"{running[eni.eni_id]} running" if eni.eni_id in running else "none running"
                rows.append(
                    (eni.eni_id, eni.subnet, ",".join(eni.security_groups), eni.ip, ", ".join(eni.functions), status)
                )
            _table(rows)
        if vpc.resources:
            rows = [("resource", "ip", "subnet", "security groups", "runs")]
            for placed in vpc.resources:
                config = placed.config
                runs = f"image {config.image}" if config.image else f"container {config.container}"
                rows.append((config.name, str(placed.ip), config.subnet, ",".join(config.security_groups), runs))
            _table(rows)
        for function, reason_code, reason in vpc.failed:
            typer.echo(f"  {function}: Failed ({reason_code}): {reason}")
        typer.echo("")


@app.command("clean")
def clean(
    ctx: typer.Context,
    everything: Annotated[bool, typer.Option("--all", help="of every project and lsim process, live or not")] = False,
) -> None:
    """Remove the ENI and resource containers and the VPC networks that lsim processes that are gone left of
    this project (`lsim clean` also removes their execution environments and /tmp disks)."""
    from ..lifetime import project_id
    from ..sandbox import leftovers
    from ..sandbox.engine import connect

    projects = None if everything else {project_id(_project(ctx).root)}
    try:
        client = connect()
        found = leftovers.find(client, projects, dead_only=not everything)
        found.containers = [c for c in found.containers if c.role in ("eni", "resource")]
        found.disks = []
        gone = leftovers.remove(client, found)
    except LsimError as error:
        raise fail(describe(error)) from None
    typer.echo(f"removed {len(gone.containers)} container(s) and {len(gone.networks)} network(s)")


def _project(ctx: typer.Context) -> Any:
    try:
        return project_of(ctx)
    except LsimError as error:
        raise fail(f"{describe(error)} (or give --all)", exit_code(error)) from None


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
