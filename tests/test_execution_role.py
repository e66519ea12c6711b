"""Execution roles and credentials: every environment gets its role's credentials (lsim's local ones, or the
developer's own on request), the role comes from lsim.toml or the template (Role, SAM's Policies and its
implicit role), GetFunction shows it, and a VPC function whose role cannot manage network interfaces is
refused as Lambda refuses it. The container tests run boto3 inside the function: it finds the credentials
and signs a call to lsim's own Lambda API with them, which verifies the signature."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.credentials import LocalCredentials, developer_credentials
from simulator.errors import ProjectFileError
from simulator.execution_role import ExecutionRole, missing_eni_permission
from simulator.project import load_project

ENI_ERROR = "The provided execution role does not have permissions to call CreateNetworkInterface on EC2"
VPC_TOML = """
[vpcs.shop]
cidr = "10.77.0.0/16"
subnets = [{id = "subnet-app", cidr = "10.77.1.0/24", availability_zone = "us-east-1a"}]
security_groups = [{id = "sg-app"}]
"""
VPC_METADATA = """\
Metadata:
  lsim:
    vpcs:
      shop:
        cidr: 10.77.0.0/16
        subnets:
          - {id: subnet-app, cidr: 10.77.1.0/24, availability_zone: us-east-1a}
        security_groups:
          - {id: sg-app}
