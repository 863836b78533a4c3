"""The SQLite hot paths on plain DB-API: list, get by id, insert a batch, ping.

SQLAlchemy (db.py) still owns the engine, the schema and PostgreSQL; these four queries run
per request, where SQLAlchemy's statement compilation, pool checkout, ``BEGIN`` event, result
processing and reset-on-return cost several times the query itself.

* Connections are per process and per thread (``threading.local``, tagged with the pid), so
  none is ever used across a fork (gunicorn --preload) or by two threads at once. A
  connection found after a fork is abandoned, never closed: closing it would touch the
  parent's SQLite state. Writes use one more connection per process, used only by the group
  commit leader (one thread at a time).
* Statements are prepared once per connection (sqlite3's statement cache).
* Reads are single statements in autocommit mode: each sees one consistent snapshot (WAL),
  with no ``BEGIN``/``COMMIT`` round trip.
* Rows come out JSON-ready (``jsonio.IncomeRow``): integer cents become the amount's JSON
  text, the stored ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text becomes ISO 8601 with ``+00:00``.
* The file is opened read-write but never created here (``mode=rw``): schema creation
  (db.py) creates it; a vanished file is an error, not a new empty database.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.request import pathname2url

from incomes_api.jsonio import IncomeRow, cents_to_json_number

_COLUMNS = "SELECT id, description, amount, created_at FROM incomes"
_PAGE = _COLUMNS + " ORDER BY id LIMIT ?"
_PAGE_AFTER = _COLUMNS + " WHERE id > ? ORDER BY id LIMIT ?"
_PAGE_OFFSET = _COLUMNS + " ORDER BY id LIMIT ? OFFSET ?"
_ONE = _COLUMNS + " WHERE id = ?"
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
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def stored_time(value: datetime) -> str:
    """A UTC datetime as the text stored in SQLite."""
    return value.astimezone(timezone.utc).strftime(SQLITE_TIME_FORMAT)


def _iso_utc(stored: str) -> str:
    if len(stored) == 26 and stored[10] == " ":
        return f"{stored[:10]}T{stored[11:]}+00:00"
    parsed = datetime.fromisoformat(stored)  # other precisions, written by other tools
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _json_row(row: tuple[int, str, int, str]) -> IncomeRow:
    return (row[0], row[1], cents_to_json_number(row[2]), _iso_utc(row[3]))


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    pid: int = 0


class SQLiteStore:
    """Per-process, per-thread DB-API access to an existing incomes database."""

    def __init__(self, path: Path, busy_timeout_ms: int, synchronous: str) -> None:
        self._uri = f"file:{pathname2url(str(path))}?mode=rw"
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._synchronous = {"full": "FULL", "normal": "NORMAL"}[synchronous]
        self._local = _Local()
        self._writer: sqlite3.Connection | None = None
        self._writer_pid = 0

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
        local.conn = None
        conn = self._connect()
        local.conn, local.pid = conn, _pid
        return conn

    def _drop_reader(self) -> None:
        conn, self._local.conn = self._local.conn, None
        if conn is not None and self._local.pid == _pid:
            conn.close()

    def _read(self, sql: str, params: tuple[int, ...]) -> list[tuple[int, str, int, str]]:
        conn = self._reader()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            self._drop_reader()  # e.g. the file was replaced; reconnect next time
            raise

    def list_rows(
        self, limit: int, after_id: int | None = None, offset: int | None = None
    ) -> list[IncomeRow]:
        """Up to ``limit`` rows in id order, after ``after_id`` or skipping ``offset``."""
        if after_id is not None:
            rows = self._read(_PAGE_AFTER, (after_id, limit))
        elif offset:
            rows = self._read(_PAGE_OFFSET, (limit, offset))
        else:
            rows = self._read(_PAGE, (limit,))
        return [_json_row(row) for row in rows]

    def get_row(self, income_id: int) -> IncomeRow | None:
        rows = self._read(_ONE, (income_id,))
        return _json_row(rows[0]) if rows else None

    def ping(self) -> None:
        self._read(_PING, ())

    def _writer_conn(self) -> sqlite3.Connection:
        pid = _pid
        if self._writer is not None and self._writer_pid == pid:
            return self._writer
        if self._writer is not None:
            _abandoned.append(self._writer)
        self._writer = None
        conn = self._connect()
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
            conn.execute("BEGIN IMMEDIATE")
            ids = [int(conn.execute(_INSERT, row).lastrowid or 0) for row in rows]
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        return ids

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
