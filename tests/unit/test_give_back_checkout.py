"""`sudo ./dev ...` leaves nothing root-owned in the checkout (scripts/lib.sh give_back_checkout).

A checkout owned by an ordinary user gets root-owned files (a venv, caches, a symlink) handed
back to the user who called sudo; a checkout root owns, runs without sudo, and files outside
the checkout are left alone. Needs root (it changes owners), as ./dev does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
USER_ID = 4242  # an id no account on a test machine uses

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")


def give_back(checkout: Path, **env: str) -> None:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    full.update(env)
    subprocess.run(
        ["bash", "-c", f'. {REPO}/scripts/lib.sh && give_back_checkout "{checkout}"'],
        env=full,
        check=True,
    )


def make_checkout(tmp_path: Path, owner: int) -> tuple[Path, list[Path]]:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    made = [
        checkout / ".venv",
        checkout / ".venv" / "bin",
        checkout / ".venv" / "bin" / "python",
        checkout / ".ruff_cache",
        checkout / ".venv" / "bin" / "python3",
    ]
    made[2].write_text("")
    made[3].mkdir()
    made[4].symlink_to("python")
    os.chown(checkout, owner, owner)
    return checkout, made


def test_files_root_made_go_back_to_the_sudo_user(tmp_path: Path) -> None:
    checkout, made = make_checkout(tmp_path, USER_ID)
    outside = tmp_path / "outside"
    outside.write_text("")
    give_back(checkout, SUDO_UID=str(USER_ID), SUDO_GID=str(USER_ID))
    for path in made:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (USER_ID, USER_ID), path
    assert outside.stat().st_uid == 0


def test_a_root_owned_checkout_is_left_alone(tmp_path: Path) -> None:
    checkout, made = make_checkout(tmp_path, 0)
    give_back(checkout, SUDO_UID=str(USER_ID), SUDO_GID=str(USER_ID))
    assert all(path.lstat().st_uid == 0 for path in made)


def test_without_sudo_nothing_changes(tmp_path: Path) -> None:
    checkout, made = make_checkout(tmp_path, USER_ID)
    give_back(checkout)
    assert all(path.lstat().st_uid == 0 for path in made)
