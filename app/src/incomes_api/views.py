"""HTTP routes: /incomes, /incomes/<id>, /healthz.

The bodies of stored incomes are rendered by ``jsonio.render_*`` from JSON-ready rows (no
per-value ``default`` callback); everything else (errors, /healthz) goes through ``jsonify``.
"""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Flask, Response, jsonify, request, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter

from incomes_api import __version__
from incomes_api.db import Database
from incomes_api.errors import UnsupportedMediaType, error_response
from incomes_api.jsonio import array_body, object_body
from incomes_api.state import get_state
from incomes_api.validation import (
    DEFAULT_PAGE,
    parse_json,
    parse_page_request,
    query_args,
    validate_new_income,
)

bp = Blueprint("incomes", __name__)


class IdConverter(IntegerConverter):
    """``<id:...>``: ASCII digits only. Werkzeug's ``int`` matches ``\\d``, any Unicode decimal
    digit, which made ``/incomes/%D9%A1`` (U+0661 ARABIC-INDIC DIGIT ONE) or a fullwidth one
    (U+FF11) an alias of ``/incomes/1``; the query parameters take ASCII digits only too."""

    regex = "[0-9]+"


def _register_converters(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["id"] = IdConverter


# Recorded before the routes below, so it runs before they are added to the URL map.
bp.record_once(_register_converters)

_JSON = "application/json"


def register_schema_retry(app: Flask, db: Database) -> None:
    """Before each request (but /healthz), create the schema if start-up could not."""

    def ensure_schema() -> None:
        if not db.schema_ready and request.endpoint != "incomes.healthz":
            db.ensure_schema()

    app.before_request(ensure_schema)


def _incomes_url() -> str:
    """Absolute URL of /incomes as the client sees it (scheme, host, script root)."""
    return url_for("incomes.list_incomes", _external=True)


@bp.get("/incomes")
def list_incomes() -> Response:
    state = get_state()
    query = request.environ.get("QUERY_STRING")
    page = (
        parse_page_request(query_args(query), state.settings.max_offset) if query else DEFAULT_PAGE
    )
    objects, last_id, has_more = state.db.list_json(page.limit, page.after_id, page.offset)
    response = Response(array_body(objects), content_type=_JSON)
    if has_more and last_id is not None:
        next_url = f"{_incomes_url()}?limit={page.limit}&after_id={last_id}"
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.post("/incomes")
def add_income() -> Response:
    if request.mimetype != _JSON:
        shown = request.content_type or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shown}")
    payload = parse_json(request.get_data(cache=False))
    new = validate_new_income(payload)
    income = get_state().db.add_income(new.description, new.amount)
    response = Response(status=204)
    # No body, so no type (Werkzeug would label the empty body text/html).
    del response.headers["Content-Type"]
    response.headers["Location"] = f"{_incomes_url()}/{income.id}"
    return response


@bp.get("/incomes/<id:income_id>")
def get_income(income_id: int) -> Response:
    text = get_state().db.get_json(income_id)
    if text is None:
        return error_response(404, f"income {income_id} not found", id=income_id)
    return Response(object_body(text), content_type=_JSON)


@bp.get("/healthz")
def healthz() -> Response:
    state = get_state()
    try:
        if not state.db.schema_ready:
            state.db.ensure_schema()
        state.db.ping()
    except (SQLAlchemyError, sqlite3.Error) as exc:
        reason = str(getattr(exc, "orig", exc) or exc).splitlines()[0]
        response = jsonify(
            {
                "status": "unavailable",
                "error": f"database does not answer: {reason}",
                "version": __version__,
            }
        )
        response.status_code = 503
        return response
    return jsonify({"status": "ok", "version": __version__})
