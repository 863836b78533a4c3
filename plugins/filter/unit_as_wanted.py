# Whether a systemd unit, as pulsestage.stack.host_state read it, is already in the state a
# role asks of it: then its systemd_service task has nothing to do and is skipped.

from __future__ import annotations

DOCUMENTATION = r"""
  name: unit_as_wanted
  short_description: Whether a systemd unit is already in the state and enablement wanted
  description:
    - Takes one unit's entry of M(pulsestage.stack.host_state)'s C(units) and says whether
      M(ansible.builtin.systemd_service) with that O(state) and O(enabled) would find nothing
      to do, that is the unit is loaded, V(active) for V(started) (V(inactive) for V(stopped)), and
      its unit file V(enabled) (V(disabled)).
    - Anything else (not loaded, failed, activating, static, masked, generated, an empty
      entry) gives V(false), so the role runs the module, which knows those cases.
  positional: _input, state, enabled
  options:
    _input:
      description: One unit's properties (C(LoadState), C(ActiveState), C(UnitFileState)).
      type: dict
      required: true
    state:
      description: The state the role asks for.
      type: str
      choices: [started, stopped]
      required: true
    enabled:
      description: Whether the role asks for the unit to start at boot.
      type: bool
      required: true
"""

EXAMPLES = r"""
# {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"}
#   | pulsestage.stack.unit_as_wanted('started', true)   => true
# {"LoadState": "loaded", "ActiveState": "failed", "UnitFileState": "enabled"}
#   | pulsestage.stack.unit_as_wanted('started', true)   => false
"""

RETURN = r"""
  _value:
    description: V(true) when the module would change nothing.
    type: bool
"""

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

_ACTIVE = {"started": "active", "stopped": "inactive"}


def unit_as_wanted(unit: Mapping[str, Any], state: str, enabled: Any) -> bool:
    """True when the unit is loaded, in ``state`` and enabled (or disabled) as asked."""
    if state not in _ACTIVE:
        raise AnsibleFilterError(f"unit_as_wanted: state must be started or stopped, not {state!r}")
    if not isinstance(unit, Mapping):
        raise AnsibleFilterError(
            f"unit_as_wanted: expected a unit's properties, got {type(unit).__name__}"
        )
    return (
        unit.get("LoadState") == "loaded"
        and unit.get("ActiveState") == _ACTIVE[state]
        and unit.get("UnitFileState")
        == ("enabled" if boolean(enabled, strict=True) else "disabled")
    )


class FilterModule:
    """pulsestage.stack.unit_as_wanted"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"unit_as_wanted": unit_as_wanted}
