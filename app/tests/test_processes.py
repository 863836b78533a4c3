"""Real processes: gunicorn with 3 workers, kill -9 of gunicorn under load, incomes-api."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import free_port, wait_for_port

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable}")
    return str(path)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCOMES_", "DATABASE_URL"))}
    env.update(extra)
    return env


def _request(
    port: int, method: str, path: str, body: object | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture
def gunicorn_server(
    db_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            _tool("gunicorn"),
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "incomes_api.wsgi:app",
        ],
        env=_env(db_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 20
        while _request(port, "GET", "/healthz")[0] != 200:
            assert time.monotonic() < deadline, "gunicorn never became healthy"
            time.sleep(0.1)
        yield port, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_gunicorn_three_workers_share_one_database(
    gunicorn_server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _proc = gunicorn_server
    status, headers, body = _request(
        port, "POST", "/incomes", {"amount": 2024, "description": "teste"}
    )
    assert status == 204
    assert body == b""
    location = headers["Location"]
    assert location.startswith(f"http://127.0.0.1:{port}/incomes/")
    path = location.split(str(port), 1)[1]
    # Fresh connections land on different workers; every one must see the new row.
    for _ in range(30):
        status, _, body = _request(port, "GET", "/incomes")
        assert status == 200
        assert "teste" in [i["description"] for i in json.loads(body)]
        assert _request(port, "GET", path)[0] == 200

    # Concurrent POSTs through gunicorn: none fails, none is lost.
    failures: list[object] = []

    def burst(k: int) -> None:
        for n in range(15):
            got = _request(port, "POST", "/incomes", {"amount": 0.5, "description": f"t{k}-{n}"})
            if got[0] != 204:
                failures.append(got)

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    status, _, body = _request(port, "GET", "/incomes?limit=1000")
    assert len(json.loads(body)) == 1 + 1 + 6 * 15
    status, headers, body = _request(port, "GET", "/nope")
    assert status == 404
    assert headers["Content-Type"] == "application/json"


def test_gunicorn_exits_with_one_line_error_on_bad_config(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [
            _tool("gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "incomes_api.wsgi:app",
        ],
        env=_env({"DATABASE_URL": "mysql://nope/db"}),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "incomes-api: configuration error: DATABASE_URL scheme 'mysql'" in result.stderr


def test_init_db_command_is_idempotent(db_env: dict[str, str], tmp_path: Path) -> None:
    tool = _tool("incomes-api")

    def init_db() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool, "init-db"],
            env=_env(db_env),
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    first = init_db()
    assert first.returncode == 0, first.stderr
    assert "seed row inserted" in first.stdout
    second = init_db()
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stdout

    from incomes_api import create_app
    from incomes_api.config import Settings

    app = create_app(Settings.from_env(db_env))
    assert [i["description"] for i in app.test_client().get("/incomes").get_json()] == ["salary"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_init_db_unreachable_is_one_line_nonzero(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        (tmp_path / "file").write_text("x")
        env = {"INCOMES_DB_PATH": str(tmp_path / "file" / "incomes.db")}
    else:
        env = {"DATABASE_URL": f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/x"}
    result = subprocess.run(
        [_tool("incomes-api"), "init-db"],
        env=_env(env),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("incomes-api: error: cannot initialise database")
    assert "hunter2" not in result.stderr


def test_init_db_bad_config_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [_tool("incomes-api"), "init-db"],
        env=_env({"INCOMES_MAX_BODY_BYTES": "big"}),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "incomes-api: configuration error: INCOMES_MAX_BODY_BYTES must be an integer, got 'big'"
    )


# --- kill -9 of the whole Gunicorn process group under a POST load ---------------------------
#
# Property (README "Durability"): a 204 is sent only after the transaction holding the row has
# committed, so after SIGKILL of the master and all workers at once every acknowledged POST is
# in the file and the file is intact, with synchronous=full and with normal (kill -9 is not a
# power loss: a committed WAL frame without fsync is in the page cache, which survives it).
#
# Why this fails if a 204 ever went out before its COMMIT: SIGKILL ends the process holding
# the open transaction, the first connection afterwards rolls it back (its WAL frames have no
# commit record), and the acknowledged id is missing (or holds another row) -> `missing` is
# not empty. The kill is sent by the client thread the moment it has read the status line of
# the ack that crossed the threshold, so it lands right after an ack leaves the server.
# Checked by breaking sqlite_store.insert_batch in a scratch copy (not committed):
# * COMMIT deferred to the start of the next batch (the transaction stays open after the
#   204): failed in 18 of 20 case runs (each of 5 runs of the four cases failed).
# * COMMIT run in a second thread while the 204 is sent (the window is one commit, i.e. one
#   fsync with `full`): failed in 2 of 20 case runs. A race that narrow is caught only now
#   and then by a crash test; no timing is asserted, so the test never fails spuriously:
#   the only claims are acked <= stored, intact file, no phantom or duplicate rows.

_CRASH_CLIENTS = 8
_CRASH_ACKS = 200  # kill once this many 204s were read ...
_CRASH_MAX_LOAD_S = 1.5  # ... or after this long, whichever comes first
_CRASH_IO_TIMEOUT_S = 10.0


def _group_alive(pgid: int) -> list[int]:
    """Pids of processes of group ``pgid`` that are not zombies yet (Linux /proc)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            alive.append(int(entry))
    return alive


