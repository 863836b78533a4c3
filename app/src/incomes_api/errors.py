"""Errors: every error response is JSON ``{"error": "<human message>", "status": N, ...}``."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from incomes_api.group_commit import BatchFailed, CommitTimeout
from incomes_api.validation import BadRequest, Unprocessable

log = logging.getLogger(__name__)

_MESSAGES = {
    400: "bad request",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
    500: "internal server error",
    503: "service unavailable",
}


def error_response(status: int, message: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"error": message, "status": status}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


class UnsupportedMediaType(Exception):
    """The POST body is not declared as application/json (HTTP 415)."""


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 404:
        message = f"no resource at {request.path}"
    elif status == 405:
        allowed = exc.get_response().headers.get("Allow", "")
        message = f"method {request.method} is not allowed on {request.path} (allowed: {allowed})"
    elif status == 413:
        limit = request.max_content_length
        message = f"request body is larger than the limit of {limit} bytes"
    else:
        message = _MESSAGES.get(status, exc.name.lower())
    response = error_response(status, message)
    # Keep protocol headers such as Allow (405) or Retry-After.
    for name, value in exc.get_response().headers.items():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    return response


def _db_error(exc: SQLAlchemyError) -> Response:
    if isinstance(exc, (OperationalError, PoolTimeout)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        log.error("database unavailable: %s", str(exc).splitlines()[0])
        return error_response(503, "database unavailable, try again later")
    # The traceback of this exception, also when it arrives as a failed batch's cause (then the
    # active exception is the BatchFailed).
    log.error("database error", exc_info=exc)
    return error_response(500, "internal server error")


def _sqlite_error(exc: sqlite3.Error) -> Response:
    # OperationalError: locked past the busy timeout, I/O error, disk full, read-only, file
    # or table gone: the database is unavailable. Anything else is a bug or corruption.
    if isinstance(exc, sqlite3.OperationalError):
        log.error("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return error_response(503, "database unavailable, try again later")
    log.error("database error", exc_info=exc)
    return error_response(500, "internal server error")


def _batch_failed(exc: BatchFailed) -> Response:
    """Every request of a failed group commit batch: mapped like the error itself."""
    cause = exc.cause
    if isinstance(cause, sqlite3.Error):
        return _sqlite_error(cause)
    if isinstance(cause, SQLAlchemyError):
        return _db_error(cause)
    log.error("write failed", exc_info=cause)
    return error_response(500, "internal server error")


def _commit_timeout(exc: CommitTimeout) -> Response:
    log.error("database unavailable: %s", exc)
    return error_response(503, "database unavailable, try again later")


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    original = exc.original_exception if isinstance(exc, InternalServerError) else exc
    log.error("unhandled error", exc_info=original)
    return error_response(500, "internal server error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(
        BadRequest,
        lambda e: error_response(400, e.message, **({"field": e.field} if e.field else {})),
    )
    app.register_error_handler(
        Unprocessable, lambda e: error_response(422, e.message, fields=e.fields)
    )
    app.register_error_handler(
        UnsupportedMediaType,
        lambda e: error_response(415, str(e), expected="application/json"),
    )
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _db_error)
    app.register_error_handler(sqlite3.Error, _sqlite_error)
    app.register_error_handler(BatchFailed, _batch_failed)
    app.register_error_handler(CommitTimeout, _commit_timeout)
    app.register_error_handler(Exception, _unexpected)
