"""scripts/check_collections.py: requirements.yml, the roles' meta and the installed bundle agree.

The repository itself must pass; small trees built here show each kind of disagreement is
caught and named.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_collections.py"
INSTALLED = {"community.general": "13.5.0", "amazon.aws": "11.4.0"}


def run(root: Path, installed: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT), "--root", str(root)]
    if installed is not None:
        path = root / "installed.json"
        path.write_text(json.dumps(installed))
        args += ["--installed", str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def tree(
    tmp_path: Path,
    *,
    requirements: dict[str, str],
    declared: list[str] | None,
    task: str,
    playbook: str = "",
) -> Path:
    items = [{"name": name, "version": version} for name, version in requirements.items()]
    (tmp_path / "requirements.yml").write_text(json.dumps({"collections": items}))
    meta = tmp_path / "roles" / "app" / "meta"
    meta.mkdir(parents=True)
    body: dict[str, object] = {"galaxy_info": {"role_name": "app"}, "dependencies": []}
    if declared is not None:
        body["collections"] = declared
    (meta / "main.yml").write_text(json.dumps(body))
    tasks = tmp_path / "roles" / "app" / "tasks"
    tasks.mkdir()
    (tasks / "main.yml").write_text(task)
    (tmp_path / "site.yml").write_text(playbook)
    return tmp_path


ARCHIVE_TASK = "- name: Pack\n  community.general.archive:\n    path: /srv\n"


def test_the_repository_agrees_with_its_installed_bundle() -> None:
    proc = run(REPO)
    assert proc.returncode == 0, proc.stderr
    assert "collections agree" in proc.stdout


def test_a_consistent_tree_passes(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        requirements={"community.general": "13.5.0"},
        declared=["community.general"],
        task=ARCHIVE_TASK,
    )
    proc = run(root, INSTALLED)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("requirements", "declared", "task", "playbook", "message"),
    [
        (
            {"community.general": "13.5.0"},
            [],
            ARCHIVE_TASK,
            "",
            "community.general is used (roles/app/tasks/main.yml) but not declared",
        ),
        (
            {"community.general": "13.5.0"},
            None,
            ARCHIVE_TASK,
            "",
            "roles/app/meta/main.yml: no `collections` list",
        ),
        (
            {"community.general": "13.5.0", "amazon.aws": "11.4.0"},
            ["community.general", "amazon.aws"],
            ARCHIVE_TASK,
            "",
            "amazon.aws is declared but no file uses it",
        ),
        (
            {"community.general": "12.0.0"},
            ["community.general"],
            ARCHIVE_TASK,
            "",
            "community.general pinned 12.0.0, installed 13.5.0",
        ),
        (
            {"community.general": "13.5.0"},
            ["community.general"],
            ARCHIVE_TASK,
            "- hosts: all\n  tasks:\n    - amazon.aws.ec2_instance:\n        state: running\n",
            "amazon.aws is used (site.yml) but not listed",
        ),
        (
            # a typo in the collection's name is a collection nobody pins
            {"community.general": "13.5.0"},
            ["community.general"],
            ARCHIVE_TASK + "- community.generl.ini_file:\n    path: /x\n",
            "",
            "community.generl is used (roles/app/tasks/main.yml) but not declared",
        ),
        (
            {"community.general": "13.5.0", "community.crypto": "3.5.0"},
            ["community.general"],
            ARCHIVE_TASK,
            "",
            "community.crypto is not installed for the controller",
        ),
    ],
    ids=["undeclared", "no-list", "unused", "version", "unlisted", "typo", "not-installed"],
)
def test_each_disagreement_is_named(
    tmp_path: Path,
    requirements: dict[str, str],
    declared: list[str] | None,
    task: str,
    playbook: str,
    message: str,
) -> None:
    root = tree(
        tmp_path, requirements=requirements, declared=declared, task=task, playbook=playbook
    )
    proc = run(root, INSTALLED)
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
