"""A function's name in a template, as on AWS: FunctionName; nested applications (`SubApp/FunctionA`) and
`cdk synth` output (cdk.out/) found by the names `sam local` finds them by; a template's warnings said once
per change of the template."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from simulator.api import ApiServer
from simulator.blocking import BlockingSimulator
from simulator.errors import ProjectFileError, ResourceNotFoundException
from simulator.project import load_project

from .cli import lsim
from .conftest import HERE

CDK_OUT = HERE / "sam_templates" / "cdk-app" / "cdk.out"
NESTED = HERE / "sam_templates" / "nested"

WHO = """\
import os


def handler(event, context):
    return {
        "name": context.function_name,
        "env": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "group": context.log_group_name,
        "stage": os.environ.get("STAGE"),
        "event": event,
    }
"""

NAMED = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "orders-${Stage}"
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
  PlainFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Environment:
        Variables:
          ORDERS: !Ref OrdersFunction
          ORDERS_ARN: !GetAtt OrdersFunction.Arn
"""


def project_folder(tmp_path: Path, template: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text(WHO)
    (tmp_path / "template.yaml").write_text(template)
    return tmp_path


# -- FunctionName ----------------------------------------------------------------------------------------
def test_function_name_names_the_function_and_ref_gives_it(tmp_path: Path) -> None:
    said: list[str] = []
    project = load_project(project_folder(tmp_path, NAMED), parameter_overrides=["Stage=prod"], warn=said.append)
    assert sorted(project.functions) == ["PlainFunction", "orders-prod"]
    assert project.functions["orders-prod"].name == "orders-prod"
    assert project.function_ids == {"OrdersFunction": ["orders-prod"]}
    environment = project.functions["PlainFunction"].environment
    assert environment["ORDERS"] == "orders-prod"  # Ref of a function is its name, as on AWS
    assert environment["ORDERS_ARN"] == "arn:aws:lambda:us-east-1:123456789012:function:orders-prod"
    assert not [m for m in said if "knows this function" in m]


def test_function_name_runs_and_the_logical_id_still_finds_it(tmp_path: Path) -> None:
    """The CLI, the in-process facade and the Lambda API by either name; the function sees its own name."""
    folder = project_folder(tmp_path, NAMED)
    by_id = lsim("invoke", "OrdersFunction", "--backend", "process", "--payload", '{"via": "cli"}', cwd=folder)
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["name"] == "orders-dev"
    assert json.loads(by_id.stdout)["env"] == "orders-dev"
    assert json.loads(by_id.stdout)["group"] == "/aws/lambda/orders-dev"
    with BlockingSimulator(load_project(folder, warn=lambda _: None), backend="process") as simulator:
        for reference in ("orders-dev", "OrdersFunction", "OrdersFunction:$LATEST"):
            result = simulator.invoke(reference, {})
            assert result.ok and result.payload["name"] == "orders-dev", (reference, result.body)
        server = ApiServer(simulator.simulator, port=0, say=lambda _: None)
        url = simulator.call(server.start())
        try:
            client = boto3.client(
                "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}),
            )  # fmt: skip
            names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
            assert names == ["PlainFunction", "orders-dev"]
            answer = client.invoke(FunctionName="OrdersFunction", Payload=b"{}")
            assert json.loads(answer["Payload"].read())["name"] == "orders-dev"
            configuration = client.get_function_configuration(FunctionName="OrdersFunction")
            assert configuration["FunctionName"] == "orders-dev"
        finally:
            simulator.call(server.close())


def test_two_functions_with_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    template = NAMED.replace("      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.11\n      Env",
                             "      FunctionName: orders-dev\n      CodeUri: src/\n      Handler: app.handler\n"
                             "      Runtime: python3.11\n      Env")  # fmt: skip
    with pytest.raises(ProjectFileError) as error:
        load_project(project_folder(tmp_path, template), warn=lambda _: None)
    message = str(error.value)
    assert "template.yaml:12: Resources.PlainFunction: orders-dev already exists in stack arn:aws:cloudformation:" in message
    assert ": functions OrdersFunction (" in message
    assert "template.yaml:5) and PlainFunction are both named orders-dev" in message
    assert "give one of them another FunctionName" in message


# -- nested applications -------------------------------------------------------------------------------
def test_nested_applications_load_with_parameters_paths_and_names() -> None:
    said: list[str] = []
    project = load_project(NESTED, parameter_overrides=["Stage=prod"], warn=said.append)
    functions = project.functions
    assert sorted(functions) == ["RootFunction", "SubApp-FunctionA", "SubApp-Inner-DeepFunction", "billing-prod",
                                 "prod-StackB-FunctionA"]  # fmt: skip
    # CodeUri relative to the child template's folder, two deep too
    assert functions["SubApp-FunctionA"].code == NESTED / "child" / "src"
    assert functions["SubApp-Inner-DeepFunction"].code == NESTED / "child" / "grandchild" / "code"
    # Parameters passed down: `Stage: !Ref Stage`, a literal, and the child's Default where none is given
    assert functions["SubApp-FunctionA"].environment == {"STAGE": "prod", "COLOR": "blue", "SIZE": "small"}
    assert functions["SubApp-Inner-DeepFunction"].environment == {"STAGE": "prod-deep"}
    assert functions["prod-StackB-FunctionA"].environment["COLOR"] == "green"  # AWS::CloudFormation::Stack
    ids = project.function_ids
    assert ids["SubApp/FunctionA"] == ["SubApp-FunctionA"]
    assert ids["SubApp/Inner/DeepFunction"] == ["SubApp-Inner-DeepFunction"]
    assert ids["StackB/FunctionA"] == ["prod-StackB-FunctionA"]
    assert ids["FunctionA"] == ["SubApp-FunctionA", "prod-StackB-FunctionA"]  # ambiguous: lookup asks
    assert ids["BillingFunction"] == ["billing-prod"] and ids["SubApp/BillingFunction"] == ["billing-prod"]
    assert any("Resources.FromRepository.Properties.Location (an application of the Serverless Application "
               "Repository) not supported by lsim: ignored" in m for m in said)  # fmt: skip


def test_nested_functions_run_by_path_and_an_ambiguous_id_says_so(tmp_path: Path) -> None:
    nested = tmp_path / "nested"
    shutil.copytree(NESTED, nested, ignore=shutil.ignore_patterns(".lsim"))
    project = load_project(nested, warn=lambda _: None)
    with BlockingSimulator(project, backend="process") as simulator:
        deep = simulator.invoke("SubApp/Inner/DeepFunction", {"n": 1})
        assert deep.ok, deep.body
        assert deep.payload["name"] == "SubApp-Inner-DeepFunction" and deep.payload["stage"] == "dev-deep"
        assert simulator.invoke("DeepFunction", {}).payload["name"] == "SubApp-Inner-DeepFunction"
        assert simulator.invoke("StackB/FunctionA", {}).payload["name"] == "dev-StackB-FunctionA"
        with pytest.raises(ResourceNotFoundException) as error:
            simulator.invoke("FunctionA", {})
        assert "FunctionA finds several functions: SubApp-FunctionA, dev-StackB-FunctionA; give one of their " \
               "names or paths: StackB/FunctionA, SubApp/FunctionA" in str(error.value)  # fmt: skip
    done = lsim("invoke", "SubApp/FunctionA", "--backend", "process", cwd=nested)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["env"] == "SubApp-FunctionA"


def test_a_nested_template_that_includes_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "Resources:\n  B:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: b.yaml\n"
    )
    (tmp_path / "b.yaml").write_text(
        "Resources:\n  A:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: ./a.yaml\n"
    )
    with pytest.raises(ProjectFileError) as error:
        load_project(tmp_path / "a.yaml", warn=lambda _: None)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert str(error.value) == (
        f"{b}:5: Resources.A: the nested template includes itself ({a} -> {b} -> {a}); CloudFormation cannot "
        "create a stack inside itself: remove the loop"
    )
    missing = tmp_path / "m.yaml"
    missing.write_text("Resources:\n  X:\n    Type: AWS::Serverless::Application\n    Properties:\n"
                       "      Location: nowhere/template.yaml\n")  # fmt: skip
    with pytest.raises(ProjectFileError, match=r"m.yaml:5: Resources.X.Properties.Location: .*nowhere/template.yaml "
                       "does not exist; point it at the nested template"):  # fmt: skip
        load_project(missing, warn=lambda _: None)


