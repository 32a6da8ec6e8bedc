"""Every method on every path the API has: never a 5xx, and every 4xx in the API's shape.

Chalice answers some of these itself (405 for a method a route lacks) in its
own {"Code", "Message"} shape; chalicelib.api.http rewrites them once
app.py registers it as middleware. Until then the shape check is skipped,
not weakened (test_chalice_answers_use_the_api_error_shape says so).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import app as app_module
from chalicelib.api import http
from tests.support.aws import ADMIN_TOKEN
from tests.support.fuzz import checks, strategies
from tests.support.fuzz.profile import fuzz_settings

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]  # what API Gateway passes on
PATHS = {"/health": "/health", "/leads": "/leads", "/leads/{lead_id}": "/leads/0123456789abcdef0123456789abcdef"}


def middleware_registered() -> bool:
    return any(func is http.normalise_errors for func, _ in app_module.app.middleware_handlers)


def gateway_makes_up_options(route: str, method: str) -> bool:
    """OPTIONS on a path without an OPTIONS route is answered by the gateway itself
    (chalice.test's stand-in for it even crashes on its own body=None)."""
    return method == "OPTIONS" and "OPTIONS" not in app_module.app.routes.get(route, {})


def routed_by_the_app(route: str, method: str) -> bool:
    """False where the gateway answers before the function runs (auto OPTIONS, authorizer)."""
    methods = app_module.app.routes.get(route, {})
    if method == "OPTIONS" and "OPTIONS" not in methods:
        return False
    return not (method in methods and methods[method].authorizer is not None)


@fuzz_settings(0.05)
@given(
    route=st.sampled_from(sorted(PATHS)),
    method=st.sampled_from(METHODS),
    body=st.one_of(st.just(b""), strategies.raw_bodies),
    authorized=st.booleans(),
    content_type=strategies.content_types,
)
def test_any_method_on_any_path(fuzz_api, route, method, body, authorized, content_type):
    assume(not gateway_makes_up_options(route, method))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if authorized else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if route == "/leads" and method == "POST":
        checks.post_lead(fuzz_api, body, content_type, extra=headers)
        return
    response = fuzz_api.request(method, PATHS[route], headers, body)
    checks.assert_no_server_error(response)
    checks.assert_headers_are_single_line(response)
    if response.status_code >= 400 and routed_by_the_app(route, method):
        checks.assert_error_shape(response)


@pytest.mark.parametrize(("method", "path"), [("PUT", "/leads"), ("POST", "/health"), ("PATCH", "/leads")])
def test_chalice_answers_use_the_api_error_shape(fuzz_api, method, path):
    assert middleware_registered()
    response = fuzz_api.request(method, path, {"Content-Type": "application/json"}, b"{}")
    assert response.status_code == 405
    assert checks.assert_error_shape(response)["error"] == "method_not_allowed"
