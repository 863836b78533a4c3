"""JSON output: amounts (Decimal) are written as JSON numbers, never as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


def decimal_to_json_number(value: Decimal) -> int | float:
    """Return a float whose JSON text (``repr``) is exactly ``value``.

    Amounts are limited to 14 significant digits (NUMERIC(14, 2)); any decimal with at most
    15 significant digits survives the trip through an IEEE double and back through
    Python's shortest round-trip ``repr`` unchanged, so ``Decimal("12.20")`` is written as
    ``12.2`` (and ``Decimal("2024.00")`` as ``2024``). Arithmetic never happens on the float: it exists only to be printed.
    The check below makes that guarantee explicit instead of assumed.
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
