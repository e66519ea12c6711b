"""The process backend: the same bootstrap and Runtime API with no Docker; timeout and memory enforced."""

from __future__ import annotations

from simulator.blocking import BlockingSimulator


def test_invocation_and_warm_reuse(process_lsim: BlockingSimulator) -> None:
    first = process_lsim.invoke("echo", {"n": 1})
    assert first.payload == {"event": {"n": 1}, "greeting": "hi"}
    assert "\tInit Duration: " in first.logs or not first.cold_start
    calls = [process_lsim.invoke("counter").payload["calls"] for _ in range(3)]
    assert calls == [calls[0], calls[0] + 1, calls[0] + 2]


def test_function_error(process_lsim: BlockingSimulator) -> None:
    result = process_lsim.invoke("fail", {"why": "x"})
    assert result.function_error == "Unhandled" and result.payload["errorType"] == "ValueError"


def test_timeout_is_enforced(process_lsim: BlockingSimulator) -> None:
    result = process_lsim.invoke("sleepy", {"seconds": 5})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "Status: timeout" in result.logs
    assert process_lsim.invoke("sleepy", {"seconds": 0}).cold_start


def test_memory_limit_is_enforced(process_lsim: BlockingSimulator) -> None:
    result = process_lsim.invoke("hog", {"mb": 400})
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.payload["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert process_lsim.invoke("hog", {"mb": 10}).payload == {"allocated_mb": 10}


def test_layers_path_and_task_root(process_lsim: BlockingSimulator) -> None:
    facts = process_lsim.invoke("inspect").payload
    path = facts["sys_path"]
    task_root = facts["env"]["LAMBDA_TASK_ROOT"]
    assert path[0] == task_root
    assert any(p.endswith("/python/lib/python3.11/site-packages") for p in path)


def test_init_error(process_lsim: BlockingSimulator) -> None:
    result = process_lsim.invoke("importerr")
    assert result.payload["errorType"] == "Runtime.ImportModuleError"


def test_extensions_hear_invoke_and_shutdown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from simulator.project import load_project

    from .conftest import HERE

    log = tmp_path / "extension.log"
    project = load_project(HERE / "project")
    function = project.functions["with-extension"]
    function.environment["EXT_LOG"] = str(log)
    with BlockingSimulator(project, backend="process") as lsim:
        result = lsim.invoke("with-extension")
        assert result.ok, result.body
    lines = log.read_text().splitlines()
    assert lines == ["registered for with-extension $LATEST", f"INVOKE {result.request_id}", "SHUTDOWN spindown"]


def test_idle_environments_are_reaped_after_the_idle_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    from simulator.project import load_project

    from .conftest import HERE

    project = load_project(HERE / "project")
    project = project.model_copy(update={"limits": project.limits.model_copy(update={"idle_timeout_s": 0.5})})
    with BlockingSimulator(project, backend="process") as lsim:
        assert lsim.invoke("echo").cold_start
        assert not lsim.invoke("echo").cold_start  # warm while it is used
        time.sleep(1.5)
        pool = next(iter(lsim.simulator.pools().values()))
        assert pool.size == 0  # the reaper stopped it
        assert lsim.invoke("echo").cold_start
