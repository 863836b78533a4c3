"""A full disk under SQLite: POST answers 503 JSON and stores nothing, reads keep working, and
writes resume by themselves once space returns (issue 8, "Faults").

A really full filesystem needs root (a small tmpfs mounted for the test): the default
scenario's Molecule verify does that on the hosts (molecule/default/verify_faults.yml). Here
SQLite's own limit drives the same code path: ``PRAGMA max_page_count`` set to the current
size on the writer connection makes the next write that needs a new page fail with
SQLITE_FULL ("database or disk is full"), the same result code SQLite returns when the OS
answers ENOSPC while the WAL or the database file grows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from flask import Flask

from incomes_api import create_app
from incomes_api.config import Settings
from incomes_api.state import get_state

_DESCRIPTION = "x" * 250  # about 16 rows per 4 KiB page: a new page is needed within a few POSTs
_MAX_POSTS = 200


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(Settings.from_env({"INCOMES_DB_PATH": str(tmp_path / "db" / "incomes.db")}))
    app.testing = False  # production error handling
    yield app
    get_state(app).db.dispose()


def _writer(app: Flask) -> sqlite3.Connection:
    store = get_state(app).db.store
    assert store is not None
    return store._writer_conn()


class Posted(NamedTuple):
    status: int
    seconds: float
    body: Any
    mimetype: str | None
    location: str


def _post(app: Flask, description: str) -> Posted:
    start = time.monotonic()
    response = app.test_client().post("/incomes", json={"description": description, "amount": 3.25})
    seconds = time.monotonic() - start
    body = response.get_json(silent=True) if response.data else None
    return Posted(
        response.status_code, seconds, body, response.mimetype, response.headers.get("Location", "")
    )


def _stored(app: Flask) -> list[str]:
    response = app.test_client().get("/incomes?limit=1000")
    assert response.status_code == 200
    return [row["description"] for row in response.get_json()]


def test_full_database_gives_json_503_reads_work_and_writes_resume(sqlite_app: Flask) -> None:
    app = sqlite_app
    writer = _writer(app)
    (pages,) = writer.execute("PRAGMA page_count").fetchone()
    writer.execute(f"PRAGMA max_page_count = {int(pages)}")  # "the disk" is full now

    # Rows fit while the last page has room; the first POST that needs a page is refused.
    accepted: list[str] = []
    refused: Posted | None = None
    for n in range(_MAX_POSTS):
        description = f"{n:03d}{_DESCRIPTION}"
        result = _post(app, description)
        if result.status != 204:
            refused = result
            break
        accepted.append(description)
    assert refused is not None, f"{_MAX_POSTS} POSTs fitted: the limit was not reached"
    assert refused.status == 503, refused
    assert refused.mimetype == "application/json"
    assert refused.body == {"error": "database unavailable, try again later", "status": 503}
    assert refused.location == ""
    assert refused.seconds < 5, f"the refusal took {refused.seconds:.1f} s"

    # Refused again and again, promptly, each one stored nowhere.
    assert _writer(app) is writer  # the refusal kept the writer (and its limit)
    for k in range(3):
        again = _post(app, f"r{k:02d}{_DESCRIPTION}")  # as long: it needs a new page too
        assert again.status == 503, again
        assert again.body == refused.body
        assert again.seconds < 5, again

    # Reads keep working and show exactly the rows acknowledged before.
    assert _stored(app) == ["salary", *accepted]
    client = app.test_client()
    assert client.get("/incomes/1").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200  # reads work: a load balancer should keep the node
    assert health.get_json()["status"] == "ok"

    # Space returns (the same writer connection: nothing was reopened or restarted).
    assert _writer(app) is writer
    writer.execute("PRAGMA max_page_count = 1073741823")
    after = _post(app, "after space returned")
    assert after.status == 204, after
    assert after.location.endswith(f"/incomes/{len(accepted) + 2}")
    assert _stored(app) == ["salary", *accepted, "after space returned"]
