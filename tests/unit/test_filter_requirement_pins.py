"""plugins/filter/requirement_pins.py: the requirements of pip requirements files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.pulsestage.stack.plugins.filter.requirement_pins import (
    FilterModule,
    requirement_pins,
)


def test_comments_options_and_blank_lines_are_dropped() -> None:
    text = (
        "# the web stack\n"
        "flask==3.1.0  # the framework\n"
        "\n"
        "-r base.txt\n"
        "--hash=sha256:0123\n"
        "   gunicorn==23.0.0   \n"
        "\t# indented comment\n"
    )
    assert requirement_pins([text]) == ["flask==3.1.0", "gunicorn==23.0.0"]


def test_markers_and_extras_are_kept_whole() -> None:
    text = 'psycopg[binary]==3.2.3; python_version >= "3.10"\n'
    assert requirement_pins([text]) == ['psycopg[binary]==3.2.3; python_version >= "3.10"']


def test_windows_line_ends() -> None:
    assert requirement_pins(["a==1\r\nb==2\r\n"]) == ["a==1", "b==2"]


def test_a_repeated_requirement_is_kept_once_where_it_first_appeared() -> None:
    """Across files too, and in any letter case (as Ansible's unique filter compares)."""
    files = ["flask==3.1.0\nitsdangerous==2.2.0\n", "Flask==3.1.0\npsycopg==3.2.3\nflask==3.1.0"]
    assert requirement_pins(files) == ["flask==3.1.0", "itsdangerous==2.2.0", "psycopg==3.2.3"]


def test_one_file_as_a_string() -> None:
    assert requirement_pins("a==1\nb==2") == ["a==1", "b==2"]


def test_no_files_no_pins() -> None:
    assert requirement_pins([]) == []
    assert requirement_pins(["# nothing\n\n"]) == []


def test_anything_but_text_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="expects file contents"):
        requirement_pins([["flask==3.1.0"]])  # type: ignore[list-item]


def test_the_plugin_offers_it_under_its_file_name() -> None:
    assert FilterModule().filters() == {"requirement_pins": requirement_pins}
