"""Several OS processes at once: nothing lost, no 'database is locked', one seed row."""

from __future__ import annotations

import multiprocessing as mp
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
    except BaseException as exc:  # report instead of dying silently
        queue.put(("error", repr(exc)))


def _starter(env: dict[str, str], barrier: Any, queue: Any) -> None:
    from incomes_api import create_app
    from incomes_api.config import Settings

    try:
        barrier.wait(timeout=60)
        app = create_app(Settings.from_env(env))
        response = app.test_client().get("/incomes")
        queue.put(("ok", response.status_code))
    except BaseException as exc:
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
