"""Provision, inventory and teardown against moto_server, asserting what moto then holds.

The tests of this module share one provisioned state and run in file order:
provision -> assertions -> second run -> inventory -> teardown refused -> teardown.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import reset_moto
from helpers import (
    PROVISION,
    Ansible,
    AnsibleResult,
    assert_clear_failure,
    ingress_rules,
    instances,
    key_pairs,
    plain,
    security_groups,
    tags,
)

NEWEST_NOBLE = (
    "ami-0a1b2c3d4e5f60002"  # see amis.json: newer jammy, arm64 and non-Canonical decoys exist
)
EXPECTED_TAGS = {"Project": "pulsestage", "Role": "web", "ManagedBy": "ansible"}
EXPECTED_RULES = {
    ("tcp", 22, 22, "0.0.0.0/0"),
    ("tcp", 80, 80, "0.0.0.0/0"),
    ("tcp", 443, 443, "0.0.0.0/0"),
    ("tcp", 80, 80, "::/0"),
    ("tcp", 443, 443, "::/0"),
}
TEARDOWN = ["-i", "localhost,", "playbooks/teardown.yml"]


@pytest.fixture(scope="module")
def provisioned(moto_url: str, ansible: Ansible) -> Iterator[AnsibleResult]:
    reset_moto(moto_url)
    first = ansible(*PROVISION)
    assert first.rc == 0, str(first)
    yield first
    reset_moto(moto_url)


def test_provision_creates_one_instance(provisioned: AnsibleResult, ec2_client: Any) -> None:
    assert provisioned.recap()["localhost"]["failed"] == 0
    found = instances(ec2_client)
    assert len(found) == 1, found
    inst = found[0]
    assert inst["State"]["Name"] == "running"
    assert inst["InstanceType"] == "t3.micro"
    assert inst["ImageId"] == NEWEST_NOBLE
    assert inst["KeyName"] == "pulsestage-key"
    assert tags(inst) == {**EXPECTED_TAGS, "Name": "pulsestage-web"}
    assert [g["GroupName"] for g in inst["SecurityGroups"]] == ["pulsestage-web"]


def test_security_group_has_exactly_the_expected_rules(
    provisioned: AnsibleResult, ec2_client: Any
) -> None:
    groups = security_groups(ec2_client, "pulsestage-web")
    assert len(groups) == 1
    group = groups[0]
    assert ingress_rules(group) == EXPECTED_RULES
    assert tags(group) == {**EXPECTED_TAGS, "Name": "pulsestage-web"}
    default_vpc = ec2_client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"
    ][0]
    assert group["VpcId"] == default_vpc["VpcId"]
    # Egress untouched: the AWS default "all traffic out".
    assert [
        (p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]])
        for p in group["IpPermissionsEgress"]
    ] == [("-1", ["0.0.0.0/0"])]


def test_open_ssh_cidr_prints_a_loud_warning(provisioned: AnsibleResult) -> None:
    assert "WARNING: ec2_provision_ssh_cidr is 0.0.0.0/0" in provisioned.output, str(provisioned)


def test_key_pair_imported_from_a_local_key(
    provisioned: AnsibleResult, ec2_client: Any, home: Path
) -> None:
    pairs = key_pairs(ec2_client)
    assert [p["KeyName"] for p in pairs] == ["pulsestage-key"]
    assert tags(pairs[0]) == {**EXPECTED_TAGS, "Name": "pulsestage-key"}
    private = home / ".ssh" / "pulsestage-key"
    assert private.is_file()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = (home / ".ssh" / "pulsestage-key.pub").read_text()
    assert public.startswith("ssh-ed25519 ")
    # The private key never appears in the output.
    assert "PRIVATE KEY" not in provisioned.output


def test_second_run_changes_nothing(
    provisioned: AnsibleResult, ansible: Ansible, ec2_client: Any
) -> None:
    before = {i["InstanceId"] for i in instances(ec2_client)}
    again = ansible(*PROVISION)
    assert again.rc == 0, str(again)
    assert again.recap()["localhost"]["changed"] == 0, str(again)
    assert {i["InstanceId"] for i in instances(ec2_client)} == before
    assert len(security_groups(ec2_client, "pulsestage-web")) == 1
    assert len(key_pairs(ec2_client)) == 1


def test_check_mode_run_changes_nothing(provisioned: AnsibleResult, ansible: Ansible) -> None:
    checked = ansible(*PROVISION, "--check")
    assert checked.rc == 0, str(checked)
    assert checked.recap()["localhost"]["changed"] == 0, str(checked)


def test_inventory_lists_the_instance_in_group_web(
    provisioned: AnsibleResult, ansible: Ansible, ec2_client: Any
) -> None:
    inst = instances(ec2_client)[0]
    listed = ansible("-i", "inventories/aws_ec2.yml", "--list", tool="ansible-inventory")
    assert listed.rc == 0, str(listed)
    data = json.loads(listed.stdout)
    web = data["web"]["hosts"]
    assert len(web) == 1, data
    hostvars = data["_meta"]["hostvars"][web[0]]
    assert web[0] in (inst.get("PublicDnsName"), inst.get("PublicIpAddress"))
    assert plain(hostvars["ansible_host"]) == inst["PublicIpAddress"]
    assert plain(hostvars["ansible_user"]) == "ubuntu"
    assert plain(hostvars["instance_id"]) == inst["InstanceId"]
    assert {k: plain(v) for k, v in hostvars["ec2_tags"].items()} == {
        **EXPECTED_TAGS,
        "Name": "pulsestage-web",
    }


def test_a_typo_in_the_inventorys_group_expression_fails_it(
    provisioned: AnsibleResult, ansible: Ansible, tmp_path: Path
) -> None:
    # The repository's inventory with one typo (ec2_tag for ec2_tags): `strict: true` makes
    # the source fail with the expression's error, named in the output (and
    # require_web_hosts.yml then stops the play); without it, `web` is silently empty.
    source = (Path(__file__).resolve().parents[2] / "inventories" / "aws_ec2.yml").read_text()
    expression = "web: ec2_tags.Role"
    assert expression in source
    typo = tmp_path / "typo.aws_ec2.yml"
    typo.write_text(source.replace(expression, "web: ec2_tag.Role"))
    listed = ansible("-i", str(typo), "--list", tool="ansible-inventory")
    assert "'ec2_tag' is undefined" in listed.output, str(listed)
    groups = json.loads(listed.stdout) if listed.rc == 0 else {}
    assert not groups.get("web", {}).get("hosts"), str(listed)


def test_require_web_hosts_passes_with_hosts(provisioned: AnsibleResult, ansible: Ansible) -> None:
    result = ansible("-i", "inventories/aws_ec2.yml", "playbooks/require_web_hosts.yml")
    assert result.rc == 0, str(result)


def test_teardown_refuses_without_confirmation(
    provisioned: AnsibleResult, ansible: Ansible, ec2_client: Any
) -> None:
    refused = ansible(*TEARDOWN)
    assert_clear_failure(
        refused,
        "Refusing to tear down without confirmation: "
        "re-run with -e ec2_provision_confirm_teardown=true",
    )
    assert refused.recap()["localhost"]["changed"] == 0
    assert len(instances(ec2_client)) == 1
    assert len(security_groups(ec2_client, "pulsestage-web")) == 1
    assert len(key_pairs(ec2_client)) == 1


def test_teardown_in_check_mode_changes_nothing(
    provisioned: AnsibleResult, ansible: Ansible, ec2_client: Any
) -> None:
    checked = ansible(*TEARDOWN, "-e", "ec2_provision_confirm_teardown=true", "--check")
    assert checked.rc == 0, str(checked)
    assert len(instances(ec2_client, states=("running",))) == 1
    assert len(security_groups(ec2_client, "pulsestage-web")) == 1
    assert len(key_pairs(ec2_client)) == 1


def test_teardown_with_confirmation_removes_everything(
    provisioned: AnsibleResult, ansible: Ansible, ec2_client: Any
) -> None:
    done = ansible(*TEARDOWN, "-e", "ec2_provision_confirm_teardown=true")
    assert done.rc == 0, str(done)
    assert instances(ec2_client) == []
    assert {i["State"]["Name"] for i in instances(ec2_client, states=("terminated",))} == {
        "terminated"
    }
    assert security_groups(ec2_client, "pulsestage-web") == []
    assert key_pairs(ec2_client) == []
    # Tearing down what is gone is a no-op.
    again = ansible(*TEARDOWN, "-e", "ec2_provision_confirm_teardown=true")
    assert again.rc == 0, str(again)
    assert again.recap()["localhost"]["changed"] == 0, str(again)


def test_empty_inventory_gives_one_clear_line(provisioned: AnsibleResult, ansible: Ansible) -> None:
    result = ansible("-i", "inventories/aws_ec2.yml", "playbooks/require_web_hosts.yml")
    assert_clear_failure(
        result,
        "No hosts in group web: did provision.yml run in this region and are instances running?",
    )