"""


def write_toml(tmp_path: Path, functions: str, extra: str = "") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "lsim.toml"
    path.write_text(functions + extra)
    return path


# -- local credentials ---------------------------------------------------------------------------------------
def test_local_credentials_look_temporary_and_are_clearly_fake() -> None:
    issuer = LocalCredentials()
    role = "arn:aws:iam::123456789012:role/orders-role"
    credentials = issuer.for_role(role)
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", credentials.access_key_id)
    assert len(credentials.secret_access_key) == 40
    assert credentials.session_token and credentials.session_token.startswith("lsim-local-session-token/")
    assert issuer.for_role(role) == credentials  # every environment of the role: the same ones
    assert issuer.for_role(role.replace("orders", "billing")).access_key_id != credentials.access_key_id
    assert LocalCredentials().for_role(role).access_key_id != credentials.access_key_id  # a new run, new ones
    assert issuer.issued(credentials.access_key_id) == (credentials.secret_access_key, credentials.session_token)
    assert issuer.issued("AKIDEXAMPLE") is None
    assert credentials.secret_access_key not in repr(credentials) and credentials.session_token not in repr(credentials)


# -- the developer's credentials ---------------------------------------------------------------------------------
def test_developer_credentials_come_from_the_profile_the_environment_or_the_default(tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n"
        "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work-secret\naws_session_token = work-token\n"
    )
    (tmp_path / "config").write_text(
        "[profile cfg]\naws_access_key_id = AKIACFG\naws_secret_access_key = cfg-secret\n"
    )
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_CONFIG_FILE": str(tmp_path / "config")}
    work = developer_credentials("work", files)
    assert (work.access_key_id, work.secret_access_key, work.session_token) == ("AKIAWORK", "work-secret", "work-token")
    assert developer_credentials(None, {**files, "AWS_PROFILE": "work"}).access_key_id == "AKIAWORK"
    assert developer_credentials("cfg", files).access_key_id == "AKIACFG"  # [profile cfg] of the config file
    shell = {**files, "AWS_ACCESS_KEY_ID": "AKIASHELL", "AWS_SECRET_ACCESS_KEY": "shell-secret"}
    assert developer_credentials(None, shell).access_key_id == "AKIASHELL"  # the shell's, as boto3 takes them
    assert developer_credentials(None, files).access_key_id == "AKIADEFAULT"
    with pytest.raises(ProjectFileError, match="no AWS credentials found .*profile 'missing'") as raised:
        developer_credentials("missing", files)
    assert "secret" not in str(raised.value)


def test_developer_credentials_through_botocore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process's own environment botocore resolves them, as SAM CLI's boto3 session does."""
    pytest.importorskip("botocore")
    (tmp_path / "credentials").write_text("[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = dev-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    found = developer_credentials()
    assert (found.access_key_id, found.secret_access_key, found.session_token) == ("AKIADEV", "dev-secret", None)


# -- the role, and the VPC check ---------------------------------------------------------------------------------
def test_a_role_allows_by_its_managed_policies_and_statements() -> None:
    assert missing_eni_permission(ExecutionRole(policies=["AWSLambdaBasicExecutionRole"])) == ENI_ERROR
    vpc_policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    assert missing_eni_permission(ExecutionRole(policies=[vpc_policy])) is None  # an ARN names the policy too
    assert missing_eni_permission(ExecutionRole(policies=[], actions=["ec2:*"])) is None
    assert missing_eni_permission(ExecutionRole(arn="arn:aws:iam::123456789012:role/made-elsewhere")) is None
    partial = ExecutionRole(policies=[], actions=["ec2:CreateNetworkInterface"])
    assert missing_eni_permission(partial) == ENI_ERROR.replace("CreateNetworkInterface", "DescribeNetworkInterfaces")


def test_lsim_toml_role_and_the_vpc_check(tmp_path: Path) -> None:
    function = """
[functions.orders]
handler = "app.handler"
runtime = "python3.11"
code = "src"
vpc = {subnets = ["subnet-app"], security_groups = ["sg-app"]}
"""
    project = load_project(write_toml(tmp_path, function, VPC_TOML))  # no role: the default one has the VPC policy
    role = project.role_of(project.functions["orders"])
    assert role.arn == "arn:aws:iam::123456789012:role/service-role/orders-role"
    assert role.policies == ["AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"]
    basic = function + 'role = {arn = "arn:aws:iam::123456789012:role/basic", policies = ["AWSLambdaBasicExecutionRole"]}\n'
    with pytest.raises(ProjectFileError, match=f"functions.orders: {ENI_ERROR}"):
        load_project(write_toml(tmp_path, basic, VPC_TOML))
    fine = basic.replace('"AWSLambdaBasicExecutionRole"', '"AWSLambdaVPCAccessExecutionRole"')
    assert load_project(write_toml(tmp_path, fine, VPC_TOML)).functions["orders"].role is not None


SAM_VPC = (
    "Transform: AWS::Serverless-2016-10-31\n"
    + VPC_METADATA
    + """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      VpcConfig: {SubnetIds: [subnet-app], SecurityGroupIds: [sg-app]}
"""
)


def write_template(tmp_path: Path, template: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "template.yaml"
    path.write_text(template)
    return path


def test_sam_implicit_role_gets_the_vpc_policy_and_the_function_policies(tmp_path: Path) -> None:
    """SAM's transform adds AWSLambdaVPCAccessExecutionRole to the role it makes when VpcConfig is set."""
    template = SAM_VPC + "      Policies: [AmazonS3ReadOnlyAccess, {SQSPollerPolicy: {QueueName: q}}]\n"
    role = load_project(write_template(tmp_path, template), warn=lambda _: None).functions["Fn"].role
    assert role is not None and role.policies == [
        "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AmazonS3ReadOnlyAccess",
    ]  # fmt: skip
    assert role.arn == f"arn:aws:iam::123456789012:role/{tmp_path.name.replace('_', '-')}-FnRole"


def test_a_template_role_without_eni_permissions_fails_as_aws_fails(tmp_path: Path) -> None:
    role = """\
      Role: !GetAtt FnRole.Arn
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
      ManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
"""
    path = write_template(tmp_path, SAM_VPC + role)
    role_line = path.read_text().splitlines().index("      Role: !GetAtt FnRole.Arn") + 1
    with pytest.raises(ProjectFileError, match=f"template.yaml:{role_line}: .*Role: {ENI_ERROR}"):
        load_project(path, warn=lambda _: None)
    attached = role + """\
  EniPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: eni
      Roles: [!Ref FnRole]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: [ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface]
            Resource: "*"
"""
    function = load_project(write_template(tmp_path, SAM_VPC + attached), warn=lambda _: None).functions["Fn"]
    assert function.role is not None and function.role.arn == f"arn:aws:iam::123456789012:role/{tmp_path.name.replace('_', '-')}-FnRole"


def test_update_function_configuration_to_a_role_without_eni_permissions_is_refused(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import ClientError

    functions = """
[functions.orders]
handler = "app.handler"
runtime = "python3.11"
code = "src"
vpc = {subnets = ["subnet-app"], security_groups = ["sg-app"]}

[functions.report]
handler = "app.handler"
runtime = "python3.11"
code = "src"
role = {arn = "arn:aws:iam::123456789012:role/basic", policies = ["AWSLambdaBasicExecutionRole"]}
"""
    project = load_project(write_toml(tmp_path, functions, VPC_TOML))
    from simulator.api import ApiServer

    with BlockingSimulator(project, backend="process") as lsim:
        server = ApiServer(lsim.simulator, port=0)
        lsim.call(server.start())
        try:
            client = boto3.client(
                "lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
                aws_secret_access_key="x",
            )  # fmt: skip
            shown = client.get_function(FunctionName="report")["Configuration"]["Role"]
            assert shown == "arn:aws:iam::123456789012:role/basic"
            with pytest.raises(ClientError) as raised:
                client.update_function_configuration(FunctionName="orders", Role="arn:aws:iam::123456789012:role/basic")
            error = raised.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert error["Error"] == {"Code": "InvalidParameterValueException", "Message": ENI_ERROR}
            updated = client.update_function_configuration(
                FunctionName="report", Role="arn:aws:iam::123456789012:role/elsewhere"
            )
            assert updated["Role"] == "arn:aws:iam::123456789012:role/elsewhere"
        finally:
            lsim.call(server.close())


# -- in a real execution environment -------------------------------------------------------------------------
CALLER = '''
import os

import boto3


def handler(event, context):
    found = boto3.Session().get_credentials()
    answer = {
        "method": found.method,
        "access_key_id": found.access_key,
        "same_as_environment": found.access_key == os.environ["AWS_ACCESS_KEY_ID"]
        and found.secret_key == os.environ["AWS_SECRET_ACCESS_KEY"]
        and found.token == os.environ["AWS_SESSION_TOKEN"],
        "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
        "session_token": found.token,
    }
    if event.get("endpoint"):
        client = boto3.client("lambda", endpoint_url=event["endpoint"])
        answer["role"] = client.get_function(FunctionName=context.function_name)["Configuration"]["Role"]
        answer["target"] = client.invoke(FunctionName="target", Payload=b'{"from": "caller"}')["Payload"].read().decode()
    return answer
'''


@pytest.mark.docker
def test_boto3_in_a_function_finds_its_role_credentials_and_lsim_verifies_them(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import ClientError

    from simulator.api import ApiServer

    (tmp_path / "caller").mkdir()
    (tmp_path / "caller" / "app.py").write_text(textwrap.dedent(CALLER))
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "lsim.toml").write_text(
        '[functions.caller]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "caller"\ntimeout = 30\n'
        'role = "arn:aws:iam::123456789012:role/caller-role"\n\n'
        '[functions.target]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "target"\n'
    )
    project = load_project(tmp_path)
    with BlockingSimulator(project, backend="docker") as lsim:
        first: dict[str, Any] = json.loads(lsim.invoke("caller", {}).body)
        assert first["method"] == "env" and first["same_as_environment"]
        assert re.fullmatch(r"ASIA[A-Z2-7]{16}", first["access_key_id"])
        # lsim's Lambda API where the function can reach it (its Runtime API's host), verifying signatures
        gateway = first["runtime_api"].rpartition(":")[0]
        server = ApiServer(lsim.simulator, host=gateway, port=0, credentials={"AKIDLSIMTEST": "developer-secret"})
        lsim.call(server.start())
        try:
            answer = json.loads(lsim.invoke("caller", {"endpoint": server.url}).body)
            assert answer["role"] == "arn:aws:iam::123456789012:role/caller-role"
            assert json.loads(answer["target"]) == {"from": "caller"}
            forged = boto3.client(
                "lambda", endpoint_url=server.url, region_name="us-east-1",
                aws_access_key_id=first["access_key_id"], aws_secret_access_key="not-the-secret",
            )  # fmt: skip
            with pytest.raises(ClientError) as raised:
                forged.get_function(FunctionName="caller")
            assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"  # no session token
            forged = boto3.client(
                "lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=first["access_key_id"],
                aws_secret_access_key="not-the-secret", aws_session_token=first["session_token"],
            )  # fmt: skip
            with pytest.raises(ClientError) as raised:
                forged.get_function(FunctionName="caller")
            assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
        finally:
            lsim.call(server.close())


ECHO_CREDENTIALS = '''
import os


def handler(event, context):
    return {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
'''


def developer_project(tmp_path: Path, settings: str = "") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(ECHO_CREDENTIALS))
    (tmp_path / "lsim.toml").write_text(
        settings + '[functions.echo]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    (tmp_path / "aws-credentials").write_text(
        "[dev]\naws_access_key_id = AKIADEVELOPER\naws_secret_access_key = developer-secret\n"
        "aws_session_token = developer-token\n"
    )
    return tmp_path


@pytest.mark.docker
def test_developer_credentials_reach_the_function_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[settings] credentials = "developer"`: the profile's credentials, as `sam local invoke --profile` passes
    them, so a function can call real AWS from a laptop with the network."""
    folder = developer_project(tmp_path, '[settings]\ncredentials = "developer"\nprofile = "dev"\n\n')
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "no-config"))
    with BlockingSimulator(load_project(folder), backend="docker") as lsim:
        got = json.loads(lsim.invoke("echo", {}).body)
    assert got == {
        "AWS_ACCESS_KEY_ID": "AKIADEVELOPER",
        "AWS_SECRET_ACCESS_KEY": "developer-secret",
        "AWS_SESSION_TOKEN": "developer-token",
    }


def test_the_credentials_option_chooses_local_or_developer(tmp_path: Path) -> None:
    from .cli import lsim as run_lsim

    folder = developer_project(tmp_path)
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws-credentials"), "AWS_CONFIG_FILE": str(folder / "none")}
    local = run_lsim("invoke", "echo", "--backend", "process", cwd=folder, env=files)
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    developer = run_lsim("--profile", "dev", "invoke", "echo", "--backend", "process", cwd=folder, env=files)
    assert developer.returncode == 0, developer.stderr
    assert json.loads(developer.stdout)["AWS_ACCESS_KEY_ID"] == "AKIADEVELOPER"
    missing = run_lsim("--credentials", "developer", "--profile", "nobody", "invoke", "echo", "--backend", "process",
                       cwd=folder, env=files)  # fmt: skip
    assert missing.returncode == 2 and "no AWS credentials found" in missing.stderr
    assert "developer-secret" not in missing.stderr + missing.stdout
