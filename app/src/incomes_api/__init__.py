"""Durable incomes API: a Flask service storing incomes in SQLite or PostgreSQL."""

from __future__ import annotations

__version__ = "1.0.0"

from incomes_api.app import create_app  # noqa: E402

__all__ = ["create_app", "__version__"]
