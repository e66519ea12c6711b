"""SAM templates, written the way public SAM examples are written, read into the same configs lsim.toml gives;
what lsim leaves out is reported with its line, never dropped in silence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.config import FunctionConfig
from simulator.errors import ProjectFileError
from simulator.project import find_project_file, load_project
from simulator.sam import parse_parameter_overrides

from .cli import Ran
from .cli import lsim as run_lsim
from .conftest import HERE, REPO

TEMPLATES = HERE / "sam_templates"


def line(path: Path, snippet: str) -> int:
    """The line of `snippet` in a file, so that tests say which line a report must name."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if snippet in text:
            return number
    raise AssertionError(f"{snippet!r} is not in {path}")


def load(
    folder: Path | str, *overrides: str, env_vars: Path | None = None
) -> tuple[dict[str, FunctionConfig], list[str]]:
    said: list[str] = []
    project = load_project(
        TEMPLATES / folder if isinstance(folder, str) else folder,
        parameter_overrides=overrides,
        env_vars=env_vars,
        warn=said.append,
    )
    return project.functions, said


def write(tmp_path: Path, template: str, name: str = "template.yaml") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / name
    path.write_text(template)
    return path


MINIMAL = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
"""


# -- the four kinds of template ------------------------------------------------------------------------
def test_hello_world_as_sam_init_writes_it() -> None:
    functions, said = load("hello-world")
    template = TEMPLATES / "hello-world" / "template.yaml"
    function = functions["HelloWorldFunction"]
    assert function.handler == "app.lambda_handler" and function.runtime == "python3.11"
    assert function.code == TEMPLATES / "hello-world" / "hello_world"
    assert (function.memory_size, function.timeout, function.architecture) == (128, 3, "x86_64")
    # its Api event is a route of the implicit ServerlessRestApi (test_http_declarations.py), said nothing about
    route = function.http_events["HelloWorld"]
    assert (route.type, route.method, route.path, route.api) == ("api", "GET", "/hello", "ServerlessRestApi")
    where = f"template.yaml:{line(template, 'HelloWorld:')} Resources.HelloWorldFunction.Properties.Events.HelloWorld"
    assert route.declared_at is not None and route.declared_at.endswith(where)
    # lsim installs requirements.txt itself (simulator/dependencies.py): nothing to say about it
    assert not any("requirements.txt" in m for m in said)
    assert not any("Outputs" in m for m in said)  # Outputs do not change what runs
    assert len(said) == len(set(said))  # each thing said once


def test_globals_parameters_and_intrinsic_functions() -> None:
    functions, said = load("globals-params")
    template = TEMPLATES / "globals-params" / "template.yaml"
    create = functions["globals-params-create-order"]  # FunctionName: !Sub "${AWS::StackName}-create-order"
    # Globals: scalars inherited, the resource's own win; layers add up (Globals first); variables merge
    assert (create.handler, create.runtime) == ("app.handler", "python3.11")
    # `Timeout: !If [IsProd, 30, !Ref AWS::NoValue]` replaces the Globals' 15 (SAM merges before CloudFormation
    # evaluates); CloudFormation then drops the property, so Lambda's default applies
    assert create.timeout == 3
    assert create.code == TEMPLATES / "globals-params" / "src"
    assert create.memory_size == 256  # !FindInMap [StageConfig, !Ref Stage, Memory]
    assert create.ephemeral_storage == 1024
    assert create.layers == [
        "arn:aws:lambda:us-east-1:123456789012:layer:common:3",
        "arn:aws:lambda:us-east-1:123456789012:layer:orders-lib:7",  # !Sub with AWS::Partition/Region/AccountId
    ]
    assert create.environment == {
        "STAGE": "dev",
        "LOG_LEVEL": "DEBUG",
        "TABLE_NAME": "orders-dev",  # !Ref of a table lsim does not create: its name, said once
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders-dev",
        "BATCH_SIZE": "10",  # a Number parameter is a string once referenced, as in CloudFormation
        "FIRST_SUBNET": "subnet-0a",
        "SUBNETS": "subnet-0a,subnet-0b",
        "DOMAIN_PART": "example",
        "SELF_ARN": "arn:aws:lambda:us-east-1:123456789012:function:globals-params",  # AWS::StackName
        "LITERAL": "${NotAVariable}-dev",
        "VERBOSE": "true",
        "URL_SUFFIX": "amazonaws.com",
    }
    assert "ProdReportFunction" not in functions  # Condition: IsProd is false with the default Stage
    listing = functions["ListOrdersFunction"]  # AWS::Lambda::Function
    assert (listing.handler, listing.architecture) == ("app.list_orders", "arm64")
    assert listing.environment == {
        "REGION_IS_EAST": "false",
        "NOT_PROD": "true",
        "SELF": "arn:aws:lambda:us-east-1:123456789012:function:globals-params-create-order",  # its FunctionName
    }
    # the roles: a role made elsewhere (ARN only), and the one SAM makes with the function's Policies
    assert listing.role is not None and listing.role.arn == "arn:aws:iam::123456789012:role/orders-role"
    assert not listing.role.known
    create_role = create.role
    assert create_role is not None and create_role.policies == ["AWSLambdaBasicExecutionRole"]
    assert create_role.arn == "arn:aws:iam::123456789012:role/globals-params-CreateOrderFunctionRole"
    reported = {
        "Tracing: Active": "Globals.Function.Tracing not supported by lsim: ignored",
        "CROSS_STACK": "Environment.Variables.CROSS_STACK: intrinsic function Fn::ImportValue not supported by lsim",
        "WEIRD": "Environment.Variables.WEIRD: intrinsic function Fn::Whatever not supported by lsim",
        "OrdersTable:": "Resources.OrdersTable (AWS::Serverless::SimpleTable) not supported by lsim: ignored",
        "TABLE_NAME: !Ref OrdersTable": "!Ref OrdersTable: lsim creates no AWS::Serverless::SimpleTable: the value "
        "is 'orders-dev' (give the real one with --env-vars)",
        "TABLE_ARN: !GetAtt": "!GetAtt OrdersTable.Arn: lsim creates no AWS::Serverless::SimpleTable: the value is "
        "'arn:aws:dynamodb:us-east-1:123456789012:table/orders-dev'",
    }
    for snippet, message in reported.items():
        at = line(template, snippet)
        assert any(f"template.yaml:{at}: " in m and message in m for m in said), (snippet, said)
    assert len(said) == len(reported)
    assert create.http_events["CreateOrder"].type == "httpapi"  # a route now (test_http_declarations.py)


def test_parameter_overrides_change_values_and_conditions() -> None:
    functions, _ = load("globals-params", "Stage=prod TableName=sales")
    create = functions["globals-params-create-order"]
    assert (create.memory_size, create.timeout) == (1024, 30)  # !If [IsProd, 30, !Ref AWS::NoValue]
    assert create.environment["TABLE_NAME"] == "sales-prod"
    assert create.environment["LOG_LEVEL"] == "INFO" and create.environment["PROD_ONLY"] == "yes"
    assert functions["ProdReportFunction"].memory_size == 512  # its Condition is now true
    assert functions["ListOrdersFunction"].environment["REGION_IS_EAST"] == "true"  # Fn::And of two


def test_pseudo_parameters_can_be_overridden() -> None:
    functions, _ = load("globals-params", "AWS::Region=eu-west-1", "AWS::AccountId=210987654321")
    create = functions["globals-params-create-order"]
    assert create.layers[1] == "arn:aws:lambda:eu-west-1:210987654321:layer:orders-lib:7"
    project = load_project(
        TEMPLATES / "globals-params", parameter_overrides=["AWS::Region=eu-west-1"], warn=lambda _: None
    )
    assert project.settings.region == "eu-west-1"
    assert project.function_arn("ListOrdersFunction").startswith("arn:aws:lambda:eu-west-1:")


def test_layer_resources_become_local_folders_and_arns_stay_arns() -> None:
    functions, said = load("layer")
    root = TEMPLATES / "layer"
    reader = functions["ReaderFunction"]
    assert reader.layers == [
        str(root / "layers" / "shared"),  # !Ref of an AWS::Serverless::LayerVersion: its ContentUri, absolute
        str(root / "layers" / "tools"),  # !GetAtt of an AWS::Lambda::LayerVersion: its Content
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:7",
    ]
    # anywhere but Layers, a layer resource is the ARN it would have
    assert reader.environment == {"SHARED_LAYER_ARN": "arn:aws:lambda:us-east-1:123456789012:layer:shared-utils:1"}
    assert functions["PlainFunction"].layers == [str(root / "layers" / "shared")]
    assert functions["PlainFunction"].memory_size == 256
    assert said == []  # everything in this template is something lsim does


def test_image_functions() -> None:
    functions, said = load("image")
    template = TEMPLATES / "image" / "template.yaml"
    registry = functions["FromRegistryFunction"]
    assert registry.image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1.4.2"
    assert registry.package_type == "Image" and registry.handler is None and registry.code is None
    assert (registry.memory_size, registry.timeout, registry.architecture) == (1024, 20, "arm64")
    built = functions["BuiltHereFunction"]
    assert built.image == "builtherefunction:python3.11-v1"  # the tag `sam build` gives it
    assert built.environment == {"MODE": "built"}
    # lsim does not build images; the `docker build` is named only if the image is missing when invoked
    assert built.image_build is not None and built.image_build.startswith("docker build -t builtherefunction:python3.11-v1")
    assert not any("docker build" in m for m in said), said
    assert any(f":{line(template, 'ImageConfig:')}: " in m and "ImageConfig not supported" in m for m in said)
    # the Globals' Runtime and Handler are for Zip functions: nothing to report for image functions
    assert not any("Globals" in m for m in said), said


# -- what the CLI's options feed in ----------------------------------------------------------------------
def test_parameter_overrides_forms() -> None:
    assert parse_parameter_overrides(["A=1 B='two words'", "ParameterKey=C,ParameterValue=x=y"]) == {
        "A": "1",
        "B": "two words",
        "C": "x=y",
    }
    with pytest.raises(ProjectFileError, match="write KEY=VALUE"):
        parse_parameter_overrides(["Stage"])


def test_env_vars_override_any_variable_not_only_declared_ones(tmp_path: Path) -> None:
    env = tmp_path / "env.json"
    env.write_text(json.dumps({
        "Parameters": {"STAGE": "local", "SHARED": "everyone"},
        "CreateOrderFunction": {"TABLE_NAME": "local-orders", "UNDECLARED": "set anyway", "NUMBER": 5},
        "NoSuchFunction": {"X1": "y"},
    }))  # fmt: skip
    functions, said = load("globals-params", env_vars=env)
    # keyed by the logical ID, as `sam local` reads it, though FunctionName names the function
    create, listing = functions["globals-params-create-order"], functions["ListOrdersFunction"]
    assert create.environment["TABLE_NAME"] == "local-orders" and create.environment["STAGE"] == "local"
    assert create.environment["UNDECLARED"] == "set anyway" and create.environment["NUMBER"] == "5"
    assert listing.environment["SHARED"] == "everyone" and listing.environment["STAGE"] == "local"
    assert "UNDECLARED" not in listing.environment
    assert any("no function named NoSuchFunction" in m for m in said)


def test_env_vars_apply_to_lsim_toml_projects_too(tmp_path: Path) -> None:
    env = tmp_path / "env.json"
    env.write_text('{"echo": {"GREETING": "hello", "EXTRA": "1"}}')
    project = load_project(HERE / "project", env_vars=env)
    assert project.functions["echo"].environment == {"GREETING": "hello", "EXTRA": "1"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"Fn": {"AWS_REGION": "x"}}', r"Fn: .*Reserved keys used in this request: AWS_REGION"),
        ('{"Fn": {"BIG": "' + "x" * 4100 + '"}}', r"Fn: .*exceeded the 4KB limit"),
        ("{not json", r"not valid JSON"),
        ('{"Fn": "VAR=1"}', r'expected \{"FunctionName"'),
    ],
)
def test_env_vars_are_checked_as_lambda_checks_them(tmp_path: Path, content: str, expected: str) -> None:
    env = tmp_path / "env.json"
    env.write_text(content)
    with pytest.raises(ProjectFileError, match=r"--env-vars .*env\.json: " + expected):
        load_project(write(tmp_path, MINIMAL), env_vars=env)


def test_parameter_overrides_make_no_sense_for_lsim_toml() -> None:
    with pytest.raises(ProjectFileError, match="--parameter-overrides sets a SAM template's Parameters"):
        load_project(HERE / "project", parameter_overrides=["Stage=prod"])


# -- errors name the file, the line and the fix ----------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "snippet", "expected"),
    [
        (("Runtime: python3.11", "Runtime: python3.11\n      MemorySize: 64"), "MemorySize: 64",
         r"Resources\.Fn\.Properties\.MemorySize: 64 MB is out of range: Lambda allows 128-10240 MB"),
        (("Runtime: python3.11", "Runtime: python3.11\n      Timeout: 901"), "Timeout: 901",
         r"Resources\.Fn\.Properties\.Timeout: 901 s is out of range: Lambda allows 1-900 seconds"),
        (("Runtime: python3.11", "Runtime: python3.11\n      EphemeralStorage:\n        Size: 100"), "EphemeralStorage:",
         r"EphemeralStorage\.Size: 100 MB is out of range"),
        (("Runtime: python3.11", "Runtime: python3.11\n      Architectures: [sparc]"), "Architectures:",
         r"Resources\.Fn\.Properties\.Architectures: Input should be 'x86_64' or 'arm64'"),
        (("Runtime: python3.11", "Runtime: python3.11\n      Environment:\n        Variables:\n          AWS_REGION: x"),
         "Variables:", r"Reserved keys used in this request: AWS_REGION"),
        (("CodeUri: src/", "CodeUri: missing/"), "CodeUri:", r"CodeUri: folder .*missing does not exist; point it at"),
        (("CodeUri: src/", "CodeUri: s3://bucket/code.zip"), "CodeUri:", r"s3://bucket/code\.zip is on S3; lsim runs local code"),
        (("      Handler: app.handler\n", ""), "Fn:", r"Resources\.Fn: Handler missing: a Zip function needs Handler and Runtime"),
        (("CodeUri: src/", "CodeUri: !Ref Nope"), "CodeUri:", r"Unresolved resource dependencies \[Nope\]"),
        (("Handler: app.handler", "Handler: app.handler\n      Timeout: [1, 2"), "Timeout: [1, 2", r"not a valid YAML template"),
    ],
)  # fmt: skip
def test_errors_name_file_line_property_and_fix(
    tmp_path: Path, change: tuple[str, str], snippet: str, expected: str
) -> None:
    path = write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(ProjectFileError, match=expected) as info:
        load_project(path, warn=lambda _: None)
    at = line(path, snippet)
    assert str(info.value).startswith(f"{path}:{at}: ") or f"template.yaml:{at}: " in str(info.value), info.value


def test_parameters_are_checked_as_cloudformation_checks_them(tmp_path: Path) -> None:
    template = MINIMAL.replace("Resources:", "Parameters:\n  Stage:\n    Type: String\n    AllowedValues: [dev, prod]\n"
                               "    Default: dev\n  Size:\n    Type: Number\n    Default: 128\n  Secret:\n"
                               "    Type: String\nResources:")  # fmt: skip
    template = template.replace("Runtime: python3.11", "Runtime: python3.11\n      MemorySize: !Ref Size")
    path = write(tmp_path, template)
    with pytest.raises(ProjectFileError, match=r"Parameter 'Stage' must be one of AllowedValues \(dev, prod\)"):
        load_project(path, parameter_overrides=["Stage=qa"])
    with pytest.raises(ProjectFileError, match=r"Parameter 'Size' must be a number"):
        load_project(path, parameter_overrides=["Size=big"])
    assert load_project(path, parameter_overrides=["Size=512"]).functions["Fn"].memory_size == 512
    # a parameter with no value is an error only where it is used
    path.write_text(template.replace("MemorySize: !Ref Size", "MemorySize: 256\n      Description: !Ref Secret"))
    with pytest.raises(
        ProjectFileError, match=r"Parameters: \[Secret\] must have values.*--parameter-overrides Secret=VALUE"
    ):
        load_project(path)
    said: list[str] = []
    load_project(path, parameter_overrides=["Secret=s", "Unknown=1"], warn=said.append)
    assert any("--parameter-overrides Unknown: the template declares no parameter Unknown: ignored" in m for m in said)


def test_runtime_lsim_cannot_run_skips_that_function_only(tmp_path: Path) -> None:
    template = MINIMAL + "  NodeFn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n" \
        "      Handler: index.handler\n      Runtime: nodejs20.x\n"  # fmt: skip
    said: list[str] = []
    project = load_project(write(tmp_path, template), warn=said.append)
    assert list(project.functions) == ["Fn"]
    assert any("Runtime: runtime nodejs20.x not supported by lsim: function NodeFn skipped" in m for m in said)


def test_unsupported_properties_are_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    template = (
        MINIMAL.replace(
            "Runtime: python3.11",
            """Runtime: python3.11
      AutoPublishAlias: live
      VpcConfig:
        SubnetIds: [subnet-1]
        SecurityGroupIds: [sg-1]
      ReservedConcurrentExecutions: 5
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        MaximumEventAgeInSeconds: 120
        DestinationConfig:
          OnFailure:
            Type: Lambda
            Destination: !GetAtt Other.Arn
          OnSuccess:
            Type: SQS
      DeadLetterQueue:
        Type: SQS
        TargetArn: arn:aws:sqs:us-east-1:123456789012:dlq
      SnapStart:
        ApplyOn: PublishedVersions""",
        )
        + """  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders
