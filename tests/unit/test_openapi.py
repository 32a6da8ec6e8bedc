"""GET /openapi.json: the document of the whole public API, true to app.py's routes both ways."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

import app as app_module
from chalicelib.api import openapi

METHODS = {"get", "post", "put", "patch", "delete", "options", "head"}


def documented() -> set[tuple[str, str]]:
    paths = openapi.document()["paths"]
    return {(path, method.upper()) for path, item in paths.items() for method in item if method in METHODS}


def routed() -> set[tuple[str, str]]:
    return {(path, method) for path, entries in app_module.app.routes.items() for method in entries}


def test_every_route_is_documented_and_every_documented_route_exists():
    assert routed() - documented() == set(), "routes missing from chalicelib/api/openapi.json"
    assert documented() - routed() == set(), "documented routes app.py does not have"


def test_path_parameters_match_the_routes():
    for path, item in openapi.document()["paths"].items():
        named = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert named == declared, path


def test_it_is_openapi_3_1_with_valid_schemas_and_an_error_answer_per_refusal():
    document = openapi.document()
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            assert operation["responses"], (path, method)
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_it_is_served(api_client):
    answer = api_client.http.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json_body == openapi.document()
    assert answer.headers["Content-Type"] == "application/json"


def test_the_documented_kinds_are_the_kinds_senders_may_send():
    from chalicelib.email import schemas

    documented_kinds = openapi.document()["components"]["schemas"]["NotificationRequest"]["properties"]["kind"]["enum"]
    assert set(documented_kinds) == {kind for kind in schemas.kinds() if schemas.requestable(kind)}
