# The formats of ec2_provision's variables that its argument specs cannot express (regions,
# CIDRs, AWS ids, port ranges), checked in one place, with one message per bad variable.

from __future__ import annotations

DOCUMENTATION = r"""
  name: ec2_provision_errors
  short_description: What is wrong with the variables of the ec2_provision role
  description:
    - Checks the formats that the role's argument specs cannot express and returns one
      message per variable that is wrong, in the order of the list below; an empty list
      when everything is right. The role's first task fails with all of them at once,
      before anything is changed.
    - V(ec2_provision_region) is a region name (V(sa-east-1), V(us-gov-west-1)).
    - V(ec2_provision_instance_count) is at least 1.
    - V(ec2_provision_ssh_cidr), V(ec2_provision_gunicorn_cidr) and every entry of
      V(ec2_provision_web_cidrs) are IPv4 CIDRs (V(203.0.113.7/32)), every entry of
      V(ec2_provision_web_cidrs_ipv6) an IPv6 CIDR (V(::/0)).
    - V(ec2_provision_gunicorn_port) and V(ec2_provision_ssh_port) are 1-65535.
    - V(ec2_provision_project) and V(ec2_provision_key_name) are not empty.
    - V(ec2_provision_ami_id), V(ec2_provision_vpc_id) and V(ec2_provision_subnet_id) are empty
      or ids of their kind (V(ami-0123456789abcdef0), V(vpc-0123abcd), V(subnet-0123abcd)).
    - V(ec2_provision_public_key) is empty or an OpenSSH public key (ssh-ed25519, ssh-rsa,
      ecdsa-sha2-nistp*).
    - Numbers are read as Jinja's C(int) filter reads them (V("8000") is 8000, a word is 0).
  positional: _input
  options:
    _input:
      description: The variables above, by their names.
      type: dict
      required: true
"""

EXAMPLES = r"""
- name: Check the variable formats
  vars:
    __ec2_provision_errors: >-
      {{ {'ec2_provision_region': ec2_provision_region,
          'ec2_provision_instance_count': ec2_provision_instance_count,
          'ec2_provision_ssh_cidr': ec2_provision_ssh_cidr}
         | combine(the_other_variables) | pulsestage.stack.ec2_provision_errors }}
  ansible.builtin.fail:
    msg: "Invalid variables: {{ __ec2_provision_errors | join('; ') }}"
  when: __ec2_provision_errors | length > 0

# {"ec2_provision_region": "Sao Paulo", "ec2_provision_ssh_port": 0, ...}
#   | pulsestage.stack.ec2_provision_errors
# => ["ec2_provision_region 'Sao Paulo' is not a region name like sa-east-1 or us-east-1",
#     "ec2_provision_ssh_port must be 1-65535"]
"""

RETURN = r"""
  _value:
    description: One message per wrong variable, naming it (and its value where that helps).
    type: list
    elements: str
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_CIDR = re.compile(rf"^({_OCTET}\.){{3}}{_OCTET}/(3[0-2]|[12]?\d)$")
IPV6_CIDR = re.compile(r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*/(12[0-8]|1[01]\d|[1-9]?\d)$")
AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
PUBLIC_KEY = re.compile(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) ")

NAMES = (
    "ec2_provision_region",
    "ec2_provision_instance_count",
    "ec2_provision_ssh_cidr",
    "ec2_provision_gunicorn_cidr",
    "ec2_provision_web_cidrs",
    "ec2_provision_web_cidrs_ipv6",
    "ec2_provision_gunicorn_port",
    "ec2_provision_ssh_port",
    "ec2_provision_project",
    "ec2_provision_key_name",
    "ec2_provision_ami_id",
    "ec2_provision_vpc_id",
    "ec2_provision_subnet_id",
    "ec2_provision_public_key",
)


def _int(value: Any) -> int:
    """Jinja's ``int`` filter: a number, a numeric string (also ``"1.5"``), else 0."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    """Ansible's ``match`` test: the pattern matches at the start of the value."""
    return pattern.match(str(value)) is not None


def ec2_provision_errors(settings: Mapping[str, Any]) -> list[str]:
    """One message per variable of ``settings`` (by name) that is not in its format."""
    missing = [name for name in NAMES if name not in settings]
    if missing:
        raise AnsibleFilterError(f"ec2_provision_errors: missing {', '.join(missing)}")
    v = settings
    errors: list[str] = []
    if not _matches(REGION, v["ec2_provision_region"]):
        errors.append(
            f"ec2_provision_region '{v['ec2_provision_region']}' is not a region name"
            " like sa-east-1 or us-east-1"
        )
    if _int(v["ec2_provision_instance_count"]) < 1:
        errors.append(
            f"ec2_provision_instance_count must be >= 1 (got {v['ec2_provision_instance_count']})"
        )
    if not _matches(IPV4_CIDR, v["ec2_provision_ssh_cidr"]):
        errors.append(
            f"ec2_provision_ssh_cidr '{v['ec2_provision_ssh_cidr']}' is not an IPv4 CIDR"
            " like 203.0.113.7/32"
        )
    if not _matches(IPV4_CIDR, v["ec2_provision_gunicorn_cidr"]):
        errors.append(
            f"ec2_provision_gunicorn_cidr '{v['ec2_provision_gunicorn_cidr']}' is not an IPv4 CIDR"
        )
    bad4 = [str(c) for c in v["ec2_provision_web_cidrs"] if not _matches(IPV4_CIDR, c)]
    if bad4:
        errors.append(
            f"ec2_provision_web_cidrs has entries that are not IPv4 CIDRs: {', '.join(bad4)}"
        )
    bad6 = [str(c) for c in v["ec2_provision_web_cidrs_ipv6"] if not _matches(IPV6_CIDR, c)]
    if bad6:
        errors.append(
            f"ec2_provision_web_cidrs_ipv6 has entries that are not IPv6 CIDRs: {', '.join(bad6)}"
        )
    for name in ("ec2_provision_gunicorn_port", "ec2_provision_ssh_port"):
        if not 1 <= _int(v[name]) <= 65535:
            errors.append(f"{name} must be 1-65535")
    for name in ("ec2_provision_project", "ec2_provision_key_name"):
        if len(v[name]) == 0:
            errors.append(f"{name} must not be empty")
    ids = (
        ("ec2_provision_ami_id", AMI_ID, "an AMI id like ami-0123456789abcdef0"),
        ("ec2_provision_vpc_id", VPC_ID, "a VPC id like vpc-0123abcd"),
        ("ec2_provision_subnet_id", SUBNET_ID, "a subnet id like subnet-0123abcd"),
    )
    for name, pattern, kind in ids:
        if v[name] != "" and not _matches(pattern, v[name]):
            errors.append(f"{name} '{v[name]}' is not {kind}")
    if v["ec2_provision_public_key"] != "" and not _matches(
        PUBLIC_KEY, v["ec2_provision_public_key"]
    ):
        errors.append(
            "ec2_provision_public_key is not an OpenSSH public key"
            " (ssh-ed25519/ssh-rsa/ecdsa-sha2-* ...)"
        )
    return errors


class FilterModule:
    """pulsestage.stack.ec2_provision_errors"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"ec2_provision_errors": ec2_provision_errors}
