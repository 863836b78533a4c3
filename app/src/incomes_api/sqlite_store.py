"""The SQLite hot paths on plain DB-API: list, get by id, insert a batch, ping.

SQLAlchemy (db.py) still owns the engine, the schema and PostgreSQL; these four queries run
per request, where SQLAlchemy's statement compilation, pool checkout, ``BEGIN`` event, result
processing and reset-on-return cost several times the query itself.

* Connections are per process and per thread (``threading.local``, tagged with the pid), so
  none is ever used across a fork (gunicorn --preload) or by two threads at once. A
  connection found after a fork is abandoned, never closed: closing it would touch the
  parent's SQLite state. Writes use one more connection per process, used only by the group
  commit leader (one thread at a time).
* Writers of different processes take turns for SQLite's one write lock. SQLite's own busy
  handler sleeps 1, 2, 5, 10, ... up to 100 ms between attempts, so the lock sits idle
  while waiters sleep (a commit takes well under a millisecond). The writer connection
  therefore retries ``BEGIN IMMEDIATE`` itself, sleeping 50 us doubling up to 1 ms, until
  ``INCOMES_SQLITE_BUSY_TIMEOUT_MS`` has passed.
* Statements are prepared once per connection (sqlite3's statement cache).
* Reads are single statements in autocommit mode: each sees one consistent snapshot (WAL),
  with no ``BEGIN``/``COMMIT`` round trip.
* Rows come out as JSON object text built by SQLite's JSON functions in C (no Python work
  per row): integer cents become the amount's JSON number text (``1220`` -> ``12.2``), the
  stored ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text becomes ISO 8601 with ``+00:00``. The text
  is the same as ``jsonio.income_fragment`` builds; an SQLite without JSON functions gets
  exactly that Python fallback.
* Results are cached per connection and validated by ``PRAGMA data_version``, which
  changes whenever any other connection (any thread, any process) commits to the file: an
  unchanged version proves the query would return the same rows, so the cached ones are
  served. Every commit empties the cache of every reader, so a cached answer is never older
  than an uncached one would be; checking costs one cheap statement per request.
* The file is opened read-write but never created here (``mode=rw``): schema creation
  (db.py) creates it; a vanished file is an error, not a new empty database.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.request import pathname2url

from incomes_api.jsonio import cents_to_json_number, income_fragment

# amount (integer cents) as JSON number text, exactly like jsonio.cents_to_json_number.
_AMOUNT_SQL = (
    "(CASE WHEN amount < 0 THEN '-' ELSE '' END || (abs(amount) / 100) ||"
    " CASE WHEN abs(amount) % 100 = 0 THEN ''"
    " WHEN abs(amount) % 10 = 0 THEN '.' || (abs(amount) % 100 / 10)"
    " ELSE '.' || substr('0' || (abs(amount) % 100), -2) END)"
)
# created_at as ISO 8601 UTC with microseconds (what stored_time() writes, reformatted).
_CREATED_SQL = (
    "(CASE WHEN length(created_at) = 26 AND substr(created_at, 11, 1) = ' '"
    " THEN substr(created_at, 1, 10) || 'T' || substr(created_at, 12) || '+00:00'"
    " ELSE strftime('%Y-%m-%dT%H:%M:%f000+00:00', created_at) END)"
)
_JSON_COLUMNS = (
    "SELECT id, json_object('id', id, 'description', description,"
    f" 'amount', json({_AMOUNT_SQL}), 'created_at', {_CREATED_SQL}) FROM incomes"
)
_RAW_COLUMNS = "SELECT id, description, amount, created_at FROM incomes"
_PAGE = " ORDER BY id LIMIT ?"
_PAGE_AFTER = " WHERE id > ? ORDER BY id LIMIT ?"
_PAGE_OFFSET = " ORDER BY id LIMIT ? OFFSET ?"
_ONE = " WHERE id = ?"
_PING = "SELECT id FROM incomes LIMIT 1"
_INSERT = "INSERT INTO incomes (description, amount, created_at) VALUES (?, ?, ?)"

NewRow = tuple[str, int, str]
"""``(description, amount in cents, created_at as stored text)``."""

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's SQLite DateTime stores a (UTC) timestamp; both code paths use it."""

# Connections inherited from a parent process: kept referenced so that they are never closed.
_abandoned: list[sqlite3.Connection] = []
# This process's id, kept current across forks (os.getpid() is a system call per request).
_pid = os.getpid()


def _after_fork() -> None:
    global _pid  # noqa: PLW0603 - the fork hook keeps this module-level cache current
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def stored_time(value: datetime) -> str:
    """A UTC datetime as the text stored in SQLite (``SQLITE_TIME_FORMAT``)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


_SQLITE_BUSY = 5
_RETRY_FIRST_S = 50e-6
_RETRY_MAX_S = 1e-3


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return bool(code & 0xFF == _SQLITE_BUSY)
    return str(exc).startswith("database is locked")


def _iso_utc(stored: str) -> str:
    if len(stored) == 26 and stored[10] == " ":
        return f"{stored[:10]}T{stored[11:]}+00:00"
    parsed = datetime.fromisoformat(stored)  # other precisions, written by other tools
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _fragment(row: tuple[int, str, int, str]) -> tuple[int, str]:
    """Python twin of the JSON columns, for an SQLite built without JSON functions."""
    return row[0], income_fragment(row[0], row[1], cents_to_json_number(row[2]), _iso_utc(row[3]))


def _has_json_functions(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT json_object('a', json('1'))").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


_CACHE_ROWS = 5000
"""Rows kept in each reader connection's cache (about 0.6 MB); it is emptied when full."""


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    pid: int = 0
    version: int = -1
    cache: dict[tuple[str, tuple[int, ...]], list[tuple[int, str]]]
    cached_rows: int = 0

    def __init__(self) -> None:
        self.cache = {}


