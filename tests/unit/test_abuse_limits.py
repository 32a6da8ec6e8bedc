"""The red-team's low findings on POST /leads (finding 7): idempotency keys scoped to the
person, a salted sliding-window rate limit per client network, blank optional fields.

Requests go through the POST /leads view with the client address API Gateway
would give it (create_lead), or over the test client.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import boto3
import pytest

from chalicelib.api import leads as leads_api
from tests.support.limits import at

HEADERS = {"content-type": "application/json"}


def post(body: dict[str, Any], client: str = "198.51.100.1", key: str | None = None) -> Any:
    headers = {**HEADERS, **({"idempotency-key": key} if key else {})}
    return leads_api.create_lead(headers, json.dumps(body).encode(), client)


def lead_count(env: dict[str, str]) -> int:
    return len(boto3.client("dynamodb").scan(TableName=env["LEADS_TABLE"])["Items"])


def body_of(response: Any) -> dict[str, Any]:
    return json.loads(response.body) if isinstance(response.body, str) else dict(response.body)


# --- idempotency keys, scoped to the person ----------------------------------------------


def test_another_persons_request_with_a_used_key_is_a_new_lead_not_a_conflict(local_aws):
    """A reused key leaked that it existed (409) and let one client squat on another's key."""
    key = f"key-{uuid.uuid4()}"
    first = post({"name": "Ada", "email": "ada@example.com"}, key=key)
    other = post({"name": "Eve", "email": "eve@example.com"}, client="203.0.113.9", key=key)
    assert (first.status_code, other.status_code) == (201, 201)
    assert body_of(first)["id"] != body_of(other)["id"]
    assert lead_count(local_aws) == 2


def test_the_same_person_retrying_from_another_network_gets_the_first_answer(local_aws):
    key = f"key-{uuid.uuid4()}"
    body = {"name": "Ada", "email": "ada@example.com", "message": "hello"}
    first = post(body, client="198.51.100.1", key=key)
    again = post(body, client="2001:db8::1", key=key)
    assert again.status_code == 201 and body_of(again)["id"] == body_of(first)["id"]
    assert lead_count(local_aws) == 1


def test_the_same_person_and_key_with_another_body_is_still_a_conflict(local_aws):
    key = f"key-{uuid.uuid4()}"
    assert post({"name": "Ada", "email": "ada@example.com"}, key=key).status_code == 201
    conflict = post({"name": "Ada L", "email": "ADA@Example.com".replace("ADA", "ada")}, key=key)
    assert conflict.status_code == 409
    assert lead_count(local_aws) == 1


def test_idempotency_records_hold_keyed_digests(local_aws):
    key = f"key-{uuid.uuid4()}"
    post({"name": "Ada", "email": "ada@example.com"}, key=key)
    [item] = boto3.client("dynamodb").scan(TableName=local_aws["IDEMPOTENCY_TABLE"])["Items"]
    assert item["key"]["S"] not in (hashlib.sha256(key.encode()).hexdigest(),
                                    hashlib.sha256(f"ada@example.com\n{key}".encode()).hexdigest())


# --- the rate limit ---------------------------------------------------------------------


def statuses(count: int, client: str = "198.51.100.1") -> list[int]:
    return [post({"name": "Ada", "email": f"ada.{uuid.uuid4().hex[:6]}@example.com"}, client).status_code
            for _ in range(count)]


def test_a_window_edge_does_not_double_the_allowance(local_aws, five_per_ten_minutes, monkeypatch):
    """A fixed window let a client send 5 just before the edge and 5 just after."""
    edge = 1_800_000_000 - 1_800_000_000 % 600 + 600
    at(monkeypatch, edge - 1)
    assert statuses(5) == [201] * 5
    at(monkeypatch, edge + 1)
    assert statuses(5) == [429] * 5
    at(monkeypatch, edge + 300)  # half the last window has slid out: about half the allowance back
    assert statuses(4) == [201, 201, 429, 429]


def test_the_wait_it_asks_for_is_enough(local_aws, five_per_ten_minutes, monkeypatch):
    start = 1_800_000_000 - 1_800_000_000 % 600
    at(monkeypatch, start + 10)
    statuses(5)
    limited = post({"name": "Ada", "email": "ada@example.com"})
    assert limited.status_code == 429
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 600 + 600 // 5  # at most window + window/limit
    at(monkeypatch, start + 10 + wait - 2)
    assert statuses(1) == [429]  # no sooner
    at(monkeypatch, start + 10 + wait)
    assert statuses(1) == [201]


def test_an_ipv6_client_is_its_64_prefix(local_aws, five_per_ten_minutes):
    """Every IPv6 address was its own bucket: one subscriber owns a whole /64."""
    assert [statuses(1, f"2001:db8:1:2::{i:x}")[0] for i in range(1, 7)] == [201] * 5 + [429]
    assert statuses(1, "2001:db8:1:3::1") == [201]  # another network
    assert statuses(1, "198.51.100.1") == [201]


def test_an_ipv4_mapped_address_is_that_ipv4_client(local_aws, five_per_ten_minutes):
    statuses(5, "198.51.100.7")
    assert statuses(1, "::ffff:198.51.100.7") == [429]


def test_limiter_keys_are_salted(local_aws, five_per_ten_minutes):
    statuses(1, "198.51.100.1")
    items = boto3.client("dynamodb").scan(TableName=local_aws["RATE_LIMIT_TABLE"])["Items"]
    buckets = [i["bucket"]["S"] for i in items]
    plain = hashlib.sha256(b"198.51.100.1").hexdigest()[:32]
    assert buckets and not any(b.startswith(plain) for b in buckets)


# --- blank optional fields -------------------------------------------------------------------


@pytest.mark.parametrize("blank", [{"source": ""}, {"source": None}, {"_gotcha": None}, {"_gotcha": ""},
                                   {"source": "", "_gotcha": None, "phone": "", "message": None}])
def test_blank_optional_fields_count_as_absent(api_client, local_aws, blank):
    response = api_client.http.post("/leads", headers={"Content-Type": "application/json"},
                                    body=json.dumps({"name": "Ada", "email": "ada@example.com", **blank}))
    assert response.status_code == 201, response.json_body
    [item] = boto3.client("dynamodb").scan(TableName=local_aws["LEADS_TABLE"])["Items"]
    assert item["source"]["S"] == "website"
    assert "_gotcha" not in item
