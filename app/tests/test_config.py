"""Configuration from environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from incomes_api.config import ConfigError, Settings


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.backend == "sqlite"
    assert s.sqlite_path == tmp_path / "instance" / "incomes.db"
    assert s.max_body_bytes == 65536
    assert s.sqlite_busy_timeout_ms == 30000
    assert s.sqlite_synchronous == "full"
    assert s.max_offset == 10000
    assert s.init_db_on_start is True
    assert (s.proxy.x_for, s.proxy.x_proto, s.proxy.x_host, s.proxy.x_port, s.proxy.x_prefix) == (
        1,
        1,
        1,
        0,
        0,
    )


def test_database_url_overrides_db_path() -> None:
    s = Settings.from_env(
        {"INCOMES_DB_PATH": "/tmp/x.db", "DATABASE_URL": "postgresql://u:pw@db.example:5432/inc"}
    )
    assert s.backend == "postgresql"
    assert s.database_url == "postgresql+psycopg://u:pw@db.example:5432/inc"
    assert "pw" not in s.safe_database_url
    assert Settings.from_env({"DATABASE_URL": "postgres://h/db"}).backend == "postgresql"
    assert Settings.from_env({"DATABASE_URL": "sqlite:////var/lib/x.db"}).sqlite_path == Path(
        "/var/lib/x.db"
    )


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DATABASE_URL": "mysql://h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL"),
        ({"INCOMES_DB_PATH": ":memory:"}, "INCOMES_DB_PATH"),
        ({"INCOMES_MAX_BODY_BYTES": "lots"}, "INCOMES_MAX_BODY_BYTES"),
        ({"INCOMES_MAX_BODY_BYTES": "10"}, "INCOMES_MAX_BODY_BYTES"),
        ({"INCOMES_SQLITE_BUSY_TIMEOUT_MS": "-1"}, "INCOMES_SQLITE_BUSY_TIMEOUT_MS"),
        ({"INCOMES_SQLITE_SYNCHRONOUS": "off"}, "INCOMES_SQLITE_SYNCHRONOUS"),
        ({"INCOMES_SQLITE_SYNCHRONOUS": "extra"}, "INCOMES_SQLITE_SYNCHRONOUS"),
        ({"INCOMES_INIT_DB_ON_START": "maybe"}, "INCOMES_INIT_DB_ON_START"),
        ({"INCOMES_LOG_LEVEL": "loud"}, "INCOMES_LOG_LEVEL"),
        ({"INCOMES_PROXY_X_FOR": "x"}, "INCOMES_PROXY_X_FOR"),
    ],
)
def test_invalid_config_is_one_line_error_naming_the_variable(
    env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
