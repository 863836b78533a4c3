# The package specs of pip requirements files, for a role that installs them by name.

from __future__ import annotations

DOCUMENTATION = r"""
  name: requirement_pins
  short_description: The requirement lines of pip requirements files, without comments and options
  description:
    - Splits the given requirements file contents into lines and keeps each line's
      requirement (V(flask==3.1.0), V(psycopg[binary]==3.2.3; python_version >= "3.10"));
      a comment (from V(#) to the end of the line) and the whitespace around it are removed,
      blank lines and option lines (V(-r other.txt), V(--hash=...), V(-e .)) are dropped,
      and a requirement met again (in the same or a later file, in any letter case) is kept
      once, as it first appeared.
    - Includes (V(-r)) are not followed; the files are read by the caller (the
      P(ansible.builtin.file#lookup) lookup reads them on the controller).
  positional: _input
  options:
    _input:
      description: The contents of one or more requirements files.
      type: list
      elements: str
      required: true
"""

EXAMPLES = r"""
flask_app_packages: >-
  {{ query('ansible.builtin.file', 'app/requirements.txt', 'app/requirements-postgres.txt')
     | pulsestage.stack.requirement_pins }}

# ["flask==3.1.0  # the web framework\n-r base.txt\n\ngunicorn==23.0.0",
#  "gunicorn==23.0.0\npsycopg[binary]==3.2.3"] | pulsestage.stack.requirement_pins
# => ["flask==3.1.0", "gunicorn==23.0.0", "psycopg[binary]==3.2.3"]
"""

RETURN = r"""
  _value:
    description: The requirements, in the order of the files and their lines, each once.
    type: list
    elements: str
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"[^\r\n]+")
_COMMENT = re.compile(r"\s*#.*$")


def requirement_pins(contents: Iterable[str] | str) -> list[str]:
    """The requirement lines of the given requirements files' contents, each once."""
    if isinstance(contents, str):
        contents = [contents]
    pins: list[str] = []
    seen: set[str] = set()  # case-folded, as Ansible's unique filter compares by default
    for text in contents:
        if not isinstance(text, str):
            raise AnsibleFilterError(
                f"requirement_pins: expects file contents (strings), got {type(text).__name__}"
            )
        for line in _LINE.findall(text):
            pin = _COMMENT.sub("", line).strip()
            if pin and not pin.startswith("-") and pin.lower() not in seen:
                seen.add(pin.lower())
                pins.append(pin)
    return pins


class FilterModule:
    """pulsestage.stack.requirement_pins"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"requirement_pins": requirement_pins}
