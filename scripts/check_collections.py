#!/usr/bin/env python3
"""Fail when requirements.yml, the roles' meta/main.yml and the installed collections disagree.

- every collection a role's files name (``namespace.collection.plugin``, ansible.builtin aside)
  is listed in that role's ``meta/main.yml`` ``collections``, and nothing else is;
- every collection named anywhere Ansible reads it (roles, playbooks, inventories, Molecule,
  the bench plays, the callbacks scripts enable) is in requirements.yml;
- requirements.yml pins exactly the version installed for the controller (the ``ansible``
  bundle of requirements/tools.txt), so a later ``ansible-galaxy collection install -r
  requirements.yml`` gives what the tests ran with.

Run by ./dev lint; prints each disagreement and exits 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# namespace.collection.plugin, as a module key, a lookup/filter/test, a plugin: value or a
# callback name; not inside a longer dotted word (a host name, a Python attribute).
FQCN = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z_][a-z0-9_]*(?![\w])")
SKIP_NAMESPACES = {"ansible"}  # ansible.builtin, ansible.legacy come with ansible-core
# Where Ansible reads collection names outside the roles.
OUTSIDE_ROLES = [
    "site.yml",
    "playbooks",
    "inventories",
    "molecule",
    "scripts/bench",
    ".config/molecule",
]
SUFFIXES = {".yml", ".yaml", ".j2", ".py", ".cfg"}


def files_under(root: Path, entries: Iterable[str]) -> list[Path]:
    out: list[Path] = []
    for entry in entries:
        path = root / entry
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            )
    return out


def collections_named(paths: Iterable[Path], known: set[str]) -> dict[str, set[str]]:
    """Collection -> files naming it. A ``ns.name.x`` counts when ``ns`` is the namespace of a
    known collection (required or installed): a typo in the name is caught, a Python attribute
    chain such as ``os.path.join`` is not taken for a collection."""
    found: dict[str, set[str]] = {}
    namespaces = {n.split(".")[0] for n in known}
    for path in paths:
        for match in FQCN.finditer(path.read_text(errors="replace")):
            name = f"{match.group(1)}.{match.group(2)}"
            if match.group(1) in SKIP_NAMESPACES:
                continue
            if match.group(1) in namespaces:
                found.setdefault(name, set()).add(str(path))
    return found


def installed_versions() -> dict[str, str]:
    """Versions of the collections importable by this Python (the ansible bundle)."""
    versions: dict[str, str] = {}
    for entry in sys.path:
        base = Path(entry) / "ansible_collections"
        for manifest in base.glob("*/*/MANIFEST.json"):
            info = json.loads(manifest.read_text())["collection_info"]
            versions.setdefault(f"{info['namespace']}.{info['name']}", info["version"])
    return versions


def check(root: Path, installed: dict[str, str]) -> list[str]:
    problems: list[str] = []
    req_file = root / "requirements.yml"
    required: dict[str, str] = {}
    for item in (yaml.safe_load(req_file.read_text()) or {}).get("collections", []):
        required[item["name"]] = str(item.get("version", ""))
    known = set(required) | set(installed)

    for name, version in sorted(required.items()):
        if name not in installed:
            problems.append(f"requirements.yml: {name} is not installed for the controller")
        elif version != installed[name]:
            problems.append(
                f"requirements.yml: {name} pinned {version or '(no version)'}, "
                f"installed {installed[name]}"
            )

    for meta in sorted(root.glob("roles/*/meta/main.yml")):
        role_dir = meta.parent.parent
        declared = (yaml.safe_load(meta.read_text()) or {}).get("collections")
        if declared is None:
            problems.append(f"{meta.relative_to(root)}: no `collections` list")
            declared = []
        used = collections_named(files_under(role_dir, ["."]), known)
        for name in sorted(set(used) - set(declared)):
            where = ", ".join(sorted(str(Path(p).relative_to(root)) for p in used[name]))
            problems.append(f"{meta.relative_to(root)}: {name} is used ({where}) but not declared")
        for name in sorted(set(declared) - set(used)):
            problems.append(f"{meta.relative_to(root)}: {name} is declared but no file uses it")
        for name in sorted(set(declared) - set(required)):
            problems.append(f"{meta.relative_to(root)}: {name} is not in requirements.yml")

    outside = collections_named(files_under(root, OUTSIDE_ROLES), known)
    for name in sorted(set(outside) - set(required)):
        where = ", ".join(sorted(str(Path(p).relative_to(root)) for p in outside[name]))
        problems.append(f"requirements.yml: {name} is used ({where}) but not listed")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument(
        "--installed",
        type=Path,
        help="JSON {collection: version} instead of what this Python can import (tests)",
    )
    args = parser.parse_args(argv)
    installed = json.loads(args.installed.read_text()) if args.installed else installed_versions()
    problems = check(args.root, installed)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"collections agree: {', '.join(sorted(installed_versions_used(args.root)))}")
    return 1 if problems else 0


def installed_versions_used(root: Path) -> list[str]:
    items = (yaml.safe_load((root / "requirements.yml").read_text()) or {}).get("collections", [])
    return [f"{item['name']} {item.get('version', '')}".strip() for item in items]


if __name__ == "__main__":
    sys.exit(main())
