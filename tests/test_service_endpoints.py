"""Inside a function, boto3 reaches lsim: every execution environment gets AWS_ENDPOINT_URL_LAMBDA and
AWS_ENDPOINT_URL_SQS at lsim's API and its role's credentials, so code with no endpoint_url and no keys
invokes another function and sends to a queue, from every face (Simulator, `lsim serve`, `lsim invoke`, the
pytest fixture, the process backend).

Isolation: lsim's API for functions answers only the credentials lsim gave their roles; a VPC function reaches
it as AWS's public endpoints, through a NAT gateway and not without one (a connect timeout, as on AWS); no
function reaches another environment's Runtime API port by the new path. Traffic: loopback, lsim's Docker
networks and the containers lsim makes for the test."""

from __future__ import annotations

import asyncio
import json
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.config import FunctionConfig, ProjectConfig
from simulator.environment import SERVICE_ENDPOINT_VARIABLES, lambda_environment, service_endpoints
from simulator.project import load_project

CALLER = '''
import json
import os
import asyncio
import json
import socket

import boto3
from botocore.config import Config

VARIABLES = ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_SQS")


def probe(host, port):
    """Connect to host:port as a runtime would and ask for its next event; report how it went."""
    try:
        with socket.create_connection((host, port), timeout=1.5) as connection:
            connection.settimeout(1.5)
            connection.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            said = connection.recv(200).decode(errors="replace")
            return {"connected": True, "said": said}
    except OSError as exc:
        return {"connected": False, "error": type(exc).__name__}


def call(event, context):
    answer = {name: os.environ.get(name) for name in VARIABLES}
    config = Config(connect_timeout=event.get("connect_timeout", 10), read_timeout=60, retries={"max_attempts": 0})
    keys = event.get("keys") or {}
    client = boto3.client("lambda", config=config, **keys)
    try:
        payload = json.dumps({"from": context.function_name, **event.get("extra", {})}).encode()
        if "size" in event:  # a JSON string of exactly that many bytes
            payload = b'"' + b"a" * (event["size"] - 2) + b'"'
        out = client.invoke(FunctionName="target", Payload=payload)
        answer["target"] = json.loads(out["Payload"].read())
    except Exception as error:
        answer["error"] = type(error).__name__
        answer["code"] = getattr(error, "response", {}).get("Error", {}).get("Code")
        answer["message"] = str(error)
    answer["probes"] = {f"{host}:{port}": probe(host, port) for host, port in event.get("probes", [])}
    return answer


def target(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        print("target is sleeping", flush=True)
        import time
        time.sleep(event["sleep"])
    if isinstance(event, str):
        return {"length": len(event)}
    return {"echo": event, "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"], "function": context.function_name}
'''


def function(name: str, handler: str, extra: str = "") -> str:
    """A function with one whole vCPU (1,769 MB): a boto3 client's first call is CPU work, slow at 128 MB's
    share, and no test here is about the share."""
    return textwrap.dedent(
        f"""
        [functions.{name}]
        handler = "app.{handler}"
        runtime = "python3.11"
        code = "src"
        timeout = 60
        memory_size = 1769
        """
    ) + textwrap.dedent(extra)


def write_project(folder: Path, body: str) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "app.py").write_text(textwrap.dedent(CALLER))
    (folder / "lsim.toml").write_text(body)
    return folder


