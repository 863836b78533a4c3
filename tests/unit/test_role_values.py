"""Every role refuses a bad value before it changes anything, naming the variable.

One ansible-playbook run tries every case below, each host of its inventory a name for this
machine (connection local, no facts): a host includes its role's ``validate`` entry point
(``include_role`` with ``tasks_from: validate``), which runs the role's argument spec (types,
choices) and then its tasks/validate.yml (the values' domains: ranges, patterns, relations),
in a block whose rescue keeps the message. Nothing else of a role runs here: ``validate`` and
(for site.yml's early checks) ``publish`` change nothing, so no role touches this machine.

Each bad case must fail with a message that names its variable, shows the value (never a
secret's) and, past the spec, says "Nothing was changed."; the good ones (the defaults and
edge values) must all pass, so the test fails both ways. As a message names exactly the
variables that are wrong, bad values of different variables share a host (a host is a few
tenths of a second): each host's message must name exactly its cases' variables. The same run
plays site.yml's own early checks (its pre_tasks that include a role's validate or publish)
with the lab's group_vars, as they are and with a bad gunicorn_service_host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = ("python_venv", "flask_app", "gunicorn_service", "nginx_proxy")
# What each role requires (it has no default): given in every case of that role.
REQUIRED: dict[str, dict[str, Any]] = {
    "python_venv": {"python_venv_path": "/opt/app/venv"},
    "flask_app": {},
    "gunicorn_service": {"gunicorn_service_venv": "/opt/app/venv"},
    "nginx_proxy": {},
}
DONE = "Nothing was changed."
A_FILE = str(Path(__file__).resolve())
# PEM-shaped texts (nginx_proxy checks their shape; nginx -t checks the rest on the host).
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n"


@dataclass(frozen=True)
class Bad:
    """A value the role must refuse: by its argument spec (``spec``) or by tasks/validate.yml."""

    role: str
    name: str
    value: Any
    spec: bool = False
    # More variables the case sets (a relation between two of them).
    others: dict[str, Any] = field(default_factory=dict)
    # Every variable the message names (by default only ``name``).
    names: frozenset[str] = frozenset()
    # What the message must show of the value (by default its JSON), None for nothing.
    shown: str | None = ""
    # A secret: the message must not hold this.
    secret: str | None = None
    # Checked on a host of its own: another variable's check depends on this one (or this
    # one's on another's value), which another case on the host could change.
    alone: bool = False

    @property
    def touches(self) -> frozenset[str]:
        """The variables the case sets or expects named."""
        return frozenset({self.name, *self.others}) | self.expected_names

    @property
    def expected_names(self) -> frozenset[str]:
        return self.names or frozenset({self.name})

    @property
    def expected_shown(self) -> str | None:
        if self.secret is not None or self.spec:
            return None
        return json.dumps(self.value) if self.shown == "" else self.shown


@dataclass(frozen=True)
class Good:
    role: str
    variables: dict[str, Any]


BAD: list[Bad] = [
    # python_venv: paths, names, requirement specifiers, URLs, files, package names, ranges, type
    Bad("python_venv", "python_venv_path", "relative/venv"),
    Bad("python_venv", "python_venv_path", "/opt/my venv"),
    Bad("python_venv", "python_venv_path", "/opt/../etc"),
    Bad(
        "python_venv",
        "python_venv_owner",
        "Bad User",
        names=frozenset({"python_venv_owner", "python_venv_group"}),
    ),  # the group follows the owner
    Bad("python_venv", "python_venv_group", "adm;x"),
    Bad("python_venv", "python_venv_python", "python3"),
    Bad("python_venv", "python_venv_packages", ["flask==3.1.3", "-e ."], shown='["-e ."]'),
    Bad("python_venv", "python_venv_pip_index_url", "ftp://mirror/simple"),
    Bad("python_venv", "python_venv_pip_extra_index_urls", ["https://a b"]),
    Bad("python_venv", "python_venv_pip_extra_args", "--no-compile\n--user"),
    Bad("python_venv", "python_venv_ca_certificates", ["/nonexistent/ca.crt"]),
    Bad("python_venv", "python_venv_extra_os_packages", ["--force-yes"]),
    Bad("python_venv", "python_venv_apt_lock_timeout", -1),
    Bad("python_venv", "python_venv_apt_cache_valid_time", 2592001),
    Bad("python_venv", "python_venv_install_build_deps", "maybe", spec=True),
    Bad("python_venv", "python_venv_packages", {"not": "a list"}, spec=True),
    # flask_app: the count found by hand, names, paths and their relations, files, secrets
    Bad("flask_app", "flask_app_releases_to_keep", 0),
    Bad("flask_app", "flask_app_releases_to_keep", 101),
    Bad("flask_app", "flask_app_releases_to_keep", "three", spec=True),
    Bad("flask_app", "flask_app_name", "-app"),
    # the paths made of the name are wrong too, and named
    Bad(
        "flask_app",
        "flask_app_name",
        "my app",
        names=frozenset(
            {
                "flask_app_name",
                "flask_app_base_dir",
                "flask_app_data_dir",
                "flask_app_config_dir",
                "flask_app_env_file",
                "flask_app_sqlite_path",
            }
        ),
    ),
    Bad("flask_app", "flask_app_release", "../1.0"),
    Bad(
        "flask_app",
        "flask_app_user",
        "root;x",
        names=frozenset({"flask_app_user", "flask_app_group"}),
    ),
    Bad("flask_app", "flask_app_group", "-g"),
    Bad("flask_app", "flask_app_base_dir", "/"),
    Bad(
        "flask_app",
        "flask_app_config_dir",
        "etc/app",
        names=frozenset({"flask_app_config_dir", "flask_app_env_file"}),
    ),
    Bad("flask_app", "flask_app_env_file", "/etc/app/app env"),
    Bad("flask_app", "flask_app_python", "/usr/bin/python3 -I"),
    Bad("flask_app", "flask_app_data_dir", "/opt/incomes-api/data", alone=True),
    Bad(
        "flask_app",
        "flask_app_data_dir",
        "/opt",
        others={"flask_app_sqlite_path": "/opt/x.db"},
        alone=True,
    ),
    Bad("flask_app", "flask_app_sqlite_path", "/tmp/incomes.db", alone=True),
    Bad(
        "flask_app",
        "flask_app_source_dir",
        "/nonexistent",
        names=frozenset({"flask_app_source_dir", "flask_app_requirements_files"}),
        alone=True,  # the release (read from there) is then not checked
    ),
    Bad("flask_app", "flask_app_requirements_files", ["../requirements.txt"]),
    Bad("flask_app", "flask_app_requirements_files", [], shown=None),
    Bad("flask_app", "flask_app_postgres_requirements_file", "/etc/passwd"),
    Bad("flask_app", "flask_app_init_db_command", ["/bin/sh", "-c", "x"]),
    Bad("flask_app", "flask_app_environment", {"BAD-NAME": "x"}, shown='["BAD-NAME"]'),
    Bad("flask_app", "flask_app_database_url", "mysql://app:s3cr3t-pw@db/app", secret="s3cr3t-pw"),
    Bad(
        "flask_app",
        "flask_app_database_url",
        "postgresql://app:s3cr3t-pw@db/app\nX=1",
        secret="s3cr3t-pw",
    ),
    Bad(
        "flask_app",
        "flask_app_secret_environment",
        {"API_KEY": "s3cr3t-key\nX=1"},
        secret="s3cr3t-key",
    ),
    # flask_app checks python_venv's values for the release's venv before it changes anything
    Bad("flask_app", "python_venv_apt_lock_timeout", -1, alone=True),
    # gunicorn_service: the two found by hand, addresses, ports, counts, paths, enums, strings
    Bad("gunicorn_service", "gunicorn_service_host", "127.0.0.1; rm -rf /"),
    Bad("gunicorn_service", "gunicorn_service_host", "[::1]"),
    Bad("gunicorn_service", "gunicorn_service_host", "999.1.1.1"),
    Bad("gunicorn_service", "gunicorn_service_host", "1::2::3"),
    Bad("gunicorn_service", "gunicorn_service_timeout", -5),
    Bad("gunicorn_service", "gunicorn_service_timeout", 0),
    Bad("gunicorn_service", "gunicorn_service_graceful_timeout", 3601),
    Bad("gunicorn_service", "gunicorn_service_keepalive", 0),
    Bad("gunicorn_service", "gunicorn_service_port", 0),
    Bad("gunicorn_service", "gunicorn_service_port", 65536),
    Bad("gunicorn_service", "gunicorn_service_port", "http", spec=True),
    Bad("gunicorn_service", "gunicorn_service_workers", 0),
    Bad("gunicorn_service", "gunicorn_service_threads", 0),
    Bad("gunicorn_service", "gunicorn_service_backlog", 0),
    Bad("gunicorn_service", "gunicorn_service_limit_nofile", 10),
    Bad("gunicorn_service", "gunicorn_service_max_requests", -1),
    Bad(
        "gunicorn_service",
        "gunicorn_service_max_requests_jitter",
        20,
        others={"gunicorn_service_max_requests": 10},
    ),
    Bad(
        "gunicorn_service",
        "gunicorn_service_name",
        "my service",
        names=frozenset({"gunicorn_service_name", "gunicorn_service_socket_path"}),
    ),
    Bad("gunicorn_service", "gunicorn_service_app", "app; import os"),
    Bad(
        "gunicorn_service",
        "gunicorn_service_user",
        "Www",
        names=frozenset({"gunicorn_service_user", "gunicorn_service_group"}),
    ),
    Bad("gunicorn_service", "gunicorn_service_venv", "/opt/app venv"),
    Bad("gunicorn_service", "gunicorn_service_working_directory", "data"),
    Bad("gunicorn_service", "gunicorn_service_environment_file", "/etc/app/%i.env"),
    Bad("gunicorn_service", "gunicorn_service_read_write_paths", ["/var/lib/a b"]),
    Bad("gunicorn_service", "gunicorn_service_config_dir", "/"),
    Bad("gunicorn_service", "gunicorn_service_socket_path", "/tmp/app.sock"),
    Bad("gunicorn_service", "gunicorn_service_socket_path", "/run/app/" + "s" * 100),
    Bad("gunicorn_service", "gunicorn_service_description", "100% up"),
    Bad("gunicorn_service", "gunicorn_service_environment", {"A": "50%"}, shown='["50%"]'),
    Bad(
        "gunicorn_service",
        "gunicorn_service_extra_settings",
        {"bind": "0.0.0.0:80"},
        shown='["bind"]',
    ),
    Bad("gunicorn_service", "gunicorn_service_forwarded_allow_ips", "127.0.0.1; evil"),
    Bad("gunicorn_service", "gunicorn_service_reload_token", "a\nbind = 1"),
    Bad("gunicorn_service", "gunicorn_service_restart_token", "a\nExecStartPre=/bin/x"),
    Bad("gunicorn_service", "gunicorn_service_log_level", "verbose", spec=True),
    Bad("gunicorn_service", "gunicorn_service_worker_class", "threads", spec=True),
    Bad("gunicorn_service", "gunicorn_service_state", "running", spec=True),
    # nginx_proxy: ports, upstream addresses, sizes, times, names, headers, directives
    Bad("nginx_proxy", "nginx_proxy_listen_port", 0),
    Bad("nginx_proxy", "nginx_proxy_listen_port", 70000),
    Bad("nginx_proxy", "nginx_proxy_listen_port", "eighty", spec=True),
    Bad("nginx_proxy", "nginx_proxy_upstream_servers", ["127.0.0.1:9001; return 200"]),
    Bad("nginx_proxy", "nginx_proxy_upstream_servers", ["127.0.0.1:99999"]),
    Bad("nginx_proxy", "nginx_proxy_upstream_servers", ["[::1::2]:8000"]),
    Bad("nginx_proxy", "nginx_proxy_upstream_servers", [], shown=None),
    Bad("nginx_proxy", "nginx_proxy_upstream_keepalive", -1),
    Bad("nginx_proxy", "nginx_proxy_client_max_body_size", "10X"),
    Bad("nginx_proxy", "nginx_proxy_read_timeout", "5x"),
    Bad("nginx_proxy", "nginx_proxy_upstream_keepalive_timeout", "1 m"),
    Bad("nginx_proxy", "nginx_proxy_site_name", "../etc"),
    Bad("nginx_proxy", "nginx_proxy_upstream_name", "my-backend"),
    Bad("nginx_proxy", "nginx_proxy_server_names", ["a b"]),
    Bad(
        "nginx_proxy",
        "nginx_proxy_security_headers",
        {"X-A": 'a"; add_header X-B "1'},
        shown='["a\\"; add_header X-B \\"1"]',
    ),
    Bad("nginx_proxy", "nginx_proxy_extra_server_directives", ["return 200"]),
    Bad("nginx_proxy", "nginx_proxy_apt_lock_timeout", 86401),
    Bad("nginx_proxy", "nginx_proxy_buffering", "sometimes", spec=True),
    # nginx_proxy's HTTPS: choices, ports, ranges, times, sizes, addresses, domain names,
    # PEM texts (the key a secret), controller files, URL, e-mail, host path, relations
    Bad("nginx_proxy", "nginx_proxy_tls_source", "letsencrypt", spec=True),
    Bad("nginx_proxy", "nginx_proxy_tls_http2", "maybe", spec=True),
    Bad("nginx_proxy", "nginx_proxy_tls_listen_port", 0),
    Bad("nginx_proxy", "nginx_proxy_tls_listen_port", 80, alone=True),  # = nginx_proxy_listen_port
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_redirect",
        True,
        others={"nginx_proxy_tls_source": "none"},
        alone=True,
    ),
    Bad("nginx_proxy", "nginx_proxy_tls_hsts_max_age", -1),
    Bad("nginx_proxy", "nginx_proxy_tls_hsts_max_age", 63072001),
    Bad("nginx_proxy", "nginx_proxy_tls_resolvers", ["192.0.2.53; x"]),
    Bad("nginx_proxy", "nginx_proxy_tls_resolvers", ["dns.example"]),
    Bad("nginx_proxy", "nginx_proxy_tls_session_timeout", "1 day"),
    Bad("nginx_proxy", "nginx_proxy_tls_session_cache_size", "0"),
    Bad("nginx_proxy", "nginx_proxy_tls_domains", ["bad domain.example"]),
    Bad("nginx_proxy", "nginx_proxy_tls_domains", ["192.0.2.1"]),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_domains",
        [],
        others={"nginx_proxy_tls_source": "acme"},
        alone=True,
    ),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_domains",
        ["*.example.com"],
        others={"nginx_proxy_tls_source": "acme"},
        alone=True,
    ),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_domains",
        ["localhost"],
        others={"nginx_proxy_tls_source": "acme"},
        alone=True,
    ),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_certificate",
        "not a certificate",
        shown='"a text of 17 characters"',
    ),
    # provided without a certificate or a key: both named
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_source",
        "provided",
        names=frozenset({"nginx_proxy_tls_certificate", "nginx_proxy_tls_key"}),
        shown=None,
        alone=True,
    ),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_certificate",
        PEM_CERT,
        others={
            "nginx_proxy_tls_source": "provided",
            "nginx_proxy_tls_certificate_src": A_FILE,
            "nginx_proxy_tls_key": PEM_KEY,
        },
        shown=None,
        alone=True,
    ),  # both the text and a file
    Bad("nginx_proxy", "nginx_proxy_tls_certificate_src", "/nonexistent/tls.crt"),
    Bad("nginx_proxy", "nginx_proxy_tls_key", "s3cr3t-key-text", secret="s3cr3t-key-text"),
    Bad(
        "nginx_proxy",
        "nginx_proxy_tls_key",
        PEM_KEY.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
        secret="MIIEvQIBADANBgkq",
    ),
    Bad("nginx_proxy", "nginx_proxy_tls_key_src", "/nonexistent/tls.key"),
    Bad("nginx_proxy", "nginx_proxy_tls_acme_server", "http://acme.example/directory"),
    Bad("nginx_proxy", "nginx_proxy_tls_acme_server", "https://acme.example/dir ectory"),
    Bad("nginx_proxy", "nginx_proxy_tls_acme_email", "ops at example.com"),
    Bad("nginx_proxy", "nginx_proxy_tls_acme_ca_bundle", "etc/ssl/ca.pem"),
    Bad("nginx_proxy", "nginx_proxy_tls_acme_ca_bundle", "/etc/ssl/my ca.pem"),
]

GOOD: list[Good] = [
    # every role's defaults
    *(Good(role, {}) for role in ROLES),
    Good(
        "python_venv",
        {
            "python_venv_path": "/home/student/.venvs/lab",
            "python_venv_owner": "student",
            "python_venv_packages": ["psycopg[binary]==3.3.9", "six==1.17.0", "idna>=3.10"],
            "python_venv_pip_index_url": "https://pypi.example.org/simple",
            "python_venv_pip_extra_index_urls": ["file:///srv/wheels"],
            "python_venv_ca_certificates": [A_FILE],
            "python_venv_extra_os_packages": ["libpq5", "curl=8.5.0-2", "gcc:amd64"],
            "python_venv_apt_lock_timeout": 0,
            "python_venv_apt_cache_valid_time": 0,
        },
    ),
    Good("flask_app", {"flask_app_releases_to_keep": 1}),
    Good(
        "flask_app",
        {
            "flask_app_releases_to_keep": 100,
            "flask_app_release": "1.0.0+local",
            "flask_app_database_url": "postgresql+psycopg://app:pw@db:5432/app",
            "flask_app_environment": {
                "INCOMES_LOG_LEVEL": "WARNING",
                "INCOMES_TITLE": "100% a title",
            },
            "flask_app_secret_environment": {"API_KEY": "x y"},
            "flask_app_data_dir": "/srv/data/incomes",
            "flask_app_sqlite_path": "/srv/data/incomes/db/incomes.db",
        },
    ),
    Good("gunicorn_service", {"gunicorn_service_timeout": 1, "gunicorn_service_port": 65535}),
    Good("gunicorn_service", {"gunicorn_service_host": "::1", "gunicorn_service_port": 1}),
    Good("gunicorn_service", {"gunicorn_service_host": "fe80::1:2"}),
    Good("gunicorn_service", {"gunicorn_service_host": "api.internal"}),
    Good(
        "gunicorn_service",
        {
            "gunicorn_service_host": "0.0.0.0",
            "gunicorn_service_workers": 1,
            "gunicorn_service_threads": 1,
            "gunicorn_service_max_requests": 50000,
            "gunicorn_service_max_requests_jitter": 5000,
            "gunicorn_service_timeout": 3600,
            "gunicorn_service_keepalive": 1,
            "gunicorn_service_backlog": 65535,
            "gunicorn_service_limit_nofile": 1024,
            "gunicorn_service_environment": {"LANG": "C.UTF-8", "GREETING": "a b"},
            "gunicorn_service_environment_file": "/etc/incomes-api/incomes-api.env",
            "gunicorn_service_read_write_paths": ["/var/lib/incomes-api"],
            "gunicorn_service_working_directory": "/var/lib/incomes-api",
            "gunicorn_service_extra_settings": {"preload_app": True, "worker_tmp_dir": "/dev/shm"},
            "gunicorn_service_reload_token": "0123456789abcdef",
            "gunicorn_service_forwarded_allow_ips": "127.0.0.1, ::1, 10.0.0.0/8",
            "gunicorn_service_user": "incomes",
        },
    ),
    Good("gunicorn_service", {"gunicorn_service_bind_unix_socket": True}),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_listen_port": 65535,
            "nginx_proxy_upstream_servers": [
                "[::1]:8000",
                "unix:/run/incomes-api/gunicorn.sock",
                "10.0.0.5:8000 max_fails=3",
                "10.0.0.6:1 backup",
                "app.internal:65535",
            ],
            "nginx_proxy_upstream_keepalive": 0,
            "nginx_proxy_client_max_body_size": "0",
            "nginx_proxy_read_timeout": "1h30m",
            "nginx_proxy_connect_timeout": "500ms",
            "nginx_proxy_server_names": ["example.com", "*.example.com", "~^www\\.example\\.com$"],
            "nginx_proxy_extra_server_directives": ["gzip on;", "location /x { return 204; }"],
            "nginx_proxy_security_headers": {"Content-Security-Policy": "default-src 'self'"},
        },
    ),
    Good("nginx_proxy", {"nginx_proxy_listen_port": 1, "nginx_proxy_apt_lock_timeout": 0}),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_tls_listen_port": 8443,
            "nginx_proxy_tls_redirect": True,
            "nginx_proxy_tls_hsts": True,
            "nginx_proxy_tls_hsts_max_age": 63072000,
            "nginx_proxy_tls_resolvers": ["192.0.2.53", "[2001:db8::53]:53", "127.0.0.1:5353"],
            "nginx_proxy_tls_session_timeout": "4h",
            "nginx_proxy_tls_session_cache_size": "512k",
            "nginx_proxy_tls_domains": ["example.com", "*.example.com", "localhost"],
        },
    ),
    Good("nginx_proxy", {"nginx_proxy_tls_source": "none", "nginx_proxy_tls_hsts_max_age": 0}),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_tls_source": "provided",
            "nginx_proxy_tls_certificate": PEM_CERT + PEM_CERT,  # a chain
            "nginx_proxy_tls_key": PEM_KEY.replace("PRIVATE KEY", "EC PRIVATE KEY"),
        },
    ),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_tls_source": "provided",
            "nginx_proxy_tls_certificate_src": A_FILE,
            "nginx_proxy_tls_key_src": A_FILE,
        },
    ),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_tls_source": "acme",
            "nginx_proxy_tls_domains": ["tickets.example.com", "www.tickets.example.com"],
            "nginx_proxy_tls_acme_server": "https://acme-staging-v02.api.letsencrypt.org/directory",
            "nginx_proxy_tls_acme_email": "ops+tls@example.com",
            "nginx_proxy_tls_acme_ca_bundle": "/usr/local/share/ca-certificates/acme.crt",
        },
    ),
    Good(
        "nginx_proxy",
        {
            "nginx_proxy_tls_source": "acme",
            "nginx_proxy_tls_domains": ["web.acme.test"],
            "nginx_proxy_tls_acme_server": "https://pebble.acme.test:14000/dir",
        },
    ),
]

# The bad value of the site.yml run: refused by gunicorn_service's check, before the roles.
SITE_BAD = {"gunicorn_service_host": "127.0.0.1; rm -rf /"}
EARLY_TASKS = {"validate", "publish"}
FAILED = "'failed': true, 'msg': ansible_failed_result.msg | default('') | string"


def batches() -> list[list[Bad]]:
    """The bad cases by host: of one role, all spec or all value cases, touching different
    variables (a case marked alone on a host of its own)."""
    hosts: list[list[Bad]] = []
    for case in BAD:
        batch = next(
            (
                b
                for b in hosts
                if not case.alone
                and not b[0].alone
                and (b[0].role, b[0].spec) == (case.role, case.spec)
                and not case.touches & {n for c in b for n in c.touches}
            ),
            None,
        )
        if batch is None:
            hosts.append([case])
        else:
            batch.append(case)
    return hosts


def good_batches() -> list[list[Good]]:
    """The good cases by host: each role's defaults alone, its edge values together where
    they set different variables."""
    hosts: list[list[Good]] = []
    for case in GOOD:
        batch = next(
            (
                b
                for b in hosts
                if case.variables
                and b[0].variables
                and b[0].role == case.role
                and not {k for c in b for k in c.variables} & case.variables.keys()
            ),
            None,
        )
        if batch is None:
            hosts.append([case])
        else:
            batch.append(case)
    return hosts


BATCHES = batches()
HOST_OF = {id(case): f"bad{i}" for i, batch in enumerate(BATCHES) for case in batch}
GOOD_BATCHES = good_batches()
GOOD_HOST_OF = {id(case): f"good{i}" for i, batch in enumerate(GOOD_BATCHES) for case in batch}


def site_early_checks() -> list[dict[str, Any]]:
    """site.yml's pre_tasks that include a role's validate or publish: its early checks."""
    plays = yaml.safe_load((REPO / "site.yml").read_text())
    play = next(p for p in plays if "roles" in p)
    tasks = []
    for task in play.get("pre_tasks") or []:
        include = task.get("ansible.builtin.include_role")
        if include and include.get("tasks_from") in EARLY_TASKS:
            tasks.append(task)
    return tasks


def inventory() -> dict[str, Any]:
    """A host per batch of bad or good cases, each a name for this machine
    (connection local), its variables the cases'; group web, for site.yml's checks, holds the
    lab's values (inventories/group_vars/web/main.yml)."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    cases: dict[str, Any] = {}
    for i, batch in enumerate(BATCHES):
        variables = dict(REQUIRED[batch[0].role])
        for case in batch:
            variables.update(case.others, **{case.name: case.value})
        cases[f"bad{i}"] = {**local, "role_values_role": batch[0].role, **variables}
    for i, goods in enumerate(GOOD_BATCHES):
        variables = dict(REQUIRED[goods[0].role])
        for good in goods:
            variables.update(good.variables)
        cases[f"good{i}"] = {**local, "role_values_role": goods[0].role, **variables}
    lab = yaml.safe_load((REPO / "inventories" / "group_vars" / "web" / "main.yml").read_text())
    return {
        "all": {
            "children": {
                "cases": {"hosts": cases},
                "web": {
                    "hosts": {"site_good": local, "site_bad": {**local, **SITE_BAD}},
                    "vars": lab,
                },
            }
        }
    }


