# The roles' "is it already so?" lines: what the host has, in the form the roles write what
# they want, so that a task runs only when its line is not among the host's.

from __future__ import annotations

DOCUMENTATION = r"""
  name: file_state_lines
  short_description: One "path [sha1] owner group mode" line per file and directory found
  description:
    - Turns the C(files) of an M(ansible.builtin.find) result into one line per entry,
      V(path sha1 owner group mode) for a regular file and V(path owner group mode) for a
      directory; other entries (links, sockets, devices) give no line.
    - The roles build the same line for what they would write (a template rendered on the
      controller and hashed) and run the module only when that line is not among the host's,
      so a rerun with nothing to change costs one M(ansible.builtin.find) instead of the
      template action's remote commands per file; a file that differs in any way still goes
      through its module, so check mode and C(--diff) are unchanged.
    - The regular files need M(ansible.builtin.find)'s
      O(ansible.builtin.find#module:get_checksum=true) (with the default SHA-1
      O(ansible.builtin.find#module:checksum_algorithm)).
  positional: _input
  options:
    _input:
      description: The C(files) list of an M(ansible.builtin.find) result.
      type: list
      elements: dict
      required: true
"""

EXAMPLES = r"""
- name: Read the files the role writes
  ansible.builtin.find:
    paths: [/etc/gunicorn, /etc/systemd/system]
    patterns: [app.conf.py, app.service]
    get_checksum: true
  register: __role_have

- name: Write the config only when the host's copy differs
  ansible.builtin.template:
    src: app.conf.py.j2
    dest: /etc/gunicorn/app.conf.py
    owner: root
    group: app
    mode: "0640"
  vars:
    __role_want: >-
      {{ ['/etc/gunicorn/app.conf.py',
          lookup('ansible.builtin.template', 'app.conf.py.j2') | hash('sha1'),
          'root', 'app', '0640'] | join(' ') }}
  when: __role_want not in (__role_have.files | default([]) | pulsestage.stack.file_state_lines)

# [{"path": "/etc/app", "isdir": true, "isreg": false, "pw_name": "root", "gr_name": "app",
#   "mode": "0750"},
#  {"path": "/etc/app/app.env", "isdir": false, "isreg": true, "checksum": "6b1f...",
#   "pw_name": "root", "gr_name": "app", "mode": "0640"}] | pulsestage.stack.file_state_lines
# => ["/etc/app root app 0750", "/etc/app/app.env 6b1f... root app 0640"]
"""

RETURN = r"""
  _value:
    description:
      - One line per regular file and directory, in the order M(ansible.builtin.find) listed them.
    type: list
    elements: str
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError


def file_state_lines(files: Iterable[Mapping[str, Any]]) -> list[str]:
    """``path sha1 owner group mode`` per regular file, ``path owner group mode`` per directory."""
    lines: list[str] = []
    for entry in files:
        keys: tuple[str, ...]
        if entry.get("isreg"):
            keys = ("path", "checksum", "pw_name", "gr_name", "mode")
        elif entry.get("isdir"):
            keys = ("path", "pw_name", "gr_name", "mode")
        else:
            continue
        missing = [key for key in keys if key not in entry]
        if missing:
            raise AnsibleFilterError(
                f"file_state_lines: {entry.get('path', entry)!s} has no {', '.join(missing)}"
                " (an ansible.builtin.find result's files, with get_checksum: true)"
            )
        lines.append(" ".join(str(entry[key]) for key in keys))
    return lines


class FilterModule:
    """pulsestage.stack.file_state_lines"""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"file_state_lines": file_state_lines}
