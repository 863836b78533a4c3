"""Group commit: concurrent POSTs share transactions, fail together, never hang, survive forks."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from conftest import row_count
from incomes_api import create_app
from incomes_api.config import Settings
from incomes_api.db import Database
from incomes_api.group_commit import BatchFailed, CommitTimeout, GroupCommitter
from incomes_api.state import get_state


@pytest.fixture
def make_sqlite_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """SQLite-only apps (group commit is SQLite's; PostgreSQL groups commits in the server)."""
    apps: list[Flask] = []

    def factory(**env: str) -> Flask:
        app = create_app(
            Settings.from_env({"INCOMES_DB_PATH": str(tmp_path / "db" / "incomes.db"), **env})
        )
        app.testing = False
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_state(app).db.dispose()


@pytest.fixture
def sqlite_app(make_sqlite_app: Callable[..., Flask]) -> Flask:
    return make_sqlite_app()


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.005)


def _post(app: Flask, description: str, amount: float = 1.5) -> tuple[int, str, Any]:
    response = app.test_client().post(
        "/incomes", json={"description": description, "amount": amount}
    )
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_json(silent=True),
    )


@contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Hold SQLite's write lock from another connection (as another worker would)."""
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("COMMIT")
        holder.close()


def _committer(app: Flask) -> GroupCommitter[Any, int]:
    committer = get_state(app).db.committer
    assert committer is not None
    return committer


def _start_queued_posts(
    app: Flask, descriptions: Sequence[str]
) -> tuple[list[threading.Thread], dict[str, tuple[int, str, Any]]]:
    """While the write lock is held: one POST leads (and waits for the lock), the rest queue."""
    results: dict[str, tuple[int, str, Any]] = {}
    committer = _committer(app)

    def run(description: str) -> None:
        results[description] = _post(app, description)

    threads = [threading.Thread(target=run, args=(d,)) for d in descriptions]
    threads[0].start()
    _wait_until(lambda: committer.leading, "the first POST leads a batch")
    for t in threads[1:]:
        t.start()
    _wait_until(lambda: committer.queued == len(descriptions) - 1, "the other POSTs are queued")
    return threads, results


def test_concurrent_posts_from_many_threads_are_stored_exactly_once(app: Flask) -> None:
    threads_count, per_thread = 12, 15
    results: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)

    def run(k: int) -> None:
        barrier.wait(timeout=30)
        for n in range(per_thread):
            description = f"t{k}-{n}"
            status, location, _ = _post(app, description)
            with lock:
                results.append((description, status, location))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == threads_count * per_thread
    assert [r for r in results if r[1] != 204] == []
    locations = [r[2] for r in results]
    assert len(set(locations)) == len(locations)
    client = app.test_client()
    for description, _, location in results:  # each Location names the row that was posted
        item = client.get(urlsplit(location).path).get_json()
        assert item["description"] == description
    assert row_count(app) == 1 + threads_count * per_thread


def test_queued_posts_share_one_transaction(sqlite_app: Flask) -> None:
    app = sqlite_app
    committer = _committer(app)
    path = get_state(app).settings.sqlite_path
    assert path is not None
    names = [f"g{k}" for k in range(8)]
    before = committer.batches
    with _write_lock_held(path):
        threads, results = _start_queued_posts(app, names)
    for t in threads:
        t.join(timeout=60)
    assert {n: r[0] for n, r in results.items()} == dict.fromkeys(names, 204)
    # The leader's batch of one, then the seven that queued behind it in ONE transaction.
    assert committer.batches - before == 2
    ids = sorted(int(urlsplit(results[n][1]).path.rsplit("/", 1)[1]) for n in names[1:])
    assert ids == list(range(ids[0], ids[0] + 7))  # one transaction: consecutive ids
    assert row_count(app) == 1 + 8


def test_a_failed_batch_fails_every_request_in_it_and_stores_none(sqlite_app: Flask) -> None:
    app = sqlite_app
    path = get_state(app).settings.sqlite_path
    assert path is not None
    with sqlite3.connect(str(path), isolation_level=None) as raw:  # a forced error mid-batch
        raw.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON incomes WHEN NEW.description = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
        )
    names = ["first", "b1", "b2", "poison", "b3", "b4"]
    with _write_lock_held(path):
        threads, results = _start_queued_posts(app, names)
    for t in threads:
        t.join(timeout=60)
    assert results["first"][0] == 204
    for name in names[1:]:
        status, location, body = results[name]
        assert status == 500, name
        assert location == "", name
        assert body == {"error": "internal server error", "status": 500}
    stored = [i.description for i in get_state(app).db.list_incomes(100)[0]]
    assert stored == ["salary", "first"]
    assert _post(app, "after")[0] == 204  # the writer connection is still usable


