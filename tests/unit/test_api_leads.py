"""POST /leads and GET /health against the contract, with chalice.test.Client."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

VALID = {"name": "Ada Lovelace", "email": "Ada@Example.COM", "message": "Hello"}


def post(client: Any, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    payload = raw if raw is not None else json.dumps(body).encode()
    return client.http.post("/leads", headers=hdrs, body=payload)


def leads_in_table(env: dict[str, str]) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=env["LEADS_TABLE"])["Items"]


def test_health(api_client):
    response = api_client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_valid_lead_is_stored_normalised(api_client, local_aws):
    response = post(api_client, {**VALID, "name": "  Ada Lovelace  ", "phone": "+44 (0)20 7946-0000",
                                 "source": "landing_page-2", "metadata": {"plan": "pro"}})
    assert response.status_code == 201
    body = response.json_body
    assert body["status"] == "received"
    assert response.headers["Location"] == f"/leads/{body['id']}"
    items = leads_in_table(local_aws)
    assert len(items) == 1
    item = items[0]
    assert item["id"]["S"] == body["id"]
    assert item["email"]["S"] == "Ada@example.com"
    assert item["name"]["S"] == "Ada Lovelace"
    assert item["source"]["S"] == "landing_page-2"
    assert item["metadata"]["M"]["plan"]["S"] == "pro"
    assert item["created_at"]["S"].endswith("Z")


def test_source_defaults_to_website(api_client, local_aws):
    assert post(api_client, VALID).status_code == 201
    assert leads_in_table(local_aws)[0]["source"]["S"] == "website"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com"}, "name"),
        ({"name": "A"}, "email"),
        ({**VALID, "name": "   "}, "name"),
        ({**VALID, "name": "x" * 201}, "name"),
        ({**VALID, "name": "bad\x07name"}, "name"),
        ({**VALID, "name": "line\nbreak"}, "name"),
        ({**VALID, "name": 5}, "name"),
        ({**VALID, "email": "not-an-address"}, "email"),
        ({**VALID, "email": "a@b"}, "email"),
        ({**VALID, "email": ("a" * 64) + "@" + ("b" * 63 + ".") * 3 + "com"}, "email"),
        ({**VALID, "email": ["a@example.com"]}, "email"),
        ({**VALID, "phone": "call me"}, "phone"),
        ({**VALID, "phone": "1" * 41}, "phone"),
        ({**VALID, "message": "m" * 5001}, "message"),
        ({**VALID, "message": 12}, "message"),
        ({**VALID, "source": "Web Site"}, "source"),
        ({**VALID, "source": "s" * 65}, "source"),
        ({**VALID, "metadata": ["a"]}, "metadata"),
        ({**VALID, "metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
        ({**VALID, "metadata": {"": "v"}}, "metadata."),
        ({**VALID, "metadata": {"k" * 65: "v"}}, "metadata." + "k" * 64),
        ({**VALID, "metadata": {"plan": 3}}, "metadata.plan"),
        ({**VALID, "metadata": {"plan": "v" * 501}}, "metadata.plan"),
        ({**VALID, "admin": True}, "admin"),
        ({**VALID, "_gotcha": 1}, "_gotcha"),
    ],
)
def test_each_rule_rejects_and_stores_nothing(api_client, local_aws, body, field):
    response = post(api_client, body)
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_failed"
    assert field in [d["field"] for d in response.json_body["details"]]
    assert leads_in_table(local_aws) == []


def test_every_invalid_field_is_listed(api_client, local_aws):
    response = post(api_client, {"name": "", "email": "x", "phone": "?", "source": "A", "extra": 1})
    fields = {d["field"] for d in response.json_body["details"]}
    assert fields == {"name", "email", "phone", "source", "extra"}


def test_limits_are_inclusive(api_client, local_aws):
    body = {
        "name": "n" * 200,
        "email": ("a" * 64) + "@" + "b" * 60 + ".com",
        "phone": "1" * 40,
        "message": "m" * 5000,
        "source": "s" * 64,
        "metadata": {**{f"k{i:02d}": "v" for i in range(19)}, "k" * 64: "v" * 500},
    }
    response = post(api_client, body)
    assert response.status_code == 201, response.json_body


@pytest.mark.parametrize("body", [{"phone": None}, {"phone": ""}, {"message": ""}, {"metadata": None}])
def test_blank_optional_fields_are_absent(api_client, local_aws, body):
    assert post(api_client, {**VALID, **body}).status_code == 201


def test_malformed_json_is_400(api_client, local_aws):
    response = post(api_client, None, raw=b'{"name": "A",')
    assert response.status_code == 400
    assert response.json_body["error"] == "malformed_json"
    assert leads_in_table(local_aws) == []


def test_invalid_utf8_is_400(api_client, local_aws):
    response = post(api_client, None, raw=b'{"name": "\xff"}')
    assert response.status_code == 400


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_non_object_json_is_400(api_client, local_aws, body):
    response = post(api_client, body)
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_failed"


# Forms are accepted too (tests/unit/test_forms.py); other types are not.
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_not_json_is_415(api_client, local_aws, content_type):
    response = api_client.http.post(
        "/leads", headers={"Content-Type": content_type} if content_type else {}, body=json.dumps(VALID)
    )
    assert response.status_code == 415
    assert response.json_body["error"] == "unsupported_media_type"
    assert leads_in_table(local_aws) == []


def test_json_with_charset_is_accepted(api_client, local_aws):
    response = post(api_client, VALID, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 201


def test_body_over_16_kib_is_413(api_client, local_aws):
    raw = json.dumps({**VALID, "message": "m" * (16 * 1024)}).encode()
    response = post(api_client, None, raw=raw)
    assert response.status_code == 413
    assert response.json_body["error"] == "payload_too_large"
    assert leads_in_table(local_aws) == []


def test_honeypot_answers_success_and_stores_nothing(api_client, local_aws):
    response = post(api_client, {**VALID, "_gotcha": "I am a bot"})
    assert response.status_code == 201
    assert response.json_body["status"] == "received"
    assert leads_in_table(local_aws) == []


def test_empty_honeypot_is_a_normal_lead(api_client, local_aws):
    assert post(api_client, {**VALID, "_gotcha": ""}).status_code == 201
    assert len(leads_in_table(local_aws)) == 1


def test_idempotent_repeat_returns_first_response_and_stores_nothing_new(api_client, local_aws):
    first = post(api_client, VALID, headers={"Idempotency-Key": "abc-123"})
    again = post(api_client, VALID, headers={"Idempotency-Key": "abc-123"})
    assert first.status_code == again.status_code == 201
    assert first.json_body == again.json_body
    assert again.headers["Location"] == first.headers["Location"]
    assert len(leads_in_table(local_aws)) == 1


def test_same_key_other_body_is_409(api_client, local_aws):
    post(api_client, VALID, headers={"Idempotency-Key": "abc-123"})
    response = post(api_client, {**VALID, "message": "other"}, headers={"Idempotency-Key": "abc-123"})
    assert response.status_code == 409
    assert response.json_body["error"] == "idempotency_conflict"
    assert len(leads_in_table(local_aws)) == 1


def test_expired_idempotency_key_creates_a_new_lead(api_client, local_aws, monkeypatch):
    from chalicelib.core import clock

    post(api_client, VALID, headers={"Idempotency-Key": "k"})
    real = clock.now_epoch
    monkeypatch.setattr(clock, "now_epoch", lambda: real() + 86400 + 5)
    for module in ("chalicelib.store.idempotency", "chalicelib.store.rate_limits"):
        monkeypatch.setattr(f"{module}.now_epoch", clock.now_epoch)
    assert post(api_client, VALID, headers={"Idempotency-Key": "k"}).status_code == 201
    assert len(leads_in_table(local_aws)) == 2


def test_different_keys_store_two_leads(api_client, local_aws):
    post(api_client, VALID, headers={"Idempotency-Key": "one"})
    post(api_client, VALID, headers={"Idempotency-Key": "two"})
    assert len(leads_in_table(local_aws)) == 2


def test_overlong_idempotency_key_is_400(api_client, local_aws):
    response = post(api_client, VALID, headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 400
    assert response.json_body["details"][0]["field"] == "Idempotency-Key"
    assert leads_in_table(local_aws) == []


def test_rate_limit_answers_429_with_retry_after(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_MAX", "2")
    from chalicelib.core.settings import get_settings

    get_settings.cache_clear()
    assert post(api_client, VALID).status_code == 201
    assert post(api_client, VALID).status_code == 201
    limited = post(api_client, VALID)
    assert limited.status_code == 429
    assert limited.json_body["error"] == "rate_limited"
    # A sliding window over two fixed ones: the wait can reach into the next window.
    assert 1 <= int(limited.headers["Retry-After"]) <= 600 + 600 // 2
    assert len(leads_in_table(local_aws)) == 2


def test_idempotent_replay_is_not_rate_limited(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_MAX", "1")
    from chalicelib.core.settings import get_settings

    get_settings.cache_clear()
    post(api_client, VALID, headers={"Idempotency-Key": "same"})
    assert post(api_client, VALID, headers={"Idempotency-Key": "same"}).status_code == 201


def test_cors_allows_configured_origin(api_client, local_aws):
    response = post(api_client, VALID, headers={"Origin": "http://localhost:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    preflight = api_client.http.request(
        "OPTIONS", "/leads", headers={"Origin": "http://localhost:3000"}
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_cors_refuses_other_origin(api_client, local_aws):
    response = post(api_client, VALID, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = api_client.http.request("OPTIONS", "/leads", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
