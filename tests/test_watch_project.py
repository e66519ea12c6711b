"""`lsim serve --watch` reads the project file again when it changes: functions added, removed and
re-pointed, one console line each; a file that no longer reads keeps the functions; lsim's own writes in
the project never start a reload. Real `lsim serve` processes, boto3 against them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.test_api_awscli import start_serve, stop_serve
from tests.test_watch import client, containers_of, invoke, wait_for

APP = """
import os


def handler(event, context):
    return {"handler": "handler", "colour": os.environ.get("COLOUR")}


def other(event, context):
    return {"handler": "other", "memory": int(context.memory_limit_in_mb)}
"""


def toml(*functions: str) -> str:
    return "".join(functions)


def function(name: str, handler: str = "app.handler", extra: str = "") -> str:
    return f'[functions.{name}]\nhandler = "{handler}"\nruntime = "python3.11"\ncode = "."\n{extra}\n'


def lines_with(served: object, text: str) -> list[str]:
    return [line for line in served.lines if text in line]  # type: ignore[attr-defined]


@pytest.mark.docker
def test_lsim_toml_changes_add_remove_and_re_point_functions(tmp_path: Path) -> None:
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    tmp_path = tmp_path / "project"  # the code folder is the project's: lsim writes .lsim/ inside it
    tmp_path.mkdir()
    (tmp_path / "app.py").write_text(APP)
    project_file = tmp_path / "lsim.toml"
    project_file.write_text(toml(function(a)))
    served = start_serve(tmp_path, "--watch", "--backend", "docker")
    try:
        lambda_client = client(served)
        assert invoke(lambda_client, a) == {"handler": "handler", "colour": None}

        project_file.write_text(toml(function(a, "app.other", "memory_size = 256"), function(b)))
        wait_for(lambda: lines_with(served, f"function {a} changed (handler, memory_size)"), "the re-pointing")
        assert lines_with(served, f"function {b} added")
        assert invoke(lambda_client, a) == {"handler": "other", "memory": 256}
        assert invoke(lambda_client, b)["handler"] == "handler"

        project_file.write_text(toml(function(a, "app.other", "memory_size = 256")))
        wait_for(lambda: lines_with(served, f"function {b} removed"), "the removal")
        with pytest.raises(ClientError) as removed:
            invoke(lambda_client, b)
        assert removed.value.response["Error"]["Code"] == "ResourceNotFoundException"

        project_file.write_text("[functions.broken\n")
        wait_for(lambda: lines_with(served, "cannot be read"), "the complaint")
        assert lines_with(served, f"so the functions stay as they were ({a})")[0].count("not valid TOML") == 1
        assert invoke(lambda_client, a)["handler"] == "other"

        project_file.write_text(toml(function(a, "app.other", "memory_size = 256")))
        wait_for(lambda: lines_with(served, "lsim.toml changed: no function changed"), "the repair")
        # A sentinel: once a change of the code is seen, anything lsim's own writes had set off is seen too.
        (tmp_path / "app.py").write_text(APP + "\n# edited\n")
        wait_for(lambda: lines_with(served, f"reloaded {a}: app.py changed"), "the code reload")
        assert invoke(lambda_client, a)["handler"] == "other"
        assert len(lines_with(served, "reloaded ")) == 1, served.console()
        assert len([line for line in served.lines if " lsim.toml: " in line or " lsim.toml changed" in line]) == 5, (
            served.console()
        )  # 2 lines for the first edit, then 1 each
    finally:
        assert stop_serve(served) == 0
    assert containers_of(a) == [] and containers_of(b) == []


TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Environment:
        Variables:
          COLOUR: {colour}
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.other
      Runtime: python3.11
{more}"""

THIRD = """  ThirdFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
"""


def test_a_template_is_read_again_and_the_function_filter_still_holds(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.format(colour="red", more=""))
    env_vars = tmp_path / "env.json"
    env_vars.write_text("{}")
    served = start_serve(tmp_path, "HelloFunction", "--watch", "--backend", "process", "--env-vars", str(env_vars))
    try:
        lambda_client = client(served)
        assert invoke(lambda_client, "HelloFunction") == {"handler": "handler", "colour": "red"}
        with pytest.raises(ClientError) as unknown:
            invoke(lambda_client, "OtherFunction")
        assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"

        template.write_text(TEMPLATE.format(colour="blue", more=THIRD))
        wait_for(lambda: lines_with(served, "function HelloFunction changed (environment)"), "the change")
        assert invoke(lambda_client, "HelloFunction") == {"handler": "handler", "colour": "blue"}
        assert not lines_with(served, "ThirdFunction added")  # `lsim serve HelloFunction` serves that one only

        env_vars.write_text('{"HelloFunction": {"COLOUR": "green"}}')  # SAM's --env-vars file is read again too
        wait_for(lambda: len(lines_with(served, "function HelloFunction changed (environment)")) == 2, "the variables")
        assert invoke(lambda_client, "HelloFunction") == {"handler": "handler", "colour": "green"}

        template.write_text("Resources:\n  HelloFunction: [unclosed\n")
        wait_for(lambda: lines_with(served, "cannot be read"), "the complaint")
        assert invoke(lambda_client, "HelloFunction") == {"handler": "handler", "colour": "green"}
    finally:
        assert stop_serve(served) == 0
