"""The properties every fuzzed response must have, shared by the fuzz tests."""

from __future__ import annotations

from typing import Any

from tests.support.fuzz import oracle
from tests.support.fuzz.harness import FuzzApi, json_body

ERROR_KEYS = {"error", "message", "details"}
LEAD_FIELDS = ("name", "email", "phone", "message", "source", "metadata")


def header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def assert_no_server_error(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.body[:500])


def assert_headers_are_single_line(response: Any) -> None:
    for key, value in response.headers.items():
        assert "\r" not in str(value) and "\n" not in str(value), (key, value)


def assert_error_shape(response: Any) -> dict[str, Any]:
    """{"error": str, optional "message": str, optional "details": [{"field", "message"}]}."""
    body = json_body(response)
    assert isinstance(body, dict), response.body[:300]
    assert set(body) <= ERROR_KEYS, body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message", ""), str), body
    details = body.get("details")
    if details is not None:
        assert isinstance(details, list), body
        for detail in details:
            assert isinstance(detail, dict) and set(detail) == {"field", "message"}, detail
            assert isinstance(detail["field"], str) and isinstance(detail["message"], str), detail
    if response.status_code == 400 and body["error"] == "validation_failed":
        assert details, body
    if response.status_code == 429:
        assert (header(response, "Retry-After") or "").isdigit(), response.headers
    assert (header(response, "Content-Type") or "").startswith("application/json"), response.headers
    return body


def assert_created_shape(response: Any) -> str:
    body = json_body(response)
    assert isinstance(body, dict) and set(body) == {"id", "status"}, body
    assert body["status"] == "received" and isinstance(body["id"], str) and body["id"], body
    assert header(response, "Location") == f"/leads/{body['id']}", response.headers
    return str(body["id"])


def assert_cors(response: Any, origin: str | None) -> None:
    allow = header(response, "Access-Control-Allow-Origin")
    if oracle.origin_allowed(origin):
        assert allow == origin, response.headers
    else:
        assert allow is None, (origin, response.headers)


def assert_page_shape(response: Any) -> None:
    """A browser's form navigation gets its refusals as pages with the pages' security headers."""
    assert (header(response, "Content-Type") or "").startswith("text/html"), response.headers
    assert "default-src 'none'" in (header(response, "Content-Security-Policy") or ""), response.headers
    assert header(response, "X-Content-Type-Options") == "nosniff", response.headers
    if response.status_code == 429:
        assert (header(response, "Retry-After") or "").isdigit(), response.headers


def assert_stored_as_expected(stored: dict[str, Any], expectation: oracle.Expectation) -> None:
    if expectation.lead is not None:
        for name in LEAD_FIELDS:
            assert stored.get(name) == expectation.lead.get(name), (name, stored.get(name), expectation.lead)
        return
    # Undecided input the app accepted: what it stored must still obey the rules.
    for name in LEAD_FIELDS:
        if name in stored:
            assert oracle.stored_value_is_acceptable(name, stored[name]), (name, stored[name])
    assert "name" in stored and "email" in stored, stored


def post_lead(
    api: FuzzApi,
    raw: bytes,
    content_type: str | None = "application/json",
    key: str | None = None,
    origin: str | None = None,
    extra: dict[str, str] | None = None,
) -> Any:
    """POST raw to /leads and check every property; return the response."""
    headers = dict(extra or {})
    for name, value in (("Content-Type", content_type), ("Idempotency-Key", key), ("Origin", origin)):
        if value is not None:
            headers[name] = value
    accept = next((value for name, value in headers.items() if name.lower() == "accept"), None)
    expectation = oracle.expect(content_type, key, raw, origin, accept)
    statuses, replay_of = expected_statuses(api, expectation, key)
    leads_before = api.lead_count()
    keys_before = api.item_count("IDEMPOTENCY_TABLE")

    response = api.request("POST", "/leads", headers, raw)

    assert_no_server_error(response)
    assert_headers_are_single_line(response)
    assert response.status_code in statuses, (response.status_code, statuses, expectation.reasons, response.body[:500])
    assert_cors(response, origin)
    stored_new = response.status_code == 201 and not expectation.honeypot and replay_of is None
    if response.status_code == 201:
        lead_id = assert_created_shape(response)
        if replay_of is not None:
            assert lead_id == replay_of
    elif expectation.html:
        assert_page_shape(response)
    else:
        assert_error_shape(response)
    assert api.lead_count() == leads_before + (1 if stored_new else 0)
    assert api.item_count("IDEMPOTENCY_TABLE") == keys_before + (1 if stored_new and key else 0)
    if stored_new:
        stored = api.get_lead(lead_id)
        assert stored is not None
        assert_stored_as_expected(stored, expectation)
        if key:
            api.keys[(key, oracle.idempotency_scope(expectation.body))] = (expectation.body, lead_id)
    return response


def expected_statuses(
    api: FuzzApi, expectation: oracle.Expectation, key: str | None
) -> tuple[set[int], str | None]:
    """The oracle's statuses, adjusted for an Idempotency-Key the app has seen before
    from the same person (the key's scope)."""
    statuses = set(expectation.statuses)
    scoped = (key, oracle.idempotency_scope(expectation.body))
    if key is None or scoped not in api.keys or not expectation.may_store:
        return statuses, None
    first_body, first_id = api.keys[scoped]
    statuses.discard(201)
    if first_body == expectation.body:
        statuses.add(201)
        return statuses, first_id
    statuses.add(409)
    return statuses, None
