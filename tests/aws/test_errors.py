"""Wrong credentials, region typos, bad variables and empty inventories: one clear line, no
traceback, and nothing changed in moto."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    PROVISION,
    Ansible,
    assert_clear_failure,
    ingress_rules,
    instances,
    key_pairs,
    security_groups,
    tags,
)

CRED_HINT = "Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
NO_WEB = "No hosts in group web: did provision.yml run in this region and are instances running?"


def assert_nothing_created(ec2: Any) -> None:
    assert instances(ec2) == []
    assert security_groups(ec2, "pulsestage-web") == []
    assert key_pairs(ec2) == []


def test_missing_credentials(ansible: Ansible, moto_reset: None, ec2_client: Any) -> None:
    result = ansible(*PROVISION, env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    assert_clear_failure(result, "AWS credentials missing or invalid for region sa-east-1: ")
    assert_clear_failure(result, CRED_HINT)
    assert "Unable to locate credentials" in result.output
    assert_nothing_created(ec2_client)


def test_wrong_credentials(
    ansible: Ansible, moto_auth_url: str, moto_reset: None, ec2_client: Any
) -> None:
    result = ansible(
        *PROVISION,
        env={
            "AWS_URL": moto_auth_url,
            "AWS_ENDPOINT_URL": moto_auth_url,
            "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
            "AWS_SECRET_ACCESS_KEY": "nope",
        },
    )
    assert_clear_failure(result, "AWS credentials missing or invalid for region sa-east-1: ")
    assert "InvalidClientTokenId" in result.output or "security token" in result.output
    assert_nothing_created(ec2_client)


def test_teardown_with_wrong_credentials(ansible: Ansible, moto_auth_url: str) -> None:
    result = ansible(
        "-i",
        "localhost,",
        "playbooks/teardown.yml",
        "-e",
        "ec2_provision_confirm_teardown=true",
        env={
            "AWS_URL": moto_auth_url,
            "AWS_ENDPOINT_URL": moto_auth_url,
            "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
            "AWS_SECRET_ACCESS_KEY": "nope",
        },
    )
    assert_clear_failure(result, "AWS credentials missing or invalid for region sa-east-1: ")


@pytest.mark.parametrize("region", ["saeast1", "SA-EAST-1", "sa-east-"])
def test_region_not_shaped_like_a_region(
    ansible: Ansible, moto_reset: None, ec2_client: Any, region: str
) -> None:
    result = ansible(*PROVISION, "-e", f"ec2_provision_region={region}")
    assert_clear_failure(
        result, f"Invalid variables: ec2_provision_region '{region}' is not a region name"
    )
    assert result.recap()["localhost"]["changed"] == 0
    assert_nothing_created(ec2_client)


def test_region_typo_that_looks_like_a_region(
    ansible: Ansible, moto_reset: None, ec2_client: Any
) -> None:
    result = ansible(*PROVISION, "-e", "ec2_provision_region=sa-eest-1")
    assert_clear_failure(result, "Unknown AWS region 'sa-eest-1' (typo?). ")
    assert result.recap()["localhost"]["changed"] == 0


def test_region_typo_in_aws_region(ansible: Ansible, moto_reset: None, ec2_client: Any) -> None:
    # ec2_provision_region follows AWS_REGION like the inventory does.
    result = ansible(*PROVISION, env={"AWS_REGION": "us-eest-1"})
    assert_clear_failure(result, "Unknown AWS region 'us-eest-1' (typo?). ")
    assert_nothing_created(ec2_client)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("ec2_provision_instance_count=0", "ec2_provision_instance_count must be >= 1 (got 0)"),
        (
            "ec2_provision_ssh_cidr=10.0.0.0/33",
            "ec2_provision_ssh_cidr '10.0.0.0/33' is not an IPv4 CIDR",
        ),
        (
            "ec2_provision_ssh_cidr=my-laptop",
            "ec2_provision_ssh_cidr 'my-laptop' is not an IPv4 CIDR",
        ),
        (
            '{"ec2_provision_web_cidrs": ["0.0.0.0/0", "300.1.1.1/8"]}',
            "ec2_provision_web_cidrs has entries that are not IPv4 CIDRs: 300.1.1.1/8",
        ),
        ("ec2_provision_ami_id=ubuntu", "ec2_provision_ami_id 'ubuntu' is not an AMI id"),
        (
            "ec2_provision_ami_lookup=latest",
            "value of ec2_provision_ami_lookup must be one of: ssm, ami_info",
        ),
        ("ec2_provision_instance_count=many", "ec2_provision_instance_count"),
    ],
)
def test_bad_variables_fail_early_and_change_nothing(
    ansible: Ansible, moto_reset: None, ec2_client: Any, home: Path, extra: str, message: str
) -> None:
    result = ansible(
        *PROVISION, "-e", extra, "-e", f"ec2_provision_private_key_path={home}/bad/key"
    )
    assert_clear_failure(result, message)
    assert result.recap()["localhost"]["changed"] == 0
    assert not (home / "bad").exists()
    assert_nothing_created(ec2_client)


def test_ssm_lookup_failure_is_one_clear_line(
    ansible: Ansible, moto_reset: None, ec2_client: Any
) -> None:
    # moto serves no Canonical parameters: the default lookup must fail clearly, before any
    # instance.
    result = ansible(
        "-i", "localhost,", "playbooks/provision.yml", "-e", "ec2_provision_wait_for_ssh=false"
    )
    assert_clear_failure(
        result, "Cannot read SSM parameter /aws/service/canonical/ubuntu/server/24.04/"
    )
    assert_clear_failure(result, "Set ec2_provision_ami_lookup=ami_info or ec2_provision_ami_id.")
    assert_nothing_created(ec2_client)


def test_inventory_with_wrong_credentials_and_empty_group(
    ansible: Ansible, moto_auth_url: str
) -> None:
    result = ansible(
        "-i",
        "inventories/aws_ec2.yml",
        "playbooks/require_web_hosts.yml",
        env={
            "AWS_URL": moto_auth_url,
            "AWS_ENDPOINT_URL": moto_auth_url,
            "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
            "AWS_SECRET_ACCESS_KEY": "nope",
        },
    )
    assert_clear_failure(result, NO_WEB)


def test_smoke_without_hosts_fails_clearly(ansible: Ansible, moto_reset: None) -> None:
    result = ansible("-i", "inventories/aws_ec2.yml", "playbooks/smoke.yml")
    assert_clear_failure(result, NO_WEB)


def test_opt_in_gunicorn_port_explicit_ami_and_given_key(
    ansible: Ansible, moto_reset: None, ec2_client: Any, home: Path, tmp_path: Path
) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    pub = (tmp_path / "k.pub").read_text().strip()
    result = ansible(
        "-i",
        "localhost,",
        "playbooks/provision.yml",
        "-e",
        "ec2_provision_wait_for_ssh=false",
        "-e",
        "ec2_provision_ami_id=ami-0123456789abcdef0",
        "-e",
        "ec2_provision_open_gunicorn_port=true",
        "-e",
        "ec2_provision_ssh_cidr=203.0.113.7/32",
        "-e",
        f"ec2_provision_public_key='{pub}'",
        "-e",
        "ec2_provision_key_name=given-key",
        "-e",
        f"ec2_provision_private_key_path={home}/unused/key",
    )
    assert result.rc == 0, str(result)
    assert "WARNING: ec2_provision_ssh_cidr is 0.0.0.0/0" not in result.output
    group = security_groups(ec2_client, "pulsestage-web")[0]
    assert ingress_rules(group) == {
        ("tcp", 22, 22, "203.0.113.7/32"),
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 80, 80, "::/0"),
        ("tcp", 443, 443, "::/0"),
        ("tcp", 8000, 8000, "0.0.0.0/0"),
    }
    [inst] = instances(ec2_client)
    assert inst["ImageId"] == "ami-0123456789abcdef0"
    assert inst["KeyName"] == "given-key"
    assert tags(inst)["Project"] == "pulsestage"
    assert [k["KeyName"] for k in key_pairs(ec2_client)] == ["given-key"]
    assert not (home / "unused").exists()


def test_ssm_lookup_reads_the_parameter(
    ansible: Ansible, moto_url: str, moto_reset: None, ec2_client: Any
) -> None:
    # moto refuses PutParameter under /aws/, so the Canonical path is replaced by a test one:
    # this runs the same lookup code the default (ssm) path uses on AWS.
    import boto3

    ssm = boto3.client(
        "ssm",
        region_name="sa-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm.put_parameter(
        Name="/pulsestage-test/ubuntu/24.04/ami-id", Value="ami-0a1b2c3d4e5f60003", Type="String"
    )
    result = ansible(
        "-i",
        "localhost,",
        "playbooks/provision.yml",
        "-e",
        "ec2_provision_wait_for_ssh=false",
        "-e",
        "ec2_provision_ami_ssm_parameter=/pulsestage-test/ubuntu/24.04/ami-id",
    )
    assert result.rc == 0, str(result)
    [inst] = instances(ec2_client)
    assert inst["ImageId"] == "ami-0a1b2c3d4e5f60003"


def test_explicit_subnet(ansible: Ansible, moto_reset: None, ec2_client: Any) -> None:
    subnet = ec2_client.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])[
        "Subnets"
    ][-1]
    result = ansible(*PROVISION, "-e", f"ec2_provision_subnet_id={subnet['SubnetId']}")
    assert result.rc == 0, str(result)
    [inst] = instances(ec2_client)
    assert inst["SubnetId"] == subnet["SubnetId"]
    assert inst.get("PublicIpAddress")
    assert security_groups(ec2_client, "pulsestage-web")[0]["VpcId"] == subnet["VpcId"]


def test_unknown_subnet_fails_clearly(ansible: Ansible, moto_reset: None, ec2_client: Any) -> None:
    result = ansible(*PROVISION, "-e", "ec2_provision_subnet_id=subnet-0123456789abcdef0")
    assert_clear_failure(result, "Subnet subnet-0123456789abcdef0 not found in region sa-east-1")
    assert_nothing_created(ec2_client)
