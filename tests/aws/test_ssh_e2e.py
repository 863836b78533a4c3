"""End to end over real SSH, the way users run it, with no traffic leaving this machine.

moto stands in for AWS and a local systemd container with openssh-server for the instance:
  provision.yml (moto; its SSH wait and cloud-init play pointed at the container)
  -> inventories/aws_ec2.yml finds the instance in moto (ansible_host/port pointed at the
     container)
  -> site.yml over SSH as ubuntu with sudo and pipelining -> smoke.yml through NGINX
  -> teardown.yml.

Skips only when no Docker engine answers. Any failure after that (image build, site.yml, smoke)
fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import reset_moto
from helpers import REPO, Ansible, instances, key_pairs, security_groups

SUITE = os.environ.get("PULSESTAGE_E2E_SUITE", "bookworm")
BASE_IMAGE = f"pulsestage/systemd-debian:{SUITE}"
STANDIN_IMAGE = f"pulsestage/ssh-standin:{SUITE}"
# The project's one choice of the cgroup mount for the host's cgroup version (scripts/lib.sh).
CGROUP_MOUNT = (
    os.environ.get("PULSESTAGE_CGROUP_MOUNT")
    or subprocess.run(
        ["bash", "-c", f". {REPO}/scripts/lib.sh && cgroup_mount"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
)
SYSTEMD_FLAGS = [
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "-v",
    CGROUP_MOUNT,
    "--cgroupns=host",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
    "--tmpfs",
    "/tmp",
]


def sh(
    *cmd: str, check: bool = True, timeout: int = 900, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, timeout=timeout, input=input, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"$ {' '.join(cmd)}\nrc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@pytest.fixture(scope="module")
def docker() -> str:
    if shutil.which("docker") is None:
        pytest.skip("Docker is not available: no docker client on PATH")
    info = subprocess.run(
        ["docker", "info"], capture_output=True, text=True, timeout=60, check=False
    )
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        pytest.skip(
            f"Docker is not available: {reason} "
            "(start it with: bash -c 'source scripts/lib.sh; ensure_docker')"
        )
    return "docker"


@pytest.fixture(scope="module")
def standin_image(docker: str) -> str:
    inspect = ["docker", "image", "inspect", BASE_IMAGE]
    if subprocess.run(inspect, capture_output=True, check=False).returncode != 0:
        # The project's base image builder (debootstrap, systemd as PID 1).
        sh("bash", "-c", f"source scripts/lib.sh && ensure_image {SUITE}", timeout=1800)
    sh(
        "docker",
        "build",
        "-q",
        "--build-arg",
        f"BASE={BASE_IMAGE}",
        "-t",
        STANDIN_IMAGE,
        str(Path(__file__).with_name("standin")),
        timeout=1800,
    )
    return STANDIN_IMAGE


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("e2e-key") / "id_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pulsestage-e2e", "-f", str(key))
    return key


@pytest.fixture(scope="module")
def standin(standin_image: str, ssh_key: Path) -> Iterator[dict[str, str | int]]:
    """The running SSH stand-in: {'name', 'ssh_port', 'http_port'}; removed at the end."""
    name = f"pulsestage-e2e-{uuid.uuid4().hex[:8]}"
    sh(
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        "ip-172-31-0-4",
        *SYSTEMD_FLAGS,
        "-p",
        "127.0.0.1::22",
        "-p",
        "127.0.0.1::80",
        standin_image,
        "/lib/systemd/systemd",
    )
    try:
        # Right after start systemd's bus is not up yet ("Failed to connect to bus"): retry.
        deadline = time.monotonic() + 120
        while True:
            state = sh(
                "docker",
                "exec",
                name,
                "systemctl",
                "is-system-running",
                "--wait",
                check=False,
                timeout=180,
            )
            if state.stdout.strip() in ("running", "degraded"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(1)
        pub = Path(f"{ssh_key}.pub").read_text()
        sh(
            "docker",
            "exec",
            "-i",
            name,
            "sh",
            "-c",
            "cat > /home/ubuntu/.ssh/authorized_keys"
            " && chown ubuntu:ubuntu /home/ubuntu/.ssh/authorized_keys"
            " && chmod 0600 /home/ubuntu/.ssh/authorized_keys",
            input=pub,
        )
        sh("docker", "exec", name, "systemctl", "start", "ssh")

        def port(p: int) -> int:
            out = sh("docker", "port", name, f"{p}/tcp").stdout.split()[0]
            return int(out.rsplit(":", 1)[1])

        yield {"name": name, "ssh_port": port(22), "http_port": port(80)}
    finally:
        # Best effort: a failed removal must not hide the test's own outcome.
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def ssh_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    known_hosts = tmp_path_factory.mktemp("e2e-ssh") / "known_hosts"
    return {
        # The project's ssh_args plus a throw-away known_hosts file.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s"
        " -o StrictHostKeyChecking=accept-new"
        f" -o ServerAliveInterval=15 -o UserKnownHostsFile={known_hosts}",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_TIMEOUT": "30",
    }


def test_provision_site_smoke_teardown_over_ssh(
    standin: dict[str, str | int],
    ssh_key: Path,
    ssh_env: dict[str, str],
    ansible: Ansible,
    moto_url: str,
    ec2_client: Any,
) -> None:
    reset_moto(moto_url)
    ssh_port, http_port = str(standin["ssh_port"]), str(standin["http_port"])

    # 1. Provision in moto. Nothing boots there, so the SSH wait and the cloud-init play are
    #    pointed at the stand-in: the hand-over logic runs for real over SSH.
    prov = ansible(
        "-i",
        "localhost,",
        "playbooks/provision.yml",
        "-e",
        "ec2_provision_ami_lookup=ami_info",
        "-e",
        "ec2_provision_ssh_cidr=127.0.0.1/32",
        "-e",
        f"ec2_provision_public_key_path={ssh_key}.pub",
        "-e",
        "ec2_provision_ssh_host=127.0.0.1",
        "-e",
        f"ec2_provision_ssh_port={ssh_port}",
        "-e",
        f"ec2_provision_ssh_private_key_file={ssh_key}",
        env=ssh_env,
    )
    assert prov.rc == 0, str(prov)
    assert "Wait for cloud-init on the new instances" in prov.stdout
    assert prov.recap().get("localhost", {}).get("failed") == 0, str(prov)
    assert len(prov.recap()) == 2, prov  # localhost and the instance, reached over SSH
    [inst] = instances(ec2_client)

    # 2. The dynamic inventory finds it.
    listed = ansible("-i", "inventories/aws_ec2.yml", "--list", tool="ansible-inventory")
    assert listed.rc == 0, str(listed)
    web = json.loads(listed.stdout)["web"]["hosts"]
    assert len(web) == 1, str(listed)
    assert web[0] in (inst["PublicDnsName"], inst["PublicIpAddress"]), str(listed)

    # 3. site.yml against that inventory, the discovered host pointed at the stand-in's SSH port.
    point = [
        "-e",
        "ansible_host=127.0.0.1",
        "-e",
        f"ansible_port={ssh_port}",
        "-e",
        f"ansible_ssh_private_key_file={ssh_key}",
    ]
    site = ansible(
        "-i",
        "inventories/aws_ec2.yml",
        "site.yml",
        *point,
        "-e",
        "@tests/controller-ca.yml",
        env=ssh_env,
    )
    assert site.rc == 0, str(site)
    recap = site.recap()
    assert recap[web[0]]["failed"] == 0, str(site)
    assert recap[web[0]]["unreachable"] == 0, str(site)
    assert recap[web[0]]["ok"] > 5, str(site)

    # 4. Smoke through NGINX (published port 80 of the stand-in).
    smoke = ansible(
        "-i",
        "inventories/aws_ec2.yml",
        "playbooks/smoke.yml",
        *point,
        "-e",
        f"smoke_base_url=http://127.0.0.1:{http_port}",
        env=ssh_env,
    )
    assert smoke.rc == 0, str(smoke)
    assert "and the after_id page all agree" in " ".join(smoke.stdout.split()), str(smoke)

    # 5. Teardown leaves nothing in moto.
    down = ansible(
        "-i", "localhost,", "playbooks/teardown.yml", "-e", "ec2_provision_confirm_teardown=true"
    )
    assert down.rc == 0, str(down)
    assert instances(ec2_client) == []
    assert security_groups(ec2_client, "pulsestage-web") == []
    assert key_pairs(ec2_client) == []
