"""plugins/modules/host_state.py: the roles' one read of a host (files, units, packages)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "collections"))
from ansible_collections.pulsestage.stack.plugins.modules.host_state import (  # noqa: E402
    parse_dpkg_query,
    parse_dpkg_versions,
    parse_systemctl_show,
    path_state,
)


def ansible_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_NOCOLOR="1",
    )
    return env


def run_module(tmp_path: Path, args: dict[str, object], check: bool = False) -> dict[str, Any]:
    """The module run for real by ansible, on this machine (connection local)."""
    cmd = [
        str(BIN / "ansible"),
        "localhost",
        "-c",
        "local",
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        "pulsestage.stack.host_state",
        "-a",
        json.dumps(args),
    ]
    if check:
        cmd.append("--check")
    proc = subprocess.run(
        cmd, cwd=REPO, env=ansible_env(tmp_path), capture_output=True, text=True, check=False
    )
    out = json.loads(proc.stdout)
    result: dict[str, Any] = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "dir").mkdir(parents=True)
    (root / "dir").chmod(0o750)
    (root / "file").write_bytes(b"hello\n")
    (root / "file").chmod(0o640)
    (root / "link").symlink_to(root / "file")
    return root


def test_files_links_and_missing_paths_as_find_has_them(tmp_path: Path, tree: Path) -> None:
    paths = [str(tree / "dir"), str(tree / "file"), str(tree / "link"), str(tree / "nope")]
    res = run_module(tmp_path, {"paths": paths}, check=True)
    assert res.get("changed") is False, res
    files = {f["path"]: f for f in res["files"]}
    assert list(files) == paths[:3]
    assert res["missing"] == [str(tree / "nope")]
    me = {
        "pw_name": subprocess.run(
            ["id", "-un"], capture_output=True, text=True, check=True
        ).stdout.strip()
    }
    assert files[str(tree / "dir")] | me == files[str(tree / "dir")]
    assert files[str(tree / "dir")]["isdir"] is True
    assert files[str(tree / "dir")]["mode"] == "0750"
    assert files[str(tree / "file")]["isreg"] is True
    assert files[str(tree / "file")]["mode"] == "0640"
    assert files[str(tree / "file")]["checksum"] == hashlib.sha1(b"hello\n").hexdigest()
    assert files[str(tree / "link")]["islnk"] is True
    assert files[str(tree / "link")]["lnk_target"] == str(tree / "file")
    assert "checksum" not in files[str(tree / "link")]


def test_the_same_lines_as_find_gives(tmp_path: Path, tree: Path) -> None:
    """file_state_lines turns host_state's files into the lines it makes of find's."""
    sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.pulsestage.stack.plugins.filter.file_state_lines import (
        file_state_lines,
    )

    entry = path_state(str(tree / "file"))
    assert entry is not None
    owner = entry["pw_name"]
    group = entry["gr_name"]
    sha = hashlib.sha1(b"hello\n").hexdigest()
    assert file_state_lines([entry]) == [f"{tree / 'file'} {sha} {owner} {group} 0640"]
    assert path_state(str(tree / "nope")) is None


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="no dpkg on this machine")
def test_packages_as_dpkg_knows_them(tmp_path: Path) -> None:
    res = run_module(tmp_path, {"packages": ["dpkg", "no-such-package-pulsestage"]})
    assert res["packages"] == {"dpkg": "ii", "no-such-package-pulsestage": "unknown"}, res
    assert list(res["versions"]) == ["dpkg"], res
    assert res["versions"]["dpkg"][0].isdigit(), res


def test_systemctl_show_blocks_per_unit() -> None:
    text = (
        "LoadState=loaded\nActiveState=active\nSubState=listening\nUnitFileState=enabled\n\n"
        "ActiveState=inactive\nLoadState=not-found\nSubState=dead\nUnitFileState=\n"
    )
    units = parse_systemctl_show(text, ["app.socket", "app.service"])
    assert units == {
        "app.socket": {
            "LoadState": "loaded",
            "ActiveState": "active",
            "SubState": "listening",
            "UnitFileState": "enabled",
        },
        "app.service": {
            "LoadState": "not-found",
            "ActiveState": "inactive",
            "SubState": "dead",
            "UnitFileState": "",
        },
    }
    with pytest.raises(ValueError, match="2 blocks for 3 units"):
        parse_systemctl_show(text, ["a.service", "b.service", "c.service"])


def test_dpkg_query_lines() -> None:
    text = "ii  1.22.1-9 nginx\nun   nginx-doc\nii  2.36-9+deb12u4 libc6:amd64\n"
    assert parse_dpkg_query(text, ["nginx", "nginx-doc", "libc6", "gone"]) == {
        "nginx": "ii",
        "nginx-doc": "un",
        "libc6": "ii",
        "gone": "unknown",
    }
    # a package never installed has no version
    assert parse_dpkg_versions(text, ["nginx", "nginx-doc", "libc6", "gone"]) == {
        "nginx": "1.22.1-9",
        "libc6": "2.36-9+deb12u4",
    }


CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_certificates_are_read_through_links_and_never_a_key(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text(CERT)
    (tmp_path / "live.pem").symlink_to(tmp_path / "cert.pem")
    (tmp_path / "both.pem").write_text(CERT + "-----BEGIN PRIVATE KEY-----\nx\n")
    (tmp_path / "other.txt").write_text("hello\n")
    paths = [str(tmp_path / n) for n in ("live.pem", "both.pem", "other.txt", "gone.pem")]
    res = run_module(tmp_path, {"certificates": paths})
    assert res["certificates"] == {str(tmp_path / "live.pem"): CERT}, res


def test_documented_and_found_by_its_fqcn(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "--json", "pulsestage.stack.host_state"],
        cwd=tmp_path,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["pulsestage.stack.host_state"]["doc"]
    assert set(doc["options"]) == {
        "paths",
        "units",
        "packages",
        "users",
        "groups",
        "trees",
        "certificates",
    }


def test_trees_list_every_entry_below_like_a_recursive_find(tmp_path: Path, tree: Path) -> None:
    (tree / "dir" / "sub").mkdir()
    (tree / "dir" / "sub" / ".hidden").write_text("x")
    (tree / "dir" / "lnk").symlink_to(tree / "dir" / "sub")
    res = run_module(tmp_path, {"trees": [str(tree / "dir"), str(tree / "gone")]})
    listed = {f["path"]: f for f in res["trees"][str(tree / "dir")]["files"]}
    assert sorted(listed) == [str(tree / "dir" / n) for n in ("lnk", "sub", "sub/.hidden")]
    assert listed[str(tree / "dir" / "lnk")]["islnk"] is True  # not followed
    assert (
        listed[str(tree / "dir" / "sub" / ".hidden")]["checksum"] == hashlib.sha1(b"x").hexdigest()
    )
    assert res["trees"][str(tree / "gone")] == {"files": []}


def test_users_and_groups_that_exist(tmp_path: Path) -> None:
    import grp
    import pwd

    me = pwd.getpwuid(os.getuid())
    group = grp.getgrgid(me.pw_gid).gr_name
    res = run_module(
        tmp_path,
        {
            "users": [me.pw_name, "no-such-user-pulsestage"],
            "groups": [group, "no-such-group-pulsestage"],
        },
    )
    user = res["users"][me.pw_name]
    assert (user["group"], user["home"], user["shell"]) == (group, me.pw_dir, me.pw_shell)
    assert "no-such-user-pulsestage" not in res["users"]
    assert res["groups"] == {group: {"gid": me.pw_gid}}
    if os.geteuid() == 0:  # only root reads the shadow database
        shadow = {
            line.split(":")[0]: line.split(":")[1]
            for line in Path("/etc/shadow").read_text().splitlines()
        }
        assert user["password"] == shadow[me.pw_name]