"""
    )
    said: list[str] = []
    path = write(tmp_path, template)
    function = load_project(path, warn=said.append).functions["Fn"]
    fields = FunctionConfig.model_fields
    if "reserved_concurrency" in fields:
        assert function.reserved_concurrency == 5  # type: ignore[attr-defined]
    if "maximum_retry_attempts" in fields:
        assert function.maximum_retry_attempts == 1  # type: ignore[attr-defined]
        assert function.maximum_event_age_in_seconds == 120  # type: ignore[attr-defined]
        # the EventInvokeConfig destination wins over the dead-letter queue
        assert function.on_failure == "arn:aws:lambda:us-east-1:123456789012:function:Other"  # type: ignore[attr-defined]
    for snippet, what in [
        ("SnapStart:", "Resources.Fn.Properties.SnapStart not supported by lsim: ignored"),
        ("OnSuccess:", "Resources.Fn.Properties.EventInvokeConfig.DestinationConfig.OnSuccess not supported by lsim"),
        ("Bus:", "Resources.Bus (AWS::Events::EventBus) not supported by lsim: ignored"),
    ]:
        assert any(m.startswith(f"{path}:{line(path, snippet)}: {what}") for m in said), (what, said)
    if "vpc" in fields:  # subnets no lsim VPC has: the function runs outside a VPC, and lsim says so
        assert function.vpc is None  # type: ignore[attr-defined]
        assert any(
            f":{line(path, 'VpcConfig:')}: Resources.Fn.Properties.VpcConfig (subnet-1, sg-1 in no VPC lsim "
            "knows) not supported by lsim: ignored (describe the VPC under Metadata.lsim.vpcs" in m
            for m in said
        )
    for key, field in [("AutoPublishAlias", "auto_publish_alias"), ("VpcConfig", "vpc")]:
        if field not in fields:  # until that feature lands, it is said to be coming
            assert any(
                f":{line(path, key + ':')}: Resources.Fn.Properties.{key} not supported by lsim yet: ignored" in m
                for m in said
            ), said


@pytest.mark.skipif("vpc" not in FunctionConfig.model_fields, reason="VPCs are not in this tree")
def test_vpc_config_attaches_to_a_vpc_described_in_metadata(tmp_path: Path) -> None:
    template = """\
