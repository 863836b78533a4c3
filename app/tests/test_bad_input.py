"""Bad input gets a clear JSON error and writes nothing (both backends)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from conftest import row_count

JSON = "application/json"

# (body bytes, content type, expected status, word the message must contain)
BAD_REQUESTS = [
    # not JSON at all -> 400
    (b"amount=1&description=x", JSON, 400, "JSON"),
    (b"{'amount': 1}", JSON, 400, "JSON"),
    (b'{"amount": 1, "description": "x"', JSON, 400, "JSON"),
    (b"", JSON, 400, "empty"),
    (b"   ", JSON, 400, "empty"),
    (b'{"amount": 1, "description": "\xff"}', JSON, 400, "UTF-8"),
    (b"[" * 30000 + b"]" * 30000, JSON, 400, "JSON"),
    # wrong or missing content type -> 415
    (b'{"amount": 1, "description": "x"}', "text/plain", 415, "Content-Type"),
    (
        b'{"amount": 1, "description": "x"}',
        "application/x-www-form-urlencoded",
        415,
        "Content-Type",
    ),
    (b'{"amount": 1, "description": "x"}', "", 415, "Content-Type"),
    (b'{"amount": 1, "description": "x"}', "application/jsonx", 415, "Content-Type"),
    # JSON, but not an income object -> 422
    (b"[]", JSON, 422, "object"),
    (b'[{"amount": 1, "description": "x"}]', JSON, 422, "object"),
    (b'"text"', JSON, 422, "object"),
    (b"12.2", JSON, 422, "object"),
    (b"null", JSON, 422, "object"),
    (b"{}", JSON, 422, "required"),
    (b'{"amount": 1}', JSON, 422, "description"),
    (b'{"description": "x"}', JSON, 422, "amount"),
    (b'{"amount": 1, "description": "x", "id": 5}', JSON, 422, "unknown field 'id'"),
    (b'{"amount": 1, "description": "x", "created_at": "2020-01-01"}', JSON, 422, "created_at"),
    (b'{"amount": 1, "amount": 2, "description": "x"}', JSON, 422, "more than once"),
    # amount types
    (
        b'{"amount": "12.2", "description": "x"}',
        JSON,
        422,
        "amount must be a JSON number, not a string",
    ),
    (
        b'{"amount": true, "description": "x"}',
        JSON,
        422,
        "amount must be a JSON number, not a boolean",
    ),
    (b'{"amount": false, "description": "x"}', JSON, 422, "boolean"),
    (b'{"amount": null, "description": "x"}', JSON, 422, "amount"),
    (b'{"amount": [1], "description": "x"}', JSON, 422, "amount"),
    (b'{"amount": {"v": 1}, "description": "x"}', JSON, 422, "amount"),
    # amount values
    (b'{"amount": NaN, "description": "x"}', JSON, 422, "finite"),
    (b'{"amount": Infinity, "description": "x"}', JSON, 422, "finite"),
    (b'{"amount": -Infinity, "description": "x"}', JSON, 422, "finite"),
    (b'{"amount": 0, "description": "x"}', JSON, 422, "greater than 0"),
    (b'{"amount": 0.00, "description": "x"}', JSON, 422, "greater than 0"),
    (b'{"amount": -0.0, "description": "x"}', JSON, 422, "greater than 0"),
    (b'{"amount": -5, "description": "x"}', JSON, 422, "greater than 0"),
    (b'{"amount": 1e400, "description": "x"}', JSON, 422, "at most"),
    (b'{"amount": 1000000000000, "description": "x"}', JSON, 422, "at most"),
    (
        b'{"amount": 99999999999999999999999999999999999999, "description": "x"}',
        JSON,
        422,
        "at most",
    ),
    (b'{"amount": 12.345, "description": "x"}', JSON, 422, "2 decimal places"),
    (b'{"amount": 0.001, "description": "x"}', JSON, 422, "2 decimal places"),
    (
        b'{"amount": 1.0000000000000000000000000000001, "description": "x"}',
        JSON,
        422,
        "decimal places",
    ),
    (b'{"amount": 1e-999999, "description": "x"}', JSON, 422, "decimal places"),
    # description
    (b'{"amount": 1, "description": ""}', JSON, 422, "description must not be empty"),
    (b'{"amount": 1, "description": "   "}', JSON, 422, "description must not be empty"),
    (b'{"amount": 1, "description": 5}', JSON, 422, "description must be a string"),
    (b'{"amount": 1, "description": null}', JSON, 422, "description"),
    (b'{"amount": 1, "description": "' + b"x" * 256 + b'"}', JSON, 422, "at most 255"),
    (b'{"amount": 1, "description": "a\\u0000b"}', JSON, 422, "control characters"),
    (b'{"amount": 1, "description": "a\\nb"}', JSON, 422, "control characters"),
    (b'{"amount": 1, "description": "\\ud800"}', JSON, 422, "Unicode"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "needle"), BAD_REQUESTS)
def test_bad_post_is_rejected_and_writes_nothing(
    client: FlaskClient, body: bytes, content_type: str, status: int, needle: str
) -> None:
    before = row_count(client.application)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/incomes", data=body, headers=headers)
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    payload = response.get_json()
    assert isinstance(payload, dict)
    assert needle in payload["error"], payload
    assert payload["status"] == status
    assert row_count(client.application) == before


def test_422_lists_every_bad_field(client: FlaskClient) -> None:
    response = client.post(
        "/incomes", data=b'{"amount": "x", "description": "", "extra": 1}', content_type=JSON
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"amount", "description", "extra"}
    assert all(name in message for name, message in fields.items())


def test_body_over_64_kib_is_413_json_and_writes_nothing(client: FlaskClient) -> None:
    before = row_count(client.application)
    padding = "x" * (64 * 1024)
    body = f'{{"amount": 1, "description": "{padding}"}}'.encode()
    response = client.post("/incomes", data=body, content_type=JSON)
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert "65536" in response.get_json()["error"]
    assert row_count(client.application) == before


def test_body_just_under_limit_reaches_validation(client: FlaskClient) -> None:
    body = b'{"amount": 1, "description": "x"}' + b" " * (64 * 1024 - 40)
    assert len(body) < 64 * 1024
    response = client.post("/incomes", data=body, content_type=JSON)
    assert response.status_code == 204


def test_json_with_charset_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        "/incomes",
        data=b'{"amount": 1.5, "description": "ok"}',
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 204


def test_unknown_field_with_odd_name_still_gets_json_error(client: FlaskClient) -> None:
    response = client.post(
        "/incomes", data=b'{"amount": 1, "description": "x", "\\ud800": 1}', content_type=JSON
    )
    assert response.status_code == 422
    assert "unknown field" in response.get_json()["error"]