def _keep(fields: str) -> dict[str, Any]:
    return {
        "name": "Keep the result",
        "ansible.builtin.set_fact": {"role_values": "{{ {" + fields + "} }}"},
    }


def playbook(out: Path) -> list[dict[str, Any]]:
    early = site_early_checks()
    # Only what changes nothing may run here.
    assert all(t["ansible.builtin.include_role"]["tasks_from"] in EARLY_TASKS for t in early)
    listen = (
        "'failed': false, 'listen': gunicorn_service_listen,"
        " 'upstream': nginx_proxy_upstream_servers"
    )
    return [
        {
            "name": "Each host: its role's validate entry point",
            "hosts": "cases",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Check the values",
                    "block": [
                        {
                            "name": "Validate",
                            "ansible.builtin.include_role": {
                                "name": "{{ role_values_role }}",
                                "tasks_from": "validate",
                            },
                        },
                        _keep("'failed': false"),
                    ],
                    "rescue": [_keep(FAILED)],
                }
            ],
        },
        {
            "name": "site.yml's early checks, with the lab's values",
            "hosts": "web",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Check as site.yml does",
                    "block": [*early, _keep(listen)],
                    "rescue": [_keep(FAILED)],
                }
            ],
        },
        {
            "name": "Keep the results",
            "hosts": "site_good",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Write them",
                    "ansible.builtin.copy": {
                        "content": (
                            "{{ dict(groups['all'] | zip(groups['all']"
                            " | map('extract', hostvars, 'role_values'))) | to_json }}"
                        ),
                        "dest": str(out),
                        "mode": "0600",
                    },
                }
            ],
        },
    ]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("role_values")
    out = tmp / "results.json"
    (tmp / "play.yml").write_text(yaml.safe_dump(playbook(out), sort_keys=False))
    (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory(), sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="0",
        ANSIBLE_DISPLAY_OK_HOSTS="0",
    )
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.yml", "play.yml"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    found: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return found


