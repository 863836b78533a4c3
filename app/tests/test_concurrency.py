"""Several OS processes at once: nothing lost, no 'database is locked', one seed row."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from conftest import row_count
from incomes_api.state import get_state

PROCESSES = 4
POSTS_PER_PROCESS = 40


def _poster(env: dict[str, str], barrier: Any, worker: int, queue: Any) -> None:
    from incomes_api import create_app
    from incomes_api.config import Settings

    try:
        app = create_app(Settings.from_env(env))
        client = app.test_client()
        barrier.wait(timeout=60)
        results = []
        for n in range(POSTS_PER_PROCESS):
            response = client.post(
                "/incomes", json={"description": f"w{worker}-{n}", "amount": 1.25}
            )
            results.append((response.status_code, response.headers.get("Location"), response.data))
        queue.put(("ok", results))
    except BaseException as exc:  # noqa: BLE001 - report instead of dying silently
        queue.put(("error", repr(exc)))


def _starter(env: dict[str, str], barrier: Any, queue: Any) -> None:
    from incomes_api import create_app
    from incomes_api.config import Settings

    try:
        barrier.wait(timeout=60)
        app = create_app(Settings.from_env(env))
        response = app.test_client().get("/incomes")
        queue.put(("ok", response.status_code))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))


def test_concurrent_posts_from_several_processes_lose_nothing(
    db_env: dict[str, str], app: Flask
) -> None:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_poster, args=(db_env, barrier, w, queue)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [o for o in outcomes if o[0] != "ok"]
    assert not errors, errors
    responses = [r for _, results in outcomes for r in results]
    bad = [r for r in responses if r[0] != 204]
    assert not bad, bad[:3]
    assert all(b"locked" not in r[2] for r in responses)
    locations = [r[1] for r in responses]
    assert len(set(locations)) == PROCESSES * POSTS_PER_PROCESS
    assert row_count(app) == 1 + PROCESSES * POSTS_PER_PROCESS
    items, _ = get_state(app).db.list_incomes(1000)
    described = {i.description for i in items}
    assert {f"w{w}-{n}" for w in range(PROCESSES) for n in range(POSTS_PER_PROCESS)} <= described


def test_concurrent_cold_start_seeds_exactly_one_row(db_env: dict[str, str]) -> None:
    count = 6
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(count)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_starter, args=(db_env, barrier, queue)) for _ in range(count)]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcomes == [("ok", 200)] * count, outcomes

    from incomes_api import create_app
    from incomes_api.config import Settings

    app = create_app(Settings.from_env(db_env))
    items = app.test_client().get("/incomes").get_json()
    assert [(i["description"], i["amount"]) for i in items] == [("salary", 12.2)]


def _hold_schema_lock(db_env: dict[str, str]) -> Callable[[], None]:
    """Take the lock ensure_schema() needs, from outside, and return a release function."""
    if "DATABASE_URL" in db_env:
        import psycopg

        from incomes_api.db import _PG_SCHEMA_LOCK_KEY

        conn = psycopg.connect(db_env["DATABASE_URL"], autocommit=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (_PG_SCHEMA_LOCK_KEY,))

        def release() -> None:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SCHEMA_LOCK_KEY,))
            conn.close()

        return release
    # Held by a separate process: an SQLite connection open in this process would be
    # inherited by the forked workers, which SQLite does not support.
    import subprocess
    import sys
    from pathlib import Path

    path = Path(db_env["INCOMES_DB_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    script = (
        "import sqlite3, sys\n"
        "raw = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "raw.execute('PRAGMA journal_mode=WAL')\n"
        "raw.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "raw.execute('COMMIT')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"

    def release_sqlite() -> None:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0

    return release_sqlite


def test_workers_lined_up_behind_the_schema_lock_seed_once(db_env: dict[str, str]) -> None:
    """All workers reach schema creation while the lock is held, then race for it."""
    count = 5
    release = _hold_schema_lock(db_env)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(count)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_starter, args=(db_env, barrier, queue)) for _ in range(count)]
    try:
        for p in procs:
            p.start()
        time.sleep(1.5)  # every process is now waiting on the lock
    finally:
        release()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcomes == [("ok", 200)] * count, outcomes

    from incomes_api import create_app
    from incomes_api.config import Settings

    app = create_app(Settings.from_env(db_env))
    items = app.test_client().get("/incomes").get_json()
    assert [(i["description"], i["amount"]) for i in items] == [("salary", 12.2)]