# -- the variables ---------------------------------------------------------------------------------------------
def test_every_environment_gets_the_endpoint_variables_and_the_functions_own_win(tmp_path: Path) -> None:
    project = ProjectConfig(root=tmp_path)
    plain = FunctionConfig(name="f", handler="app.handler", runtime="python3.11", code=tmp_path)
    env = lambda_environment(plain, "$LATEST", project, endpoint_url="http://172.18.0.1:9001")
    assert {name: env[name] for name in SERVICE_ENDPOINT_VARIABLES} == {
        "AWS_ENDPOINT_URL_LAMBDA": "http://172.18.0.1:9001",
        "AWS_ENDPOINT_URL_SQS": "http://172.18.0.1:9001",
    }
    assert "AWS_ENDPOINT_URL" not in env
    # They are not Lambda's reserved keys: a function that sets one keeps its own value ...
    own = plain.model_copy(update={"environment": {"AWS_ENDPOINT_URL_SQS": "http://elsewhere:4566"}})
    env = lambda_environment(own, "$LATEST", project, endpoint_url="http://172.18.0.1:9001")
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://elsewhere:4566"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://172.18.0.1:9001"
    # ... and one that chose a global endpoint, or to ignore configured ones, gets none of lsim's
    assert service_endpoints("http://x:1", {"AWS_ENDPOINT_URL": "http://elsewhere:4566"}) == {}
    assert service_endpoints("http://x:1", {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}) == {}
    # without an endpoint (the developer's credentials: functions reach AWS) there are none
    env = lambda_environment(plain, "$LATEST", project)
    assert not any(name.startswith("AWS_ENDPOINT_URL") for name in env)


def test_a_function_calls_another_through_lsim_on_the_process_backend(tmp_path: Path) -> None:
    """The process backend: the API on loopback; boto3 has no endpoint_url and no keys in code."""
    pytest.importorskip("boto3")
    folder = write_project(
        tmp_path, function("caller", "call", 'environment = { STAGE = "dev" }\n') + function("target", "target")
    )
    with BlockingSimulator(load_project(folder), backend="process") as lsim:
        result = lsim.invoke("caller", {})
        assert result.error is None, result.logs
        answer: dict[str, Any] = result.payload
        assert answer["target"]["echo"] == {"from": "caller"}, answer
        url = answer["AWS_ENDPOINT_URL_LAMBDA"]
        assert url.startswith("http://127.0.0.1:") and answer["AWS_ENDPOINT_URL_SQS"] == url
        # the API answers only the credentials lsim gave the functions' roles
        forged = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}
        refused = lsim.invoke("caller", {"keys": forged}).payload
        assert refused["code"] == "UnrecognizedClientException" and "target" not in refused


def test_the_api_in_the_description_and_on_the_wire(tmp_path: Path) -> None:
    """GetFunctionConfiguration through the HTTP API shows the configured variables only, as AWS does."""
    boto3 = pytest.importorskip("boto3")
    from simulator.api import ApiServer

    folder = write_project(tmp_path, function("caller", "call", 'environment = { STAGE = "dev" }\n'))
    with BlockingSimulator(load_project(folder), backend="process") as lsim:
        server = ApiServer(lsim.simulator, port=0)
        lsim.call(server.start())
        try:
            client = boto3.client(
                "lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
                aws_secret_access_key="x",
            )  # fmt: skip
            shown = client.get_function_configuration(FunctionName="caller")["Environment"]
            assert shown == {"Variables": {"STAGE": "dev"}}
        finally:
            lsim.call(server.close())


