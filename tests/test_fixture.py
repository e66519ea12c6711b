"""The `lsim` pytest fixture: registered by the `pytest11` entry point, one simulator per session (and per
pytest-xdist worker), results with payload, error, logs and REPORT figures, scoped concurrency, boto3."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.project import load_project
from simulator.pytest_plugin import LsimFixture
from simulator.simulator import Simulator
from simulator.store import Store


@pytest.fixture(autouse=True)
def _own_account(own_lsim_home: Path) -> Path:
    """These tests count an account's layer versions: each has an account of its own."""
    return own_lsim_home


REPO = Path(__file__).parent.parent
SAMPLE = REPO / "samples" / "pytest-fixture"


def run_pytest(folder: Path, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process, as a user runs it in their repository: only the entry point loads lsim."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def write_function(folder: Path, name: str) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "app.py").write_text(
        "import uuid\nENVIRONMENT = uuid.uuid4().hex\n\n"
        "def handler(event, context):\n    return {'event': event, 'environment': ENVIRONMENT}\n"
    )
    (folder / "lsim.toml").write_text(
        f'[functions.{name}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    return folder


@pytest.fixture
def fixture(tmp_path: Path) -> Iterator[LsimFixture]:
    folder = write_function(tmp_path / "project", "who")
    lsim = LsimFixture(load_project(folder), "process", tmp_path / "state")
    try:
        yield lsim
    finally:
        lsim.close()


@pytest.mark.docker
def test_the_sample_project_passes_with_the_fixture_alone() -> None:
    result = run_pytest(SAMPLE, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


@pytest.mark.docker
def test_each_xdist_worker_has_its_own_simulator_state_and_containers(tmp_path: Path) -> None:
    import docker

    name = f"who-{uuid.uuid4().hex[:8]}"
    folder = write_function(tmp_path / "project", name)
    (folder / "tests").mkdir()
    record = tmp_path / "record.jsonl"
    template = """

def test_NUMBER(lsim):
    result = lsim.invoke("FUNCTION", {"n": NUMBER})
    assert result.payload["event"] == {"n": NUMBER}
    row = {"worker": os.environ["PYTEST_XDIST_WORKER"], "state": str(lsim.state_folder),
           "environment": result.payload["environment"]}
    with open(os.environ["LSIM_RECORD"], "a") as out:
        out.write(json.dumps(row) + "\\n")
""".replace("FUNCTION", name)
    for file, numbers in (("test_a.py", (1, 2)), ("test_b.py", (3, 4))):
        body = "".join(template.replace("NUMBER", str(n)) for n in numbers)
        (folder / "tests" / file).write_text("import json\nimport os\n" + body)
    result = run_pytest(folder, "-q", "-n", "2", "--dist", "loadfile", "--lsim-backend", "docker",
                        env={"LSIM_RECORD": str(record)})  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(rows) == 4
    workers = {row["worker"] for row in rows}
    assert len(workers) == 2
    states = {row["worker"]: row["state"] for row in rows}
    assert len(set(states.values())) == 2, "two workers shared a state folder"
    environments = {row["worker"]: row["environment"] for row in rows}
    assert len(set(environments.values())) == 2, "two workers shared an execution environment"
    client = docker.from_env()
    left = client.containers.list(all=True, filters={"label": ["lsim.managed=1", f"lsim.function={name}"]})
    assert left == [], "the sessions left containers behind"


def test_a_missing_project_file_is_a_clear_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(lsim):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = run_pytest(tmp_path, "-q")
    assert result.returncode != 0
    assert "lsim fixture: no lsim.toml found" in result.stdout + result.stderr


def test_results_carry_payload_logs_and_report(fixture: LsimFixture) -> None:
    result = fixture.invoke("who", {"id": 1})
    assert result.payload["event"] == {"id": 1}
    assert result.function_error is None and result.error is None
    assert f"REPORT RequestId: {result.request_id}" in result.logs
    assert result.report is not None and result.report.memory_size_mb == 128
    assert result.report.billed_duration_ms >= result.report.duration_ms
    assert fixture.call("get_function_configuration", "who").function.handler == "app.handler"


def test_client_is_bound_to_a_lazily_started_lambda_api(fixture: LsimFixture) -> None:
    assert fixture._server is None  # nothing listens until a client is asked for
    client = fixture.client()
    assert fixture.endpoint_url.startswith("http://127.0.0.1:")
    response = client.invoke(FunctionName="who", Payload=b'{"via": "boto3"}')
    assert json.loads(response["Payload"].read())["event"] == {"via": "boto3"}
    assert client.get_function_configuration(FunctionName="who")["Handler"] == "app.handler"


def test_concurrency_is_scoped_and_the_previous_setting_restored(fixture: LsimFixture) -> None:
    if not hasattr(Simulator, "put_function_concurrency"):
        pytest.skip("the concurrency feature (Put/DeleteFunctionConcurrency) has not landed in this lsim")

    def reserved() -> int | None:
        return fixture.call("get_function_concurrency", "who").reserved_concurrent_executions  # type: ignore[no-any-return]

    assert reserved() is None
    with fixture.concurrency("who", reserved=3):
        assert reserved() == 3
    assert reserved() is None
    fixture.call("put_function_concurrency", "who", reserved_concurrent_executions=5)
    with fixture.concurrency("who", reserved=1):
        assert reserved() == 1
    assert reserved() == 5


def test_the_session_state_starts_from_the_projects_own(tmp_path: Path) -> None:
    """Layers published into the project's .lsim are there; what the session adds stays in its own copy."""
    from simulator.layers import LayerRegistry

    folder = write_function(tmp_path / "project", "who")
    project = load_project(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/x.py", "X = 1\n")
    LayerRegistry(Store.for_project(folder), project).publish_layer_version("published", buffer.getvalue())

    from simulator.pytest_plugin import seed_state

    state = tmp_path / "session-state"
    state.mkdir()
    seed_state(folder / ".lsim", state)
    lsim = LsimFixture(project, "process", state)
    try:
        assert [layer.layer_name for layer in lsim.call("list_layers")] == ["published"]
        lsim.call("publish_layer_version", "session-only", buffer.getvalue())
    finally:
        lsim.close()
    own = [v.layer_name for v in LayerRegistry(Store.for_project(folder), project).list_layers()]
    assert own == ["published"], "the session wrote into the project's database"
