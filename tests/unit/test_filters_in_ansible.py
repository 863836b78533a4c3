"""The filters as the roles reach them: by pulsestage.stack.<name>, from this checkout.

ansible.cfg's collections_path starts with collections/, where
ansible_collections/pulsestage/stack/plugins links to plugins/: a play outside the checkout
that reads that ansible.cfg (as ./dev's runs and the tests do) finds every filter there, and
ansible-doc reads each one's documentation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FILTERS = sorted(p.stem for p in (REPO / "plugins" / "filter").glob("*.py"))
CHECKOUT_TREE = REPO / "collections" / "ansible_collections" / "pulsestage" / "stack"


def ansible_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
    )
    return env


def test_the_collection_tree_links_to_plugins() -> None:
    link = CHECKOUT_TREE / "plugins"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "plugins").resolve()
    # Only the link: the rest of the collection (roles, docs) is the checkout itself.
    assert sorted(p.name for p in CHECKOUT_TREE.iterdir()) == ["plugins"]


def test_every_filter_is_documented_and_found_in_the_checkout(tmp_path: Path) -> None:
    names = [f"pulsestage.stack.{name}" for name in FILTERS]
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "filter", "--json", *names],
        cwd=tmp_path,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == names, proc.stderr
    for fqcn, entry in docs.items():
        doc = entry["doc"]
        assert doc["name"] == fqcn.rsplit(".", 1)[1]
        assert Path(doc["filename"]).is_relative_to(CHECKOUT_TREE), doc["filename"]
        assert doc["short_description"]
        assert doc["description"]
        assert entry["examples"].strip()
        assert "_value" in entry["return"]


PLAY = """
- name: The filters by their collection names
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    found:
      - {path: /etc/app, isdir: true, isreg: false, pw_name: root, gr_name: app, mode: "0750"}
      - {path: /etc/app/app.env, isdir: false, isreg: true, checksum: abc, pw_name: root,
         gr_name: app, mode: "0640"}
    local: {files: [{path: /c/a.py, isdir: false, checksum: "1"}], skipped_paths: {}}
    remote: {files: [], skipped_paths: {/h: missing}}
    settings:
      ec2_provision_region: nowhere
      ec2_provision_instance_count: 1
      ec2_provision_ssh_cidr: 0.0.0.0/0
      ec2_provision_gunicorn_cidr: 0.0.0.0/0
      ec2_provision_web_cidrs: []
      ec2_provision_web_cidrs_ipv6: []
      ec2_provision_gunicorn_port: 8000
      ec2_provision_ssh_port: 22
      ec2_provision_project: p
      ec2_provision_key_name: k
      ec2_provision_ami_id: ""
      ec2_provision_vpc_id: ""
      ec2_provision_subnet_id: ""
      ec2_provision_public_key: ""
  tasks:
    - name: Each one answers
      ansible.builtin.assert:
        that:
          - >-
            (found | pulsestage.stack.file_state_lines)
            == ['/etc/app root app 0750', '/etc/app/app.env abc root app 0640']
          - >-
            (['a==1 # pin', '-r x.txt', 'A==1', 'b==2'] | pulsestage.stack.requirement_pins)
            == ['a==1', 'b==2']
          - >-
            (local | pulsestage.stack.tree_state('/c')
             | pulsestage.stack.tree_changes(remote | pulsestage.stack.tree_state('/h')))
            == {'dirs_missing': [''], 'files_changed': ['a.py'], 'files_stale': []}
          - (settings | pulsestage.stack.ec2_provision_errors | length) == 1
"""


def test_a_play_outside_the_checkout_calls_them_by_fqcn(tmp_path: Path) -> None:
    (tmp_path / "play.yml").write_text(PLAY)
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "play.yml"],
        cwd=tmp_path,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout
