"""Fixtures for the offline EC2 tests: moto_server on 127.0.0.1, ansible runners, boto3 clients.

Nothing here talks to AWS: every AWS call goes to a moto_server this session starts, with fake
credentials, and the environment is scrubbed of the user's AWS settings first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pytest

from helpers import REPO, VENV_BIN, Ansible, AnsibleResult, run_ansible

AMIS_PATH = Path(__file__).with_name("amis.json")
REGION = "sa-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_moto(
    tmp_path_factory: pytest.TempPathFactory, name: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], IO[bytes], str]:
    moto = VENV_BIN / "moto_server"
    if not moto.exists():
        pytest.fail(f"{moto} is missing: create the tool venv first (scripts/lib.sh ensure_venv)")
    port = free_port()
    log = tmp_path_factory.mktemp(name) / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["MOTO_AMIS_PATH"] = str(AMIS_PATH)
    env.update(extra_env or {})
    fh = open(log, "wb")  # noqa: SIM115 - open while moto_server runs; _stop() closes it
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=fh,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(
                    f"moto_server did not start on {url}: {log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.2)
    return proc, fh, url


def _stop(proc: subprocess.Popen[bytes], fh: IO[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    fh.close()


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, fh, url = _start_moto(tmp_path_factory, "moto")
    yield url
    _stop(proc, fh)


@pytest.fixture(scope="session")
def moto_auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second moto_server that checks credentials (INITIAL_NO_AUTH_ACTION_COUNT=0)."""
    proc, fh, url = _start_moto(
        tmp_path_factory, "moto-auth", {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    )
    yield url
    _stop(proc, fh)


def reset_moto(url: str) -> None:
    req = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away HOME: no ~/.aws of the user, generated keys and known_hosts land here."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def aws_env(moto_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        HOME=str(home),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(home / ".ansible-tmp"),
        ANSIBLE_HOME=str(home / ".ansible"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        # Modules read AWS_URL; the aws_ec2 inventory plugin reads AWS_URL; boto3 >= 1.28 reads
        # AWS_ENDPOINT_URL. Set all so nothing can reach a real endpoint.
        AWS_URL=moto_url,
        AWS_ENDPOINT_URL=moto_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-such-credentials"),
        AWS_CONFIG_FILE=str(home / "no-such-config"),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture
def moto_reset(moto_url: str) -> Iterator[None]:
    reset_moto(moto_url)
    yield
    reset_moto(moto_url)


@pytest.fixture(scope="session")
def ec2_client(moto_url: str) -> Any:
    import boto3

    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def ansible(aws_env: dict[str, str]) -> Ansible:
    """ansible(*args, env=None, tool="ansible-playbook") -> AnsibleResult, from the repo root."""

    def _run(
        *args: str, env: Mapping[str, str | None] | None = None, tool: str = "ansible-playbook"
    ) -> AnsibleResult:
        merged = {**aws_env, **(env or {})}  # a value of None removes the variable
        return run_ansible(tool, *args, env={k: v for k, v in merged.items() if v is not None})

    return _run