# -- CDK ---------------------------------------------------------------------------------------------------
def test_cdk_out_loads_as_cdk_synth_wrote_it() -> None:
    said: list[str] = []
    for path in (CDK_OUT, CDK_OUT / "OrdersStack.template.json", CDK_OUT.parent):
        project = load_project(path, warn=said.append)
        assert sorted(project.functions) == [
            "ApiHandler5E7490E8", "ImageHandler8D9E0F1A", "Reports-ReportFunction1A2B3C4D", "orders-worker"
        ], path  # fmt: skip
    api = project.functions["ApiHandler5E7490E8"]
    assert api.code == CDK_OUT / "asset.3f1b2c0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1"
    assert (api.handler, api.runtime, api.memory_size, api.timeout) == ("index.handler", "python3.12", 512, 10)
    assert api.environment["TABLE_NAME"] == "OrdersTable"  # !Ref of a table lsim does not create
    assert project.functions["orders-worker"].layers == [str(CDK_OUT / "asset.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7")]
    assert project.function_ids["ApiHandler"] == ["ApiHandler5E7490E8"]  # the CDK id, from aws:cdk:path
    assert project.function_ids["Worker"] == ["orders-worker"]
    assert project.function_ids["WorkerC4B7E1A9"] == ["orders-worker"]
    # a nested stack (its template an asset too), with the parameters CDK passes it
    report = project.functions["Reports-ReportFunction1A2B3C4D"]
    assert report.environment == {"TABLE_NAME": "OrdersTable"} and report.code == api.code
    assert project.function_ids["Reports/ReportFunction"] == ["Reports-ReportFunction1A2B3C4D"]
    # an image asset: built from its Dockerfile, as `sam build` builds it, not pulled from ECR
    image = project.functions["ImageHandler8D9E0F1A"]
    assets = "asset.7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d"
    assert image.image == "imagehandler8d9e0f1a:latest"
    assert image.image_build == f"docker build -t imagehandler8d9e0f1a:latest -f {CDK_OUT / assets / 'Dockerfile'} " \
        f"{CDK_OUT / assets}"  # fmt: skip
    assert not [m for m in said if "AWS::CDK::Metadata" in m or "BootstrapVersion" in m]


