"""SAM's habits: the project options after the command as `sam local invoke` takes them (`--template`,
`--template-file`, `-t`, `--env-vars`, `--parameter-overrides A=1 B=2`), SAM_TEMPLATE_FILE, and
`lsim serve F1 F2`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simulator.cli.project_options import hoist_project_options, spread_parameter_overrides

from .cli import lsim

SAM_APP = Path(__file__).parent.parent / "samples" / "sam-app"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of samples/sam-app, and an empty folder beside it to run lsim from (no project there)."""
    shutil.copytree(SAM_APP, tmp_path / "app", ignore=shutil.ignore_patterns(".lsim", "__pycache__"))
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "app"


def variables(*args: str, cwd: Path, env: dict[str, str | None] | None = None) -> dict[str, str]:
    ran = lsim("config", "show", "HelloFunction", *args, cwd=cwd, env=env)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)["Environment"]["Variables"]  # type: ignore[no-any-return]


def test_project_options_after_the_command_as_sam_local_invoke_takes_them(app: Path) -> None:
    elsewhere = app.parent / "elsewhere"
    found = variables("--template", "../app/template.yaml", "--parameter-overrides", "Stage=prod", "GreetingPrefix=Hi",
                      "--env-vars", "../app/env.json", cwd=elsewhere)  # fmt: skip
    assert found["STAGE"] == "local"  # env.json's "Parameters" over the template's !Ref Stage
    assert found["LOG_LEVEL"] == "WARNING"  # the IsProd condition saw Stage=prod
    assert found["GREETING_PREFIX"] == "Howdy"  # env.json's own entry for the function
    assert variables("--template-file", "../app/template.yaml", cwd=elsewhere)["STAGE"] == "dev"
    assert variables("-t", "../app/template.yaml", "--parameter-overrides", "Stage=staging", cwd=elsewhere)["STAGE"] == (
        "staging"
    )


def test_sam_long_form_and_values_with_spaces(app: Path) -> None:
    found = variables("--parameter-overrides", "ParameterKey=Stage,ParameterValue=prod",
                      "ParameterKey=GreetingPrefix,ParameterValue=Good day", cwd=app)  # fmt: skip
    assert (found["STAGE"], found["GREETING_PREFIX"]) == ("prod", "Good day")
    assert variables("--parameter-overrides", "Stage=prod GreetingPrefix='Good evening'", cwd=app)["GREETING_PREFIX"] == (
        "Good evening"
    )


def test_an_option_after_the_command_wins_over_the_same_before_it(app: Path) -> None:
    found = variables("--parameter-overrides", "Stage=staging", cwd=app)
    assert found["STAGE"] == "staging"
    ran = lsim("--parameter-overrides", "Stage=staging", "GreetingPrefix=Yo", "config", "show", "HelloFunction",
               "--parameter-overrides", "Stage=prod", cwd=app)  # fmt: skip
    shown = json.loads(ran.stdout)["Environment"]["Variables"]
    assert (shown["STAGE"], shown["GREETING_PREFIX"]) == ("prod", "Yo")


def test_sam_template_file_names_the_template_when_no_option_does(app: Path) -> None:
    elsewhere = app.parent / "elsewhere"
    env: dict[str, str | None] = {"SAM_TEMPLATE_FILE": "../app/template.yaml"}
    assert variables(cwd=elsewhere, env=env)["STAGE"] == "dev"
    (app.parent / "other").mkdir()
    (app.parent / "other" / "lsim.toml").write_text("")
    ran = lsim("config", "show", "HelloFunction", "--project", str(app.parent / "other"), cwd=elsewhere, env=env)
    assert ran.returncode == 2 and "ResourceNotFoundException" in ran.stderr  # the option wins over the variable


def test_every_commands_help_says_where_the_project_options_go() -> None:
    for command in (("invoke",), ("serve",), ("layer", "publish"), ("config", "show")):
        shown = lsim(*command, "--help")
        assert shown.returncode == 0 and "before or after the command" in shown.stdout, command


def test_project_and_template_together_is_a_usage_error(app: Path) -> None:
    ran = lsim("--project", str(app), "config", "show", "HelloFunction", "--template", str(app / "template.yaml"))
    assert ran.returncode == 2 and "give --project or --template, not both" in ran.stderr


def test_the_command_line_is_rewritten_only_where_sam_users_expect() -> None:
    assert spread_parameter_overrides(["invoke", "F", "--parameter-overrides", "A=1", "B=two words", "--event", "e"]) == [
        "invoke", "F", "--parameter-overrides", "A=1", "--parameter-overrides", "'B=two words'", "--event", "e",
    ]  # fmt: skip
    assert spread_parameter_overrides(["--parameter-overrides", "A=1", "invoke", "F", "--", "B=2"]) == [
        "--parameter-overrides", "A=1", "invoke", "F", "--", "B=2",
    ]  # fmt: skip
    assert hoist_project_options(["-p", "x", "invoke", "F", "--event", "e.json", "-t", "t.yaml", "--env-vars=v.json"]) == [
        "-p", "x", "-t", "t.yaml", "--env-vars=v.json", "invoke", "F", "--event", "e.json",
    ]  # fmt: skip
    assert hoist_project_options(["invoke", "F", "-tt.yaml", "--parameter-overrides=A=1"]) == [
        "-tt.yaml", "--parameter-overrides=A=1", "invoke", "F",
    ]  # fmt: skip
    assert hoist_project_options(["invoke", "F", "--payload", "{}", "--", "-t"]) == [
        "invoke", "F", "--payload", "{}", "--", "-t",
    ]  # fmt: skip


def test_serve_refuses_a_function_the_project_does_not_define(app: Path) -> None:
    ran = lsim("serve", "HelloFunction", "NoSuchFunction", "--port", "0", cwd=app)
    assert ran.returncode == 2
    assert "no function named NoSuchFunction" in ran.stderr and "HelloFunction, WorkerFunction" in ran.stderr


@pytest.mark.docker
def test_sam_local_invoke_command_line_runs_as_it_is(app: Path) -> None:
    """`sam local invoke HelloFunction --event ... --env-vars ... --parameter-overrides ... --template ...`,
    with `lsim` for `sam local`, in a real container."""
    ran = lsim("invoke", "HelloFunction", "--event", str(app / "events" / "api.json"), "--env-vars",
               str(app / "env.json"), "--parameter-overrides", "Stage=prod", "GreetingPrefix=Hi", "--template",
               str(app / "template.yaml"), "--backend", "docker", cwd=app.parent / "elsewhere")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    body = json.loads(json.loads(ran.stdout)["body"])
    assert body["message"].startswith("Howdy, ") and body["stage"] == "local" and body["memory_limit_in_mb"] == 256
