"""plugins/filter/file_state_lines.py: find results as "path [sha1] owner group mode" lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

# The filters import as Ansible imports them, from the checkout's collection tree
# (collections/, as ansible.cfg's collections_path has it).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.pulsestage.stack.plugins.filter.file_state_lines import (
    FilterModule,
    file_state_lines,
)


def entry(path: str, kind: str = "reg", **extra: Any) -> dict[str, Any]:
    """One item of ansible.builtin.find's ``files`` (the keys the filter reads, and some more)."""
    item: dict[str, Any] = {
        "path": path,
        "isreg": kind == "reg",
        "isdir": kind == "dir",
        "islnk": kind == "lnk",
        "pw_name": "root",
        "gr_name": "root",
        "mode": "0644",
        "size": 10,
    }
    if kind == "reg":
        item["checksum"] = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    item.update(extra)
    return item


def test_a_regular_file_has_its_checksum() -> None:
    lines = file_state_lines([entry("/etc/gunicorn/app.conf.py", gr_name="app", mode="0640")])
    assert lines == [
        "/etc/gunicorn/app.conf.py da39a3ee5e6b4b0d3255bfef95601890afd80709 root app 0640"
    ]


def test_a_directory_has_none() -> None:
    lines = file_state_lines([entry("/srv/app", "dir", pw_name="app", gr_name="app", mode="0750")])
    assert lines == ["/srv/app app app 0750"]


def test_links_and_other_entries_give_no_line_and_the_order_is_kept() -> None:
    found = [
        entry("/b", "dir"),
        entry("/a.conf"),
        entry("/etc/nginx/sites-enabled/default", "lnk"),
        entry("/run/app.sock", "sock", isreg=False),
    ]
    assert [line.split()[0] for line in file_state_lines(found)] == ["/b", "/a.conf"]


def test_nothing_found_is_no_lines() -> None:
    assert file_state_lines([]) == []


def test_the_role_lines_match_only_an_identical_file() -> None:
    """What the roles compare: the line they build for what they would write."""
    have = file_state_lines([entry("/etc/app.env", mode="0640", gr_name="app")])
    want = "/etc/app.env da39a3ee5e6b4b0d3255bfef95601890afd80709 root app 0640"
    assert want in have
    assert want.replace("0640", "0600") not in have
    assert want.replace(" app ", " root ") not in have


def test_a_file_without_checksum_is_refused() -> None:
    """find without get_checksum: true; the line would never match, the task always run."""
    item = entry("/etc/app.env")
    del item["checksum"]
    with pytest.raises(AnsibleFilterError, match=r"/etc/app\.env has no checksum"):
        file_state_lines([item])


def test_the_plugin_offers_it_under_its_file_name() -> None:
    assert FilterModule().filters() == {"file_state_lines": file_state_lines}