def _id(case: Bad | Good) -> str:
    if isinstance(case, Bad):
        return f"{case.name}={case.value!r}"[:80]
    return f"{case.role}:{','.join(case.variables) or 'defaults'}"[:80]


NAMED = re.compile(r"\b([a-z][a-z0-9_]*) must be ")


@pytest.mark.parametrize("index", range(len(BAD)), ids=[_id(c) for c in BAD])
def test_a_bad_value_fails_naming_its_variable(
    results: dict[str, dict[str, Any]], index: int
) -> None:
    case = BAD[index]
    result = results[HOST_OF[id(case)]]
    assert result["failed"], f"{case.role} accepted {case.name}={case.value!r}"
    msg: str = result["msg"]
    for name in case.expected_names:
        assert name in msg, msg
    if case.spec:
        # the argument spec's types and choices, run by the validate entry point
        assert msg.startswith("Validation of arguments failed"), msg
    else:
        assert msg.endswith(DONE), msg
    if case.expected_shown is not None:
        assert case.expected_shown in msg, msg
    if case.secret is not None:
        assert case.secret not in msg, msg
        assert "secret" in msg, msg


@pytest.mark.parametrize("index", range(len(BATCHES)), ids=[f"bad{i}" for i in range(len(BATCHES))])
def test_a_message_names_exactly_the_wrong_variables(
    results: dict[str, dict[str, Any]], index: int
) -> None:
    batch = BATCHES[index]
    msg: str = results[f"bad{index}"]["msg"]
    if batch[0].spec:
        # the spec names every wrong type at once
        assert all(f"'{case.name}'" in msg or f" {case.name} " in msg for case in batch), msg
    else:
        # no catch-all: a variable is named when it is wrong, and only then
        assert set(NAMED.findall(msg)) == {n for case in batch for n in case.expected_names}, msg


