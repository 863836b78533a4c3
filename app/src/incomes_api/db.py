"""Storage: one SQLAlchemy Core code path for SQLite and PostgreSQL.

Only three things differ per backend, all kept in this module:

* SQLite connections get ``busy_timeout`` and WAL on connect, and write transactions start
  with ``BEGIN IMMEDIATE`` so that concurrent writers from several worker processes queue on
  the busy timeout instead of failing with "database is locked".
* Schema creation takes a lock first: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped
  advisory lock on PostgreSQL. Several workers starting at the same moment therefore create
  the schema and the seed row exactly once.
* Money: PostgreSQL stores ``NUMERIC(14, 2)``; SQLite has no decimal type (its NUMERIC
  affinity silently turns ``12.20`` into a binary float), so there the amount is stored as an
  exact INTEGER number of cents. Python code only ever sees ``decimal.Decimal``.

The per-request SQLite operations (list, get, insert, ping) run on plain DB-API in
``sqlite_store`` and inserts are batched by ``group_commit``; ``Database`` below picks the path,
so callers see one interface. Views use the JSON-ready ``*_rows`` methods; ``list_incomes`` /
``get_income`` return ``Income`` objects (SQLAlchemy, for tests and tooling).
"""

from __future__ import annotations

import contextlib
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from incomes_api.config import Settings
from incomes_api.group_commit import GroupCommitter
from incomes_api.jsonio import decimal_to_json_text, income_fragment
from incomes_api.sqlite_store import NewRow, SQLiteStore, stored_time

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1
"""Largest id a BIGINT primary key can hold; larger ids can't exist (and would overflow)."""

SEED_DESCRIPTION = "salary"
SEED_AMOUNT = Decimal("12.2")
_SEED_META_KEY = "seed_inserted_at"
_SCHEMA_META_KEY = "schema_version"
SCHEMA_VERSION = "1"
# Arbitrary constant identifying this application's schema lock in pg_advisory_xact_lock.
_PG_SCHEMA_LOCK_KEY = 0x1C0E5A91

_CENTS = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """An exact amount with 2 decimal places: NUMERIC(14,2), or integer cents on SQLite."""

    impl = sa.Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(_CENTS)
        if exact != value:
            raise ValueError(f"amount {value} has more than 2 decimal places")
        if dialect.name == "sqlite":
            return int(exact.scaleb(2))
        return exact

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)
        return Decimal(value).quantize(_CENTS)


metadata = sa.MetaData()

