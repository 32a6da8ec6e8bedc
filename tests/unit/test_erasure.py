"""Right to erasure: after DELETE /leads/{id} no personal data of the lead is left in any
table or in the audit log (which is fed by the real Leads stream, as on_lead_audit is)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

import app as app_module
from chalicelib.pipeline import feedback
from tests.support import ses_events
from tests.support.aws import ADMIN_TOKEN
from tests.support.tracking import audit_lines, new_message_id, record_sent, stream_records

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TABLES = ("LEADS_TABLE", "DELIVERIES_TABLE", "IDEMPOTENCY_TABLE", "RATE_LIMIT_TABLE", "SUPPRESSION_TABLE")


def personal_lead() -> dict[str, Any]:
    marker = uuid.uuid4().hex[:12]
    return {
        "name": f"Ada Lovelace-{marker}",
        "email": f"ada.{marker}@example.org",
        "phone": f"+44 20 7946 {int(marker[:6], 16) % 10000:04d}",
        "message": f"Please call me about contract {marker}",
        "metadata": {"plan": f"plan-{marker}"},
    }


def needles(lead: dict[str, Any]) -> list[str]:
    email = lead["email"]
    return [
        lead["name"], email, email.lower(), email.split("@")[0], lead["phone"], lead["message"],
        lead["metadata"]["plan"],
    ]


def dump_tables(env: dict[str, str]) -> str:
    dynamodb = boto3.client("dynamodb")
    items = []
    for name in TABLES:
        for page in dynamodb.get_paginator("scan").paginate(TableName=env[name]):
            items.extend(page["Items"])
    return json.dumps(items)


def feed_audit(env: dict[str, str], lead_id: str, already: int = 0) -> int:
    """Run the audit consumer over the lead's stream records not fed yet."""
    records = stream_records(env, lead_id)[already:]
    if records:
        assert app_module.on_lead_audit({"Records": records}, None) == {"batchItemFailures": []}
    return already + len(records)


def test_erasure_leaves_no_personal_data_in_tables_or_audit_log(admin_client, shared_aws):
    lead = personal_lead()
    response = admin_client.http.post(
        "/leads",
        headers={"Content-Type": "application/json", "Idempotency-Key": f"key-{uuid.uuid4()}"},
        body=json.dumps(lead).encode(),
    )
    assert response.status_code == 201
    lead_id = response.json_body["id"]

    # The pipeline's traces: both emails sent, feedback recorded (a reason quoting the address).
    customer_message, team_message = new_message_id(), new_message_id()
    record_sent(lead_id, "customer_confirmation", lead["email"], customer_message)
    record_sent(lead_id, "team_alert", "team@leadflow.example", team_message)
    tags = {"lead_id": lead_id, "kind": "customer_confirmation"}
    feedback.handle(ses_events.bounce("event", customer_message, [lead["email"]], tags, "Transient", "MailboxFull"))
    feedback.handle(ses_events.delivery("event", customer_message, [lead["email"]], tags))
    feedback.handle(ses_events.delivery("identity", team_message, ["team@leadflow.example"]))
    fed = feed_audit(shared_aws, lead_id)

    before = dump_tables(shared_aws)
    assert any(needle in before for needle in needles(lead))  # the check below can fail

    response = admin_client.http.delete(f"/leads/{lead_id}", headers=AUTH)
    assert response.status_code == 200
    feed_audit(shared_aws, lead_id, fed)

    after = dump_tables(shared_aws)
    log = json.dumps(audit_lines(shared_aws["AUDIT_BUCKET"]))
    for needle in needles(lead):
        assert needle not in after, f"{needle!r} left in a table"
        assert needle not in log, f"{needle!r} left in the audit log"

    actions = [line["action"] for line in audit_lines(shared_aws["AUDIT_BUCKET"]) if line["lead_id"] == lead_id]
    assert sorted(actions) == ["created", "erased", "notification_status_changed", "notification_status_changed"]

    body = admin_client.http.get(f"/leads/{lead_id}", headers=AUTH).json_body
    assert body["status"] == "erased"
    assert sorted((n["kind"], n["status"], n["recipient"]) for n in body["notifications"]) == [
        ("customer_confirmation", "delivered", None), ("team_alert", "delivered", None),
    ]

def test_the_same_idempotency_key_after_erasure_makes_a_new_lead(admin_client):
    lead = personal_lead()
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = admin_client.http.post("/leads", headers=headers, body=json.dumps(lead).encode()).json_body["id"]
    assert admin_client.http.delete(f"/leads/{first}", headers=AUTH).status_code == 200
    again = admin_client.http.post("/leads", headers=headers, body=json.dumps(lead).encode())
    assert again.status_code == 201 and again.json_body["id"] != first


def test_delivery_ids_left_after_erasure_do_not_confirm_a_guessed_address(admin_client, shared_aws):
    """An id of sha256(lead|kind|email) let anyone holding the erased row (or the audit log,
    or the X-Leadflow-Ref of a copy) test a guessed address; the ids are keyed now."""
    import hashlib

    lead = personal_lead()
    response = admin_client.http.post("/leads", headers={"Content-Type": "application/json"},
                                      body=json.dumps(lead).encode())
    lead_id = response.json_body["id"]
    message_id = new_message_id()
    record_sent(lead_id, "customer_confirmation", lead["email"], message_id)
    feedback.handle(ses_events.delivery("identity", message_id, [lead["email"]]))
    assert admin_client.http.delete(f"/leads/{lead_id}", headers=AUTH).status_code == 200

    items = boto3.client("dynamodb").scan(TableName=shared_aws["DELIVERIES_TABLE"])["Items"]
    left = [i["delivery_id"]["S"] for i in items if i["lead_id"]["S"] == lead_id]
    audited = [line["delivery_id"] for line in audit_lines(shared_aws["AUDIT_BUCKET"])
               if line.get("lead_id") == lead_id and "delivery_id" in line]
    assert left and audited
    guess = hashlib.sha256(f"{lead_id}|customer_confirmation|{lead['email'].lower()}".encode()).hexdigest()
    for delivery_id in left + audited:
        assert delivery_id != guess[:40] and not guess.startswith(delivery_id)
