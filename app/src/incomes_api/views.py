"""HTTP routes: /incomes, /incomes/<id>, /healthz."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from incomes_api.errors import UnsupportedMediaType, error_response
from incomes_api.state import get_state
from incomes_api.validation import parse_json, parse_page_request, validate_new_income

bp = Blueprint("incomes", __name__)

_JSON_TYPES = {"application/json"}


@bp.before_app_request
def _ensure_schema() -> None:
    # Normally done once at start-up; retried here if the database was down back then.
    state = get_state()
    if not state.db.schema_ready and request.endpoint != "incomes.healthz":
        state.db.ensure_schema()


@bp.get("/incomes")
def list_incomes() -> Response:
    state = get_state()
    page = parse_page_request(request.args.to_dict(flat=False), state.settings.max_offset)
    items, has_more = state.db.list_incomes(page.limit, page.after_id, page.offset)
    response = jsonify([item.to_json() for item in items])
    if has_more and items:
        next_url = url_for(
            "incomes.list_incomes", limit=page.limit, after_id=items[-1].id, _external=True
        )
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.post("/incomes")
def add_income() -> Response:
    mimetype = request.mimetype
    if mimetype not in _JSON_TYPES:
        shown = request.content_type or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shown}")
    payload = parse_json(request.get_data(cache=False))
    new = validate_new_income(payload)
    income = get_state().db.add_income(new.description, new.amount)
    response = Response(status=204)
    # No body, so no type (Werkzeug would label the empty body text/html).
    response.headers.remove("Content-Type")
    response.headers["Location"] = url_for(
        "incomes.get_income", income_id=income.id, _external=True
    )
    return response


@bp.get("/incomes/<int:income_id>")
def get_income(income_id: int) -> Response:
    income = get_state().db.get_income(income_id)
    if income is None:
        return error_response(404, f"income {income_id} not found", id=income_id)
    return jsonify(income.to_json())


@bp.get("/healthz")
def healthz() -> Response:
    state = get_state()
    try:
        if not state.db.schema_ready:
            state.db.ensure_schema()
        state.db.ping()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).splitlines()[0]
        response = jsonify({"status": "unavailable", "error": f"database does not answer: {reason}"})
        response.status_code = 503
        return response
    return jsonify({"status": "ok"})