def test_with_the_developers_credentials_functions_reach_aws_not_lsim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`credentials = "developer"` is for reaching real AWS from a laptop: no endpoint variables then."""
    (tmp_path / "aws-credentials").write_text("[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    folder = write_project(
        tmp_path, '[settings]\ncredentials = "developer"\nprofile = "dev"\n' + function("t", "target")
    )
    (folder / "src" / "app.py").write_text(
        "import os\n\ndef target(event, context):\n"
        "    return sorted(k for k in os.environ if k.startswith('AWS_ENDPOINT_URL'))\n"
    )
    with BlockingSimulator(load_project(folder), backend="process") as lsim:
        assert lsim.invoke("t", {}).payload == []
        assert lsim.call(lsim.simulator.functions_api_address()) is not None  # it can still be started by hand


def test_behind_a_nat_gateway_the_filter_opens_the_apis_port_of_the_host_and_nothing_more() -> None:
    """The ENI's packet filter: lsim's API port on the host's address, judged by the outbound rules, before the
    host's addresses are dropped; without a NAT gateway no such rule (the host is dropped, so it times out)."""
    from simulator.sandbox.network import filter_rules
    from simulator.vpc import Hyperplane

    from .test_vpc_model import attach, vpc

    groups = [{"id": "sg-web", "egress": [{"port": 443, "cidr": "0.0.0.0/0"}, {"port": 9001, "cidr": "172.18.0.0/16"}]}]
    hyperplane = Hyperplane({"main": vpc(security_groups=groups, resources=[])})
    nat = attach(hyperplane, "f", ["subnet-nat-b"], ["sg-web"]).enis[0]
    host = ["172.18.0.1", "192.0.2.9"]
    rules = filter_rules(hyperplane, nat, "10.0.0.1", [40000], host, nat=True, public_api=("172.18.0.1", 9001))
    lines = rules.splitlines()
    opened = "-A OUTPUT -d 172.18.0.1/32 -p tcp -m tcp --dport 9001 -j LSIM-PUBLIC-API"
    assert lines.index(opened) < lines.index("-A OUTPUT -d 172.18.0.1/32 -j DROP")
    public = [line for line in lines if line.startswith("-A LSIM-PUBLIC-API")]
    assert public == [
        "-A LSIM-PUBLIC-API -d 0.0.0.0/0 -p tcp -m tcp --dport 443 -j ACCEPT",
        "-A LSIM-PUBLIC-API -d 172.18.0.0/16 -p tcp -m tcp --dport 9001 -j ACCEPT",
        "-A LSIM-PUBLIC-API -j DROP",
    ]  # the outbound rules decide, and nothing else passes this chain
    assert [line for line in lines if "172.18.0.1" in line] == [opened, "-A OUTPUT -d 172.18.0.1/32 -j DROP"]
    private = attach(hyperplane, "g", ["subnet-private-a"], ["sg-web"]).enis[0]
    closed = filter_rules(hyperplane, private, "10.0.0.1", [40000], host, nat=False, public_api=("172.18.0.1", 9001))
    assert "LSIM-PUBLIC-API" not in closed and "-A OUTPUT -d 172.18.0.1/32 -j DROP" in closed


# -- real containers ---------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_from_a_container_boto3_invokes_another_function_with_no_endpoint_and_no_keys(tmp_path: Path) -> None:
    folder = write_project(tmp_path, function("caller", "call") + function("target", "target"))
    with BlockingSimulator(load_project(folder), backend="docker") as lsim:
        result = lsim.invoke("caller", {})
        assert result.error is None, result.logs
        answer: dict[str, Any] = result.payload
        assert answer["target"]["echo"] == {"from": "caller"}, answer
        url = answer["AWS_ENDPOINT_URL_LAMBDA"]
        host, port = lsim.call(lsim.simulator.functions_api_address())
        assert url == f"http://{host}:{port}" == answer["AWS_ENDPOINT_URL_SQS"]
        assert not host.startswith("127."), "containers reach the host at the gateway of lsim's network"
        # The target's environment is warm: its Runtime API answers it alone, not the caller, by any path.
        runtime_host, runtime_port = answer["target"]["runtime_api"].rsplit(":", 1)
        probes = [(runtime_host, int(runtime_port)), (host, port)]
        seen = lsim.invoke("caller", {"probes": probes}).payload["probes"]
        other = seen[f"{runtime_host}:{runtime_port}"]
        assert other.get("said", "") == "", other  # reset before a byte is read (runtime_api.py's doorman)
        api = seen[f"{host}:{port}"]  # lsim's API has no Runtime API routes: an unsigned request is refused
        assert api["connected"] and " 403 " in api["said"].splitlines()[0], api
        # Lambda's 6 MB request limit, whole through the bridge: at the limit it runs, one byte past it is refused
        limit = lsim.simulator.project.limits.sync_payload_bytes
        at_limit = lsim.invoke("caller", {"size": limit}).payload
        assert at_limit["target"] == {"length": limit - 2}, at_limit.get("message")
        past = lsim.invoke("caller", {"size": limit + 1}).payload
        assert past["code"] == "RequestTooLargeException" and "target" not in past, past
        assert f"Request must be smaller than {limit} bytes" in past["message"]


