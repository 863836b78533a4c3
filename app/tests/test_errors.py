"""Every error is JSON: 404, 405, 413, 500, 503 (database down)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from conftest import free_port
from incomes_api import __version__, create_app
from incomes_api.config import Settings
from incomes_api.state import get_state


def assert_json_error(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert b"<html" not in response.data.lower()
    assert b"Traceback" not in response.data
    body: dict[str, Any] = response.get_json()
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


def test_404_is_json(client: FlaskClient) -> None:
    body = assert_json_error(client.get("/no/such/thing"), 404)
    assert "/no/such/thing" in body["error"]


def test_405_is_json_with_allow(client: FlaskClient) -> None:
    for method, path in (
        ("put", "/incomes"),
        ("delete", "/incomes"),
        ("post", "/incomes/1"),
        ("post", "/healthz"),
    ):
        response = getattr(client, method)(path)
        body = assert_json_error(response, 405)
        assert method.upper() in body["error"]
        assert "GET" in response.headers["Allow"]


def test_413_is_json(client: FlaskClient) -> None:
    assert_json_error(
        client.post("/incomes", data=b"x" * 70000, content_type="application/json"), 413
    )


def test_500_is_json_without_traceback(make_app: Callable[..., Flask]) -> None:
    app = make_app()

    @app.get("/boom")
    def boom() -> str:  # registered only in this test app
        raise RuntimeError("secret internals")

    body = assert_json_error(app.test_client().get("/boom"), 500)
    assert "secret" not in body["error"]


def test_database_failure_mid_request_is_json_503(client: FlaskClient, backend: str) -> None:
    db = get_state(client.application).db
    table = "incomes"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO incomes_gone")
    try:
        response = client.get("/incomes")
        assert response.status_code in (500, 503)
        assert_json_error(response, response.status_code)
        assert client.get("/healthz").status_code == 503
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE incomes_gone RENAME TO incomes")
    assert client.get("/healthz").status_code == 200


def _unreachable_settings(kind: str, tmp_path: Path) -> Settings:
    if kind == "sqlite":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        return Settings.from_env({"INCOMES_DB_PATH": str(blocker / "sub" / "incomes.db")})
    port = free_port()  # nothing listens there: a stopped server
    return Settings.from_env({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_database_gives_503_healthz_and_json_errors(kind: str, tmp_path: Path) -> None:
    app = create_app(_unreachable_settings(kind, tmp_path))  # starts anyway
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable"
    assert health.get_json()["version"] == __version__
    assert "error" in health.get_json()
    assert_json_error(client.get("/incomes"), 503)
    assert_json_error(client.post("/incomes", json={"amount": 1, "description": "x"}), 503)


def test_healthz_recovers_when_database_appears(tmp_path: Path) -> None:
    target = tmp_path / "late" / "incomes.db"
    blocker = tmp_path / "late"
    blocker.write_text("in the way")
    app = create_app(Settings.from_env({"INCOMES_DB_PATH": str(target)}))
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    blocker.unlink()
    assert client.get("/healthz").status_code == 200
    assert [i["description"] for i in client.get("/incomes").get_json()] == ["salary"]


def test_free_port_helper_is_closed() -> None:
    port = free_port()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