@pytest.mark.parametrize("index", range(len(GOOD)), ids=[_id(c) for c in GOOD])
def test_a_good_value_passes(results: dict[str, dict[str, Any]], index: int) -> None:
    result = results[GOOD_HOST_OF[id(GOOD[index])]]
    assert not result["failed"], result.get("msg")


def test_the_cases_cover_every_role_and_the_values_found_by_hand() -> None:
    assert {case.role for case in BAD} == set(ROLES)
    assert {case.role for case in BAD if case.spec} == set(ROLES)
    tried = [(case.name, case.value) for case in BAD]
    for found in [
        ("gunicorn_service_host", "127.0.0.1; rm -rf /"),
        ("gunicorn_service_timeout", -5),
        ("flask_app_releases_to_keep", 0),
    ]:
        assert found in tried


def test_site_checks_the_lab_values_with_what_the_roles_hand_on(
    results: dict[str, dict[str, Any]],
) -> None:
    good = results["site_good"]
    assert not good["failed"], good.get("msg")
    # gunicorn_service's published address reached nginx_proxy's check
    assert good["listen"] == "127.0.0.1:8000"
    assert good["upstream"] == ["127.0.0.1:8000"]


def test_site_refuses_a_bad_host_before_any_role_runs(results: dict[str, dict[str, Any]]) -> None:
    bad = results["site_bad"]
    assert bad["failed"]
    assert "gunicorn_service_host" in bad["msg"], bad["msg"]
    assert bad["msg"].endswith(DONE), bad["msg"]
    # refused by gunicorn_service's check (flask_app's passed), in the early checks
    assert bad["msg"].startswith("gunicorn_service: "), bad["msg"]