def test_cdk_function_runs_by_its_cdk_id(tmp_path: Path) -> None:
    """In the CDK app's folder (cdk.json, cdk.out/), and with --template naming the stack's template."""
    app = tmp_path / "cdk-app"
    shutil.copytree(CDK_OUT.parent, app, ignore=shutil.ignore_patterns(".lsim"))
    done = lsim("invoke", "ApiHandler", "--backend", "process", "--payload", '{"id": 7}', cwd=app)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer == {"handled_by": "ApiHandler5E7490E8", "table": "OrdersTable", "event": {"id": 7}}
    worker = lsim("--template", str(app / "cdk.out" / "OrdersStack.template.json"), "invoke", "Worker",
                  "--backend", "process", cwd=tmp_path)  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert json.loads(worker.stdout) == {"worker": "orders-worker", "helper": "from the layer"}


def test_a_cloud_assembly_with_several_stacks_asks_for_one(tmp_path: Path) -> None:
    assembly = tmp_path / "cdk.out"
    shutil.copytree(CDK_OUT, assembly)
    manifest = json.loads((assembly / "manifest.json").read_text())
    manifest["artifacts"]["OtherStack"] = {"type": "aws:cloudformation:stack",
                                           "properties": {"templateFile": "OtherStack.template.json"}}  # fmt: skip
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ProjectFileError, match="holds 2 stacks .OrdersStack, OtherStack.: name one with --template"):
        load_project(assembly, warn=lambda _: None)


# -- warnings ----------------------------------------------------------------------------------------------
def test_warnings_are_said_once_per_change_of_the_template(tmp_path: Path) -> None:
    folder = project_folder(tmp_path, NAMED.replace("      Runtime: python3.11\n  Plain",
                                                    "      Runtime: python3.11\n      Tracing: Active\n  Plain"))  # fmt: skip
    warning = "template.yaml:12: Resources.OrdersFunction.Properties.Tracing not supported by lsim: ignored"
    def run(*options: str) -> str:
        done = lsim(*options, "invoke", "OrdersFunction", "--backend", "process", cwd=folder)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert warning in run()
    assert "not supported by lsim" not in run()  # the same template: not said again
    template = folder / "template.yaml"
    template.write_text(template.read_text() + "\n")
    assert warning in run()  # a changed template says them again
    assert "not supported by lsim" not in run()
    assert warning in run("--parameter-overrides", "Stage=qa")  # other parameters: said again


def test_the_pytest_fixture_finds_a_function_by_its_logical_id(tmp_path: Path) -> None:
    """A SAM project's own tests, as its author writes them: by logical ID, through the fixture and boto3."""
    from .test_fixture import run_pytest

    folder = project_folder(tmp_path, NAMED)
    (folder / "test_orders.py").write_text(
        "def test_orders(lsim):\n"
        "    assert lsim.invoke('OrdersFunction', {}).payload['name'] == 'orders-dev'\n"
        "    answer = lsim.client().invoke(FunctionName='OrdersFunction', Payload=b'{}')\n"
        "    assert b'orders-dev' in answer['Payload'].read()\n"
    )
    result = run_pytest(folder, "-q", "--lsim-backend", "process")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.docker
def test_nested_and_cdk_functions_run_in_containers_under_their_names(tmp_path: Path) -> None:
    """In Lambda's container, a function sees the name lsim gives it: FunctionName, or SubApp-FunctionA."""
    nested = tmp_path / "nested"
    shutil.copytree(NESTED, nested, ignore=shutil.ignore_patterns(".lsim"))
    with BlockingSimulator(load_project(nested, warn=lambda _: None), backend="docker") as simulator:
        deep = simulator.invoke("SubApp/Inner/DeepFunction", {})
        assert deep.ok, deep.body
        assert deep.payload == {"name": "SubApp-Inner-DeepFunction", "env": "SubApp-Inner-DeepFunction",
                                "stage": "dev-deep"}  # fmt: skip
        billing = simulator.invoke("BillingFunction", {})
        assert billing.payload["env"] == "billing-dev" and "RequestId:" in billing.logs
    app = tmp_path / "cdk-app"
    shutil.copytree(CDK_OUT.parent, app, ignore=shutil.ignore_patterns(".lsim"))
    with BlockingSimulator(load_project(app / "cdk.out", warn=lambda _: None), backend="docker") as simulator:
        worker = simulator.invoke("Worker", {})
        assert worker.ok, worker.body
        assert worker.payload == {"worker": "orders-worker", "helper": "from the layer"}
