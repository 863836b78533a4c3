"""scripts/check_registers.py: one naming convention for a role's own variables, no shadowing.

The repository must pass; small trees built here show each rule is enforced and named with
its file and line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_registers.py"


def run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def role(
    tmp_path: Path,
    tasks: str,
    *,
    name: str = "web_app",
    readme: str = "It publishes `web_app_url`.\n",
    role_vars: str = "__web_app_dir: /srv\n",
    defaults: str = "web_app_port: 80\n",
) -> Path:
    base = tmp_path / "roles" / name
    for sub, text in {
        "tasks/main.yml": tasks,
        "vars/main.yml": role_vars,
        "defaults/main.yml": defaults,
        "README.md": readme,
    }.items():
        (base / sub).parent.mkdir(parents=True, exist_ok=True)
        (base / sub).write_text(text)
    return tmp_path


def test_the_repository_follows_the_convention() -> None:
    proc = run(REPO)
    assert proc.returncode == 0, proc.stderr


def test_internal_and_published_names_pass(tmp_path: Path) -> None:
    tasks = """---
- name: Read
  ansible.builtin.stat: {path: /srv}
  register: __web_app_stat
- name: Publish
  ansible.builtin.set_fact:
    web_app_url: http://localhost
    __web_app_seen: true
    cacheable: false
"""
    proc = run(role(tmp_path, tasks))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        (
            "- name: Read\n  ansible.builtin.stat: {path: /srv}\n  register: _web_app_stat\n",
            "tasks/main.yml:4: registers _web_app_stat: neither internal (__web_app_...)",
        ),
        (
            "- name: Read\n  ansible.builtin.stat: {path: /srv}\n  register: web_app__stat\n",
            "tasks/main.yml:4: registers web_app__stat: public, but roles/web_app/README.md",
        ),
        (
            "- name: Keep\n  ansible.builtin.set_fact:\n    web_app_secret: x\n",
            "tasks/main.yml:4: sets web_app_secret: public, but roles/web_app/README.md",
        ),
        (
            "- name: Keep\n  set_fact: stat=1 __web_app_ok=2\n",
            "tasks/main.yml:3: sets stat: neither internal",
        ),
        (
            "- name: Read\n  ansible.builtin.stat: {path: /srv}\n  register: other_role_stat\n",
            "tasks/main.yml:4: registers other_role_stat: neither internal",
        ),
        (
            "- name: Read\n  ansible.builtin.stat: {path: /srv}\n  register: web_app_port\n",
            "tasks/main.yml:4: registers web_app_port, which roles/web_app/defaults/main.yml",
        ),
        (
            "- name: Read\n  ansible.builtin.stat: {path: /srv}\n  register: __web_app_dir\n",
            "tasks/main.yml:4: registers __web_app_dir, which roles/web_app/vars/main.yml defines",
        ),
    ],
)
def test_each_offence_is_named(tmp_path: Path, task: str, problem: str) -> None:
    proc = run(role(tmp_path, "---\n" + task))
    assert proc.returncode == 1
    assert f"roles/web_app/{problem}" in proc.stderr, proc.stderr


def test_tasks_inside_blocks_are_read(tmp_path: Path) -> None:
    tasks = """---
- name: Try
  block:
    - name: Read
      ansible.builtin.stat: {path: /srv}
      register: __web_app_stat
  rescue:
    - name: Note
      ansible.builtin.set_fact:
        _failed: true
"""
    proc = run(role(tmp_path, tasks))
    assert proc.returncode == 1
    assert "roles/web_app/tasks/main.yml:10: sets _failed" in proc.stderr
    assert "__web_app_stat" not in proc.stderr


def test_role_vars_are_internal(tmp_path: Path) -> None:
    proc = run(role(tmp_path, "---\n", role_vars="---\n__web_app_dir: /srv\nweb_app__re: x\n"))
    assert proc.returncode == 1
    assert "roles/web_app/vars/main.yml:3: defines web_app__re: role vars are internal" in (
        proc.stderr
    )


def test_a_name_published_by_another_role_is_not_this_ones(tmp_path: Path) -> None:
    tasks = "---\n- name: Publish\n  ansible.builtin.set_fact:\n    web_app_url: x\n"
    proc = run(role(tmp_path, tasks, readme="No facts.\n"))
    assert proc.returncode == 1
    assert "sets web_app_url: public, but" in proc.stderr
