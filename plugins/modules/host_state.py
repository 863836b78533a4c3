#!/usr/bin/python
# The roles' one read of a host: what they own there (files, directories and links; systemd
# units; packages), in a single module run, so that a rerun with nothing to change runs each
# writing module only where the host differs.

from __future__ import annotations

DOCUMENTATION = r"""
module: host_state
short_description: Read files, links, systemd units and packages in one module run
description:
  - Reads, without changing anything, the state a role compares with what it wants. For each
    path its type, owner, group, mode, SHA-1 (regular files) and link target; for each
    systemd unit its load, activity and enablement; for each Debian package its dpkg status.
  - One module run instead of one per M(ansible.builtin.find), M(ansible.builtin.stat),
    M(ansible.builtin.command) (dpkg-query) and M(ansible.builtin.systemd_service) check.
    On a rerun with nothing to change, each costs a remote process and an AnsiballZ payload.
  - The C(files) entries carry the keys of M(ansible.builtin.find)'s, so
    P(pulsestage.stack.file_state_lines#filter) turns them into the roles' state lines.
  - Reads only; supports check mode and never reports a change.
version_added: 1.1.0
author: PulseStage
options:
  paths:
    description:
      - Paths to read, not followed when they are links and not descended into.
      - A path that does not exist is listed in RV(missing), not in RV(files).
    type: list
    elements: path
    default: []
  units:
    description: systemd units (with their suffix, such as V(app.service)) to ask about.
    type: list
    elements: str
    default: []
  packages:
    description: Debian package names to ask dpkg about.
    type: list
    elements: str
    default: []
  users:
    description: Local user names to read from the passwd and shadow databases.
    type: list
    elements: str
    default: []
  groups:
    description: Local group names to read from the group database.
    type: list
    elements: str
    default: []
  trees:
    description:
      - Directories to list recursively (links not followed), every entry below each with the
        keys of RV(files); a directory that does not exist gives an empty list.
    type: list
    elements: path
    default: []
  certificates:
    description:
      - PEM certificate files to read (links followed), for the controller to parse (with
        community.crypto's C(x509_certificate_info) filter, for example).
      - Public data only; a file that holds a private key, or no certificate, or more than
        1 MiB, is left out of RV(certificates) as a missing one is.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the service's files and units (one module run)
  pulsestage.stack.host_state:
    paths: [/etc/gunicorn, /etc/gunicorn/app.conf.py, /etc/systemd/system/app.service]
    units: [app.socket, app.service]
  register: __role_have

- name: Enable and start the service, unless it is so already
  ansible.builtin.systemd_service:
    name: app.service
    state: started
    enabled: true
  when: >-
    (__role_have.units['app.service'].ActiveState, __role_have.units['app.service'].UnitFileState)
    != ('active', 'enabled')
"""

RETURN = r"""
files:
  description:
    - One entry per path that exists, in the order given, with the keys of
      M(ansible.builtin.find)'s C(files) that the roles read.
  returned: always
  type: list
  elements: dict
  sample:
    - {path: /etc/app, isdir: true, isreg: false, islnk: false, pw_name: root, gr_name: root,
       mode: "0755"}
    - {path: /etc/app/app.env, isdir: false, isreg: true, islnk: false, checksum: 6b1f0c...,
       pw_name: root, gr_name: app, mode: "0640"}
    - {path: /etc/nginx/sites-enabled/app.conf, isdir: false, isreg: false, islnk: true,
       lnk_target: /etc/nginx/sites-available/app.conf, pw_name: root, gr_name: root, mode: "0777"}
missing:
  description: The paths that do not exist.
  returned: always
  type: list
  elements: str
units:
  description:
    - Per unit, systemd's C(LoadState), C(ActiveState), C(SubState) and C(UnitFileState)
      (C(not-found) and an empty C(UnitFileState) for a unit systemd does not know).
    - Empty when no units were asked for.
  returned: always
  type: dict
  sample:
    app.service: {LoadState: loaded, ActiveState: active, SubState: running, UnitFileState: enabled}
packages:
  description:
    - Per package, dpkg's status abbreviation (V(ii) is installed) or V(unknown) when dpkg
      does not know the package.
  returned: always
  type: dict
  sample: {nginx: ii, python3-venv: unknown}
versions:
  description: Per package of O(packages) that dpkg has a version of, that version.
  returned: always
  type: dict
  sample: {nginx: 1.22.1-9+deb12u1}
certificates:
  description: Per file of O(certificates) that exists and holds a certificate, its text.
  returned: always
  type: dict
  sample: {/etc/letsencrypt/live/app/cert.pem: "-----BEGIN CERTIFICATE-----\n..."}
users:
  description:
    - Per user that exists, its primary group's name, home, shell, comment and the password
      field of the shadow database (V(!) for a locked account). Users that do not exist are
      left out.
  returned: always
  type: dict
  sample:
    app: {group: app, home: /var/lib/app, shell: /usr/sbin/nologin, comment: app, password: "!"}
groups:
  description: Per group that exists, its numeric id. Groups that do not exist are left out.
  returned: always
  type: dict
  sample: {app: {gid: 998}}
trees:
  description: Per directory of O(trees), C(files), one entry per file, directory and link below.
  returned: always
  type: dict
  sample:
    /opt/app/src: {files: [{path: /opt/app/src/app.py, isreg: true, checksum: 3f78...}]}
"""

import grp
import hashlib
import os
import pwd
import stat
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.module_utils.basic import AnsibleModule

UNIT_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")


