"""Helpers for the EC2 tests: run ansible tools, parse PLAY RECAP, query moto."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.M,
)


@dataclass
class AnsibleResult:
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def recap(self) -> dict[str, dict[str, int]]:
        """{host: {ok, changed, unreachable, failed}} from the PLAY RECAP."""
        tail = self.stdout.split("PLAY RECAP", 1)[-1]
        return {
            m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
            for m in _RECAP.finditer(tail)
        }

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return (
            f"$ {' '.join(self.cmd)}\nrc={self.rc}\n"
            f"--- stdout ---\n{self.stdout[-6000:]}\n"
            f"--- stderr ---\n{self.stderr[-3000:]}"
        )


# provision.yml against moto, where nothing boots: the SSH wait is switched off (the e2e test
# points it at a container instead).
PROVISION = [
    "-i",
    "localhost,",
    "playbooks/provision.yml",
    "-e",
    "ec2_provision_ami_lookup=ami_info",
    "-e",
    "ec2_provision_wait_for_ssh=false",
]


class Ansible(Protocol):
    """The ``ansible`` fixture: runs an ansible tool from the repo root (see conftest)."""

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str | None] | None = None,
        tool: str = "ansible-playbook",
    ) -> AnsibleResult: ...


def run_ansible(tool: str, *args: str, env: dict[str, str], timeout: int = 900) -> AnsibleResult:
    cmd = [str(VENV_BIN / tool), *args]
    # The callers check the exit status themselves (AnsibleResult.rc).
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return AnsibleResult(cmd, proc.returncode, proc.stdout, proc.stderr)


def assert_clear_failure(result: AnsibleResult, line: str) -> None:
    """The run failed, printed `line` (on one line), and no Python traceback."""
    assert result.rc != 0, str(result)
    assert any(line in ln for ln in result.output.splitlines()), (
        f"expected one line containing {line!r}\n{result}"
    )
    assert "Traceback (most recent call last)" not in result.output, str(result)


def plain(value: Any) -> Any:
    """ansible-inventory --list may wrap templated values as {"__ansible_unsafe": value}."""
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return value["__ansible_unsafe"]
    return value


def instances(
    ec2: Any, states: Iterable[str] = ("pending", "running", "stopping", "stopped")
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(states)}]
    ):
        for reservation in page["Reservations"]:
            found.extend(reservation["Instances"])
    return found


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def security_groups(ec2: Any, name: str) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    return groups


def ingress_rules(group: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Flatten IpPermissions into {(proto, from, to, cidr)} (IPv4 and IPv6 alike)."""
    rules: set[tuple[Any, ...]] = set()
    for perm in group["IpPermissions"]:
        for r in perm.get("IpRanges", []):
            rules.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r["CidrIp"]))
        for r in perm.get("Ipv6Ranges", []):
            rules.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r["CidrIpv6"]))
        for r in perm.get("UserIdGroupPairs", []):
            rules.add(
                (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r.get("GroupId"))
            )
    return rules


def key_pairs(ec2: Any) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = ec2.describe_key_pairs()["KeyPairs"]
    return pairs