def test_site_checks_every_role_first() -> None:
    plays = yaml.safe_load((REPO / "site.yml").read_text())
    play = next(p for p in plays if "roles" in p)
    roles = [r["role"] if isinstance(r, dict) else r for r in play["roles"]]
    pre_tasks = play.get("pre_tasks") or []
    early = site_early_checks()
    # the early checks come first, before any other pre_task (cloud-init's wait)
    assert pre_tasks[: len(early)] == early
    checked = [
        t["ansible.builtin.include_role"]["name"]
        for t in early
        if t["ansible.builtin.include_role"]["tasks_from"] == "validate"
    ]
    assert checked == roles
    for task in early:
        assert "always" in task.get("tags", []), task["name"]


@pytest.mark.parametrize("role", [*ROLES, "ec2_provision"])
def test_each_role_checks_its_values_first(role: str) -> None:
    tasks = yaml.safe_load((REPO / "roles" / role / "tasks" / "main.yml").read_text())
    first = tasks[0]
    assert first.get("ansible.builtin.import_tasks") == "validate.yml", first
    assert {role, "always"} <= set(first.get("tags", [])), first


@pytest.mark.parametrize("role", ROLES)
def test_the_validate_entry_point_has_the_options_of_main(role: str) -> None:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    entry_points = specs["argument_specs"]
    assert entry_points["validate"]["options"] == entry_points["main"]["options"]


def test_flask_app_checks_the_venv_values_python_venv_gets() -> None:
    role = REPO / "roles" / "flask_app" / "tasks"
    checks = yaml.safe_load((role / "validate.yml").read_text())
    venv = yaml.safe_load((role / "main.yml").read_text())
    included = [t for t in checks if "ansible.builtin.include_role" in t]
    assert [t["ansible.builtin.include_role"] for t in included] == [
        {"name": "python_venv", "tasks_from": "validate"}
    ]
    built = next(
        t for t in venv if t.get("ansible.builtin.include_role", {}).get("name") == "python_venv"
    )
    # the same values as the deploy passes
    assert included[0]["vars"] == built["vars"]