def test_a_batch_locked_past_the_busy_timeout_is_503_for_all(
    make_sqlite_app: Callable[..., Flask],
) -> None:
    app = make_sqlite_app(INCOMES_SQLITE_BUSY_TIMEOUT_MS="300")
    path = get_state(app).settings.sqlite_path
    assert path is not None
    results: list[tuple[int, str, Any]] = []
    with _write_lock_held(path):
        threads = [
            threading.Thread(target=lambda k=k: results.append(_post(app, f"x{k}")))
            for k in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert [r[0] for r in results] == [503] * 6
    assert all(r[2]["status"] == 503 and r[1] == "" for r in results)
    assert row_count(app) == 1
    assert _post(app, "later")[0] == 204


def test_committer_waits_are_bounded_and_abandoned_items_are_never_written() -> None:
    release = threading.Event()
    committed: list[list[str]] = []

    def commit(items: Sequence[str]) -> list[int]:
        if items[0] == "stuck":
            release.wait(30)
        committed.append(list(items))
        return [len(committed)] * len(items)

    committer: GroupCommitter[str, int] = GroupCommitter(commit, wait_timeout=0.2)
    outcomes: dict[str, object] = {}

    def run(item: str) -> None:
        try:
            outcomes[item] = committer.submit(item)
        except CommitTimeout as exc:
            outcomes[item] = exc

    leader = threading.Thread(target=run, args=("stuck",))
    leader.start()
    _wait_until(lambda: committer.leading, "the leader commits")
    followers = [threading.Thread(target=run, args=(f"f{k}",)) for k in range(3)]
    for t in followers:
        t.start()
    for t in followers:
        t.join(timeout=30)
    assert all(isinstance(outcomes[f"f{k}"], CommitTimeout) for k in range(3))
    assert committer.queued == 0
    release.set()
    leader.join(timeout=30)
    assert outcomes["stuck"] == 1
    assert committed == [["stuck"]]  # the abandoned requests were never written
    assert committer.submit("next") == 2
    assert not committer.leading


def test_committer_failure_reaches_every_item_of_the_batch() -> None:
    gate = threading.Event()

    def commit(items: Sequence[str]) -> list[int]:
        if items[0] == "gate":
            gate.wait(30)
            return [0]
        raise RuntimeError(f"boom {len(items)}")

    committer: GroupCommitter[str, int] = GroupCommitter(commit, wait_timeout=30)
    errors: dict[str, BaseException] = {}

    def run(item: str) -> None:
        try:
            committer.submit(item)
        except BatchFailed as exc:
            errors[item] = exc.cause

    threads = [threading.Thread(target=run, args=("gate",))]
    threads[0].start()
    _wait_until(lambda: committer.leading, "the gate batch leads")
    threads += [threading.Thread(target=run, args=(f"i{k}",)) for k in range(4)]
    for t in threads[1:]:
        t.start()
    _wait_until(lambda: committer.queued == 4, "four items queue")
    gate.set()
    for t in threads:
        t.join(timeout=30)
    assert sorted(errors) == ["i0", "i1", "i2", "i3"]
    assert {str(e) for e in errors.values()} == {"boom 4"}  # one batch, one failure
    assert not committer.leading
    assert committer.queued == 0


def _child_posts(app: Flask, k: int, queue: Any) -> None:
    try:
        queue.put(("ok", [_post(app, f"c{k}-{n}")[0] for n in range(10)]))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))


def test_connections_opened_before_a_fork_are_not_used_by_the_children(
    app: Flask, backend: str
) -> None:
    """Like gunicorn --preload after a request in the master: children open their own."""
    assert _post(app, "parent")[0] == 204
    assert app.test_client().get("/incomes").status_code == 200
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_child_posts, args=(app, k, queue)) for k in range(3)]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcomes == [("ok", [204] * 10)] * 3
    assert _post(app, "parent again")[0] == 204
    assert row_count(app) == 1 + 1 + 30 + 1


@pytest.mark.parametrize(("value", "pragma"), [("full", 2), ("normal", 1), ("NORMAL", 1)])
def test_sqlite_synchronous_setting_reaches_the_connections(
    tmp_path: Path, value: str, pragma: int
) -> None:
    settings = Settings.from_env(
        {"INCOMES_DB_PATH": str(tmp_path / "s.db"), "INCOMES_SQLITE_SYNCHRONOUS": value}
    )
    assert settings.sqlite_synchronous == value.lower()
    db = Database(settings)
    try:
        db.ensure_schema()
        db.add_income("x", Decimal(1))
        assert db.store is not None
        writer = db.store._writer_conn()
        assert writer.execute("PRAGMA synchronous").fetchone()[0] == pragma
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "query",
    [
        "limit=1",
        "limit=1&limit=2",
        "limit",
        "limit=",
        "a=%2B5&b=+5&c=%205",
        "&&limit=3&",
        "after_id=1&offset=2",
        "l%69mit=4",
        "limit=%E2%82%AC",
        "limit=1;after_id=2",
    ],
)
def test_query_args_parse_like_werkzeug(query: str) -> None:
    from werkzeug.wrappers import Request

    from incomes_api.validation import query_args

    environ = {
        "QUERY_STRING": query,
        "REQUEST_METHOD": "GET",
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
    }
    assert query_args(query) == Request(environ).args.to_dict(flat=False)


def test_cached_pages_follow_commits_from_other_connections(sqlite_app: Flask) -> None:
    """Reads are cached per connection until any connection commits (PRAGMA data_version)."""
    client = sqlite_app.test_client()
    assert [i["description"] for i in client.get("/incomes").get_json()] == ["salary"]
    assert [i["description"] for i in client.get("/incomes").get_json()] == ["salary"]  # cached
    path = get_state(sqlite_app).settings.sqlite_path
    with sqlite3.connect(str(path), isolation_level=None) as other:  # another process, say
        other.execute("UPDATE incomes SET description = 'changed' WHERE id = 1")
    assert [i["description"] for i in client.get("/incomes").get_json()] == ["changed"]
    assert client.get("/incomes/1").get_json()["description"] == "changed"
    assert _post(sqlite_app, "new")[0] == 204
    assert [i["description"] for i in client.get("/incomes").get_json()] == ["changed", "new"]
