#!/usr/bin/env python3
"""Fail when a task registers a name that a role also defines in vars/ or defaults/.

A registered result silently replaces such a variable for the rest of the play (registered
vars rank above role vars), so the role then computes with the wrong value. ansible-lint has
no rule for it. Run by ./dev lint; exits 1 and names each clash.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REGISTER = re.compile(r"^\s*register:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.M)


def defined_names() -> dict[str, str]:
    """Every variable a role defines: vars/, defaults/ (files or a main/ directory), and the
    options of its argument specs (a required option has no default, but is the role's)."""
    names: dict[str, str] = {}
    files = [
        *sorted(ROOT.glob("roles/*/vars/**/*.yml")),
        *sorted(ROOT.glob("roles/*/defaults/**/*.yml")),
    ]
    for f in files:
        data = yaml.safe_load(f.read_text()) or {}
        for key in data:
            names.setdefault(key, str(f.relative_to(ROOT)))
    for f in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        specs = (yaml.safe_load(f.read_text()) or {}).get("argument_specs") or {}
        for entry in specs.values():
            for key in (entry or {}).get("options") or {}:
                names.setdefault(key, str(f.relative_to(ROOT)))
    return names


def main() -> int:
    names = defined_names()
    clashes = []
    for f in sorted(ROOT.glob("roles/*/tasks/*.yml")) + sorted(ROOT.glob("roles/*/handlers/*.yml")):
        for m in REGISTER.finditer(f.read_text()):
            if m.group(1) in names:
                line = f.read_text().count("\n", 0, m.start()) + 1
                clashes.append(
                    f"{f.relative_to(ROOT)}:{line}: registers {m.group(1)}, "
                    f"which {names[m.group(1)]} defines"
                )
    for c in clashes:
        print(c, file=sys.stderr)
    return 1 if clashes else 0


if __name__ == "__main__":
    sys.exit(main())
