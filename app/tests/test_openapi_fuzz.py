"""Property-based tests generated from openapi.yaml by Schemathesis, run against the real app.

The app is the factory's (conftest ``app``: a real SQLite file in the test's temporary
directory, and the session's PostgreSQL server), called in-process over WSGI. Every operation
of the document gets Schemathesis' three pytest phases: the document's examples, the coverage
phase (boundary values and a negative variant of each constraint: ``offset`` 10001,
``after_id`` with ``offset``, a missing field, a wrong content type, ...) and fuzzing; with
positive (valid per the document) and negative (invalid) data, and every default check:
not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, positive_data_acceptance (valid data
is not refused with a 400/415/422), negative_data_rejection (invalid data gets a 4xx),
missing_required_header, unsupported_method (405 with Allow), use_after_free and more.

Deterministic and bounded: the suite's Hypothesis profile (conftest: derandomized, no example
database, no deadline) and at most MAX_EXAMPLES fuzzed cases per operation (valid and
invalid together), beside the coverage phase's fixed list. A failure
shows the request as a curl command.

Amounts and ``multipleOf: 0.01``: JSON Schema defines "multiple of" in exact arithmetic, and
the app checks the decimal text it receives (0.57 is fine, 0.5700000000000001 is a 422). A
generator that computed ``57 * 0.01`` in binary floating point would send the latter in a
case it calls valid; the Schemathesis releases pinned here draw the multiple as an exact
fraction and send the nearest double, whose shortest text is 0.57 (measured: none of
thousands of positive amounts had more than 2 decimal places). ``_assert_exact_amount``
keeps that a checked fact on every case: if an upgrade ever sends an off-grid amount as valid
data, the test fails naming the generator, not the app.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import schemathesis
import yaml
from flask import Flask
from hypothesis import HealthCheck, settings

from conftest import APP_DIR

MAX_EXAMPLES = 50

SPEC = yaml.safe_load((APP_DIR / "openapi.yaml").read_text())
schema = schemathesis.openapi.from_dict(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            }
        }
    ),
)


# The document's own step for amounts; the guard below reads it rather than restating it.
AMOUNT_STEP = Decimal(str(SPEC["components"]["schemas"]["Amount"]["multipleOf"]))


def _assert_exact_amount(case: schemathesis.Case[Any]) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    amount = case.body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        return
    sent = Decimal(json.dumps(amount))  # the JSON text the app receives, read exactly
    assert sent % AMOUNT_STEP == 0, (
        f"Schemathesis generated amount {json.dumps(amount)} for a case it calls valid, but "
        f"it is not a multiple of {AMOUNT_STEP} in exact arithmetic (JSON Schema's "
        "multipleOf), so the document does not call it valid and the app's 422 is right: a "
        "floating-point artefact of the generator (see the module docstring), not an API "
        "mismatch"
    )


@schema.parametrize()
# The app (and its database) is shared by the cases of one operation, as a server would be:
# rows that POSTs add show up in later GETs.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_app_conforms_to_openapi(case: schemathesis.Case[Any], app: Flask) -> None:
    _assert_exact_amount(case)
    case.call_and_validate(app=app)
