"""Durable incomes API: a Flask service storing incomes in SQLite or PostgreSQL."""

from __future__ import annotations

__version__ = "1.0.0"

from incomes_api.app import create_app

__all__ = ["__version__", "create_app"]
