"""openapi.yaml and the Postman collection match what the app really routes and accepts.

openapi.yaml is checked as OpenAPI 3.1 with the validators Schemathesis brings (its copy of the
OpenAPI 3.1 schema, and jsonschema-rs for each Schema Object against JSON Schema 2020-12, with
its regular expressions and references). The request schemas' constraints are compared with the
app's own validation on generated values (the ``*_is_the_apps_rule`` tests); the property-based
tests of the whole API, generated from the document, are in test_openapi_fuzz.py.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import schemathesis
import yaml
from flask import Flask
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import APP_DIR
from incomes_api.config import DEFAULT_MAX_OFFSET
from incomes_api.db import MAX_ID
from incomes_api.validation import (
    BadRequest,
    Unprocessable,
    parse_page_request,
    validate_new_income,
)

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def load_spec() -> dict[str, Any]:
    spec = yaml.safe_load((APP_DIR / "openapi.yaml").read_text())
    assert isinstance(spec, dict)
    return spec


SPEC = load_spec()


def _schema_objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Schema Object of the document (components/schemas and each ``schema`` member)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schema_objects(item, f"{where}/{index}")
    elif isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" and isinstance(value, dict):
                yield here, value
            elif here == "#/components/schemas":
                for name, schema in value.items():
                    yield f"{here}/{name}", schema
            else:
                yield from _schema_objects(value, here)


def compile_schema(schema: dict[str, Any], spec: dict[str, Any] = SPEC) -> jsonschema_rs.Validator:
    """A JSON Schema 2020-12 validator for one Schema Object of the document, whose
    ``#/components/...`` references resolve against the document. Raises ValidationError for
    a schema that is not valid 2020-12 (a bad keyword value, a pattern that is not a regular
    expression, a dangling reference)."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def check_openapi_document(spec: dict[str, Any]) -> None:
    schemathesis.openapi.from_dict(spec).validate()  # against the OpenAPI 3.1 schema
    schemas = list(_schema_objects(spec))
    assert len(schemas) > 10
    for where, schema in schemas:
        try:
            compile_schema(schema, spec)
        except jsonschema_rs.ValidationError as exc:
            raise AssertionError(f"{where}: {exc}") from exc
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            re.compile(pattern)  # Python's dialect reads it too


def test_openapi_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    check_openapi_document(SPEC)


def _parameter_in_body(spec: dict[str, Any]) -> None:
    spec["paths"]["/incomes"]["get"]["parameters"][0]["in"] = "body"  # OpenAPI 2 only


def _response_without_description(spec: dict[str, Any]) -> None:
    del spec["paths"]["/healthz"]["get"]["responses"]["200"]["description"]