# -- VPC functions: the public endpoints, through a NAT gateway only ------------------------------------------------
VPC = """
[vpcs.main]
cidr = "{cidr}"

[[vpcs.main.subnets]]
id = "subnet-private"
cidr = "{net}.1.0/24"
availability_zone = "us-east-1a"

[[vpcs.main.subnets]]
id = "subnet-nat"
cidr = "{net}.2.0/24"
availability_zone = "us-east-1a"
nat = true

[[vpcs.main.security_groups]]
id = "sg-open"

[[vpcs.main.security_groups]]
id = "sg-closed"
egress = []
"""


def vpc_function(name: str, subnet: str, group: str) -> str:
    return function(name, "call", f'vpc = {{ subnets = ["{subnet}"], security_groups = ["{group}"] }}\n')


@pytest.fixture(scope="module")
def vpc_lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    from .test_vpc_docker import _free_vpc_cidr

    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    body = (
        function("target", "target")
        + vpc_function("behind-nat", "subnet-nat", "sg-open")
        + vpc_function("private", "subnet-private", "sg-open")
        + vpc_function("nat-no-egress", "subnet-nat", "sg-closed")
        + VPC.format(cidr=cidr, net=net)
    )
    folder = write_project(tmp_path_factory.mktemp("endpoints-vpc"), body)
    with BlockingSimulator(load_project(folder), backend="docker") as lsim:
        for name in ("behind-nat", "private", "nat-no-egress"):
            assert lsim.call(lsim.simulator.wait_function_active(name, 300)) == ("Active", None, None)
        yield lsim


@pytest.mark.docker
def test_a_vpc_function_behind_a_nat_gateway_reaches_lsim_and_nothing_else_of_the_host(
    vpc_lsim: BlockingSimulator,
) -> None:
    lsim = vpc_lsim
    warm = lsim.invoke("target", {}).payload  # a warm environment whose Runtime API port the probe tries
    runtime_host, runtime_port = warm["runtime_api"].rsplit(":", 1)
    host, port = lsim.call(lsim.simulator.functions_api_address())
    listener, other_port = _listen(host)  # a service of the host's own on the same address, another port
    try:
        event = {"probes": [(runtime_host, int(runtime_port)), (host, other_port)]}
        result = lsim.invoke("behind-nat", event)
    finally:
        listener.close()
    assert result.error is None, result.logs
    answer: dict[str, Any] = result.payload
    assert answer["target"]["echo"] == {"from": "behind-nat"}, answer
    assert answer["AWS_ENDPOINT_URL_LAMBDA"] == f"http://{host}:{port}"
    # exactly the API's port is open: another environment's Runtime API and any other port time out
    assert answer["probes"] == {
        f"{runtime_host}:{runtime_port}": {"connected": False, "error": "TimeoutError"},
        f"{host}:{other_port}": {"connected": False, "error": "TimeoutError"},
    }


@pytest.mark.docker
def test_a_vpc_function_without_a_nat_gateway_cannot_reach_lsim(vpc_lsim: BlockingSimulator) -> None:
    """As on AWS, where a function in a private subnet without NAT cannot reach the public endpoints: the
    connection times out (boto3's ConnectTimeoutError), and so it does behind a NAT gateway when the security
    group allows no outbound traffic."""
    for name in ("private", "nat-no-egress"):
        result = vpc_lsim.invoke(name, {"connect_timeout": 2})
        assert result.error is None, result.logs
        answer: dict[str, Any] = result.payload
        assert answer["error"] == "ConnectTimeoutError" and "target" not in answer, (name, answer)
        assert answer["AWS_ENDPOINT_URL_LAMBDA"] is not None  # the variables are there: the route is not