Transform: AWS::Serverless-2016-10-31
Metadata:
  lsim:
    vpcs:
      shop:
        cidr: 10.77.0.0/16
        subnets:
          - {id: subnet-app, cidr: 10.77.1.0/24, availability_zone: us-east-1a}
        security_groups:
          - {id: sg-app}
Parameters:
  SubnetId: {Type: "AWS::EC2::Subnet::Id", Default: subnet-app}
Globals:
  Function:
    VpcConfig:
      SubnetIds: [!Ref SubnetId]
      SecurityGroupIds: [sg-app]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
"""
    project = load_project(write(tmp_path, template))
    assert list(project.vpcs) == ["shop"] and project.vpcs["shop"].subnets[0].id == "subnet-app"
    vpc = project.functions["Fn"].vpc  # type: ignore[attr-defined]
    assert (list(vpc.subnets), list(vpc.security_groups)) == (["subnet-app"], ["sg-app"])
    path = write(tmp_path, template.replace("cidr: 10.77.1.0/24", "cidr: 10.99.1.0/24"))
    with pytest.raises(ProjectFileError, match=rf"{line(path, 'shop:')}: Metadata\.lsim\.vpcs\.shop: .*not inside"):
        load_project(path)


def test_globals_merge_as_sam_merges(tmp_path: Path) -> None:
    template = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    Handler: app.handler
    MemorySize: 512
    Architectures: [arm64]
    Layers: [arn:aws:lambda:us-east-1:123456789012:layer:a:1]
    Environment:
      Variables: {AA: global, BB: global}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      MemorySize: 1024
      Architectures: [x86_64]
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:b:2]
      Environment:
        Variables: {BB: local, CC: local}
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Code: src
      Handler: app.handler
      Runtime: python3.13
"""
    project = load_project(write(tmp_path, template))
    function = project.functions["Fn"]
    assert (function.memory_size, function.architecture, function.handler) == (1024, "x86_64", "app.handler")
    assert function.layers == [
        "arn:aws:lambda:us-east-1:123456789012:layer:a:1",
        "arn:aws:lambda:us-east-1:123456789012:layer:b:2",
    ]
    assert function.environment == {"AA": "global", "BB": "local", "CC": "local"}
    plain = project.functions["Plain"]  # Globals are for AWS::Serverless::Function only
    assert (plain.memory_size, plain.architecture, plain.environment) == (128, "x86_64", {})


