"""The one choice of how systemd test containers get /sys/fs/cgroup (scripts/lib.sh cgroup_mount).

cgroup v1 hosts (these machines) mount it read-only; cgroup v2 hosts (GitHub's runners, Docker
Desktop, current Debian/Ubuntu) read-write, where systemd as PID 1 must create its own group.
Only v1 can boot here: these tests check the choice for each kind of host, that this host gets
the one its filesystem type calls for, and that every place that starts such a container
(./dev, each Molecule platform, the SSH end-to-end test) takes it from there.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from molecule.interpolation import Interpolator, TemplateWithDefaults

REPO = Path(__file__).resolve().parents[2]
RO = "/sys/fs/cgroup:/sys/fs/cgroup:ro"
RW = "/sys/fs/cgroup:/sys/fs/cgroup:rw"


def lib(script: str, env: dict[str, str] | None = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "PULSESTAGE_CGROUP_MOUNT"}
    full_env.update(env or {})
    proc = subprocess.run(
        ["bash", "-c", f". {REPO}/scripts/lib.sh && {script}"],
        capture_output=True,
        text=True,
        env=full_env,
        check=True,
    )
    return proc.stdout.strip()


@pytest.mark.parametrize(
    ("fstype", "mount"),
    [
        ("cgroup2fs", RW),  # unified hierarchy only (cgroup v2)
        ("tmpfs", RO),  # cgroup v1: a tmpfs with one mount per controller
        ("unknown", RO),  # stat failed: the v1 setting, as before
    ],
)
def test_choice_for_each_kind_of_host(fstype: str, mount: str) -> None:
    assert lib(f"cgroup_mount {fstype}") == mount


def test_this_host_gets_the_choice_for_its_filesystem() -> None:
    # No check: where stat fails, lib.sh's stat fails too ("unknown": read-only), as expected here.
    fstype = subprocess.run(
        ["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True, text=True, check=False
    ).stdout.strip()
    assert lib("cgroup_mount") == (RW if fstype == "cgroup2fs" else RO)


def test_activate_exports_it_and_a_given_value_wins(tmp_path: Path) -> None:
    # activate sources the venv's activate script: a stand-in venv is enough.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "activate").write_text("")
    detected = lib("cgroup_mount")
    assert lib(f'VENV={tmp_path}; activate; echo "$PULSESTAGE_CGROUP_MOUNT"') == detected
    assert (
        lib(
            f'VENV={tmp_path}; activate; echo "$PULSESTAGE_CGROUP_MOUNT"',
            {"PULSESTAGE_CGROUP_MOUNT": RW},
        )
        == RW
    )


@pytest.mark.parametrize(
    "scenario", sorted(p.parent.name for p in REPO.glob("molecule/*/molecule.yml"))
)
@pytest.mark.parametrize("mount", [RO, RW])
def test_every_molecule_platform_takes_the_choice(scenario: str, mount: str) -> None:
    text = (REPO / "molecule" / scenario / "molecule.yml").read_text()
    config = yaml.safe_load(
        Interpolator(TemplateWithDefaults, {"PULSESTAGE_CGROUP_MOUNT": mount}).interpolate(text)
    )
    platforms = config["platforms"]
    assert platforms
    for platform in platforms:
        assert [v for v in platform["volumes"] if v.startswith("/sys/fs/cgroup")] == [mount]
        assert platform["cgroupns_mode"] == "host"


def test_no_other_place_writes_the_mount_itself() -> None:
    hard_coded = re.compile(r"/sys/fs/cgroup:/sys/fs/cgroup:r[ow]")
    allowed = {REPO / "scripts" / "lib.sh"}
    found = []
    for path in [
        REPO / "dev",
        *REPO.glob("scripts/**/*"),
        *REPO.glob("tests/aws/**/*.py"),
        *REPO.glob("molecule/**/*.yml"),
    ]:
        if not path.is_file() or path in allowed:
            continue
        for line in path.read_text(errors="replace").splitlines():
            # Molecule's fallback when run without ./dev keeps the v1 value.
            if hard_coded.search(line) and "${PULSESTAGE_CGROUP_MOUNT:-" not in line:
                found.append(f"{path.relative_to(REPO)}: {line.strip()}")
    assert found == []