def _name(lookup: Any, number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _sha1(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def path_state(path: str) -> dict[str, Any] | None:
    """find-like facts of one path (not followed), or None when it does not exist."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    entry: dict[str, Any] = {
        "path": path,
        "isreg": stat.S_ISREG(st.st_mode),
        "isdir": stat.S_ISDIR(st.st_mode),
        "islnk": stat.S_ISLNK(st.st_mode),
        "pw_name": _name(pwd.getpwuid, st.st_uid),
        "gr_name": _name(grp.getgrgid, st.st_gid),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
    }
    if entry["isreg"]:
        entry["checksum"] = _sha1(path)
    if entry["islnk"]:
        entry["lnk_target"] = os.readlink(path)
    return entry


def parse_systemctl_show(text: str, units: Iterable[str]) -> dict[str, dict[str, str]]:
    """``systemctl show --property=... UNIT...`` output: a block per unit, in order."""
    names = list(units)
    blocks = text.strip("\n").split("\n\n") if text.strip() else []
    if len(blocks) != len(names):
        raise ValueError(f"systemctl show gave {len(blocks)} blocks for {len(names)} units")
    result: dict[str, dict[str, str]] = {}
    for name, block in zip(names, blocks, strict=True):
        props = dict.fromkeys(UNIT_PROPERTIES, "")
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep and key in props:
                props[key] = value
        result[name] = props
    return result


DPKG_FORMAT = "${db:Status-Abbrev} ${Version} ${Package}\n"


def parse_dpkg_query(text: str, packages: Iterable[str]) -> dict[str, str]:
    """``dpkg-query -W -f=DPKG_FORMAT PKG...`` output: the status, per package."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            found[fields[-1].split(":")[0]] = fields[0]
    return {name: found.get(name, "unknown") for name in packages}


def parse_dpkg_versions(text: str, packages: Iterable[str]) -> dict[str, str]:
    """The same output: the version, per package that has one (none when never installed)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            found[fields[-1].split(":")[0]] = fields[-2]
    return {name: found[name] for name in packages if name in found}


CERTIFICATE_MAX = 1 << 20


def read_certificates(paths: Iterable[str]) -> dict[str, str]:
    """The text of each PEM certificate file (followed), never one that holds a private key."""
    found: dict[str, str] = {}
    for path in paths:
        try:
            if os.path.getsize(path) > CERTIFICATE_MAX:
                continue
            with open(path, encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if "-----BEGIN CERTIFICATE-----" in text and "PRIVATE KEY" not in text:
            found[path] = text
    return found


def read_files(paths: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    files: list[dict[str, Any]] = []
    missing: list[str] = []
    for path in paths:
        entry = path_state(path)
        if entry is None:
            missing.append(path)
        else:
            files.append(entry)
    return files, missing


def read_tree(root: str) -> list[dict[str, Any]]:
    """Every entry below ``root`` (not followed into links), as path_state gives it."""
    entries: list[dict[str, Any]] = []
    for top, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(dirs) + sorted(names):
            entry = path_state(os.path.join(top, name))
            if entry is not None:
                entries.append(entry)
    return entries


def _shadow_passwords(path: str = "/etc/shadow") -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return {
                fields[0]: fields[1]
                for fields in (line.rstrip("\n").split(":") for line in fh)
                if len(fields) > 1
            }
    except (FileNotFoundError, PermissionError):
        return {}


def read_users(names: Iterable[str]) -> dict[str, dict[str, str]]:
    shadow: dict[str, str] | None = None
    users: dict[str, dict[str, str]] = {}
    for name in names:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        if shadow is None:
            shadow = _shadow_passwords()
        users[name] = {
            "group": _name(grp.getgrgid, pw.pw_gid),
            "home": pw.pw_dir,
            "shell": pw.pw_shell,
            "comment": pw.pw_gecos,
            "password": shadow.get(name, ""),
        }
    return users


def read_groups(names: Iterable[str]) -> dict[str, dict[str, int]]:
    groups: dict[str, dict[str, int]] = {}
    for name in names:
        try:
            groups[name] = {"gid": grp.getgrnam(name).gr_gid}
        except KeyError:
            continue
    return groups


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
            "trees": {"type": "list", "elements": "path", "default": []},
            "certificates": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params: Mapping[str, Any] = module.params
    files, missing = read_files(params["paths"])
    result: dict[str, Any] = {
        "changed": False,
        "files": files,
        "missing": missing,
        "units": {},
        "packages": {},
        "versions": {},
        "certificates": read_certificates(params["certificates"]),
        "users": read_users(params["users"]),
        "groups": read_groups(params["groups"]),
        "trees": {root: {"files": read_tree(root)} for root in params["trees"]},
    }

    if params["units"]:
        systemctl = module.get_bin_path("systemctl", required=True)
        props = ",".join(UNIT_PROPERTIES)
        rc, out, err = module.run_command(
            [systemctl, "show", f"--property={props}", "--", *params["units"]]
        )
        if rc != 0:
            module.fail_json(msg=f"systemctl show failed (rc {rc}): {err.strip()}", **result)
        try:
            result["units"] = parse_systemctl_show(out, params["units"])
        except ValueError as exc:
            module.fail_json(msg=str(exc), stdout=out, **result)

    if params["packages"]:
        dpkg_query = module.get_bin_path("dpkg-query", required=True)
        # rc 1 when some package is unknown to dpkg: those are reported as "unknown".
        rc, out, err = module.run_command(
            [dpkg_query, "-W", f"-f={DPKG_FORMAT}", *params["packages"]]
        )
        if rc not in (0, 1):
            module.fail_json(msg=f"dpkg-query failed (rc {rc}): {err.strip()}", **result)
        result["packages"] = parse_dpkg_query(out, params["packages"])
        result["versions"] = parse_dpkg_versions(out, params["packages"])

    module.exit_json(**result)


if __name__ == "__main__":
    main()
