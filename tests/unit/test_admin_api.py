"""Admin routes through chalice.test.Client, whose local gateway runs the built-in authorizer
exactly as `chalice local` does: GET /leads/{id}, GET /leads, DELETE /leads/{id}."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import boto3
import pytest

from chalicelib.pipeline import feedback
from tests.support import ses_events
from tests.support.aws import ADMIN_TOKEN, reset_app_caches
from tests.support.tracking import new_id, new_message_id, record_sent

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def post_lead(client: Any, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    response = client.http.post(
        "/leads",
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(body).encode(),
    )
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def get(client: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    return client.http.get(path, headers=AUTH if headers is None else headers)


# --- Authorization -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/leads"), ("get", "/leads/" + "a" * 32), ("delete", "/leads/" + "a" * 32)]
)
def test_no_authorization_header_is_401(admin_client, method, path):
    response = getattr(admin_client.http, method)(path)
    assert response.status_code == 401
    assert json.loads(response.body)  # a JSON body (its shape: see chalicelib/auth.py)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        f"Bearer {ADMIN_TOKEN}x",
        f"Basic {ADMIN_TOKEN}",
        ADMIN_TOKEN,
        "Bearer ",
        f"Bearer {hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()}",  # the hash itself is not the token
    ],
)
@pytest.mark.parametrize(("method", "path"), [("get", "/leads"), ("delete", "/leads/" + "a" * 32)])
def test_wrong_token_is_403(admin_client, header, method, path):
    response = getattr(admin_client.http, method)(path, headers={"Authorization": header})
    assert response.status_code == 403


def test_right_token_is_accepted_scheme_case_insensitive(admin_client):
    assert get(admin_client, "/leads").status_code == 200
    assert get(admin_client, "/leads", {"Authorization": f"bearer {ADMIN_TOKEN}"}).status_code == 200


def test_no_configured_hash_denies_every_token(admin_client, monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN_SHA256", "")
    reset_app_caches()
    try:
        assert get(admin_client, "/leads").status_code == 403
    finally:
        monkeypatch.undo()
        reset_app_caches()


def test_public_routes_need_no_token(admin_client):
    assert admin_client.http.get("/health").status_code == 200
    post_lead(admin_client, {"name": "Ada", "email": "ada@example.com"})


# --- GET /leads/{id} -------------------------------------------------------------------


@pytest.mark.parametrize("lead_id", ["0" * 32, "not-a-lead-id", "A" * 32])
def test_unknown_lead_is_404(admin_client, lead_id):
    response = get(admin_client, f"/leads/{lead_id}")
    assert response.status_code == 404
    assert response.json_body["error"] == "not_found"


def test_lead_with_its_notifications_and_live_status(admin_client):
    lead_id = post_lead(admin_client, {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 1234"})
    alert, confirmation = new_message_id(), new_message_id()
    record_sent(lead_id, "team_alert", "team@leadflow.example", alert)
    record_sent(lead_id, "customer_confirmation", "ada@example.com", confirmation)
    response = get(admin_client, f"/leads/{lead_id}")
    assert response.status_code == 200
    body = response.json_body
    assert {k: body[k] for k in ("id", "name", "email", "phone", "status")} == {
        "id": lead_id, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 1234",
        "status": "received",
    }
    assert "listing" not in body
    by_kind = {n["kind"]: n for n in body["notifications"]}
    assert set(by_kind) == {"team_alert", "customer_confirmation"}
    assert {k: by_kind["customer_confirmation"][k] for k in ("recipient", "status", "message_id")} == {
        "recipient": "ada@example.com", "status": "sent", "message_id": confirmation,
    }
    # The documented fields, plus each notification's status history.
    assert set(by_kind["team_alert"]) == {"kind", "recipient", "status", "message_id", "updated_at", "history"}

    feedback.handle(ses_events.bounce("event", confirmation, ["ada@example.com"]))
    feedback.handle(ses_events.delivery("identity", alert, ["team@leadflow.example"]))
    statuses = {n["kind"]: n["status"] for n in get(admin_client, f"/leads/{lead_id}").json_body["notifications"]}
    assert statuses == {"customer_confirmation": "bounced", "team_alert": "delivered"}


def test_a_send_in_progress_shows_as_queued(admin_client):
    from chalicelib.store import ledger
    from chalicelib.store.deliveries import DeliveryKey

    # An address no other test in this module bounces (the tables are shared).
    lead_id = post_lead(admin_client, {"name": "Ada", "email": "in.progress@example.com"})
    assert ledger.claim(DeliveryKey(lead_id, "customer_confirmation", "in.progress@example.com")).state == "claimed"
    (notification,) = get(admin_client, f"/leads/{lead_id}").json_body["notifications"]
    assert notification["status"] == "queued"
    assert notification["message_id"] is None


# --- GET /leads ----------------------------------------------------------------------------


def put_leads_with_equal_timestamps(env: dict[str, str], count: int, created_at: str) -> list[str]:
    """Leads created in the same millisecond: the index key repeats, pagination must not."""
    dynamodb = boto3.client("dynamodb")
    ids = [new_id() for _ in range(count)]
    for lead_id in ids:
        dynamodb.put_item(
            TableName=env["LEADS_TABLE"],
            Item={
                "id": {"S": lead_id}, "created_at": {"S": created_at}, "listing": {"S": "lead"},
                "status": {"S": "received"}, "name": {"S": "Twin"}, "email": {"S": "twin@example.com"},
            },
        )
    return ids


def all_lead_ids(env: dict[str, str]) -> list[str]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["LEADS_TABLE"])
    return [item["id"]["S"] for page in pages for item in page["Items"]]


def all_pages(client: Any, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        query = f"/leads?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = get(client, query)
        assert response.status_code == 200
        pages.append(response.json_body["items"])
        cursor = response.json_body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


@pytest.mark.parametrize("limit", [1, 4, 7, 100])
def test_pagination_returns_every_lead_exactly_once_newest_first(admin_client, shared_aws, limit):
    posted = [post_lead(admin_client, {"name": f"Lead {i}", "email": f"l{i}@example.com"}) for i in range(9)]
    twins = put_leads_with_equal_timestamps(shared_aws, 5, f"2030-01-0{limit % 9 + 1}T00:00:00.000Z")
    pages = all_pages(admin_client, limit)
    listed = [item["id"] for page in pages for item in page]
    assert len(listed) == len(set(listed))  # none twice
    assert sorted(listed) == sorted(all_lead_ids(shared_aws))  # every lead (the module's tables are shared)
    assert set(posted + twins) <= set(listed)
    assert all(len(page) <= limit for page in pages)
    stamps = [item["created_at"] for page in pages for item in page]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_default_limit_is_20(admin_client, shared_aws):
    put_leads_with_equal_timestamps(shared_aws, 21, "2030-01-01T00:00:00.000Z")
    body = get(admin_client, "/leads").json_body
    assert len(body["items"]) == 20 and body["next_cursor"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "20 "])
def test_bad_limit_is_400(admin_client, limit):
    response = get(admin_client, f"/leads?limit={limit}")
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_failed"
    assert response.json_body["details"][0]["field"] == "limit"


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "not-base64-json",
        _b64([1, 2]),
        _b64({"c": "2030-01-01T00:00:00.000Z"}),
        _b64({"c": "yesterday", "i": "a" * 32}),
        _b64({"c": "2030-01-01T00:00:00.000Z", "i": "x"}),
        _b64({"c": "2030-01-01T00:00:00.000Z", "i": "a" * 32, "extra": 1}),
        "A" * 300,
    ],
)
def test_bad_cursor_is_400(admin_client, cursor):
    response = get(admin_client, f"/leads?cursor={cursor}")
    assert response.status_code == 400
    assert response.json_body["error"] == "invalid_cursor"


# --- DELETE /leads/{id} ----------------------------------------------------------------------


def test_delete_unknown_lead_is_404(admin_client):
    response = admin_client.http.delete("/leads/" + "0" * 32, headers=AUTH)
    assert response.status_code == 404


def test_delete_leaves_a_tombstone_and_is_repeatable(admin_client):
    lead_id = post_lead(admin_client, {"name": "Ada", "email": "ada@example.com", "source": "fair"})
    first = admin_client.http.delete(f"/leads/{lead_id}", headers=AUTH)
    assert first.status_code == 200
    assert first.json_body["status"] == "erased"
    again = admin_client.http.delete(f"/leads/{lead_id}", headers=AUTH)
    assert again.status_code == 200 and again.json_body == first.json_body
    body = get(admin_client, f"/leads/{lead_id}").json_body
    assert {k: body[k] for k in ("id", "status", "source")} == {"id": lead_id, "status": "erased", "source": "fair"}
    assert not {"name", "email", "phone", "message", "metadata"} & set(body)
    listed = [item for page in all_pages(admin_client, 50) for item in page if item["id"] == lead_id]
    # The same lead fields in the list as in the detail (each adds its own notifications/enrichment).
    extras = ("notifications", "enrichment")
    assert [{k: v for k, v in item.items() if k not in extras} for item in listed] == [
        {k: body[k] for k in body if k not in extras}
    ]
