"""WSGI entry point: ``gunicorn incomes_api.wsgi:app``.

Configuration comes from the environment (see README.md). Invalid configuration prints one
line to stderr and exits with status 4, which gunicorn reports as "App failed to load"
and stops instead of respawning workers forever.
"""

from __future__ import annotations

import sys

from incomes_api.app import create_app
from incomes_api.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"incomes-api: configuration error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(4) from None
