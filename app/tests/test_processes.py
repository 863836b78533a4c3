"""Real processes: gunicorn with 3 workers, and the incomes-api command."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
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


def _request(port: int, method: str, path: str, body: object | None = None) -> tuple[int, dict[str, str], bytes]:
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
def gunicorn_server(db_env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [_tool("gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "5", "incomes_api.wsgi:app"],
        env=_env(db_env), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
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


def test_gunicorn_three_workers_share_one_database(gunicorn_server) -> None:  # type: ignore[no-untyped-def]
    port, _proc = gunicorn_server
    status, headers, body = _request(port, "POST", "/incomes", {"amount": 2024, "description": "teste"})
    assert status == 204 and body == b""
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
    assert status == 404 and headers["Content-Type"] == "application/json"


def test_gunicorn_exits_with_one_line_error_on_bad_config(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [_tool("gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "incomes_api.wsgi:app"],
        env=_env({"DATABASE_URL": "mysql://nope/db"}), check=False, capture_output=True, text=True,
        timeout=60, cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "incomes-api: configuration error: DATABASE_URL scheme 'mysql'" in result.stderr


def test_init_db_command_is_idempotent(db_env: dict[str, str], tmp_path: Path) -> None:
    tool = _tool("incomes-api")
    first = subprocess.run([tool, "init-db"], env=_env(db_env), check=False, capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "seed row inserted" in first.stdout
    second = subprocess.run([tool, "init-db"], env=_env(db_env), check=False, capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
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
    result = subprocess.run([_tool("incomes-api"), "init-db"], env=_env(env), check=False, capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("incomes-api: error: cannot initialise database")
    assert "hunter2" not in result.stderr


def test_init_db_bad_config_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([_tool("incomes-api"), "init-db"],
                            env=_env({"INCOMES_MAX_BODY_BYTES": "big"}), check=False, capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "incomes-api: configuration error: INCOMES_MAX_BODY_BYTES must be an integer, got 'big'"
    )