def _unknown_type(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["Amount"]["type"] = "decimal"


def _bad_regex(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["Income"]["properties"]["description"]["pattern"] = "^[a-"


def _dangling_ref(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["Income"]["properties"]["amount"]["$ref"] += "s"


@pytest.mark.parametrize(
    "breakage",
    [_parameter_in_body, _response_without_description, _unknown_type, _bad_regex, _dangling_ref],
)
def test_openapi_validation_rejects_a_broken_document(
    breakage: Callable[[dict[str, Any]], None],
) -> None:
    broken = copy.deepcopy(SPEC)
    breakage(broken)
    with pytest.raises((jsonschema_rs.ValidationError, AssertionError)):
        check_openapi_document(broken)


def _app_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                routes.add((path, method.lower()))
    return routes


# --- The request schemas state the app's rules exactly -----------------------------------------
#
# Each test draws values around the rule's edges and asserts that the document's schema (with
# jsonschema-rs, as Schemathesis reads it) accepts exactly what the app's validation accepts.

DESCRIPTION = SPEC["components"]["schemas"]["NewIncome"]["properties"]["description"]
AMOUNT = SPEC["components"]["schemas"]["Amount"]
PAGE = SPEC["paths"]["/incomes"]["get"]["parameters"][0]["schema"]
DESCRIPTION_VALIDATOR = compile_schema(DESCRIPTION)
AMOUNT_VALIDATOR = compile_schema(AMOUNT)
PAGE_VALIDATOR = compile_schema(PAGE)


def _app_accepts_income(body: dict[str, Any]) -> bool:
    try:
        validate_new_income(body)
    except Unprocessable:
        return False
    return True


# Where the description rule has edges: every character str.strip() removes (some of them are
# control characters as well), the other control characters, and ordinary ones (format
# characters such as U+200B and U+FEFF are not whitespace; one astral character). Strings of
# Unicode characters: Hypothesis draws no lone surrogates, which the document's text covers.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_CONTROL = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
_ORDINARY = "ax\u00e9\u00ad\u200b\ufeff\U0001f600"
_short_texts = st.text(_WHITESPACE + _CONTROL + _ORDINARY, max_size=12)
_long_texts = st.builds(
    lambda before, core, after: before + core + after,
    st.text(_WHITESPACE, max_size=4),
    st.text(st.sampled_from("x \u00a0\U0001f600\t"), min_size=250, max_size=260),
    st.text(_WHITESPACE, max_size=4),
)


@settings(max_examples=200)
@given(st.one_of(_short_texts, _long_texts))
@example(" " * 300 + "x" * 255 + "\n")  # 556 characters before trimming: valid
@example("x" * 256)
@example("\x1cx\x1f")  # file/unit separators: control characters, but whitespace to strip()
@example("a\x1cb")
@example("\u2028")
def test_description_schema_is_the_apps_rule(text: str) -> None:
    accepted = _app_accepts_income({"description": text, "amount": Decimal(1)})
    assert DESCRIPTION_VALIDATOR.is_valid(text) is accepted
    assert (re.search(DESCRIPTION["pattern"], text) is not None) is accepted


def _document_allows_amount(value: Decimal) -> bool:
    """Amount's keywords in exact decimal arithmetic, which is how JSON Schema defines them."""
    return (
        value > Decimal(str(AMOUNT["exclusiveMinimum"]))
        and value <= Decimal(str(AMOUNT["maximum"]))
        and value % Decimal(str(AMOUNT["multipleOf"])) == 0
    )


_amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(0, 4).flatmap(
        lambda places: st.decimals(
            min_value=-1, max_value=Decimal("1000000000000.01"), places=places
        )
    ),
    # trailing zeros: 12.200 is 12.2
    st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2).map(
        lambda value: value.quantize(Decimal("0.0001"))
    ),
)


@settings(max_examples=200)
@given(_amounts)
@example(Decimal("0.57"))
@example(Decimal("0.5700000000000001"))  # 57 * 0.01 in binary floating point
@example(Decimal("5E-324"))
@example(Decimal("999999999999.99"))
@example(Decimal("999999999999.991"))
@example(Decimal("0.01"))
@example(Decimal("-0.00"))
def test_amount_schema_is_the_apps_rule(value: Decimal) -> None:
    accepted = _app_accepts_income({"description": "x", "amount": value})
    assert _document_allows_amount(value) is accepted
    # jsonschema-rs, which Schemathesis checks response bodies with, gets JSON numbers as
    # doubles: wherever a double's shortest text is this decimal, it must agree as well.
    as_double = float(value)
    if Decimal(repr(as_double)) == value:
        assert AMOUNT_VALIDATOR.is_valid(as_double) is accepted


_page_values = st.one_of(
    st.integers(-2, 1002),
    st.integers(DEFAULT_MAX_OFFSET - 2, DEFAULT_MAX_OFFSET + 2),
    st.integers(MAX_ID - 2, MAX_ID + 2),
    st.integers(0, 2**70),
)


@settings(max_examples=200)
@given(
    st.fixed_dictionaries(
        {}, optional={"limit": _page_values, "after_id": _page_values, "offset": _page_values}
    )
)
@example({"after_id": 0, "offset": 0})
def test_page_schema_is_the_apps_rule(page: dict[str, int]) -> None:
    query = {name: [str(value)] for name, value in page.items()}
    try:
        parse_page_request(query, DEFAULT_MAX_OFFSET)
        accepted = True
    except BadRequest:
        accepted = False
    assert PAGE_VALIDATOR.is_valid(page) is accepted


def test_openapi_paths_match_app_routes(app: Flask) -> None:
    spec = load_spec()
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert documented == _app_routes(app)


def test_openapi_documents_the_statuses_the_app_answers(app: Flask) -> None:
    spec = load_spec()
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