@pytest.mark.parametrize("synchronous", ["full", "normal"])
@pytest.mark.parametrize(
    "workers",
    [
        ["--worker-class", "gthread", "--workers", "2", "--threads", "4"],
        ["--worker-class", "sync", "--workers", "2"],
    ],
    ids=["gthread-2x4", "sync-2"],
)
def test_kill_9_of_gunicorn_under_post_load_loses_no_acknowledged_post(
    synchronous: str, workers: list[str], tmp_path: Path
) -> None:
    db_path = tmp_path / "db" / "incomes.db"
    env = _env({"INCOMES_DB_PATH": str(db_path), "INCOMES_SQLITE_SYNCHRONOUS": synchronous})
    # No init-db: the workers create the fresh file's schema at start (as the fixture above).
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                _tool("gunicorn"),
                *workers,
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
                "incomes_api.wsgi:app",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    pgid = proc.pid  # start_new_session: the master leads a new group; the workers join it
    killed = threading.Event()
    kill_lock = threading.Lock()

    def kill_group() -> None:
        with kill_lock:
            if not killed.is_set():
                killed.set()  # before the signal: any error seen while unset is a real failure
                with contextlib.suppress(ProcessLookupError):  # already gone
                    os.killpg(pgid, signal.SIGKILL)

    lock = threading.Lock()
    acked: dict[int, str] = {}  # id from Location -> description, for every 204
    unacked: set[str] = set()  # descriptions whose request saw no response
    unexpected: list[object] = []  # non-204 responses, errors before the kill

    def client(k: int) -> None:
        n = 0
        while not killed.is_set():
            description = f"crash-{k}-{n}"
            n += 1
            body = json.dumps({"amount": 12.34, "description": description}).encode()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_CRASH_IO_TIMEOUT_S)
            try:
                conn.request(
                    "POST",
                    "/incomes",
                    body=body,
                    headers={"Content-Type": "application/json", "Connection": "close"},
                )
                response = conn.getresponse()
                status, location = response.status, response.getheader("Location", "")
                if status == 204 and len(acked) + 1 >= _CRASH_ACKS:
                    kill_group()  # at once, from the thread that has just read the ack
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    unacked.add(description)
                    if not killed.is_set():
                        unexpected.append(f"{description}: {exc!r} before the kill")
                return  # one request per client may be in flight at the kill; stop here
            finally:
                conn.close()
            with lock:
                if status != 204:
                    unexpected.append((description, status))
                    return
                acked[int(location.rsplit("/", 1)[1])] = description

    threads: list[threading.Thread] = []
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 20
        while _request(port, "GET", "/healthz")[0] != 200:
            assert time.monotonic() < deadline, "gunicorn never became healthy"
            time.sleep(0.05)
        threads = [
            threading.Thread(target=client, args=(k,), daemon=True) for k in range(_CRASH_CLIENTS)
        ]
        for t in threads:
            t.start()
        killed.wait(_CRASH_MAX_LOAD_S)
        kill_group()
        for t in threads:
            t.join(_CRASH_IO_TIMEOUT_S + 5)
        assert not any(t.is_alive() for t in threads), "a client did not notice the kill"
    finally:
        kill_group()
        proc.wait(timeout=15)
        deadline = time.monotonic() + 15
        while _group_alive(pgid):  # workers are reparented; wait until none runs any more
            assert time.monotonic() < deadline, f"still running after SIGKILL: {_group_alive(pgid)}"
            time.sleep(0.02)

    assert proc.returncode == -signal.SIGKILL
    assert unexpected == [], log_path.read_text()[-2000:]
    assert acked, "no POST was acknowledged before the kill"
    # A fresh connection recovers the WAL exactly like the next start of the service would.
    conn = sqlite3.connect(str(db_path), timeout=10)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute(
            "SELECT id, description, amount FROM incomes WHERE description LIKE 'crash-%'"
        ).fetchall()
        (seed,) = conn.execute(
            "SELECT count(*) FROM incomes WHERE description NOT LIKE 'crash-%'"
        ).fetchone()
    finally:
        conn.close()
    stored = {i: d for i, d, _ in rows}
    missing = {i: d for i, d in acked.items() if stored.get(i) != d}
    assert missing == {}, (
        f"{len(missing)} of {len(acked)} acknowledged POSTs not stored: {sorted(missing)[:10]}"
    )
    assert len(stored) >= len(acked)
    # Rows beyond the acknowledged ones can only be requests that were in flight at the kill
    # (at most one per client); no POST is stored twice, and nothing else was touched.
    assert len(set(stored.values())) == len(stored)
    extra = {d for i, d in stored.items() if i not in acked}
    assert extra <= unacked, (extra, unacked)
    assert {a for _, _, a in rows} == {1234}  # integer cents
    assert seed == 1  # the seed row, once
