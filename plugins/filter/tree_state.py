# A directory tree as ansible.builtin.find listed it, relative to its root: what
# pulsestage.stack.tree_changes compares (flask_app ships its sources with it).

from __future__ import annotations

DOCUMENTATION = r"""
  name: tree_state
  short_description: A tree listed by ansible.builtin.find, as relative paths and checksums
  description:
    - Takes the result of a recursive M(ansible.builtin.find) of one directory
      (O(ansible.builtin.find#module:recurse=true), O(ansible.builtin.find#module:file_type=any),
      O(ansible.builtin.find#module:get_checksum=true)) and returns its files and directories
      relative to that directory.
    - Every entry that is not a directory counts as a file and must have a checksum (a link
      has none, and the filter fails on it rather than guess).
    - Give O(skip) to leave out what is not to be compared (caches, build leftovers).
  positional: _input, root
  options:
    _input:
      description: The registered result of M(ansible.builtin.find) on O(root).
      type: dict
      required: true
    root:
      description:
        - The directory that was listed, spelled as in the result's paths (M(ansible.builtin.find)
          returns them as it walked them; pass a path resolved the same way, for example with
          the P(ansible.builtin.realpath#filter) filter).
      type: str
      required: true
    skip:
      description:
        - A regular expression searched in each relative path; matching files and directories
          are left out. Empty (the default) leaves out nothing.
      type: str
      default: ""
"""

EXAMPLES = r"""
- name: Read the sources on the controller
  ansible.builtin.find:
    paths: "{{ app_source_dir }}"
    recurse: true
    file_type: any
    hidden: true
    get_checksum: true
  delegate_to: localhost
  register: __role_local

- name: Show what would ship
  ansible.builtin.debug:
    msg: >-
      {{ __role_local | pulsestage.stack.tree_state(app_source_dir | realpath,
                                                   skip='(^|/)__pycache__(/|$)|\.py[co]$') }}
  # => {"files": {"app/__init__.py": "da39a3ee...", "app/api.py": "3f786850..."},
  #     "dirs": ["app"], "root_missing": false}
"""

RETURN = r"""
  _value:
    description: The tree.
    type: dict
    contains:
      files:
        description:
          - Relative path => checksum of every entry that is not a directory, in listing order.
        type: dict
      dirs:
        description:
          - The relative paths of the directories, sorted (a parent before its children) as
            Jinja's C(sort) sorts, regardless of case.
        type: list
        elements: str
      root_missing:
        description:
          - Whether O(root) itself could not be listed (it does not exist yet; the result's
            C(skipped_paths)).
        type: bool
"""

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from ansible.errors import AnsibleFilterError


class TreeState(TypedDict):
    files: dict[str, str]
    dirs: list[str]
    root_missing: bool


def tree_state(result: object, root: str, skip: str = "") -> TreeState:
    """The files (relative path -> checksum) and directories of a recursive find of ``root``."""
    if not isinstance(result, Mapping) or "files" not in result:
        raise AnsibleFilterError(
            "tree_state: expects the registered result of ansible.builtin.find"
        )
    skip_re = re.compile(skip) if skip else None
    files: dict[str, str] = {}
    dirs: list[str] = []
    for entry in result["files"]:
        rel = os.path.relpath(entry["path"], root)
        if skip_re is not None and skip_re.search(rel):
            continue
        if entry.get("isdir"):
            dirs.append(rel)
        elif "checksum" in entry:
            files[rel] = entry["checksum"]
        else:
            raise AnsibleFilterError(
                f"tree_state: {entry['path']} has no checksum (find with get_checksum: true;"
                " links and special files are not supported)"
            )
    return {
        "files": files,
        "dirs": sorted(dirs, key=str.lower),
        "root_missing": len(result.get("skipped_paths") or {}) > 0,
    }


class FilterModule:
    """pulsestage.stack.tree_state"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"tree_state": tree_state}