def test_layer_incompatible_with_the_runtime_is_refused(tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    template = (
        MINIMAL.replace("Runtime: python3.11", "Runtime: python3.11\n      Layers: [!Ref Lib]")
        + """\
  Lib:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.13]
"""
    )
    path = write(tmp_path, template)
    with pytest.raises(ProjectFileError, match=r"layer Lib is not compatible with the function's runtime python3\.11"):
        load_project(path)


def test_inline_code_is_written_where_lambda_puts_it(tmp_path: Path) -> None:
    template = """\
Resources:
  Inline:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: python3.11
      Role: arn:aws:iam::123456789012:role/r
      Code:
        ZipFile: |
          def handler(event, context):
              return {"inline": True}
"""
    project = load_project(write(tmp_path, template), warn=lambda _: None)
    function = project.functions["Inline"]
    assert function.code is not None and (function.code / "index.py").read_text().startswith("def handler")
    with BlockingSimulator(project, backend="process") as lsim:
        assert lsim.invoke("Inline", {}).payload == {"inline": True}


# -- finding the template -----------------------------------------------------------------------------------
def test_template_yaml_is_found_where_there_is_no_lsim_toml(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    nested = tmp_path / "src" / "deeper"
    nested.mkdir()
    assert find_project_file(nested) == tmp_path / "template.yaml"
    assert "Fn" in load_project(tmp_path).functions  # a folder with only a template
    (tmp_path / "lsim.toml").write_text(
        '[functions.toml]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    assert find_project_file(nested) == tmp_path / "lsim.toml"  # lsim.toml first, in the same folder
    assert list(load_project(tmp_path).functions) == ["toml"]


def test_yml_and_json_templates(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "template.yml")
    assert find_project_file(tmp_path) == tmp_path / "template.yml"
    (tmp_path / "template.yml").unlink()
    body = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
        "CodeUri": "src", "Handler": "app.handler", "Runtime": "python3.11", "MemorySize": {"Fn::If": ["Big", 2048, 256]}}}},
        "Conditions": {"Big": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}}}  # fmt: skip
    (tmp_path / "template.json").write_text(json.dumps(body, indent=2))
    assert load_project(tmp_path).functions["Fn"].memory_size == 2048