class SQLiteStore:
    """Per-process, per-thread DB-API access to an existing incomes database."""

    def __init__(self, path: Path, busy_timeout_ms: int, synchronous: str) -> None:
        self._uri = f"file:{pathname2url(str(path))}?mode=rw"
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._synchronous = {"full": "FULL", "normal": "NORMAL"}[synchronous]
        self._local = _Local()
        self._writer: sqlite3.Connection | None = None
        self._writer_pid = 0
        self._native_json: bool | None = None  # decided on the first connection

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._uri,
            uri=True,
            timeout=self._busy_timeout_ms / 1000.0,
            isolation_level=None,  # autocommit; writes say BEGIN IMMEDIATE themselves
            check_same_thread=False,  # the writer connection serves successive leader threads
            cached_statements=16,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _reader(self) -> sqlite3.Connection:
        local = self._local
        conn = local.conn
        if conn is not None and local.pid == _pid:
            return conn
        if conn is not None:
            _abandoned.append(conn)
        local.conn, local.version, local.cache, local.cached_rows = None, -1, {}, 0
        conn = self._connect()
        if self._native_json is None:
            self._native_json = _has_json_functions(conn)
        local.conn, local.pid = conn, _pid
        return conn

    def _drop_reader(self) -> None:
        conn, self._local.conn = self._local.conn, None
        self._local.version, self._local.cache, self._local.cached_rows = -1, {}, 0
        if conn is not None and self._local.pid == _pid:
            conn.close()

    def _read(self, where: str, params: tuple[int, ...]) -> list[tuple[int, str]]:
        """Rows of ``where``; the caller must not modify the list (it may be cached)."""
        conn = self._reader()
        local = self._local
        try:
            # Checked before the query: if a commit lands in between, this result is filed
            # under the older version and the next request sees a newer one and drops it.
            (version,) = conn.execute("PRAGMA data_version").fetchone()
            if version != local.version:
                local.cache, local.cached_rows = {}, 0
                local.version = version
            else:
                cached = local.cache.get((where, params))
                if cached is not None:
                    return cached
            if self._native_json:
                rows = conn.execute(_JSON_COLUMNS + where, params).fetchall()
            else:
                rows = [_fragment(row) for row in conn.execute(_RAW_COLUMNS + where, params)]
        except sqlite3.OperationalError:
            self._drop_reader()  # e.g. the file was replaced; reconnect next time
            raise
        if local.cached_rows + len(rows) > _CACHE_ROWS:
            local.cache, local.cached_rows = {}, 0
        local.cache[(where, params)] = rows
        local.cached_rows += len(rows) + 1
        return rows

    def list_json(
        self, limit: int, after_id: int | None = None, offset: int | None = None
    ) -> list[tuple[int, str]]:
        """Up to ``limit`` ``(id, JSON object text)`` in id order, after ``after_id`` or
        skipping ``offset``."""
        if after_id is not None:
            return self._read(_PAGE_AFTER, (after_id, limit))
        if offset:
            return self._read(_PAGE_OFFSET, (limit, offset))
        return self._read(_PAGE, (limit,))

    def get_json(self, income_id: int) -> str | None:
        rows = self._read(_ONE, (income_id,))
        return rows[0][1] if rows else None

    def ping(self) -> None:
        conn = self._reader()
        try:
            conn.execute(_PING).fetchall()
        except sqlite3.OperationalError:
            self._drop_reader()
            raise

    def _writer_conn(self) -> sqlite3.Connection:
        pid = _pid
        if self._writer is not None and self._writer_pid == pid:
            return self._writer
        if self._writer is not None:
            _abandoned.append(self._writer)
        self._writer = None
        conn = self._connect()
        # Busy waits of the writer are _begin_immediate's (finer grained than SQLite's).
        conn.execute("PRAGMA busy_timeout = 0")
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        self._writer, self._writer_pid = conn, pid
        return conn

    def insert_batch(self, rows: Sequence[NewRow]) -> list[int]:
        """Insert ``rows`` in ONE ``BEGIN IMMEDIATE ... COMMIT``; all or none. Returns the ids.

        Only one thread at a time may call this (the group commit leader).
        """
        conn = self._writer_conn()
        try:
            self._begin_immediate(conn)
            ids = [int(conn.execute(_INSERT, row).lastrowid or 0) for row in rows]
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        return ids

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self._busy_timeout_ms / 1000.0
        delay = _RETRY_FIRST_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_S)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # Unusable (I/O error, ...): SQLite rolls back on close; reconnect next time.
            self._writer = None
            conn.close()

    def close(self) -> None:
        """Close this process's connections of the calling thread and the writer."""
        if self._writer is not None and self._writer_pid == _pid:
            self._writer.close()
        self._writer = None
        self._drop_reader()
