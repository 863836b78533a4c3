"""Shared fixtures: real SQLite files and a real, throwaway PostgreSQL server.

PostgreSQL: if INCOMES_TEST_DATABASE_URL is set, that server is used (its database is
wiped between tests!). Otherwise the session starts its own server with initdb/pg_ctl from
Debian's postgresql package (/usr/lib/postgresql/*/bin) or PATH, on a free loopback port,
as the unprivileged ``postgres`` (or ``nobody``) user when running as root. When no server
binaries exist, the PostgreSQL variants are skipped with the reason shown by ``-ra``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

from incomes_api import create_app
from incomes_api.config import Settings
from incomes_api.state import get_state

APP_DIR = Path(__file__).resolve().parent.parent

# Property-based tests (test_documents, test_openapi_fuzz) draw the same cases on every run and
# every host, CI included (Hypothesis' own "ci" profile would otherwise apply there only):
# derandomized, no example database, no deadline (the host is shared: time says nothing).
hypothesis_settings.register_profile("incomes-api", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile("incomes-api")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    url: str | None
    skip_reason: str | None = None


def _find_pg_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _unprivileged_user() -> str | None:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get("INCOMES_TEST_DATABASE_URL")
    if external:
        yield PgServer(url=external)
        return
    bindir = _find_pg_bindir()
    if bindir is None:
        yield PgServer(
            url=None,
            skip_reason="no PostgreSQL server binaries found (apt-get install postgresql, "
            "or set INCOMES_TEST_DATABASE_URL)",
        )
        return
    prefix: list[str] = []
    owner: str | None = None
    if os.geteuid() == 0:
        owner = _unprivileged_user()
        if owner is None or shutil.which("runuser") is None:
            yield PgServer(url=None, skip_reason="running as root without a postgres/nobody user")
            return
        prefix = ["runuser", "-u", owner, "--"]
    base = Path(tempfile.mkdtemp(prefix="incomes-pg-"))
    data, sockets, logfile = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if owner is not None:
        entry = pwd.getpwnam(owner)
        for path in (base, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args],
            env=env,
            cwd=str(base),
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = False
    try:
        result = run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            yield PgServer(url=None, skip_reason=f"initdb failed: {result.stderr.strip()[:300]}")
            return
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        result = run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode != 0:
            log_text = logfile.read_text() if logfile.exists() else ""
            yield PgServer(
                url=None,
                skip_reason=f"pg_ctl start failed: {result.stderr.strip()[:200]} {log_text[-300:]}",
            )
            return
        started = True
        yield PgServer(url=f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("DROP TABLE IF EXISTS incomes, incomes_meta CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment variables naming a fresh, empty database of ``backend``."""
    if backend == "sqlite":
        return {"INCOMES_DB_PATH": str(tmp_path / "db" / "incomes.db")}
    server: PgServer = request.getfixturevalue("pg_server")
    if server.url is None:
        pytest.skip(f"PostgreSQL tests skipped: {server.skip_reason}")
    reset_postgres(server.url)
    return {"DATABASE_URL": server.url}


@pytest.fixture
def settings(db_env: dict[str, str]) -> Settings:
    return Settings.from_env(db_env)


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Factory for apps on the test database; every app's engine is disposed at the end."""
    apps: list[Flask] = []

    def factory(custom: Settings | None = None) -> Flask:
        app = create_app(custom or settings)
        app.testing = False  # keep production error handling (JSON 500s, no propagation)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_state(app).db.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def row_count(app: Flask) -> int:
    return get_state(app).db.count()


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
