"""LoggingConfig (log format, application and system log levels, log group) on every face: lsim.toml,
template.yaml, the API's shapes and validation, and the logs of real invocations (JSON records of the Python
runtime, JSON platform lines, filtering by level)."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.errors import ProjectFileError
from simulator.logging_config import LEVELS_NEED_JSON, LoggingConfig
from simulator.project import load_project
from simulator.sam import load_template
from simulator.store import Store

from .test_api import Api, error_of, serve
from .test_invoke_docker import report_of

APP = """
import logging, os

logger = logging.getLogger("app")
print("init printed")


def handler(event, context):
    logger.debug("debug line")
    logger.info("info line", extra={"order": 7})
    logger.warning("warn line")
    logger.error("error line")
    print("printed")
    if event.get("fail"):
        raise ValueError("boom")
    return {
        "group": context.log_group_name,
        "format": os.environ.get("AWS_LAMBDA_LOG_FORMAT"),
        "level": os.environ.get("AWS_LAMBDA_LOG_LEVEL"),
    }
"""

# Its import takes a while, then fails: every init fails, the first in the init phase, the second in the invoke
BROKEN = """
import time
time.sleep(0.4)
import a_module_that_is_not_there
"""

PROJECT = """
[functions.text]
handler = "app.handler"
runtime = "python3.11"
code = "src"

[functions.json]
handler = "app.handler"
runtime = "python3.11"
code = "src"
logging_config = { log_format = "JSON" }

[functions.quiet]
handler = "app.handler"
runtime = "python3.11"
code = "src"
logging_config = { log_format = "JSON", application_log_level = "ERROR", system_log_level = "WARN", log_group = "my/group" }

[functions.broken]
handler = "broken.handler"
runtime = "python3.11"
code = "src"

[functions.broken_json]
handler = "broken.handler"
runtime = "python3.11"
code = "src"
logging_config = { log_format = "JSON", system_log_level = "DEBUG" }

[functions.chatty]
handler = "app.handler"
runtime = "python3.11"
code = "src"
logging_config = { log_format = "JSON", application_log_level = "DEBUG", system_log_level = "DEBUG" }
"""


def write_project(folder: Path, project: str = PROJECT) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "src" / "broken.py").write_text(BROKEN)
    (folder / "lsim.toml").write_text(project)
    return folder


def json_lines(logs: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


# -- the model: Lambda's answers, from AWS-validated snapshots ---------------------------------------------
def test_the_shape_follows_the_format() -> None:
    assert LoggingConfig().shape("f") == {"LogFormat": "Text", "LogGroup": "/aws/lambda/f"}
    assert LoggingConfig(log_format="JSON").shape("f") == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/f",
        "SystemLogLevel": "INFO",
    }
    with pytest.raises(ValueError, match="LogLevel is not supported"):
        LoggingConfig(log_format="Text", system_log_level="WARN")


def test_lsim_toml_refuses_a_level_with_text(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT + '\n[functions.bad]\nhandler = "app.handler"\nruntime = "python3.11"\n'
                  'code = "src"\nlogging_config = { application_log_level = "DEBUG" }\n')  # fmt: skip
    with pytest.raises(ProjectFileError, match="LogLevel is not supported"):
        load_project(tmp_path)


def test_template_logging_config_in_globals_and_on_lambda_function(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "template.yaml").write_text(
        """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    LoggingConfig:
      LogFormat: JSON
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      LoggingConfig:
        ApplicationLogLevel: DEBUG
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Code: src/
      Handler: app.handler
      Runtime: python3.11
      LoggingConfig:
        LogGroup: custom-group
