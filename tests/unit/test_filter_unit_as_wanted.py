"""plugins/filter/unit_as_wanted.py: skip a systemd_service task only when it has nothing to do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.pulsestage.stack.plugins.filter.unit_as_wanted import (
    FilterModule,
    unit_as_wanted,
)


def unit(
    active: str = "active", file_state: str = "enabled", load: str = "loaded"
) -> dict[str, str]:
    return {"LoadState": load, "ActiveState": active, "SubState": "", "UnitFileState": file_state}


@pytest.mark.parametrize(
    ("props", "state", "enabled", "want"),
    [
        (unit(), "started", True, True),
        (unit(), "started", "yes", True),
        (unit(file_state="disabled"), "started", True, False),
        (unit(file_state="disabled"), "started", False, True),
        (unit(active="inactive"), "started", True, False),
        (unit(active="failed"), "started", True, False),
        (unit(active="activating"), "started", True, False),
        (unit(active="inactive"), "stopped", True, True),
        (unit(), "stopped", True, False),
        (unit(file_state="static"), "started", True, False),
        (unit(file_state="masked"), "started", False, False),
        (unit(load="not-found", active="inactive", file_state=""), "stopped", False, False),
        ({}, "started", True, False),
    ],
)
def test_only_a_unit_already_as_wanted(
    props: dict[str, str], state: str, enabled: object, want: bool
) -> None:
    assert unit_as_wanted(props, state, enabled) is want


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(AnsibleFilterError, match="started or stopped"):
        unit_as_wanted(unit(), "restarted", True)
    with pytest.raises(AnsibleFilterError, match="expected a unit's properties"):
        unit_as_wanted("active", "started", True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unit_as_wanted(unit(), "started", "sometimes")


def test_registered() -> None:
    assert FilterModule().filters() == {"unit_as_wanted": unit_as_wanted}
