"""The test platform chosen per machine (scripts/lib.sh choose_platform).

Ubuntu 24.04/22.04 where an image registry answers, Debian 12/13 (debootstrap) where none does,
PULSESTAGE_PLATFORM overriding both; every Molecule platform takes its image from the exported
variables. The registry is faked by a `docker` on PATH whose `pull` succeeds or fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from molecule.interpolation import Interpolator, TemplateWithDefaults

REPO = Path(__file__).resolve().parents[2]


def fake_docker(tmp_path: Path, pull_ok: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.log"
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'if [ "$1" = pull ]; then exit {0 if pull_ok else 1}; fi\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return bin_dir


def lib_env(tmp_path: Path, pull_ok: bool, **env: str) -> dict[str, str]:
    """The environment of a run of scripts/lib.sh: no PULSESTAGE_* of ours, the fake docker."""
    bin_dir = fake_docker(tmp_path, pull_ok)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSESTAGE_")}
    clean.update(env)
    clean["PATH"] = f"{bin_dir}:{clean['PATH']}"
    return clean


def choose(tmp_path: Path, pull_ok: bool, **env: str) -> dict[str, str]:
    clean = lib_env(tmp_path, pull_ok, **env)
    script = (
        f". {REPO}/scripts/lib.sh && choose_platform && "
        'echo "$PULSESTAGE_PLATFORM $PULSESTAGE_IMAGE_PRIMARY $PULSESTAGE_IMAGE_SECONDARY"'
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=clean, check=False
    )
    platform, primary, secondary = [*proc.stdout.split(), "", "", ""][:3]
    return {
        "rc": str(proc.returncode),
        "platform": platform,
        "primary": primary,
        "secondary": secondary,
        "stderr": proc.stderr,
    }


def test_a_reachable_registry_gives_ubuntu(tmp_path: Path) -> None:
    got = choose(tmp_path, pull_ok=True)
    assert got["rc"] == "0", got["stderr"]
    assert (got["platform"], got["primary"], got["secondary"]) == (
        "ubuntu",
        "pulsestage/systemd-ubuntu:noble",
        "pulsestage/systemd-ubuntu:jammy",
    )
    assert "test platform: ubuntu (an image registry answers)" in got["stderr"]
    assert "pull -q ubuntu:24.04" in (tmp_path / "docker.log").read_text()


def test_no_registry_gives_debian_by_debootstrap(tmp_path: Path) -> None:
    got = choose(tmp_path, pull_ok=False)
    assert got["rc"] == "0", got["stderr"]
    assert (got["platform"], got["primary"], got["secondary"]) == (
        "debian",
        "pulsestage/systemd-debian:bookworm",
        "pulsestage/systemd-debian:trixie",
    )
    assert "no image registry reachable" in got["stderr"]


@pytest.mark.parametrize("pull_ok", [True, False])
def test_the_variable_overrides_the_probe(tmp_path: Path, pull_ok: bool) -> None:
    got = choose(tmp_path, pull_ok=pull_ok, PULSESTAGE_PLATFORM="debian")
    assert got["platform"] == "debian"
    assert not (tmp_path / "docker.log").exists()  # no probe when the choice is given


def test_a_wrong_platform_name_is_one_clear_error(tmp_path: Path) -> None:
    got = choose(tmp_path, pull_ok=True, PULSESTAGE_PLATFORM="centos")
    assert got["rc"] == "1"
    assert "PULSESTAGE_PLATFORM must be ubuntu or debian, not 'centos'" in got["stderr"]


def test_ubuntu_images_without_a_registry_fail_clearly(tmp_path: Path) -> None:
    env = lib_env(tmp_path, pull_ok=False, PULSESTAGE_PLATFORM="ubuntu")
    proc = subprocess.run(
        ["bash", "-c", f". {REPO}/scripts/lib.sh && ensure_platform_images"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "needs an image registry (none reachable): use PULSESTAGE_PLATFORM=debian" in proc.stderr


def molecule_images(env: dict[str, str]) -> dict[str, str]:
    images = {}
    interpolator = Interpolator(TemplateWithDefaults, env)
    for path in sorted(REPO.glob("molecule/*/molecule.yml")):
        config = yaml.safe_load(interpolator.interpolate(path.read_text()))
        for platform in config["platforms"]:
            images[f"{path.parent.name}/{platform['name']}"] = platform["image"]
    return images


def test_every_molecule_platform_boots_the_chosen_images() -> None:
    chosen = {
        "PULSESTAGE_IMAGE_PRIMARY": "pulsestage/systemd-ubuntu:noble",
        "PULSESTAGE_IMAGE_SECONDARY": "pulsestage/systemd-ubuntu:jammy",
    }
    images = molecule_images(chosen)
    assert images, "no Molecule platforms found"
    assert set(images.values()) <= set(chosen.values()), images
    # the whole stack boots both releases
    assert {v for k, v in images.items() if k.startswith("default/")} == set(chosen.values())