# -- through the command line --------------------------------------------------------------------------------
def lsim(*args: str, cwd: Path) -> Ran:
    return run_lsim(*args, cwd=cwd)


def test_cli_template_overrides_and_env_vars(tmp_path: Path) -> None:
    template = MINIMAL.replace("Transform:", "Parameters:\n  Stage: {Type: String, Default: dev}\nTransform:")
    template = template.replace("Runtime: python3.11", "Runtime: python3.11\n      Tracing: Active\n"
                                "      Environment:\n        Variables:\n          STAGE: !Ref Stage")  # fmt: skip
    (tmp_path / "src" / "app.py").parent.mkdir(exist_ok=True)
    path = write(tmp_path, template, "my-template.yaml")
    (path.parent / "src" / "app.py").write_text(
        "import os\ndef handler(event, context):\n    return dict(os.environ)\n"
    )
    (tmp_path / "env.json").write_text('{"Fn": {"EXTRA": "from-env-vars"}}')
    done = lsim(
        "--template", str(path), "--parameter-overrides", "Stage=prod", "--env-vars", str(tmp_path / "env.json"),
        "invoke", "Fn", "--backend", "process", cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    environment = json.loads(done.stdout)
    assert environment["STAGE"] == "prod" and environment["EXTRA"] == "from-env-vars"
    assert (
        f"my-template.yaml:{line(path, 'Tracing')}: Resources.Fn.Properties.Tracing not supported by lsim: ignored"
        in done.stderr
    )
    # --project and --template together is a usage error
    both = lsim("--project", ".", "--template", str(path), "invoke", "Fn", cwd=REPO)
    assert both.returncode == 2 and "give --project or --template, not both" in both.stderr


@pytest.mark.docker
def test_sam_app_sample_runs_with_one_command(tmp_path: Path) -> None:
    """The README's command, as a user types it, in a real container."""
    sample = tmp_path / "sam-app"  # a fresh copy: its warnings are said (once per change of the template)
    shutil.copytree(REPO / "samples" / "sam-app", sample, ignore=shutil.ignore_patterns(".lsim"))
    done = lsim("invoke", "HelloFunction", "--event", "events/api.json", cwd=sample)
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body == {
        "message": "Hello, Ada!",
        "stage": "dev",
        "service": "sam-app-hello",
        "path": "/hello",
        "request_id": json.loads((sample / "events" / "api.json").read_text())["requestContext"]["requestId"],
        "function": "HelloFunction",
        "memory_limit_in_mb": 256,
    }
    assert "REPORT RequestId:" in done.stderr and "Memory Size: 256 MB" in done.stderr
    assert "HelloApi" not in done.stderr  # its Api event is a route now, nothing to say about it
    worker = lsim("--parameter-overrides", "Stage=prod", "invoke", "WorkerFunction", "--event", "events/sqs.json",
                  cwd=sample)  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    failures = json.loads(worker.stdout)["batchItemFailures"]
    records = json.loads((sample / "events" / "sqs.json").read_text())["Records"]
    assert failures == [{"itemIdentifier": records[1]["messageId"]}]  # the body that is not a job
    assert "Memory Size: 1024 MB" in worker.stderr  # !If [IsProd, 1024, 512]


@pytest.mark.docker
def test_auto_publish_alias_publishes_and_points_the_alias(tmp_path: Path) -> None:
    """AutoPublishAlias: at start $LATEST is published (only when changed) and the alias follows it."""
    sample = tmp_path / "sam-app"
    shutil.copytree(REPO / "samples" / "sam-app", sample, ignore=shutil.ignore_patterns(".lsim"))
    first = lsim("invoke", "HelloFunction:live", "--event", "events/api.json", cwd=sample)
    assert first.returncode == 0, first.stderr
    assert "Version: 1" in first.stderr  # the START line: the alias ran version 1
    again = lsim("invoke", "HelloFunction:live", "--event", "events/api.json", cwd=sample)
    assert "Version: 1" in again.stderr  # nothing changed: no new version
    handler = next((sample / "hello").glob("*.py"))
    handler.write_text(handler.read_text() + "\n# changed\n")
    changed = lsim("invoke", "HelloFunction:live", "--event", "events/api.json", cwd=sample)
    assert changed.returncode == 0, changed.stderr
    assert "Version: 2" in changed.stderr
    aliases = json.loads(lsim("alias", "list", "HelloFunction", cwd=sample).stdout)["Aliases"]
    assert [(a["Name"], a["FunctionVersion"]) for a in aliases] == [("live", "2")]


@pytest.mark.docker
def test_function_imports_from_a_layer_of_its_template() -> None:
    """`Layers: [!Ref SharedLayer]` mounts the layer's folder at /opt, as Lambda does."""
    project = load_project(TEMPLATES / "layer", warn=lambda _: None)
    with BlockingSimulator(project, backend="docker") as lsim_:
        result = lsim_.invoke("PlainFunction", {"text": "layers"})
        assert result.ok, result.body
        assert result.payload == {"shout": "LAYERS!", "layer": None}
