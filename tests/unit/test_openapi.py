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


def operations():
    for path, item in openapi.document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method.upper(), operation


def test_the_admin_token_is_required_exactly_where_the_authorizer_guards():
    admin = [{"adminToken": []}]
    for path, method, operation in operations():
        guarded = app_module.app.routes[path][method].authorizer is not None
        assert (operation["security"] == admin) is guarded, (path, method, operation["security"])
        if guarded:
            assert {"401", "403"} <= set(operation["responses"]), (path, method)


def test_the_documented_closed_sets_are_the_code_s():
    from chalicelib.api.admin import PUBLIC_STATUSES
    from chalicelib.core.states import DeadLetterQueue, RedriveOutcome

    schemas = openapi.document()["components"]["schemas"]
    assert schemas["DeadLetterQueueName"]["enum"] == [str(queue) for queue in DeadLetterQueue]
    assert schemas["Status"]["enum"] == [str(status) for status in PUBLIC_STATUSES]
    outcome = schemas["RedriveReport"]["properties"]["results"]["items"]["properties"]["outcome"]
    assert outcome["enum"] == [str(outcome) for outcome in RedriveOutcome]


def test_each_open_page_and_file_is_served_as_documented(api_client):
    # The routes anyone may GET without parameters: their status, media type and required headers.
    checked = []
    for path, method, operation in operations():
        if method != "GET" or operation["security"] or "{" in path:
            continue
        answer = api_client.http.get(path)
        documented = operation["responses"][str(answer.status_code)]
        headers = {name.lower(): value for name, value in answer.headers.items()}
        # Without a Content-Type the gateway (and `chalice local`) sends application/json.
        media = headers.get("content-type", "application/json").split(";")[0]
        assert media in documented["content"], (path, media)
        for name, spec in documented.get("headers", {}).items():
            assert not spec.get("required") or name.lower() in headers, (path, name)
        checked.append(path)
    assert {"/admin", "/admin/app.js", "/thanks", "/embed.js", "/pages.css"} <= set(checked)
