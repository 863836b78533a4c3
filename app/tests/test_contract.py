"""The HTTP contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from conftest import row_count
from incomes_api import __version__
from incomes_api.state import get_state


def post(client: FlaskClient, body: object) -> tuple[int, str]:
    response = client.post("/incomes", data=json.dumps(body), content_type="application/json")
    return response.status_code, response.headers.get("Location", "")


def location_id(location: str) -> int:
    match = re.fullmatch(r"/incomes/([0-9]+)", urlsplit(location).path)
    assert match, location
    return int(match.group(1))


def next_link(response: TestResponse) -> str | None:
    header = response.headers.get("Link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    return match.group(1)


def test_fresh_database_holds_exactly_the_seed_row(client: FlaskClient) -> None:
    response = client.get("/incomes")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    items = response.get_json()
    assert isinstance(items, list)
    assert len(items) == 1
    seed = items[0]
    assert set(seed) == {"id", "description", "amount", "created_at"}
    assert seed["description"] == "salary"
    assert seed["amount"] == 12.2
    assert b'"amount":12.2,' in response.data


def test_seed_is_inserted_once_across_restarts_and_init_calls(
    make_app: Callable[..., Flask],
) -> None:
    first = make_app()
    assert get_state(first).db.ensure_schema() is False  # create_app already seeded
    for _ in range(3):
        again = make_app()
        get_state(again).db.ensure_schema()
    items = again.test_client().get("/incomes").get_json()
    assert [i["description"] for i in items] == ["salary"]


def test_post_answers_204_empty_with_location_and_item_is_readable(client: FlaskClient) -> None:
    response = client.post("/incomes", json={"amount": 2024, "description": "teste"})
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    new_id = location_id(response.headers["Location"])
    assert urlsplit(response.headers["Location"]).netloc == "localhost"

    item = client.get(f"/incomes/{new_id}")
    assert item.status_code == 200
    body = item.get_json()
    assert body["id"] == new_id
    assert body["description"] == "teste"
    assert body["amount"] == 2024
    assert b'"amount":2024,' in item.data  # a JSON number, not "2024.00"

    listed = client.get("/incomes").get_json()
    assert [i["description"] for i in listed] == ["salary", "teste"]
    assert listed[1] == body


def test_created_at_is_utc_iso8601(client: FlaskClient) -> None:
    before = datetime.now(timezone.utc)
    _, location = post(client, {"description": "d", "amount": 1})
    created = client.get(urlsplit(location).path).get_json()["created_at"]
    parsed = datetime.fromisoformat(created)
    assert parsed.utcoffset() == timedelta(0)
    assert (
        before - timedelta(seconds=1) <= parsed <= datetime.now(timezone.utc) + timedelta(seconds=1)
    )


def test_unknown_ids_are_404_json(client: FlaskClient) -> None:
    for path in ("/incomes/999", "/incomes/0", f"/incomes/{2**63}", "/incomes/abc", "/incomes/-1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/json"
        assert "error" in response.get_json()


def test_item_ids_are_ascii_digits(client: FlaskClient) -> None:
    # Werkzeug's <int:...> matched any Unicode decimal digit: /incomes/%D9%A1 (U+0661) or the
    # fullwidth U+FF11 answered the seed row, although openapi.yaml's income_id is an integer.
    for path in ("/incomes/%D9%A1", "/incomes/%EF%BC%91", "/incomes/+1", "/incomes/1.0"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/json"
    assert client.get("/incomes/01").get_json() == client.get("/incomes/1").get_json()


def test_decimal_amounts_are_exact(client: FlaskClient) -> None:
    first = client.post(
        "/incomes", data=b'{"description": "a", "amount": 12.200}', content_type="application/json"
    )
    assert first.status_code == 204
    loc_a = first.headers["Location"]
    raw = b'{"description": "b", "amount": 12.2}'
    response = client.post("/incomes", data=raw, content_type="application/json")
    assert response.status_code == 204
    a = client.get(urlsplit(loc_a).path)
    b = client.get(urlsplit(response.headers["Location"]).path)
    assert a.get_json()["amount"] == b.get_json()["amount"] == 12.2
    assert b'"amount":12.2,' in a.data
    assert b'"amount":12.2,' in b.data

    # values that a float would mangle come back digit for digit
    for text in ("0.1", "0.3", "999999999999.99", "1234567.89", "0.01", "100"):
        response = client.post(
            "/incomes",
            data=f'{{"description": "x", "amount": {text}}}',
            content_type="application/json",
        )
        assert response.status_code == 204, text
        item = client.get(urlsplit(response.headers["Location"]).path)
        assert f'"amount":{text},'.encode() in item.data, item.data
        stored = get_state(client.application).db.get_income(item.get_json()["id"])
        assert stored is not None
        assert stored.amount == Decimal(text)
        assert isinstance(stored.amount, Decimal)


def test_decimal_sum_is_exact(client: FlaskClient) -> None:
    for _ in range(10):
        client.post(
            "/incomes",
            data=b'{"description": "dime", "amount": 0.10}',
            content_type="application/json",
        )
    items, _ = get_state(client.application).db.list_incomes(100)
    total = sum((i.amount for i in items if i.description == "dime"), Decimal(0))
    assert total == Decimal("1.00")


def _fill(client: FlaskClient, n: int) -> None:
    db = get_state(client.application).db
    for k in range(n):
        db.add_income(f"item {k}", Decimal(k + 1))


def test_default_limit_is_100_with_next_link(client: FlaskClient) -> None:
    _fill(client, 120)  # 121 rows with the seed
    response = client.get("/incomes")
    items = response.get_json()
    assert len(items) == 100
    link = next_link(response)
    assert link is not None
    query = parse_qs(urlsplit(link).query)
    assert query == {"limit": ["100"], "after_id": [str(items[-1]["id"])]}
    second = client.get(link)
    rest = second.get_json()
    assert len(rest) == 21
    assert next_link(second) is None
    ids = [i["id"] for i in items + rest]
    assert ids == sorted(ids)
    assert len(set(ids)) == 121


def test_following_links_visits_every_row_once(client: FlaskClient) -> None:
    _fill(client, 24)  # 25 rows
    url: str | None = "/incomes?limit=7"
    seen: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.get_json()
        assert 1 <= len(page) <= 7
        seen += [i["id"] for i in page]
        url = next_link(response)
        pages += 1
    assert pages == 4
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 25


def test_exact_multiple_has_no_trailing_link(client: FlaskClient) -> None:
    _fill(client, 9)  # 10 rows
    first = client.get("/incomes?limit=5")
    second = client.get(next_link(first) or "")
    assert len(second.get_json()) == 5
    assert next_link(second) is None


def test_limit_bounds(client: FlaskClient) -> None:
    _fill(client, 3)
    assert len(client.get("/incomes?limit=1").get_json()) == 1
    assert len(client.get("/incomes?limit=1000").get_json()) == 4
    for bad in ("0", "1001", "-1", "abc", "", "1.5", "+5", " 5", "99999999999999999999999"):
        response = client.get("/incomes", query_string={"limit": bad})
        assert response.status_code == 400, bad
        body = response.get_json()
        assert "limit" in body["error"], body


def test_after_id_cursor(client: FlaskClient) -> None:
    _fill(client, 5)  # ids 1..6
    items = client.get("/incomes?after_id=4").get_json()
    assert [i["id"] for i in items] == [5, 6]
    assert client.get("/incomes?after_id=6").get_json() == []
    assert client.get("/incomes?after_id=0").get_json()[0]["id"] == 1
    for bad in ("-1", "x", "", str(2**63), "1e3"):
        response = client.get("/incomes", query_string={"after_id": bad})
        assert response.status_code == 400, bad
        assert "after_id" in response.get_json()["error"]


def test_offset(client: FlaskClient) -> None:
    _fill(client, 5)  # 6 rows
    response = client.get("/incomes?offset=2&limit=2")
    assert [i["id"] for i in response.get_json()] == [3, 4]
    link = next_link(response)
    assert link is not None
    assert parse_qs(urlsplit(link).query)["after_id"] == ["4"]
    assert client.get("/incomes?offset=6").get_json() == []
    assert client.get("/incomes?offset=0").get_json()[0]["id"] == 1
    for bad in ("-1", "x", "10001"):
        response = client.get("/incomes", query_string={"offset": bad})
        assert response.status_code == 400, bad
        assert "offset" in response.get_json()["error"]
    response = client.get("/incomes?offset=1&after_id=1")
    assert response.status_code == 400
    assert "after_id" in response.get_json()["error"]
    assert client.get("/incomes?limit=2&limit=3").status_code == 400


def test_healthz_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}


def test_data_survives_app_restart(make_app: Callable[..., Flask]) -> None:
    first = make_app()
    status, location = post(first.test_client(), {"description": "kept", "amount": 7.5})
    assert status == 204
    get_state(first).db.dispose()
    second = make_app()
    item = second.test_client().get(urlsplit(location).path)
    assert item.status_code == 200
    assert item.get_json()["description"] == "kept"
    assert item.get_json()["amount"] == 7.5
    assert row_count(second) == 2


def test_description_is_trimmed_and_unicode_kept(client: FlaskClient) -> None:
    status, location = post(client, {"description": "  Salário 💶 ", "amount": 1})
    assert status == 204
    assert client.get(urlsplit(location).path).get_json()["description"] == "Salário 💶"
    status, _ = post(client, {"description": "x" * 255, "amount": 1})
    assert status == 204


def test_proxy_headers_shape_location_and_link(client: FlaskClient) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.org"}
    response = client.post("/incomes", json={"description": "p", "amount": 1}, headers=headers)
    assert response.headers["Location"].startswith("https://api.example.org/incomes/")
    listing = client.get("/incomes?limit=1", headers=headers)
    assert (next_link(listing) or "").startswith("https://api.example.org/incomes?")