"""
    )
    functions = load_template(tmp_path / "template.yaml", warn=lambda _: None).functions
    assert functions["Fn"].logging_config.shape("Fn") == {
        "ApplicationLogLevel": "DEBUG",
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/Fn",
        "SystemLogLevel": "INFO",
    }
    assert functions["Plain"].logging_config.shape("Plain") == {"LogFormat": "Text", "LogGroup": "custom-group"}


# -- the API, through boto3 ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("logging-api")), "process")


def test_update_function_configuration_as_lambda_answers(api: Api) -> None:
    client = api.client()
    default = client.get_function_configuration(FunctionName="text")["LoggingConfig"]
    assert default == {"LogFormat": "Text", "LogGroup": "/aws/lambda/text"}
    listed = {f["FunctionName"]: f["LoggingConfig"] for f in client.list_functions()["Functions"]}
    assert listed["quiet"] == {
        "ApplicationLogLevel": "ERROR", "LogFormat": "JSON", "LogGroup": "my/group", "SystemLogLevel": "WARN"
    }  # fmt: skip
    try:
        answer = client.update_function_configuration(FunctionName="text", LoggingConfig={"LogFormat": "JSON"})
        assert answer["LoggingConfig"] == {
            "ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": "/aws/lambda/text", "SystemLogLevel": "INFO"
        }  # fmt: skip
        debug = {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}
        answer = client.update_function_configuration(FunctionName="text", LoggingConfig=debug)
        assert (answer["LoggingConfig"]["ApplicationLogLevel"], answer["LoggingConfig"]["SystemLogLevel"]) == (
            "DEBUG",
            "INFO",
        )
        answer = client.update_function_configuration(FunctionName="text", LoggingConfig={"LogFormat": "Text"})
        assert answer["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/text"}
        answer = client.update_function_configuration(FunctionName="text", LoggingConfig={"LogGroup": "cool_lambda"})
        assert answer["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "cool_lambda"}
        # every read operation shows it
        assert client.get_function(FunctionName="text")["Configuration"]["LoggingConfig"]["LogGroup"] == "cool_lambda"
        published = client.publish_version(FunctionName="text")
        assert published["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "cool_lambda"}
        # levels need JSON: Lambda's own sentence, and nothing changes
        refused = error_of(
            lambda: client.update_function_configuration(
                FunctionName="text", LoggingConfig={"SystemLogLevel": "WARN"}
            )
        )
        assert refused.response["Error"]["Code"] == "InvalidParameterValueException"
        assert refused.response["Error"]["Message"] == LEVELS_NEED_JSON
        bad = error_of(
            lambda: client.update_function_configuration(FunctionName="text", LoggingConfig={"LogFormat": "XML"})
        )
        assert bad.response["Error"]["Code"] == "ValidationException"
        assert "at 'loggingConfig.logFormat' failed to satisfy constraint" in bad.response["Error"]["Message"]
        current = client.get_function_configuration(FunctionName="text")["LoggingConfig"]
        assert current == {"LogFormat": "Text", "LogGroup": "cool_lambda"}
    finally:
        api.lsim.call(api.lsim.simulator.versions.reset_function_configuration("text"))


# -- real invocations -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docker_lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    folder = write_project(tmp_path_factory.mktemp("logging-docker"))
    with BlockingSimulator(load_project(folder), backend="docker", store=Store(folder / ".lsim")) as lsim:
        yield lsim


@pytest.mark.docker
def test_text_format_is_unchanged(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("text", {})
    assert result.payload == {"group": "/aws/lambda/text", "format": None, "level": None}
    assert "INIT_START Runtime Version: python3.11" in result.logs
    assert f"START RequestId: {result.request_id} Version: $LATEST" in result.logs
    assert f"END RequestId: {result.request_id}" in result.logs
    assert "\nprinted\n" in result.logs and "\twarn line\n" in result.logs
    assert "info line" not in result.logs  # Python's root logger stays at WARNING
    assert not json_lines(result.logs)


@pytest.mark.docker
def test_json_format_gives_json_records_and_platform_lines(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("json", {})
    assert result.payload == {"group": "/aws/lambda/json", "format": "JSON", "level": "INFO"}
    records = json_lines(result.logs)
    types = [r.get("type") for r in records if "type" in r]
    # system level INFO: initStart, start and report only (no END line, no init or runtimeDone events)
    assert types == ["platform.initStart", "platform.start", "platform.report"]
    start, report = records[[r.get("type") for r in records].index("platform.start")], records[-1]
    assert start["record"] == {"requestId": result.request_id, "version": "$LATEST"}
    assert report["record"]["status"] == "success" and "initDurationMs" in report["record"]["metrics"]
    assert set(report["record"]["metrics"]) >= {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"}
    assert "END RequestId" not in result.logs and "REPORT RequestId" not in result.logs
    app = [r for r in records if "level" in r]
    assert [r["message"] for r in app] == ["info line", "warn line", "error line"]
    info = app[0]
    assert list(info) == ["timestamp", "level", "message", "logger", "requestId", "order"]
    assert info["level"] == "INFO" and info["logger"] == "app" and info["order"] == 7
    assert info["requestId"] == result.request_id and info["timestamp"].endswith("Z") and "." not in info["timestamp"]
    assert app[1]["level"] == "WARNING"
    lines = result.logs.splitlines()
    assert "printed" in lines and "init printed" in lines  # print() stays text
    # a platform line is compact JSON with Telemetry's time
    line = next(x for x in lines if '"platform.start"' in x)
    assert line.startswith('{"time":"') and ", " not in line


@pytest.mark.docker
def test_levels_filter_application_and_system_lines(docker_lsim: BlockingSimulator) -> None:
    quiet = docker_lsim.invoke("quiet", {})
    assert quiet.payload == {"group": "my/group", "format": "JSON", "level": "ERROR"}
    records = json_lines(quiet.logs)
    assert [r["message"] for r in records if "level" in r] == ["error line"]
    assert not [r for r in records if "type" in r]  # system level WARN: a success logs nothing
    assert "printed" not in quiet.logs  # print() counts as INFO
    failed = docker_lsim.invoke("quiet", {"fail": True})
    records = json_lines(failed.logs)
    # the runtime's error makes runtimeDone a WARN event; the report stays a success
    done = [r for r in records if "type" in r]
    assert [r["type"] for r in done] == ["platform.runtimeDone"]
    assert (done[0]["record"]["status"], done[0]["record"]["errorType"]) == ("error", "ValueError")
    unhandled = next(r for r in records if r.get("log_level") == "ERROR")
    assert list(unhandled) == ["timestamp", "log_level", "errorMessage", "errorType", "requestId", "stackTrace"]
    assert unhandled["errorType"] == "ValueError" and unhandled["requestId"] == failed.request_id

    chatty = docker_lsim.invoke("chatty", {})
    records = json_lines(chatty.logs)
    assert [r["message"] for r in records if "level" in r] == ["debug line", "info line", "warn line", "error line"]
    types = [r["type"] for r in records if "type" in r]
    assert types == [
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    done = next(r for r in records if r.get("type") == "platform.runtimeDone")["record"]
    assert done["status"] == "success" and done["metrics"]["producedBytes"] > 0
    assert done["spans"][0]["name"] == "responseLatency"


@pytest.mark.docker
def test_log_type_tail_carries_the_json_lines(tmp_path: Path) -> None:
    for api in serve(write_project(tmp_path), "docker"):
        response = api.client().invoke(FunctionName="json", LogType="Tail", Payload=b"{}")
        tail = base64.b64decode(response["LogResult"]).decode()
        assert json_lines(tail)[-1]["type"] == "platform.report"


INIT_REPORT = re.compile(
    r"^INIT_REPORT Init Duration: (?P<init>\d+\.\d\d) ms\tPhase: (?P<phase>\w+)\tStatus: (?P<status>\w+)"
    r"(?:\tError Type: (?P<type>\S+))?$",
    re.MULTILINE,
)


@pytest.mark.docker
def test_a_failed_init_reports_as_lambda_does(docker_lsim: BlockingSimulator) -> None:
    """INIT_REPORT for the init phase, the suppressed re-init in the invoke phase with its own INIT_REPORT, then
    START, END, REPORT: Duration covers the re-init (not the first init, nor lsim's restart of the sandbox),
    and there is no Init Duration."""
    result = docker_lsim.invoke("broken", {})
    assert result.payload == {
        "errorMessage": "Unable to import module 'broken': No module named 'a_module_that_is_not_there'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    lines = [line for line in result.logs.splitlines() if not line.startswith(("[", "\u00a0", "Traceback"))]
    platform = [line.split(" ")[0] for line in lines]
    assert platform == ["INIT_START", "INIT_REPORT", "INIT_REPORT", "START", "END", "REPORT"], result.logs
    reports = list(INIT_REPORT.finditer(result.logs))
    assert [(r["phase"], r["status"], r["type"]) for r in reports] == [
        ("init", "error", "Runtime.ImportModuleError"),
        ("invoke", "error", "Runtime.ImportModuleError"),
    ]
    assert result.logs.count("LAMBDA_WARNING: Unhandled exception") == 2  # the runtime ran twice
    report = report_of(result.logs)
    assert report["init"] is None
    assert (report["status"], report["type"]) == ("error", "Runtime.ImportModuleError")
    first, second, duration = float(reports[0]["init"]), float(reports[1]["init"]), float(report["duration"])
    assert duration >= second >= 400  # the re-init's sleep is in both
    assert duration < first + second  # the failed first init is not counted again
    assert int(report["billed"]) == math.ceil(duration)


@pytest.mark.docker
def test_a_failed_init_in_json_platform_events(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("broken_json", {})
    events = [(r["type"], r["record"]) for r in json_lines(result.logs) if "type" in r]
    assert [(t, r.get("phase"), r.get("status")) for t, r in events] == [
        ("platform.initStart", "init", None),
        ("platform.initRuntimeDone", "init", "error"),
        ("platform.initReport", "init", "error"),
        ("platform.initStart", "invoke", None),
        ("platform.initRuntimeDone", "invoke", "error"),
        ("platform.initReport", "invoke", "error"),
        ("platform.start", None, None),
        ("platform.runtimeDone", None, "error"),
        ("platform.report", None, "error"),
    ]
    report = events[-1][1]
    assert report["errorType"] == "Runtime.ImportModuleError" and "initDurationMs" not in report["metrics"]
    assert events[2][1]["errorType"] == "Runtime.ImportModuleError" and events[2][1]["metrics"]["durationMs"] > 0
