"""Command line: ``incomes-api init-db`` (and ``flask --app incomes_api.wsgi init-db``)."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from incomes_api import __version__
from incomes_api.config import ConfigError, Settings


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_init_db(settings: Settings) -> int:
    """Create schema and seed row; print one line; return an exit status."""
    from incomes_api.db import Database

    try:
        db = Database(settings)
        try:
            seeded = db.ensure_schema()
        finally:
            db.dispose()
    except ConfigError as exc:
        click.echo(f"incomes-api: configuration error: {exc}", err=True)
        return 2
    except SQLAlchemyError as exc:
        click.echo(
            f"incomes-api: error: cannot initialise database {settings.safe_database_url}: "
            f"{_one_line(exc)}",
            err=True,
        )
        return 1
    what = "schema created, seed row inserted" if seeded else "schema already present"
    click.echo(f"incomes-api: database {settings.safe_database_url} ready ({what})")
    return 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="incomes-api")
def cli() -> None:
    """Incomes API management commands (configuration from environment variables)."""


@cli.command("init-db")
def init_db_command() -> None:
    """Create the schema and the seed row if missing (idempotent)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"incomes-api: configuration error: {exc}", err=True)
        sys.exit(2)
    sys.exit(run_init_db(settings))


@cli.command("check-config")
def check_config_command() -> None:
    """Validate the configuration and print it (passwords masked)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"incomes-api: configuration error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"database: {settings.safe_database_url} ({settings.backend})")
    if settings.backend == "sqlite":
        click.echo(f"sqlite synchronous: {settings.sqlite_synchronous}")
    click.echo(f"max body bytes: {settings.max_body_bytes}")
    click.echo(f"proxy fix: {settings.proxy}")


@click.command("init-db")
def init_db_flask_command() -> None:
    """Create the schema and the seed row if missing (idempotent)."""
    from incomes_api.state import get_settings

    sys.exit(run_init_db(get_settings()))


def main() -> None:
    cli(prog_name="incomes-api")


if __name__ == "__main__":  # pragma: no cover
    main()
