"""Configuration: read once from environment variables into a frozen, typed object.

Every variable is documented in README.md. Anything invalid raises ConfigError with a
one-line, human message; the entry points (wsgi, cli) turn it into a clean exit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB_PATH = "instance/incomes.db"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_MAX_OFFSET = 10_000
DEFAULT_POOL_SIZE = 5
SQLITE_SYNCHRONOUS_MODES = ("full", "normal")
"""``full``: a 204 means the row's WAL frame was fsync'd; ``normal``: WAL not fsync'd per commit."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


class ConfigError(ValueError):
    """A configuration value is missing or invalid (message is one line)."""


@dataclass(frozen=True)
class ProxyFixSettings:
    """How many proxies are trusted for each X-Forwarded-* header (0 = ignore it)."""

    x_for: int = 1
    x_proto: int = 1
    x_host: int = 1
    x_port: int = 0
    x_prefix: int = 0


@dataclass(frozen=True)
class Settings:
    """Validated service configuration."""

    database_url: str
    """SQLAlchemy URL, normalised (``sqlite:////abs/path`` or ``postgresql+psycopg://...``)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS
    sqlite_synchronous: str = "full"
    """``full`` or ``normal`` (SQLite ``PRAGMA synchronous``; see README "Durability")."""
    max_offset: int = DEFAULT_MAX_OFFSET
    pool_size: int = DEFAULT_POOL_SIZE
    init_db_on_start: bool = True
    log_level: str = "INFO"
    proxy: ProxyFixSettings = ProxyFixSettings()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        """File path of the SQLite database, or None for PostgreSQL."""
        if self.backend != "sqlite":
            return None
        return Path(self.database_url[len("sqlite:///") :])

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for logs and error messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=_database_url(env),
            max_body_bytes=_int(
                env, "INCOMES_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 16 << 20
            ),
            sqlite_busy_timeout_ms=_int(
                env, "INCOMES_SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS, 0, 600_000
            ),
            sqlite_synchronous=_choice(env, "INCOMES_SQLITE_SYNCHRONOUS", SQLITE_SYNCHRONOUS_MODES),
            max_offset=_int(env, "INCOMES_MAX_OFFSET", DEFAULT_MAX_OFFSET, 0, 10_000_000),
            pool_size=_int(env, "INCOMES_DB_POOL_SIZE", DEFAULT_POOL_SIZE, 1, 100),
            init_db_on_start=_bool(env, "INCOMES_INIT_DB_ON_START", True),
            log_level=_log_level(env),
            proxy=ProxyFixSettings(
                x_for=_int(env, "INCOMES_PROXY_X_FOR", 1, 0, 10),
                x_proto=_int(env, "INCOMES_PROXY_X_PROTO", 1, 0, 10),
                x_host=_int(env, "INCOMES_PROXY_X_HOST", 1, 0, 10),
                x_port=_int(env, "INCOMES_PROXY_X_PORT", 0, 0, 10),
                x_prefix=_int(env, "INCOMES_PROXY_X_PREFIX", 0, 0, 10),
            ),
        )


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case-insensitive); the first one is the default."""
    raw = _get(env, name)
    if raw is None:
        return choices[0]
    if raw.lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return raw.lower()


def _log_level(env: Mapping[str, str]) -> str:
    raw = (_get(env, "INCOMES_LOG_LEVEL") or "INFO").upper()
    if raw not in _LOG_LEVELS:
        raise ConfigError(
            f"INCOMES_LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))}; got {raw!r}"
        )
    return raw


def _sqlite_url(path_text: str, source: str) -> str:
    if "\x00" in path_text:
        raise ConfigError(f"{source} contains a NUL byte")
    if path_text == ":memory:":
        raise ConfigError(
            f"{source} may not be ':memory:' (each worker would get its own empty database)"
        )
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return f"sqlite:///{os.path.normpath(path)}"


def _database_url(env: Mapping[str, str]) -> str:
    url = _get(env, "DATABASE_URL")
    if url is None:
        return _sqlite_url(_get(env, "INCOMES_DB_PATH") or DEFAULT_DB_PATH, "INCOMES_DB_PATH")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            "DATABASE_URL must look like postgresql://user:pass@host/db or sqlite:///path"
        )
    scheme = scheme.lower()
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        if not rest.strip("/"):
            raise ConfigError("DATABASE_URL names no PostgreSQL database")
        return f"postgresql+psycopg://{rest}"
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        # sqlite:///relative/path or sqlite:////absolute/path (SQLAlchemy convention)
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(
                "DATABASE_URL for SQLite must be sqlite:///relative.db or sqlite:////abs/path.db"
            )
        path_text = rest[1:].split("?", 1)[0]
        if not path_text:
            raise ConfigError("DATABASE_URL for SQLite names no file")
        return _sqlite_url(path_text, "DATABASE_URL")
    raise ConfigError(
        f"DATABASE_URL scheme {scheme!r} is not supported (use postgresql:// or sqlite:///)"
    )


def configure_logging(settings: Settings) -> None:
    """Set the package logger's level; handlers are left to gunicorn / the host."""
    level = getattr(logging, settings.log_level)
    logger = logging.getLogger("incomes_api")
    logger.setLevel(level)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
