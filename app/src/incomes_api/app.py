"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from incomes_api.config import Settings, configure_logging
from incomes_api.db import Database
from incomes_api.errors import register_error_handlers
from incomes_api.jsonio import DecimalJSONProvider
from incomes_api.state import EXTENSION_KEY, AppState

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app. ``settings`` defaults to ``Settings.from_env()``.

    Raises ConfigError for invalid configuration. An unreachable database does not stop
    start-up: /healthz answers 503 and schema creation is retried on the next request.
    """
    settings = settings if settings is not None else Settings.from_env()
    configure_logging(settings)

    app = Flask("incomes_api", static_folder=None)
    app.json = DecimalJSONProvider(app)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        INCOMES_SETTINGS=settings,
    )

    db = Database(settings)
    app.extensions[EXTENSION_KEY] = AppState(settings=settings, db=db)

    if settings.init_db_on_start:
        try:
            db.ensure_schema()
        except SQLAlchemyError as exc:
            log.error(
                "database %s not ready at start-up (will retry on requests): %s",
                settings.safe_database_url,
                str(exc).splitlines()[0],
            )
        finally:
            # Hold no connection across a possible fork (gunicorn --preload).
            db.dispose()

    from incomes_api.cli import init_db_flask_command
    from incomes_api.views import bp, register_schema_retry

    register_schema_retry(app, db)
    app.register_blueprint(bp)
    register_error_handlers(app)
    app.cli.add_command(init_db_flask_command)

    proxy = settings.proxy
    if any((proxy.x_for, proxy.x_proto, proxy.x_host, proxy.x_port, proxy.x_prefix)):
        # Flask's documented way to wrap its WSGI app; mypy sees it as replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=proxy.x_for,
            x_proto=proxy.x_proto,
            x_host=proxy.x_host,
            x_port=proxy.x_port,
            x_prefix=proxy.x_prefix,
        )
    return app