def _listen(host: str) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen()
    return listener, listener.getsockname()[1]


# -- the faces: `lsim serve`, `lsim invoke` in process ---------------------------------------------------------------
@pytest.mark.docker
def test_lsim_serve_listens_for_functions_on_the_containers_address_with_its_own_port(tmp_path: Path) -> None:
    """`lsim serve --port P`: the API on loopback for you, and on the gateway of lsim's Docker network, same
    port number, for the functions; a function invoked through the serve invokes another through it."""
    import time

    from .lsim_processes import serve

    folder = write_project(tmp_path, function("caller", "call") + function("target", "target"))
    with socket.socket() as probe:  # a free port number for this serve
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = serve(folder, quiet=False, options=("--port", str(port)))
    try:
        assert served.url == f"http://127.0.0.1:{port}"
        status, answer = served.invoke("caller", {})
        assert status == 200 and answer["target"]["echo"] == {"from": "caller"}, (answer, served.lines)
        url = answer["AWS_ENDPOINT_URL_LAMBDA"]
        assert url.endswith(f":{port}") and not url.startswith("http://127."), url
        deadline = time.monotonic() + 30  # the reader thread has the lines printed before the invocation ran
        while not any("functions reach this API at" in line for line in served.lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        said = next(line for line in served.lines if "functions reach this API at" in line)
        assert f"functions reach this API at {url} " in said
    finally:
        served.stop()


def test_lsim_invoke_in_process_gives_functions_the_api(tmp_path: Path) -> None:
    from .cli import lsim as run_lsim

    folder = write_project(tmp_path, function("caller", "call") + function("target", "target"))
    ran = run_lsim("invoke", "caller", "--backend", "process", "--no-serve", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["target"]["echo"] == {"from": "caller"}


def test_a_boto3_too_old_for_the_endpoint_variables_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore 1.31.0 is the first to read AWS_ENDPOINT_URL_<SERVICE> (1.30.0's configprovider has no such
    name); with LSIM_BOTO3_VERSION older than that, lsim says boto3 would call AWS."""
    from simulator.pool import EnvironmentPools

    said: list[str] = []
    pools = EnvironmentPools.__new__(EnvironmentPools)
    pools.backend, pools.endpoint_url, pools.warn, pools._sdk_warned = None, "http://h:1", said.append, False
    pools.backend = type("Docker", (), {"name": "docker"})()  # type: ignore[assignment]
    function = FunctionConfig(name="f", handler="app.handler", runtime="python3.11", code=Path("."))
    monkeypatch.setenv("LSIM_BOTO3_VERSION", "1.31.0")
    pools._check_sdk(function)
    assert said == []
    monkeypatch.setenv("LSIM_BOTO3_VERSION", "1.28.85,1.30.0")
    pools._check_sdk(function)
    pools._check_sdk(function)
    assert len(said) == 1 and "botocore 1.30.0" in said[0] and "1.31.0 is the first" in said[0]


def test_the_port_asked_for_is_taken_when_free_and_another_when_not(tmp_path: Path) -> None:
    """`lsim serve --port P` asks for P on the containers' address too; when something holds it there, the
    functions get a free port instead, and the serve still starts."""
    folder = write_project(tmp_path, function("target", "target"))
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        with BlockingSimulator(load_project(folder), backend="process") as lsim:
            lsim.simulator.functions_api_port = taken
            host, port = lsim.call(lsim.simulator.functions_api_address())
            assert host == "127.0.0.1" and port not in (0, taken)
            assert lsim.call(lsim.simulator.functions_api_address()) == (host, port)  # one API per simulator
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        wanted = free.getsockname()[1]
    with BlockingSimulator(load_project(folder), backend="process") as lsim:
        lsim.simulator.functions_api_port = wanted
        assert lsim.call(lsim.simulator.functions_api_address()) == ("127.0.0.1", wanted)
    with pytest.raises(ConnectionRefusedError):  # closed with the simulator
        socket.create_connection(("127.0.0.1", wanted), timeout=5).close()


def test_before_the_simulator_starts_there_is_no_api(tmp_path: Path) -> None:
    from simulator.simulator import Simulator

    simulator = Simulator(load_project(write_project(tmp_path, function("target", "target"))), backend="process")
    assert asyncio.run(simulator.functions_api_url()) is None


def test_the_pytest_fixture_gives_functions_the_api(tmp_path: Path) -> None:
    from simulator.pytest_plugin import LsimFixture

    folder = write_project(tmp_path / "project", function("caller", "call") + function("target", "target"))
    fixture = LsimFixture(load_project(folder), "process", tmp_path / "state")
    try:
        answer = fixture.invoke("caller", {}).payload
        assert answer["target"]["echo"] == {"from": "caller"}, answer
        assert fixture._server is None  # the functions' API is the simulator's own, not the fixture's client API
    finally:
        fixture.close()



@pytest.mark.docker
def test_a_serve_killed_while_a_function_calls_through_it_leaves_nothing_the_next_one_keeps(tmp_path: Path) -> None:
    """SIGKILL while the caller waits on the target through the functions' API: the next serve on the project
    removes both containers before it serves, and functions call each other through it again."""
    import threading
    import time

    from .lsim_processes import serve

    folder = write_project(tmp_path, function("caller", "call") + function("target", "target"))
    first = serve(folder, quiet=False)
    answers: list[Any] = []
    calling = threading.Thread(target=lambda: answers.append(first.invoke("caller", {"extra": {"sleep": 60}})))
    calling.start()
    deadline = time.monotonic() + 120
    while not any("target is sleeping" in line for line in first.lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("target is sleeping" in line for line in first.lines), first.lines
    first.kill()
    calling.join(60)
    assert answers == [(0, {})]  # no answer: the process is gone
    second = serve(folder, quiet=False)
    try:
        status, answer = second.invoke("caller", {})
        assert status == 200 and answer["target"]["echo"] == {"from": "caller"}, answer
        assert any("removed what an lsim process that is gone left" in line and "2 container(s)" in line
                   for line in second.lines), second.lines  # fmt: skip
    finally:
        second.stop()


# -- SQS, on the same port -----------------------------------------------------------------------------------------
SQS_CALLER = """
import boto3
from botocore.config import Config


def handler(event, context):
    sqs = boto3.client("sqs", config=Config(retries={"max_attempts": 0}))  # no endpoint_url, no keys
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody=event["body"])
    return {
        "queues": sqs.list_queues().get("QueueUrls", []),
        "message_id": sent["MessageId"],
        "endpoint": sqs.meta.endpoint_url,
    }
"""


@pytest.mark.docker
def test_from_a_container_boto3_lists_and_sends_to_a_queue_with_no_endpoint_and_no_keys(tmp_path: Path) -> None:
    folder = write_project(tmp_path, function("sender", "call") + "\n[queues.orders]\n")
    (folder / "src" / "app.py").write_text(textwrap.dedent(SQS_CALLER))
    (folder / "lsim.toml").write_text((folder / "lsim.toml").read_text().replace("app.call", "app.handler"))
    with BlockingSimulator(load_project(folder), backend="docker") as lsim:
        result = lsim.invoke("sender", {"body": "an order, from inside"})
        assert result.error is None, result.logs
        answer: dict[str, Any] = result.payload
        host, port = lsim.call(lsim.simulator.functions_api_address())
        assert answer["endpoint"] == f"http://{host}:{port}"  # AWS_ENDPOINT_URL_SQS: the same port as Lambda's
        assert [url.rsplit("/", 1)[-1] for url in answer["queues"]] == ["orders"]
        received = lsim.simulator.queues.receive_message("orders")
        assert [(m.message_id, m.body) for m in received] == [(answer["message_id"], "an order, from inside")]
