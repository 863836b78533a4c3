# What to do to make one tree (pulsestage.stack.tree_state) like another: flask_app's copy of
# its sources to a release directory.

from __future__ import annotations

DOCUMENTATION = r"""
  name: tree_changes
  short_description: What makes a tree like the wanted one
  description:
    - Compares two trees as P(pulsestage.stack.tree_state#filter) returns them, the wanted
      one (for example the sources on the controller) and the one there is (the copy on the
      host), and returns the directories to create, the files to copy and the files to remove.
  positional: _input, have
  options:
    _input:
      description: The wanted tree.
      type: dict
      required: true
    have:
      description: The tree there is.
      type: dict
      required: true
"""

EXAMPLES = r"""
__role_want: "{{ __role_local | pulsestage.stack.tree_state(app_source_dir | realpath) }}"
__role_have: "{{ __role_remote | pulsestage.stack.tree_state(release_src_dir) }}"
__role_changes: "{{ __role_want | pulsestage.stack.tree_changes(__role_have) }}"

# {"files": {"a.py": "1", "pkg/b.py": "2"}, "dirs": ["pkg"], "root_missing": false}
#   | pulsestage.stack.tree_changes({"files": {"a.py": "1", "old.py": "3"}, "dirs": [],
#                                    "root_missing": false})
# => {"dirs_missing": ["pkg"], "files_changed": ["pkg/b.py"], "files_stale": ["old.py"]}
"""

RETURN = r"""
  _value:
    description: The changes, each list sorted as Jinja's C(sort) sorts (regardless of case).
    type: dict
    contains:
      dirs_missing:
        description:
          - The wanted directories that are not there, a parent before its children; V("")
            (the root itself) first when the root is missing.
        type: list
        elements: str
      files_changed:
        description: The wanted files that are not there or have another checksum.
        type: list
        elements: str
      files_stale:
        description: The files there that are not wanted.
        type: list
        elements: str
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from ansible.errors import AnsibleFilterError


class TreeChanges(TypedDict):
    dirs_missing: list[str]
    files_changed: list[str]
    files_stale: list[str]


def _sorted(paths: Iterable[str]) -> list[str]:
    """Sorted as Jinja's ``sort`` filter sorts by default: regardless of case."""
    return sorted(paths, key=str.lower)


def _tree(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not {"files", "dirs"} <= value.keys():
        raise AnsibleFilterError(
            f"tree_changes: {what} must be a tree from pulsestage.stack.tree_state"
        )
    return value


def tree_changes(want: Mapping[str, Any], have: Mapping[str, Any]) -> TreeChanges:
    """The directories to create and the files to copy and remove to make ``have`` ``want``."""
    want, have = _tree(want, "the input"), _tree(have, "have")
    want_files: Mapping[str, str] = want["files"]
    have_files: Mapping[str, str] = have["files"]
    have_dirs = set(have["dirs"])
    root = [""] if have.get("root_missing") else []
    return {
        "dirs_missing": root + _sorted(d for d in want["dirs"] if d not in have_dirs),
        "files_changed": _sorted(
            path
            for path, checksum in want_files.items()
            if path not in have_files or have_files[path] != checksum
        ),
        "files_stale": _sorted(path for path in have_files if path not in want_files),
    }


class FilterModule:
    """pulsestage.stack.tree_changes"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"tree_changes": tree_changes}
