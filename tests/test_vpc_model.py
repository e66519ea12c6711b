"""The VPC model without Docker: project file validation, ENI allocation and sharing, the /28 count, the
quota, unknown subnets and groups, and the packet filter rules derived from security groups."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from simulator.errors import (
    ENILimitReachedException,
    InvalidSecurityGroupIDException,
    InvalidSubnetIDException,
    ProjectFileError,
    SubnetIPAddressLimitReachedException,
)
from simulator.project import load_project
from simulator.sandbox.network import filter_rules
from simulator.vpc import AttachmentFailed, FunctionVpcConfig, Hyperplane, VpcConfig


def vpc(**overrides: object) -> VpcConfig:
    data: dict[str, object] = {
        "name": "main",
        "cidr": "10.0.0.0/16",
        "subnets": [
            {"id": "subnet-private-a", "cidr": "10.0.1.0/24", "availability_zone": "us-east-1a"},
            {"id": "subnet-tiny", "cidr": "10.0.9.0/28", "availability_zone": "us-east-1b"},
            {"id": "subnet-nat-b", "cidr": "10.0.2.0/24", "nat": True},
        ],
        "security_groups": [
            {"id": "sg-lambda"},
            {"id": "sg-db", "ingress": [{"port": 5432, "security_group": "sg-lambda"}]},
            *({"id": f"sg-{n}"} for n in range(12)),
        ],
        "resources": [
            {
                "name": "db",
                "image": "postgres:16",
                "subnet": "subnet-private-a",
                "ip": "10.0.1.10",
                "security_groups": ["sg-db"],
            }
        ],
    }
    data.update(overrides)
    return VpcConfig.model_validate(data)


def attach(hyperplane: Hyperplane, function: str, subnets: list[str], groups: list[str]):  # type: ignore[no-untyped-def]
    return hyperplane.attach(function, FunctionVpcConfig(subnets=tuple(subnets), security_groups=tuple(groups)))


def test_a_28_subnet_has_11_addresses_and_the_12th_eni_fails() -> None:
    hyperplane = Hyperplane({"main": vpc()})
    usable = next(u for u in hyperplane.subnet_usage() if u.subnet.id == "subnet-tiny")
    assert (usable.usable, usable.used) == (11, 0)
    addresses = [attach(hyperplane, f"fn{n}", ["subnet-tiny"], [f"sg-{n}"]).enis[0].ip for n in range(11)]
    # AWS reserves .0-.3 and .15: the ENIs get .4 to .14
    assert addresses == [IPv4Address(f"10.0.9.{n}") for n in range(4, 15)]
    with pytest.raises(AttachmentFailed) as failure:
        attach(hyperplane, "fn11", ["subnet-tiny"], ["sg-11"])
    assert failure.value.reason_code == "SubnetOutOfIPAddresses"
    error = failure.value.error()
    assert isinstance(error, SubnetIPAddressLimitReachedException) and error.status == 502
    assert "subnet-tiny" in error.message and "no available IP addresses" in error.message
    # nothing was allocated for the failed function; freeing one ENI makes room again
    assert hyperplane.attachment("fn11") is None
    assert [e.ip for e in hyperplane.detach("fn3")] == [IPv4Address("10.0.9.7")]
    assert attach(hyperplane, "fn11", ["subnet-tiny"], ["sg-11"]).enis[0].ip == IPv4Address("10.0.9.7")


def test_functions_with_the_same_subnets_and_groups_share_one_eni() -> None:
    hyperplane = Hyperplane({"main": vpc()})
    first = attach(hyperplane, "orders", ["subnet-private-a", "subnet-nat-b"], ["sg-lambda", "sg-1"])
    second = attach(hyperplane, "billing", ["subnet-private-a", "subnet-nat-b"], ["sg-1", "sg-lambda"])  # any order
    other = attach(hyperplane, "reports", ["subnet-private-a"], ["sg-lambda"])
    assert [e.eni_id for e in first.enis] == [e.eni_id for e in second.enis]
    assert len({e.eni_id for e in first.enis}) == 2  # one ENI per subnet of the combination
    assert other.enis[0].eni_id not in {e.eni_id for e in first.enis}
    assert first.enis[0].functions == ["orders", "billing"]
    assert first.enis[0].eni_id.startswith("eni-") and len(first.enis[0].eni_id) == 21
    used = {u.subnet.id: u.used for u in hyperplane.subnet_usage()}
    # subnet-private-a: the database plus two ENIs
    assert used == {"subnet-private-a": 3, "subnet-tiny": 0, "subnet-nat-b": 1}
    # the ENI outlives one of its functions, not both
    assert hyperplane.detach("orders") == []
    assert [e.eni_id for e in hyperplane.detach("billing")] == [e.eni_id for e in first.enis]


def test_the_eni_quota_counts_enis_and_resources() -> None:
    hyperplane = Hyperplane({"main": vpc()}, eni_quota=3)  # the database is one interface
    attach(hyperplane, "a", ["subnet-private-a"], ["sg-1"])
    attach(hyperplane, "b", ["subnet-private-a"], ["sg-2"])
    attach(hyperplane, "c", ["subnet-private-a"], ["sg-1"])  # shares a's ENI: no new interface
    with pytest.raises(AttachmentFailed) as failure:
        attach(hyperplane, "d", ["subnet-private-a"], ["sg-3"])
    assert failure.value.reason_code == "EniLimitExceeded"
    assert isinstance(failure.value.error(), ENILimitReachedException)
    assert "enis_per_vpc" in failure.value.reason


def test_unknown_subnets_and_groups_fail_with_awss_reason_codes() -> None:
    hyperplane = Hyperplane({"main": vpc()})
    with pytest.raises(AttachmentFailed) as subnet:
        attach(hyperplane, "f", ["subnet-private-a", "subnet-nope"], ["sg-lambda"])
    assert subnet.value.reason_code == "InvalidSubnet"
    assert isinstance(subnet.value.error(), InvalidSubnetIDException)
    assert "subnet-nope" in subnet.value.reason
    with pytest.raises(AttachmentFailed) as group:
        attach(hyperplane, "f", ["subnet-private-a"], ["sg-nope"])
    assert group.value.reason_code == "InvalidSecurityGroup"
    assert isinstance(group.value.error(), InvalidSecurityGroupIDException)
    assert group.value.error().status == 502
    assert hyperplane.enis() == []  # a failed attach keeps nothing


def test_resources_take_their_addresses_first() -> None:
    config = vpc(
        resources=[
            {"name": "cache", "image": "redis", "subnet": "subnet-tiny"},
            {"name": "db", "image": "postgres", "subnet": "subnet-tiny", "ip": "10.0.9.4"},
        ]
    )
    hyperplane = Hyperplane({"main": config})
    assert {r.config.name: str(r.ip) for r in hyperplane.resources()} == {"cache": "10.0.9.5", "db": "10.0.9.4"}
    assert attach(hyperplane, "f", ["subnet-tiny"], ["sg-1"]).enis[0].ip == IPv4Address("10.0.9.6")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cidr": "10.0.0.0/8"}, "between /16 and /28"),
        ({"subnets": [{"id": "subnet-a", "cidr": "10.1.0.0/24"}]}, "not inside the VPC's CIDR"),
        (
            {"subnets": [{"id": "subnet-a", "cidr": "10.0.0.0/24"}, {"id": "subnet-b", "cidr": "10.0.0.0/25"}]},
            "overlap",
        ),
        ({"subnets": [{"id": "subnet-a", "cidr": "10.0.0.0/29"}]}, "between /16 and /28"),
        ({"subnets": [{"id": "subnet-a", "cidr": "10.0.0.1/24"}]}, "did you mean 10.0.0.0/24"),
        (
            {"security_groups": [{"id": "sg-a", "ingress": [{"port": 80, "security_group": "sg-b"}]}]},
            "not a security group of this VPC",
        ),
        ({"security_groups": [{"id": "sg-a", "ingress": [{"protocol": "tcp", "cidr": "0.0.0.0/0"}]}]}, "needs port"),
        ({"resources": [{"name": "db", "image": "x", "subnet": "subnet-private-a", "ip": "10.0.1.3"}]}, "reserves"),
        (
            {"resources": [{"name": "db", "image": "x", "subnet": "subnet-private-a", "ip": "10.0.2.9"}]},
            "not inside subnet",
        ),
        ({"resources": [{"name": "db", "subnet": "subnet-private-a"}]}, "exactly one of them"),
    ],
)
def test_a_vpc_breaking_awss_rules_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vpc(**change)


def test_the_project_file_names_file_field_and_fix(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    good = """
        [functions.api]
        handler = "app.handler"
        runtime = "python3.11"
        code = "src"
        vpc = { subnets = ["subnet-a"], security_groups = ["sg-a"] }

        [vpcs.main]
        cidr = "10.0.0.0/16"
        [[vpcs.main.subnets]]
        id = "subnet-a"
        cidr = "10.0.1.0/28"
        [[vpcs.main.security_groups]]
        id = "sg-a"

        [limits]
        enis_per_vpc = 7
        eni_creation_delay_s = 2
    """
    (tmp_path / "lsim.toml").write_text(textwrap.dedent(good))
    project = load_project(tmp_path)
    assert project.functions["api"].vpc is not None
    assert project.vpcs["main"].subnets[0].usable_addresses()[0] == IPv4Address("10.0.1.4")
    assert project.limits.enis_per_vpc == 7

    bad = good.replace('cidr = "10.0.1.0/28"', 'cidr = "10.0.1.0/30"')
    (tmp_path / "lsim.toml").write_text(textwrap.dedent(bad))
    with pytest.raises(ProjectFileError, match=r"lsim.toml: vpcs\.main\.subnets\.0\.cidr: .*between /16 and /28"):
        load_project(tmp_path)

    too_many = good.replace(
        'security_groups = ["sg-a"]', 'security_groups = ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]'
    )
    (tmp_path / "lsim.toml").write_text(textwrap.dedent(too_many))
    with pytest.raises(ProjectFileError, match=r"functions\.api\.vpc\.security_groups: .*at most 5"):
        load_project(tmp_path)

    two_vpcs = (
        good
        + """
        [vpcs.other]
        cidr = "10.1.0.0/16"
        [[vpcs.other.security_groups]]
        id = "sg-b"
    """
    )
    mixed = two_vpcs.replace('security_groups = ["sg-a"] }', 'security_groups = ["sg-b"] }')
    (tmp_path / "lsim.toml").write_text(textwrap.dedent(mixed))
    with pytest.raises(ProjectFileError, match=r"functions\.api\.vpc: .*different VPCs \(main, other\)"):
        load_project(tmp_path)

    typo = good.replace("[[vpcs.main.security_groups]]", "[[vpcs.main.security_group]]")
    (tmp_path / "lsim.toml").write_text(textwrap.dedent(typo))
    with pytest.raises(ProjectFileError, match=r"vpcs\.main\.security_group: unknown key"):
        load_project(tmp_path)


def test_security_groups_become_packet_filter_rules() -> None:
    config = vpc(
        security_groups=[
            {"id": "sg-lambda", "egress": [{"port": 5432, "cidr": "10.0.0.0/16"}, {"port": 443, "cidr": "0.0.0.0/0"}]},
            {"id": "sg-db", "ingress": [{"port": 5432, "security_group": "sg-lambda"}]},
            {"id": "sg-cache", "ingress": [{"from_port": 6379, "to_port": 6380, "cidr": "10.0.1.0/24"}]},
        ],
        resources=[
            {"name": "db", "image": "x", "subnet": "subnet-private-a", "ip": "10.0.1.10", "security_groups": ["sg-db"]},
            {
                "name": "cache",
                "image": "x",
                "subnet": "subnet-nat-b",
                "ip": "10.0.2.10",
                "security_groups": ["sg-cache"],
            },
        ],
    )
    hyperplane = Hyperplane({"main": config})
    eni = attach(hyperplane, "f", ["subnet-private-a"], ["sg-lambda"]).enis[0]
    rules = filter_rules(hyperplane, eni, "10.0.0.1", [40001, 40000], ["192.0.2.9", "10.0.0.1"]).splitlines()
    assert rules[0] == "*filter" and rules[-1] == "COMMIT"
    assert ":OUTPUT DROP [0:0]" in rules and ":INPUT DROP [0:0]" in rules
    # Of the host, the Runtime API ports lsim reserved only; nothing outside the VPC without NAT
    assert "-A OUTPUT -d 10.0.0.1/32 -p tcp -j LSIM-RUNTIME-API" in rules
    assert "-A LSIM-RUNTIME-API -p tcp -m multiport --dports 40000,40001 -j ACCEPT" in rules
    assert rules.index("-A OUTPUT -d 10.0.0.1/32 -j DROP") < rules.index("-A OUTPUT ! -d 10.0.0.0/16 -j DROP")
    assert rules.index("-A OUTPUT -d 192.0.2.9/32 -j DROP") < rules.index("-A OUTPUT ! -d 10.0.0.0/16 -j DROP")
    assert rules.index("-A OUTPUT ! -d 10.0.0.0/16 -j DROP") < next(
        i for i, r in enumerate(rules) if "LSIM-VPC" in r and r.startswith("-A OUTPUT")
    )
    assert "-A OUTPUT -d 10.0.0.0/16 -p tcp -m tcp --dport 5432 -j LSIM-VPC" in rules
    assert "-A OUTPUT -d 0.0.0.0/0 -p tcp -m tcp --dport 443 -j LSIM-VPC" in rules
    # the database admits sg-lambda on 5432; the cache admits 10.0.1.0/24 (where the ENI is) on 6379-6380
    assert "-A LSIM-VPC -d 10.0.1.10/32 -j LSIM-TO-0" in rules
    assert "-A LSIM-TO-0 -p tcp -m tcp --dport 5432 -j ACCEPT" in rules
    assert "-A LSIM-TO-1 -p tcp -m tcp --dport 6379:6380 -j ACCEPT" in rules
    assert rules.index("-A LSIM-TO-0 -j DROP") > rules.index("-A LSIM-TO-0 -p tcp -m tcp --dport 5432 -j ACCEPT")
    assert not [r for r in rules if r.startswith("-A INPUT -s")]  # sg-lambda admits nothing inbound


def test_the_process_backend_refuses_a_vpc_function_and_says_why(tmp_path: Path) -> None:
    from simulator.blocking import BlockingSimulator
    from simulator.errors import VpcUnavailableError

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 'ran'\n")
    (tmp_path / "lsim.toml").write_text(
        textwrap.dedent(
            """
            [functions.inside]
            handler = "app.handler"
            runtime = "python3.11"
            code = "src"
            vpc = { subnets = ["subnet-a"], security_groups = ["sg-a"] }

            [functions.outside]
            handler = "app.handler"
            runtime = "python3.11"
            code = "src"

            [vpcs.main]
            cidr = "10.0.0.0/16"
            [[vpcs.main.subnets]]
            id = "subnet-a"
            cidr = "10.0.1.0/24"
            [[vpcs.main.security_groups]]
            id = "sg-a"
            """
        )
    )
    warnings: list[str] = []
    with BlockingSimulator(load_project(tmp_path), backend="process", warn=warnings.append) as lsim:
        with pytest.raises(VpcUnavailableError, match="--backend docker"):
            lsim.invoke("inside")
        assert lsim.invoke("outside").payload == "ran"  # the other functions are unaffected
        assert lsim.simulator.vpc_state("outside") is None
    assert any("inside" in w and "VPC" in w for w in warnings)
