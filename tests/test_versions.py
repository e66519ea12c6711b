"""Configuration updates, published versions and weighted aliases: real SQLite, real runtimes."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from simulator import Simulator
from simulator.blocking import BlockingSimulator
from simulator.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from simulator.project import load_project
from simulator.store import StoreCorruptError

from .cli import Ran
from .cli import lsim as run_lsim

HANDLER = "import os\nVERSION = {v!r}\ndef handler(event, context):\n    return {{'code': VERSION, 'stage': os.environ.get('STAGE'), 'memory': context.memory_limit_in_mb}}\n"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER.format(v="one"))
    (tmp_path / "lsim.toml").write_text(
        '[functions.orders]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
        'environment = { STAGE = "dev" }\n'
    )
    return tmp_path


def run(project_dir: Path, operation: str, *args: Any, **kwargs: Any) -> Any:
    """One facade operation on a fresh Simulator, as the CLI does: nothing kept in memory between calls."""
    simulator = Simulator(load_project(project_dir), backend="process")
    return asyncio.run(getattr(simulator, operation)(*args, **kwargs))


def test_publishing_numbers_versions_and_skips_when_nothing_changed(project_dir: Path) -> None:
    first = run(project_dir, "publish_version", "orders", "first")
    assert first.version == "1"
    assert run(project_dir, "publish_version", "orders").version == "1"  # nothing changed: no new version
    (project_dir / "src" / "app.py").write_text(HANDLER.format(v="two"))
    assert run(project_dir, "publish_version", "orders").version == "2"  # code changed
    run(project_dir, "update_function_configuration", "orders", memory_size=256)
    third = run(project_dir, "publish_version", "orders")
    assert third.version == "3" and third.function.memory_size == 256  # configuration changed
    listed = run(project_dir, "list_versions_by_function", "orders")
    assert [d.version for d in listed] == ["$LATEST", "1", "2", "3"]


def test_preconditions_answer_412(project_dir: Path) -> None:
    with pytest.raises(PreconditionFailedException, match="CodeSha256"):
        run(project_dir, "publish_version", "orders", code_sha256="AAAA")
    with pytest.raises(PreconditionFailedException, match="Revision Id"):
        run(project_dir, "publish_version", "orders", revision_id="not-the-revision")
    current = run(project_dir, "get_function_configuration", "orders")
    assert run(project_dir, "publish_version", "orders", revision_id=current.revision_id).version == "1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"memory_size": 64}, "64 MB is out of range"),
        ({"timeout": 901}, "901 s is out of range"),
        ({"ephemeral_storage": 100}, "100 MB is out of range"),
        ({"environment": {"AWS_REGION": "x"}}, "Reserved keys used in this request: AWS_REGION"),
        ({"environment": {"1BAD": "x"}}, "environment variable name '1BAD' is invalid"),
        ({"environment": {"BIG": "x" * 5000}}, "exceeded the 4KB limit"),
    ],
)
def test_bad_configuration_is_refused_and_nothing_is_stored(project_dir: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterValueException, match=message):
        run(project_dir, "update_function_configuration", "orders", **changes)
    latest = run(project_dir, "get_function_configuration", "orders").function
    assert (latest.memory_size, latest.timeout, latest.environment) == (128, 3, {"STAGE": "dev"})


def test_configuration_updates_survive_a_restart_and_can_be_reset(project_dir: Path) -> None:
    run(project_dir, "update_function_configuration", "orders", memory_size=1024, environment={"STAGE": "prod"})
    assert run(project_dir, "get_function_configuration", "orders").function.memory_size == 1024
    assert "STAGE = \"dev\"" in (project_dir / "lsim.toml").read_text()  # lsim.toml untouched
    run(project_dir, "reset_function_configuration", "orders")
    assert run(project_dir, "get_function_configuration", "orders").function.memory_size == 128


def test_alias_rules(project_dir: Path) -> None:
    run(project_dir, "publish_version", "orders")
    (project_dir / "src" / "app.py").write_text(HANDLER.format(v="two"))
    run(project_dir, "publish_version", "orders")
    alias = run(project_dir, "create_alias", "orders", "live", "1", routing_config={"2": 0.25})
    assert (alias.function_version, alias.weights) == ("1", {"2": 0.25})
    with pytest.raises(ResourceConflictException, match="Alias already exists"):
        run(project_dir, "create_alias", "orders", "live", "1")
    with pytest.raises(ResourceNotFoundException, match="orders:7"):
        run(project_dir, "create_alias", "orders", "future", "7")  # an unpublished version
    with pytest.raises(InvalidParameterValueException, match="cannot be greater than 1"):
        run(project_dir, "create_alias", "orders", "two", "1", routing_config={"2": 0.1, "3": 0.1})
    with pytest.raises(InvalidParameterValueException, match="between 0.0 and 1.0"):
        run(project_dir, "create_alias", "orders", "heavy", "1", routing_config={"2": 1.5})
    with pytest.raises(InvalidParameterValueException, match=r"\$LATEST is not supported for an alias pointing to more than 1"):
        run(project_dir, "create_alias", "orders", "mixed", "$LATEST", routing_config={"2": 0.5})
    with pytest.raises(InvalidParameterValueException, match="regular expression pattern"):
        run(project_dir, "create_alias", "orders", "123", "1")
    updated = run(project_dir, "update_alias", "orders", "live", "2", routing_config={})
    assert (updated.function_version, updated.weights) == ("2", {})
    assert [a.name for a in run(project_dir, "list_aliases", "orders")] == ["live"]
    run(project_dir, "delete_alias", "orders", "live")
    with pytest.raises(ResourceNotFoundException, match="Alias not found"):
        run(project_dir, "get_alias", "orders", "live")


def test_a_corrupt_store_is_reported_with_how_to_recover(project_dir: Path) -> None:
    run(project_dir, "publish_version", "orders")
    database = project_dir / ".lsim" / "state.db"
    for extra in database.parent.glob("state.db-*"):
        extra.unlink()
    database.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorruptError, match=r"mv .*state.db .*state.db.corrupt") as info:
        run(project_dir, "publish_version", "orders")
    assert "the blobs in" in str(info.value)
    assert database.read_bytes().startswith(b"this is not a database")  # nothing was overwritten
    assert any((project_dir / ".lsim" / "blobs").rglob("*"))  # the code snapshot is still there


# -- invocations with a qualifier, in real execution environments -------------------------------------
@pytest.mark.docker
def test_each_qualifier_runs_its_own_code_and_configuration(project_dir: Path) -> None:
    run(project_dir, "publish_version", "orders")
    (project_dir / "src" / "app.py").write_text(HANDLER.format(v="two"))
    run(project_dir, "update_function_configuration", "orders", memory_size=256, environment={"STAGE": "prod"})
    run(project_dir, "publish_version", "orders")
    (project_dir / "src" / "app.py").write_text(HANDLER.format(v="latest"))
    run(project_dir, "create_alias", "orders", "live", "1")
    run(project_dir, "create_alias", "orders", "half", "1", routing_config={"2": 0.5})
    with BlockingSimulator(load_project(project_dir), backend="docker") as lsim:
        one = lsim.invoke("orders", qualifier="1")
        two = lsim.invoke("orders:2")
        latest = lsim.invoke("orders")
        live = lsim.invoke("orders", qualifier="live")
        halves = [lsim.invoke("orders", qualifier="half") for _ in range(40)]
    assert one.payload == {"code": "one", "stage": "dev", "memory": "128"} and one.executed_version == "1"
    assert two.payload == {"code": "two", "stage": "prod", "memory": "256"} and two.executed_version == "2"
    assert latest.payload == {"code": "latest", "stage": "prod", "memory": "256"}
    assert live.payload["code"] == "one" and live.executed_version == "1"
    assert f"START RequestId: {one.request_id} Version: 1" in one.logs
    assert f"START RequestId: {live.request_id} Version: 1" in live.logs
    # a weighted alias runs each version's own code in its own environments (the odds of 40 invocations
    # all going one way at 50% are 2 in 10^12; the split itself is measured below, where it is decided)
    assert {h.executed_version for h in halves} == {"1", "2"}
    assert all(h.payload["code"] == {"1": "one", "2": "two"}[h.executed_version] for h in halves)


def test_weighted_alias_splits_2000_invocations_by_its_weight(project_dir: Path) -> None:
    """The version is chosen before the invocation reaches a backend, so the 2000 run on the process backend;
    the qualifier test above runs a weighted alias in containers."""
    run(project_dir, "publish_version", "orders")
    (project_dir / "src" / "app.py").write_text(HANDLER.format(v="two"))
    run(project_dir, "publish_version", "orders")
    run(project_dir, "create_alias", "orders", "canary", "1", routing_config={"2": 0.1})
    with BlockingSimulator(load_project(project_dir), backend="process") as lsim:
        executed = [lsim.invoke("orders", qualifier="canary", complete_logs=False).executed_version for _ in range(2_000)]
    to_two = executed.count("2")
    # Binomial(2000, 0.1): mean 200, standard deviation 13.4; 5 standard deviations either way.
    assert 133 <= to_two <= 267, to_two
    assert executed.count("1") + to_two == 2_000


def test_unknown_version_or_alias_on_invoke(project_dir: Path) -> None:
    with BlockingSimulator(load_project(project_dir), backend="process") as lsim:
        with pytest.raises(ResourceNotFoundException, match="orders:9"):
            lsim.invoke("orders", qualifier="9")
        with pytest.raises(ResourceNotFoundException, match="Alias not found"):
            lsim.invoke("orders", qualifier="nope")


def test_secrets_reach_the_function_but_are_never_printed(project_dir: Path) -> None:
    (project_dir / ".secrets.env").write_text("DB_PASSWORD=hunter2\n")
    text = (project_dir / "lsim.toml").read_text().replace(
        'environment = { STAGE = "dev" }', 'environment = { STAGE = "secret:DB_PASSWORD" }'
    )
    (project_dir / "lsim.toml").write_text('[settings]\nsecrets_file = ".secrets.env"\n\n' + text)
    with BlockingSimulator(load_project(project_dir), backend="process") as lsim:
        assert lsim.invoke("orders").payload["stage"] == "hunter2"
    shown = lsim_cli(project_dir, "config", "show", "orders")
    assert json.loads(shown.stdout)["Environment"]["Variables"] == {"STAGE": "***"}
    assert "hunter2" not in shown.stdout + shown.stderr
    (project_dir / ".secrets.env").write_text("OTHER=1\n")
    with (
        BlockingSimulator(load_project(project_dir), backend="process") as lsim,
        pytest.raises(InvalidParameterValueException, match="secret\\(s\\) DB_PASSWORD not found"),
    ):
        lsim.invoke("orders")


# -- the CLI ------------------------------------------------------------------------------------------
def lsim_cli(cwd: Path, *args: str) -> Ran:
    return run_lsim(*args, cwd=cwd)


def test_the_version_workflow_from_the_command_line(project_dir: Path) -> None:
    env_file = project_dir / "prod.env"
    env_file.write_text("# production\nSTAGE=prod\nexport REGION_NAME='eu'\n")
    updated = lsim_cli(project_dir, "config", "set", "orders", "--memory", "1024", "--timeout", "30", "--env-file", "prod.env")
    assert updated.returncode == 0, updated.stderr
    shape = json.loads(updated.stdout)
    assert (shape["MemorySize"], shape["Timeout"]) == (1024, 30)
    assert shape["Environment"]["Variables"] == {"STAGE": "prod", "REGION_NAME": "eu"}
    bad = lsim_cli(project_dir, "config", "set", "orders", "--memory", "20000")
    assert bad.returncode == 2 and "out of range" in bad.stderr
    published = json.loads(lsim_cli(project_dir, "publish-version", "orders", "--description", "v1").stdout)
    assert published["Version"] == "1" and published["Description"] == "v1"
    assert published["FunctionArn"].endswith(":function:orders:1")
    again = json.loads(lsim_cli(project_dir, "publish-version", "orders", "--code-sha256", published["CodeSha256"]).stdout)
    assert again["Version"] == "1"
    stale = lsim_cli(project_dir, "publish-version", "orders", "--revision-id", "stale")
    assert stale.returncode == 2 and "PreconditionFailedException" in stale.stderr
    created = lsim_cli(project_dir, "alias", "create", "orders", "live", "--version", "1", "--weight", "1=0.0")
    assert created.returncode == 2 and "own FunctionVersion" in created.stderr
    created = lsim_cli(project_dir, "alias", "create", "orders", "live", "--version", "1")
    assert json.loads(created.stdout)["AliasArn"].endswith(":function:orders:live")
    listed = json.loads(lsim_cli(project_dir, "alias", "list", "orders").stdout)
    assert [a["Name"] for a in listed["Aliases"]] == ["live"]
    versions = json.loads(lsim_cli(project_dir, "versions", "orders").stdout)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    invoked = lsim_cli(project_dir, "invoke", "orders", "--qualifier", "live", "--backend", "process")
    assert invoked.returncode == 0, invoked.stderr
    assert "Version: 1" in invoked.stderr
    shutil.rmtree(project_dir / ".lsim" / "extracted", ignore_errors=True)  # the snapshot is re-extracted from its blob
    assert lsim_cli(project_dir, "invoke", "orders:1", "--backend", "process").returncode == 0
