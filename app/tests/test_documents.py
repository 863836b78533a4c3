"""openapi.yaml and the Postman collection match what the app really routes."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

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


def _postman_url(request: dict[str, Any]) -> str:
    url = request["url"]
    return url if isinstance(url, str) else str(url["raw"])


def test_postman_collection_uses_real_routes(app: Flask) -> None:
    """Each request goes to a route the app has (newman runs the collection for real against
    the stack in the default Molecule scenario; this only keeps its paths honest here)."""
    collection = json.loads((APP_DIR / "postman" / "incomes.postman_collection.json").read_text())
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "http://localhost:8080"
    adapter = app.url_map.bind("localhost")
    set_so_far: set[str] = set()
    for item in collection["item"]:
        request = item["request"]
        raw = _postman_url(request)
        whole = re.fullmatch(r"\{\{(\w+)\}\}", raw)
        if whole:  # a URL an earlier response gave (the Location of the POST)
            assert whole.group(1) in set_so_far, item["name"]
        else:
            assert raw.startswith("{{baseUrl}}/"), item["name"]
            path = urlsplit(re.sub(r"\{\{\w+\}\}", "1", raw[len("{{baseUrl}}") :])).path
            adapter.match(path, method=request["method"])  # raises if the app has no such route
        for event in item.get("event", []):
            set_so_far.update(
                re.findall(r"collectionVariables\.set\('(\w+)'", "\n".join(event["script"]["exec"]))
            )
    posted = json.loads(collection["item"][1]["request"]["body"]["raw"])
    assert posted == {"amount": 2024, "description": "teste"}
