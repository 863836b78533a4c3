"""JSON output: amounts (Decimal) are written as JSON numbers, never as strings."""

from __future__ import annotations

import json
import json.encoder
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider

_CENTS = Decimal("0.01")


def decimal_to_json_number(value: Decimal) -> int | float:
    """Return a float whose JSON text (``repr``) is exactly ``value``.

    Amounts are limited to 14 significant digits (NUMERIC(14, 2)); any decimal with at most
    15 significant digits survives the trip through an IEEE double and back through
    Python's shortest round-trip ``repr`` unchanged, so ``Decimal("12.20")`` is written as
    ``12.2`` (and ``Decimal("2024.00")`` as ``2024``). Arithmetic never happens on the float:
    it exists only to be printed. The check below makes that guarantee explicit instead of
    assumed.
    """
    if value == value.to_integral_value():
        return int(value)  # 2024.00 -> 2024
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be written exactly as a JSON number")
    return number


class DecimalJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, but Decimal becomes a number and key order is kept."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return decimal_to_json_number(o)
        return DefaultJSONProvider.default(o)


# --- Fast rendering of stored incomes -------------------------------------------------------
#
# The hot paths do not build dicts of Decimals for the JSON provider's ``default`` callback:
# each stored income becomes one JSON object text (a "fragment"), built by SQLite itself
# (sqlite_store) or by one string format here (PostgreSQL), and a page is those fragments
# joined. Compact separators and a trailing newline, like ``jsonify``; non-ASCII characters
# are written as UTF-8 rather than ``\u`` escapes (the same JSON value).

_escape = json.encoder.encode_basestring  # C implementation; escapes like json.dumps
_ITEM = '{"id":%d,"description":%s,"amount":%s,"created_at":"%s"}'


def cents_to_json_number(cents: int) -> str:
    """``1220`` -> ``12.2``, ``202400`` -> ``2024``, ``1`` -> ``0.01`` (exact, no float)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    if frac == 0:
        return f"{sign}{whole}"
    if frac % 10 == 0:
        return f"{sign}{whole}.{frac // 10}"
    return f"{sign}{whole}.{frac:02d}"


def decimal_to_json_text(value: Decimal) -> str:
    """The JSON text of an amount with at most 2 decimal places.

    ``Decimal("12.20")`` -> ``12.2``.
    """
    exact = value.quantize(_CENTS)
    if exact != value:
        raise ValueError(f"{value} has more than 2 decimal places")
    return cents_to_json_number(int(exact.scaleb(2)))


def income_fragment(income_id: int, description: str, amount: str, created_at: str) -> str:
    """One income as JSON object text; ``amount`` is JSON number text, ``created_at`` ISO 8601."""
    return _ITEM % (income_id, _escape(description), amount, created_at)


def object_body(fragment: str) -> bytes:
    """The body of ``GET /incomes/<id>``."""
    return f"{fragment}\n".encode()


def array_body(fragments: list[str]) -> bytes:
    """The body of ``GET /incomes``: a JSON array of income objects."""
    return f"[{','.join(fragments)}]\n".encode()