incomes = sa.Table(
    "incomes",
    metadata,
    sa.Column(
        "id",
        # INTEGER PRIMARY KEY is SQLite's rowid alias (64-bit); BIGSERIAL on PostgreSQL.
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("amount", Money(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

meta = sa.Table(
    "incomes_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)


@dataclass(frozen=True)
class Income:
    """One stored income."""

    id: int
    description: str
    amount: Decimal
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "amount": self.amount,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
        }


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (we only ever store UTC); PostgreSQL aware ones.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _row_to_income(row: sa.Row[Any]) -> Income:
    return Income(
        id=int(row.id),
        description=row.description,
        amount=row.amount,
        created_at=_as_utc(row.created_at),
    )


def create_db_engine(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url`` with backend-specific tuning."""
    if settings.backend == "sqlite":
        engine = sa.create_engine(
            settings.database_url,
            connect_args={
                "timeout": settings.sqlite_busy_timeout_ms / 1000.0,
                "check_same_thread": False,
            },
            poolclass=sa.pool.QueuePool,
            pool_size=settings.pool_size,
            pool_pre_ping=False,
        )
        _install_sqlite_hooks(engine, settings.sqlite_busy_timeout_ms, settings.sqlite_synchronous)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        from incomes_api.config import ConfigError

        raise ConfigError(
            "DATABASE_URL names PostgreSQL but the psycopg driver is not installed "
            "(pip install -r requirements-postgres.txt)"
        ) from exc
    return sa.create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "application_name": "incomes-api"},
    )


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
    sync_mode = {"full": "FULL", "normal": "NORMAL"}[synchronous]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own implicit
        # transaction handling would start DEFERRED transactions at odd moments).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            row = cur.execute("PRAGMA journal_mode").fetchone()
            if row is None or str(row[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {sync_mode}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The service's storage operations. Thread-safe; one instance per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_db_engine(settings)
        self._schema_ready = False
        # A child process must not use the parent's pooled connections (gunicorn --preload):
        # forget them without closing (closing would disturb the parent's sessions).
        engine_ref = weakref.ref(self.engine)
        os.register_at_fork(after_in_child=lambda: _forget_pool(engine_ref))
        self.store: SQLiteStore | None = None
        self.committer: GroupCommitter[NewRow, int] | None = None
        path = settings.sqlite_path
        if path is not None:
            self.store = SQLiteStore(
                path, settings.sqlite_busy_timeout_ms, settings.sqlite_synchronous
            )
            # A queued POST waits for the batch ahead of it and its own, each bounded by
            # the busy timeout; past that it gets a 503 instead of hanging.
            self.committer = GroupCommitter(
                self.store.insert_batch,
                wait_timeout=2 * settings.sqlite_busy_timeout_ms / 1000.0 + 10.0,
            )

    @property
    def schema_ready(self) -> bool:
        return self._schema_ready

    def dispose(self) -> None:
        """Close pooled connections (e.g. before a fork)."""
        self.engine.dispose()
        if self.store is not None:
            self.store.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            sqlite = self.settings.backend == "sqlite"
            conn = connection.execution_options(sqlite_begin="IMMEDIATE") if sqlite else connection
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def ensure_schema(self) -> bool:
        """Create the schema and the seed row if missing. Idempotent and race-free.

        Returns True when this call inserted the seed row.
        """
        path = self.settings.sqlite_path
        if path is not None:
            _ensure_parent_dir(path)
        with self._write() as conn:
            if self.settings.backend == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK_KEY)))
            metadata.create_all(conn, checkfirst=True)
            done = conn.execute(sa.select(meta.c.value).where(meta.c.key == _SEED_META_KEY)).first()
            seeded = False
            if done is None:
                now = utc_now()
                conn.execute(
                    incomes.insert().values(
                        description=SEED_DESCRIPTION, amount=SEED_AMOUNT, created_at=now
                    )
                )
                conn.execute(
                    meta.insert(),
                    [
                        {"key": _SEED_META_KEY, "value": now.isoformat()},
                        {"key": _SCHEMA_META_KEY, "value": SCHEMA_VERSION},
                    ],
                )
                seeded = True
        self._schema_ready = True
        if seeded:
            log.info("created schema and seed row in %s", self.settings.safe_database_url)
        return seeded

    def ping(self) -> None:
        """Raise unless the database answers a query on the incomes table."""
        if self.store is not None:
            self.store.ping()
            return
        with self._read() as conn:
            conn.execute(sa.select(incomes.c.id).limit(1)).first()

    def add_income(self, description: str, amount: Decimal) -> Income:
        """Store one income; returns once it is committed (group commit on SQLite).

        SQLite errors arrive wrapped in ``group_commit.BatchFailed`` (or ``CommitTimeout``).
        """
        created_at = utc_now()
        if self.committer is not None:
            exact = amount.quantize(_CENTS)
            if exact != amount:
                raise ValueError(f"amount {amount} has more than 2 decimal places")
            new_id = self.committer.submit(
                (description, int(exact.scaleb(2)), stored_time(created_at))
            )
            return Income(id=new_id, description=description, amount=amount, created_at=created_at)
        with self._write() as conn:
            result = conn.execute(
                incomes.insert().values(
                    description=description, amount=amount, created_at=created_at
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always has its key
            (new_id,) = key
        return Income(id=int(new_id), description=description, amount=amount, created_at=created_at)

    def get_income(self, income_id: int) -> Income | None:
        if not 0 < income_id <= MAX_ID:
            return None
        with self._read() as conn:
            row = conn.execute(sa.select(incomes).where(incomes.c.id == income_id)).first()
        return None if row is None else _row_to_income(row)

    def get_json(self, income_id: int) -> str | None:
        """One income as JSON object text (``jsonio.income_fragment``), or None."""
        if not 0 < income_id <= MAX_ID:
            return None
        if self.store is not None:
            return self.store.get_json(income_id)
        income = self.get_income(income_id)
        return None if income is None else _fragment(income)

    def list_json(
        self, limit: int, after_id: int | None = None, offset: int | None = None
    ) -> tuple[list[str], int | None, bool]:
        """Like ``list_incomes``, as JSON object texts: ``(objects, last id, more follow)``.

        This is the hot path of ``GET /incomes``.
        """
        if self.store is not None:
            rows = self.store.list_json(limit + 1, after_id, offset)
            page = rows[:limit]
            return [text for _, text in page], page[-1][0] if page else None, len(rows) > limit
        items, has_more = self.list_incomes(limit, after_id, offset)
        return [_fragment(i) for i in items], items[-1].id if items else None, has_more

    def list_incomes(
        self, limit: int, after_id: int | None = None, offset: int | None = None
    ) -> tuple[list[Income], bool]:
        """One page in id order and whether more rows follow.

        ``after_id`` is keyset pagination on the primary key: cost O(limit) however many
        rows are stored. ``offset`` costs O(offset + limit) and is capped by configuration.
        """
        query = sa.select(incomes).order_by(incomes.c.id).limit(limit + 1)
        if after_id is not None:
            query = query.where(incomes.c.id > after_id)
        elif offset:
            query = query.offset(offset)
        with self._read() as conn:
            rows = conn.execute(query).all()
        items = [_row_to_income(r) for r in rows[:limit]]
        return items, len(rows) > limit

    def count(self) -> int:
        """Number of stored incomes (O(n); for tests and tooling, not for requests)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(incomes)).scalar_one())


def _forget_pool(engine_ref: weakref.ReferenceType[Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.dispose(close=False)


def _fragment(income: Income) -> str:
    return income_fragment(
        income.id,
        income.description,
        decimal_to_json_text(income.amount),
        income.created_at.isoformat(timespec="microseconds"),
    )


def _ensure_parent_dir(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        # On failure, let SQLite report "unable to open database file" in the usual way.
        with contextlib.suppress(OSError):
            parent.mkdir(parents=True, exist_ok=True)
