"""Input validation: request bodies and query strings to typed values, or precise errors.

Nothing here touches the database: a request that fails validation never writes a row.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote_plus

from incomes_api.db import MAX_ID

MAX_DESCRIPTION_LENGTH = 255
MAX_AMOUNT = Decimal("999999999999.99")
"""Largest accepted amount (NUMERIC(14, 2)); anything larger is treated as a typo."""
MAX_DECIMAL_PLACES = 2
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FIELDS = ("description", "amount")

_UINT = re.compile(r"[0-9]{1,19}")
_CENTS = Decimal("0.01")


class BadRequest(Exception):
    """The request cannot be understood (HTTP 400)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unprocessable(Exception):
    """The body is well-formed JSON but not a valid income (HTTP 422)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        message = "; ".join(self.fields.values())
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NewIncome:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after_id: int | None = None
    offset: int | None = None


DEFAULT_PAGE = PageRequest()
"""The page of a request without query parameters."""


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body exactly: numbers become Decimal, never float."""
    if not raw.strip():
        raise BadRequest("request body is empty; expected a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            # NaN / Infinity are not JSON, but Python emits them; keep them so that the
            # amount check can say "must be finite" instead of a generic syntax error.
            parse_constant=Decimal,
            object_pairs_hook=_no_duplicates,
        )
    except _DuplicateKey as exc:
        raise Unprocessable({exc.key: f"field {exc.key!r} appears more than once"}) from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (RecursionError, InvalidOperation, ValueError):
        raise BadRequest(
            "request body is not valid JSON (nested too deeply or malformed)"
        ) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (Decimal, int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def decimal_places(value: Decimal) -> int:
    """Decimal places after dropping trailing zeros, computed without any rounding."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    digit_list = list(digits)
    while exponent < 0 and len(digit_list) > 1 and digit_list[-1] == 0:
        digit_list.pop()
        exponent += 1
    if exponent < 0 and digit_list == [0]:
        return 0
    return -exponent if exponent < 0 else 0


def _check_amount(value: Any) -> tuple[Decimal | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        return None, f"amount must be a JSON number, not {_json_type(value)}"
    if not value.is_finite():
        return None, "amount must be a finite number"
    if value <= 0:
        return None, "amount must be greater than 0"
    if value > MAX_AMOUNT:
        return None, f"amount must be at most {MAX_AMOUNT}"
    if decimal_places(value) > MAX_DECIMAL_PLACES:
        return None, f"amount must have at most {MAX_DECIMAL_PLACES} decimal places"
    return value.quantize(_CENTS), None


def _check_description(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, f"description must be a string, not {_json_type(value)}"
    text = value.strip()
    if not text:
        return None, "description must not be empty"
    if len(text) > MAX_DESCRIPTION_LENGTH:
        return None, f"description must be at most {MAX_DESCRIPTION_LENGTH} characters"
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            return None, "description must be valid Unicode text (no lone surrogates)"
        if category == "Cc":
            return None, "description must not contain control characters"
    return text, None


def validate_new_income(payload: Any) -> NewIncome:
    """Validate a parsed POST body; raise Unprocessable naming every bad field."""
    if not isinstance(payload, dict):
        raise Unprocessable(
            {"body": f"request body must be a JSON object, not {_json_type(payload)}"}
        )
    errors: dict[str, str] = {}
    unknown = sorted(set(payload) - set(FIELDS))
    for name in unknown:
        errors[name] = f"unknown field {name!r} (allowed: description, amount)"
    for name in FIELDS:
        if name not in payload:
            errors[name] = f"{name} is required"
    description: str | None = None
    amount: Decimal | None = None
    if "description" in payload:
        description, problem = _check_description(payload["description"])
        if problem:
            errors["description"] = problem
    if "amount" in payload:
        amount, problem = _check_amount(payload["amount"])
        if problem:
            errors["amount"] = problem
    if errors:
        raise Unprocessable(errors)
    assert description is not None
    assert amount is not None
    return NewIncome(description=description, amount=amount)


def _single(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"{name} may be given only once", field=name)
    return values[0]


def _uint(raw: str, name: str, low: int, high: int, hint: str) -> int:
    if not _UINT.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadRequest(
            f"{name} must be an integer from {low} to {high}{hint}, got {raw!r}", field=name
        )
    return int(raw)


def query_args(query_string: str) -> dict[str, list[str]]:
    """A WSGI ``QUERY_STRING`` to ``{name: [values]}``, as Werkzeug's ``request.args`` parses
    it (``&`` separated, ``+`` and ``%XX`` decoded as UTF-8, blank values kept); several times
    cheaper, which matters on ``GET /incomes``."""
    if query_string.isascii():
        text = query_string
    else:  # WSGI hands over the raw bytes as latin-1
        text = query_string.encode("latin-1").decode("utf-8", "replace")
    args: dict[str, list[str]] = {}
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = (
                unquote_plus(name, errors="replace"),
                unquote_plus(value, errors="replace"),
            )
        args.setdefault(name, []).append(value)
    return args


def parse_page_request(args: Mapping[str, Sequence[str]], max_offset: int) -> PageRequest:
    """Parse ``limit``, ``after_id`` and ``offset`` (``args`` maps names to all values)."""
    raw_limit = _single(args, "limit")
    raw_after = _single(args, "after_id")
    raw_offset = _single(args, "offset")
    limit = DEFAULT_LIMIT if raw_limit is None else _uint(raw_limit, "limit", 1, MAX_LIMIT, "")
    if raw_after is not None and raw_offset is not None:
        raise BadRequest("use either after_id or offset, not both", field="after_id")
    after_id = None if raw_after is None else _uint(raw_after, "after_id", 0, MAX_ID, "")
    offset = None
    if raw_offset is not None:
        offset = _uint(
            raw_offset,
            "offset",
            0,
            max_offset,
            " (use after_id from the Link header to page further)",
        )
    return PageRequest(limit=limit, after_id=after_id, offset=offset)
