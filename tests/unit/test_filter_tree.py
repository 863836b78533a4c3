"""plugins/filter/tree_state.py and tree_changes.py: flask_app's copy of its source tree.

The inputs are what ansible.builtin.find returns with recurse, file_type any, hidden and
get_checksum (tasks/code.yml), on the controller and on the host.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.pulsestage.stack.plugins.filter import (
    tree_changes as changes_plugin,
)
from ansible_collections.pulsestage.stack.plugins.filter import (
    tree_state as state_plugin,
)
from ansible_collections.pulsestage.stack.plugins.filter.tree_changes import (
    tree_changes,
)
from ansible_collections.pulsestage.stack.plugins.filter.tree_state import (
    tree_state,
)

# flask_app's __flask_app_skip_re: caches and build leftovers are not shipped.
SKIP = r"(^|/)(__pycache__|[^/]*\.egg-info|build)(/|$)|\.py[co]$"


def found(root: str, *entries: str, skipped: bool = False) -> dict[str, Any]:
    """A find result: ``name/`` is a directory, ``name=sum`` a file with that checksum."""
    files: list[dict[str, Any]] = []
    for item in entries:
        if item.endswith("/"):
            files.append({"path": f"{root}/{item[:-1]}", "isdir": True, "isreg": False})
        else:
            name, checksum = item.split("=")
            files.append(
                {"path": f"{root}/{name}", "isdir": False, "isreg": True, "checksum": checksum}
            )
    result: dict[str, Any] = {"files": files, "changed": False, "matched": len(files)}
    result["skipped_paths"] = {root: f"{root} was skipped as it does not exist"} if skipped else {}
    return result


def test_state_is_relative_to_the_root() -> None:
    state = tree_state(found("/src", "pkg/", "pkg/a.py=1", "pkg/sub/", "pkg/sub/b.py=2"), "/src")
    assert state == {
        "files": {"pkg/a.py": "1", "pkg/sub/b.py": "2"},
        "dirs": ["pkg", "pkg/sub"],
        "root_missing": False,
    }


def test_state_dirs_are_sorted_parents_first() -> None:
    state = tree_state(found("/src", "pkg/sub/", "pkg/", "a/"), "/src")
    assert state["dirs"] == ["a", "pkg", "pkg/sub"]


def test_state_skips_caches_and_build_leftovers() -> None:
    result = found(
        "/src",
        "pkg/",
        "pkg/a.py=1",
        "pkg/__pycache__/",
        "pkg/__pycache__/a.cpython-312.pyc=9",
        "pkg.egg-info/",
        "pkg.egg-info/PKG-INFO=8",
        "build/",
        "build/lib/a.py=7",
        "pkg/b.pyo=6",
        "pkg/builder.py=5",
    )
    state = tree_state(result, "/src", skip=SKIP)
    assert state["files"] == {"pkg/a.py": "1", "pkg/builder.py": "5"}
    assert state["dirs"] == ["pkg"]


def test_state_without_skip_keeps_everything() -> None:
    state = tree_state(found("/src", "pkg/__pycache__/", "pkg/__pycache__/a.pyc=9"), "/src")
    assert state["files"] == {"pkg/__pycache__/a.pyc": "9"}


def test_state_of_a_missing_root() -> None:
    state = tree_state(
        found("/srv/app/releases/1.0/src", skipped=True), "/srv/app/releases/1.0/src"
    )
    assert state == {"files": {}, "dirs": [], "root_missing": True}


def test_state_refuses_an_entry_without_checksum() -> None:
    result = found("/src")
    result["files"].append({"path": "/src/link", "isdir": False, "isreg": False, "islnk": True})
    with pytest.raises(AnsibleFilterError, match="/src/link has no checksum"):
        tree_state(result, "/src")


def test_state_refuses_what_is_not_a_find_result() -> None:
    with pytest.raises(AnsibleFilterError, match=r"ansible\.builtin\.find"):
        tree_state({"skipped": True}, "/src")


def test_changes_on_a_new_release() -> None:
    """Nothing on the host yet: the root first, then every directory; every file."""
    want = tree_state(found("/c", "pkg/", "pkg/a.py=1", "pkg/sub/", "pkg/sub/b.py=2"), "/c")
    have = tree_state(found("/h", skipped=True), "/h")
    assert tree_changes(want, have) == {
        "dirs_missing": ["", "pkg", "pkg/sub"],
        "files_changed": ["pkg/a.py", "pkg/sub/b.py"],
        "files_stale": [],
    }


def test_no_changes_on_an_identical_tree() -> None:
    want = tree_state(found("/c", "pkg/", "pkg/a.py=1"), "/c")
    have = tree_state(found("/h", "pkg/", "pkg/a.py=1"), "/h")
    assert tree_changes(want, have) == {"dirs_missing": [], "files_changed": [], "files_stale": []}


def test_changes_of_a_hotfix() -> None:
    """One file edited, one added in a new directory, one removed from the release."""
    want = tree_state(
        found("/c", "pkg/", "pkg/a.py=2", "pkg/new/", "pkg/new/c.py=3", "z.py=4"), "/c"
    )
    have = tree_state(found("/h", "pkg/", "pkg/a.py=1", "pkg/old.py=5", "z.py=4"), "/h")
    assert tree_changes(want, have) == {
        "dirs_missing": ["pkg/new"],
        "files_changed": ["pkg/a.py", "pkg/new/c.py"],
        "files_stale": ["pkg/old.py"],
    }


def test_changes_remove_what_the_host_has_and_the_release_skips() -> None:
    """The host's listing is not filtered: a cache there is not part of the release."""
    want = tree_state(found("/c", "a.py=1", "__pycache__/", "__pycache__/a.pyc=2"), "/c", skip=SKIP)
    have = tree_state(found("/h", "a.py=1", "b.pyc=3"), "/h")
    assert tree_changes(want, have)["files_stale"] == ["b.pyc"]


def test_changes_sort_as_jinja_sorts_regardless_of_case() -> None:
    """The order the role's Jinja gave (its sort filter ignores case): copies, removals."""
    want = tree_state(found("/c", "B/", "a/", "PKG-INFO=1", "b.py=2", "Z.py=3"), "/c")
    have = tree_state(found("/h", skipped=True), "/h")
    changes = tree_changes(want, have)
    assert changes["dirs_missing"] == ["", "a", "B"]
    assert changes["files_changed"] == ["b.py", "PKG-INFO", "Z.py"]


def test_changes_refuse_what_is_not_a_tree() -> None:
    with pytest.raises(AnsibleFilterError, match="have must be a tree"):
        tree_changes({"files": {}, "dirs": [], "root_missing": False}, {"files": {}})


def test_the_plugins_offer_them_under_their_file_names() -> None:
    assert state_plugin.FilterModule().filters() == {"tree_state": tree_state}
    assert changes_plugin.FilterModule().filters() == {"tree_changes": tree_changes}
