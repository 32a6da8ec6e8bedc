"""chalicelib.api.http: Chalice's own error answers reshaped into the API's shape.

Exercised on a small Chalice app of its own, so it is tested whether or not
app.py has registered the middleware yet (tests/fuzz checks the real app).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice import BadRequestError, Chalice, NotFoundError, Response
from chalice.test import Client

from chalicelib.api import http


def build_app() -> Chalice:
    app = Chalice(app_name="http-errors-test")
    app.register_middleware(http.normalise_errors, "http")

    @app.route("/ok", methods=["GET"])
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.route("/ours", methods=["GET"])
    def ours() -> Response:
        return Response(body={"error": "teapot"}, status_code=418, headers={"Content-Type": "application/json"})

    @app.route("/crash", methods=["GET"])
    def crash() -> None:
        raise RuntimeError("secret detail ada@example.com")

    @app.route("/bad", methods=["GET"])
    def bad() -> None:
        raise BadRequestError("name is wrong")

    @app.route("/missing", methods=["GET"])
    def missing() -> None:
        raise NotFoundError("no such lead")

    return app


@pytest.fixture
def client(tmp_path) -> Iterator[Any]:
    with Client(build_app(), project_dir=str(tmp_path)) as test_client:
        yield test_client


def test_success_and_our_own_errors_pass_through(client):
    assert client.http.get("/ok").json_body == {"status": "ok"}
    response = client.http.get("/ours")
    assert (response.status_code, response.json_body) == (418, {"error": "teapot"})


def test_method_not_allowed_gets_the_api_shape(client):
    response = client.http.post("/ok", body=b"")
    assert response.status_code == 405
    assert response.json_body == {"error": "method_not_allowed", "message": "Unsupported method: POST"}
    assert response.headers["Allow"] == "GET"
    assert response.headers["Content-Type"] == "application/json"


def test_unhandled_exception_is_a_500_that_reveals_nothing(client):
    response = client.http.get("/crash")
    assert response.status_code == 500
    assert response.json_body == {"error": "internal_error", "message": "an internal error occurred"}
    assert b"secret" not in response.body and b"example.com" not in response.body


@pytest.mark.parametrize(("path", "status", "code"), [("/bad", 400, "bad_request"), ("/missing", 404, "not_found")])
def test_chalice_view_errors_get_the_api_shape(client, path, status, code):
    response = client.http.get(path)
    assert response.status_code == status
    assert response.json_body["error"] == code
    assert set(response.json_body) == {"error", "message"}


@pytest.mark.parametrize(
    ("chalice_code", "expected"),
    [("MethodNotAllowedError", "method_not_allowed"), ("SomeNewThingError", "some_new_thing"), ("Error", "error")],
)
def test_error_codes_are_snake_case(chalice_code, expected):
    assert http.error_code(chalice_code) == expected


def test_exception_escaping_the_view_is_caught():
    def explode(_event: Any) -> Response:
        raise ValueError("boom")

    response = http.normalise_errors(object(), explode)
    assert response.status_code == 500
    assert response.body == {"error": "internal_error", "message": "an internal error occurred"}
