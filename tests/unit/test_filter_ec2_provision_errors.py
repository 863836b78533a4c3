"""plugins/filter/ec2_provision_errors.py: ec2_provision's variable formats, one message each.

The messages are the ones tests/aws/test_errors.py expects from a run of the role.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.pulsestage.stack.plugins.filter.ec2_provision_errors import (
    NAMES,
    FilterModule,
    ec2_provision_errors,
)

# The role's defaults (roles/ec2_provision/defaults/main.yml), rendered.
VALID: dict[str, Any] = {
    "ec2_provision_region": "sa-east-1",
    "ec2_provision_instance_count": 1,
    "ec2_provision_ssh_cidr": "0.0.0.0/0",
    "ec2_provision_gunicorn_cidr": "0.0.0.0/0",
    "ec2_provision_web_cidrs": ["0.0.0.0/0"],
    "ec2_provision_web_cidrs_ipv6": ["::/0"],
    "ec2_provision_gunicorn_port": 8000,
    "ec2_provision_ssh_port": 22,
    "ec2_provision_project": "pulsestage",
    "ec2_provision_key_name": "pulsestage-key",
    "ec2_provision_ami_id": "",
    "ec2_provision_vpc_id": "",
    "ec2_provision_subnet_id": "",
    "ec2_provision_public_key": "",
}


def errors(**changes: Any) -> list[str]:
    return ec2_provision_errors({**VALID, **changes})


def test_the_defaults_are_valid() -> None:
    assert errors() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ec2_provision_region": "us-gov-west-1"},
        {"ec2_provision_instance_count": "3"},
        {"ec2_provision_ssh_cidr": "203.0.113.7/32", "ec2_provision_gunicorn_cidr": "10.0.0.0/8"},
        {"ec2_provision_web_cidrs": [], "ec2_provision_web_cidrs_ipv6": []},
        {"ec2_provision_web_cidrs_ipv6": ["2001:db8::/32", "::1/128"]},
        {"ec2_provision_gunicorn_port": 65535, "ec2_provision_ssh_port": "2222"},
        {"ec2_provision_ami_id": "ami-0123456789abcdef0"},
        {"ec2_provision_vpc_id": "vpc-0123abcd", "ec2_provision_subnet_id": "subnet-0123abcd"},
        {"ec2_provision_public_key": "ssh-ed25519 AAAAC3Nza me@laptop"},
        {"ec2_provision_public_key": "ecdsa-sha2-nistp256 AAAAE2Vj"},
    ],
)
def test_valid_values(changes: dict[str, Any]) -> None:
    assert errors(**changes) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"ec2_provision_region": "Sao Paulo"},
            "ec2_provision_region 'Sao Paulo' is not a region name like sa-east-1 or us-east-1",
        ),
        ({"ec2_provision_region": "sa-east"}, "ec2_provision_region 'sa-east' is not a region"),
        ({"ec2_provision_instance_count": 0}, "ec2_provision_instance_count must be >= 1 (got 0)"),
        (
            {"ec2_provision_instance_count": "many"},
            "ec2_provision_instance_count must be >= 1 (got many)",
        ),
        (
            {"ec2_provision_ssh_cidr": "10.0.0.0/33"},
            "ec2_provision_ssh_cidr '10.0.0.0/33' is not an IPv4 CIDR like 203.0.113.7/32",
        ),
        (
            {"ec2_provision_ssh_cidr": "256.0.0.1/32"},
            "ec2_provision_ssh_cidr '256.0.0.1/32' is not an IPv4 CIDR like 203.0.113.7/32",
        ),
        (
            {"ec2_provision_gunicorn_cidr": "my-laptop"},
            "ec2_provision_gunicorn_cidr 'my-laptop' is not an IPv4 CIDR",
        ),
        (
            {"ec2_provision_web_cidrs": ["0.0.0.0/0", "::/0", "1.2.3.4"]},
            "ec2_provision_web_cidrs has entries that are not IPv4 CIDRs: ::/0, 1.2.3.4",
        ),
        (
            {"ec2_provision_web_cidrs_ipv6": ["::/0", "0.0.0.0/0"]},
            "ec2_provision_web_cidrs_ipv6 has entries that are not IPv6 CIDRs: 0.0.0.0/0",
        ),
        ({"ec2_provision_gunicorn_port": 0}, "ec2_provision_gunicorn_port must be 1-65535"),
        ({"ec2_provision_ssh_port": 65536}, "ec2_provision_ssh_port must be 1-65535"),
        ({"ec2_provision_project": ""}, "ec2_provision_project must not be empty"),
        ({"ec2_provision_key_name": ""}, "ec2_provision_key_name must not be empty"),
        (
            {"ec2_provision_ami_id": "ami-XYZ"},
            "ec2_provision_ami_id 'ami-XYZ' is not an AMI id like ami-0123456789abcdef0",
        ),
        (
            {"ec2_provision_vpc_id": "vpc-123"},
            "ec2_provision_vpc_id 'vpc-123' is not a VPC id like vpc-0123abcd",
        ),
        (
            {"ec2_provision_subnet_id": "sub-0123abcd"},
            "ec2_provision_subnet_id 'sub-0123abcd' is not a subnet id like subnet-0123abcd",
        ),
        (
            {"ec2_provision_public_key": "AAAAC3Nza"},
            "ec2_provision_public_key is not an OpenSSH public key"
            " (ssh-ed25519/ssh-rsa/ecdsa-sha2-* ...)",
        ),
    ],
)
def test_each_bad_value_is_named(changes: dict[str, Any], message: str) -> None:
    found = errors(**changes)
    assert len(found) == 1, found
    assert found[0].startswith(message)


def test_every_error_at_once_in_a_fixed_order() -> None:
    found = errors(
        ec2_provision_public_key="nope",
        ec2_provision_region="x",
        ec2_provision_ssh_port=0,
        ec2_provision_gunicorn_port=0,
    )
    assert [message.split()[0] for message in found] == [
        "ec2_provision_region",
        "ec2_provision_gunicorn_port",
        "ec2_provision_ssh_port",
        "ec2_provision_public_key",
    ]


def test_a_missing_variable_is_refused() -> None:
    settings = dict(VALID)
    del settings["ec2_provision_ssh_port"]
    with pytest.raises(AnsibleFilterError, match="missing ec2_provision_ssh_port"):
        ec2_provision_errors(settings)


def test_the_role_passes_every_variable_the_filter_reads() -> None:
    """roles/ec2_provision/tasks/validate.yml names each of them, once."""
    repo = Path(__file__).resolve().parents[2]
    task = (repo / "roles" / "ec2_provision" / "tasks" / "validate.yml").read_text()
    for name in NAMES:
        assert task.count(f"'{name}': {name},") + task.count(f"'{name}': {name}}}") == 1, name
    assert set(VALID) == set(NAMES)


def test_the_plugin_offers_it_under_its_file_name() -> None:
    assert FilterModule().filters() == {"ec2_provision_errors": ec2_provision_errors}
