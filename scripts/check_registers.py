#!/usr/bin/env python3
"""Fail when a role names a variable of its own outside the convention, or shadows one.

One convention for a role's internal variables, ``__<role>_*``: every key of its vars/ files
(role vars are internal by nature), and every ``register:`` and ``set_fact`` key of its tasks
and handlers, unless that is public, ``<role>_*``, and published: named (in backquotes) in the
role's README.md, where the plays and the other roles learn that the role sets it.

And no registered or set name may be one that a role defines in vars/ or defaults/ or as an
argument spec option: a registered result or a fact silently replaces such a variable for the
rest of the play (both rank above role vars and defaults), so the role then computes with the
wrong value. ansible-lint has no rule for either. Run by ./dev lint; exits 1 and names each
offending file and line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SET_FACT = {"set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact"}
SET_FACT_OPTIONS = {"cacheable"}
NESTED = ("block", "rescue", "always")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MENTION = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


class Loader(yaml.SafeLoader):
    """Task files as Ansible reads them: ``!unsafe`` and ``!vault`` values are plain here."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


Loader.add_constructor("!unsafe", _plain)
Loader.add_constructor("!vault", _plain)


@dataclass(frozen=True)
class Assigned:
    """A name a task gives a value to: ``register`` or a ``set_fact`` key."""

    path: Path
    line: int
    how: str  # "registers", "sets" or "defines"
    name: str


def defined_names(root: Path) -> dict[str, str]:
    """Every variable a role defines: vars/, defaults/ (files or a main/ directory), and the
    options of its argument specs (a required option has no default, but is the role's)."""
    names: dict[str, str] = {}
    files = [
        *sorted(root.glob("roles/*/vars/**/*.yml")),
        *sorted(root.glob("roles/*/defaults/**/*.yml")),
    ]
    for f in files:
        data = yaml.load(f.read_text(), Loader=Loader) or {}
        for key in data:
            names.setdefault(key, str(f.relative_to(root)))
    for f in sorted(root.glob("roles/*/meta/argument_specs.yml")):
        specs = (yaml.load(f.read_text(), Loader=Loader) or {}).get("argument_specs") or {}
        for entry in specs.values():
            for key in (entry or {}).get("options") or {}:
                names.setdefault(key, str(f.relative_to(root)))
    return names


def _tasks(node: yaml.Node) -> Iterator[yaml.MappingNode]:
    """The task mappings of a task list, blocks' tasks included."""
    if not isinstance(node, yaml.SequenceNode):
        return
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        yield item
        for key, value in item.value:
            if isinstance(key, yaml.ScalarNode) and key.value in NESTED:
                yield from _tasks(value)


def assigned(path: Path) -> Iterator[Assigned]:
    """What each task of a tasks or handlers file registers and sets."""
    document = yaml.compose(path.read_text(), Loader=Loader)
    if document is None:
        return
    for task in _tasks(document):
        for key, value in task.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value == "register" and isinstance(value, yaml.ScalarNode):
                yield Assigned(path, value.start_mark.line + 1, "registers", value.value)
            elif key.value in SET_FACT and isinstance(value, yaml.MappingNode):
                for fact, _ in value.value:
                    if isinstance(fact, yaml.ScalarNode) and fact.value not in SET_FACT_OPTIONS:
                        yield Assigned(path, fact.start_mark.line + 1, "sets", fact.value)
            elif key.value in SET_FACT and isinstance(value, yaml.ScalarNode):
                # the free form: set_fact: a=1 b={{ x }}
                for word in value.value.split():
                    fact = word.split("=", 1)[0]
                    if "=" in word and fact not in SET_FACT_OPTIONS:
                        yield Assigned(path, value.start_mark.line + 1, "sets", fact)


def var_keys(path: Path) -> Iterator[Assigned]:
    """The variables a vars/ file defines."""
    document = yaml.compose(path.read_text(), Loader=Loader)
    if isinstance(document, yaml.MappingNode):
        for key, _ in document.value:
            if isinstance(key, yaml.ScalarNode):
                yield Assigned(path, key.start_mark.line + 1, "defines", key.value)


def published(role_dir: Path) -> set[str]:
    """The names the role's README.md mentions in backquotes."""
    readme = role_dir / "README.md"
    return set(MENTION.findall(readme.read_text())) if readme.is_file() else set()


def check(root: Path) -> list[str]:
    names = defined_names(root)
    problems: list[str] = []
    for role_dir in sorted(p for p in root.glob("roles/*") if p.is_dir()):
        role = role_dir.name
        internal = f"__{role}_"
        for f in sorted(role_dir.glob("vars/**/*.yml")):
            for item in var_keys(f):
                if not item.name.startswith(internal):
                    problems.append(
                        f"{item.path.relative_to(root)}:{item.line}: defines {item.name}:"
                        f" role vars are internal, {internal}..."
                    )
        public = published(role_dir)
        files = sorted(role_dir.glob("tasks/**/*.yml")) + sorted(role_dir.glob("handlers/**/*.yml"))
        for item in (a for f in files for a in assigned(f)):
            where = f"{item.path.relative_to(root)}:{item.line}: {item.how} {item.name}"
            if not IDENTIFIER.fullmatch(item.name):
                problems.append(f"{where}, which is not a variable name")
            elif item.name in names:
                problems.append(f"{where}, which {names[item.name]} defines")
            elif item.name.startswith(internal):
                continue
            elif item.name.startswith(f"{role}_"):
                if item.name not in public:
                    problems.append(
                        f"{where}: public, but roles/{role}/README.md does not publish it"
                        f" (name it there, or make it internal: {internal}...)"
                    )
            else:
                problems.append(
                    f"{where}: neither internal ({internal}...) nor public ({role}_...,"
                    f" published in roles/{role}/README.md)"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (tests)")
    args = parser.parse_args(argv)
    problems = check(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
