"""openapi.yaml and the Postman collection match what the app really routes."""

from __future__ import annotations

import json
import re

import yaml
from flask import Flask

from conftest import APP_DIR

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _app_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                routes.add((path, method.lower()))
    return routes


def test_openapi_paths_match_app_routes(app: Flask) -> None:
    spec = yaml.safe_load((APP_DIR / "openapi.yaml").read_text())
    assert str(spec["openapi"]).startswith("3.1")
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert documented == _app_routes(app)


def test_openapi_documents_the_statuses_the_app_answers(app: Flask) -> None:
    spec = yaml.safe_load((APP_DIR / "openapi.yaml").read_text())
    post = spec["paths"]["/incomes"]["post"]["responses"]
    assert {"204", "400", "413", "415", "422"} <= set(post)
    client = app.test_client()
    assert str(client.post("/incomes", json={"amount": 1, "description": "x"}).status_code) in post
    assert (
        str(client.post("/incomes", data=b"x", content_type="application/json").status_code) in post
    )


def test_postman_collection_uses_real_routes(app: Flask) -> None:
    collection = json.loads((APP_DIR / "postman" / "incomes.postman_collection.json").read_text())
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "http://localhost:8080"
    routes = _app_routes(app)
    client = app.test_client()
    for item in collection["item"]:
        request = item["request"]
        raw = request["url"]["raw"]
        assert raw.startswith("{{baseUrl}}/")
        path = raw[len("{{baseUrl}}") :]
        assert (path, request["method"].lower()) in routes
        body = request.get("body", {}).get("raw")
        headers = {h["key"]: h["value"] for h in request["header"]}
        response = client.open(path, method=request["method"], data=body, headers=headers)
        assert response.status_code in (200, 204), (item["name"], response.data)
    posted = json.loads(collection["item"][1]["request"]["body"]["raw"])
    assert posted == {"amount": 2024, "description": "teste"}
