"""Structured access to the running app's settings and database."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from incomes_api.config import Settings
from incomes_api.db import Database

EXTENSION_KEY = "incomes_api"


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database


def get_state(app: Flask | None = None) -> AppState:
    """The AppState of ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    state = target.extensions[EXTENSION_KEY]
    assert isinstance(state, AppState)
    return state


def get_settings(app: Flask | None = None) -> Settings:
    return get_state(app).settings
