"""The audit consumer of the Leads stream (on_lead_audit): real stream records from moto."""

from __future__ import annotations

import json

import boto3
import pytest

import app as app_module
from chalicelib.store import audit_log
from tests.support.tracking import address, audit_lines, new_id, stream_records


def put_lead(env: dict[str, str], lead_id: str, email: str) -> None:
    boto3.client("dynamodb").put_item(
        TableName=env["LEADS_TABLE"],
        Item={
            "id": {"S": lead_id}, "created_at": {"S": "2030-05-06T07:08:09.123Z"}, "listing": {"S": "lead"},
            "status": {"S": "received"}, "source": {"S": "website"}, "name": {"S": "Grace Hopper"},
            "email": {"S": email}, "phone": {"S": "+1 555 0100"}, "message": {"S": "Hello there"},
        },
    )


def lines_for(env: dict[str, str], lead_id: str) -> list[dict]:
    return [line for line in audit_lines(env["AUDIT_BUCKET"]) if line["lead_id"] == lead_id]


def test_created_updated_deleted_are_logged_with_no_personal_data(shared_aws):
    lead_id, email = new_id(), address("grace")
    put_lead(shared_aws, lead_id, email)
    dynamodb = boto3.client("dynamodb")
    dynamodb.update_item(
        TableName=shared_aws["LEADS_TABLE"], Key={"id": {"S": lead_id}},
        UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "notified"}},
    )
    dynamodb.delete_item(TableName=shared_aws["LEADS_TABLE"], Key={"id": {"S": lead_id}})
    records = stream_records(shared_aws, lead_id)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    assert app_module.on_lead_audit({"Records": records}, None) == {"batchItemFailures": []}
    created, updated, deleted = lines_for(shared_aws, lead_id)
    assert created["action"] == "created" and created["status"] == "received"
    assert created["email"] == "g***@e***.com"
    assert created["fields"] == ["email", "message", "name", "phone"]
    assert updated["action"] == "updated" and updated["status"] == "notified"
    assert deleted["action"] == "deleted"
    assert [line["event_id"] for line in (created, updated, deleted)] == [r["eventID"] for r in records]
    text = json.dumps([created, updated, deleted])
    for personal in (email, "Grace Hopper", "+1 555 0100", "Hello there"):
        assert personal not in text


def test_objects_are_date_partitioned_json_lines(shared_aws):
    from datetime import UTC, datetime

    lead_id = new_id()
    put_lead(shared_aws, lead_id, address())
    (record,) = stream_records(shared_aws, lead_id)
    app_module.on_lead_audit({"Records": [record]}, None)
    day = datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC).strftime("%Y-%m-%d")
    key = audit_log.object_key("lead", day, record["eventID"])
    assert key.startswith(f"leads/dt={day}/lead-") and key.endswith(".jsonl")
    body = boto3.client("s3").get_object(Bucket=shared_aws["AUDIT_BUCKET"], Key=key)["Body"].read().decode()
    assert [json.loads(line)["lead_id"] for line in body.splitlines()] == [lead_id]


def test_a_retried_batch_overwrites_its_own_object(shared_aws):
    lead_id = new_id()
    put_lead(shared_aws, lead_id, address())
    records = stream_records(shared_aws, lead_id)
    for _ in range(3):
        app_module.on_lead_audit({"Records": records}, None)
    assert len(lines_for(shared_aws, lead_id)) == 1


def test_a_failed_write_fails_the_batch_so_it_is_retried(shared_aws, monkeypatch):
    lead_id = new_id()
    put_lead(shared_aws, lead_id, address())
    records = stream_records(shared_aws, lead_id)

    def unavailable(**kwargs):
        raise RuntimeError("S3 down")

    monkeypatch.setattr(audit_log.aws, "s3", lambda: type("S3", (), {"put_object": staticmethod(unavailable)})())
    with pytest.raises(RuntimeError, match="S3 down"):
        app_module.on_lead_audit({"Records": records}, None)
    monkeypatch.undo()
    assert app_module.on_lead_audit({"Records": records}, None) == {"batchItemFailures": []}  # the retry
    assert len(lines_for(shared_aws, lead_id)) == 1


def test_no_bucket_configured_fails_loudly(shared_aws, monkeypatch):
    from tests.support.aws import reset_app_caches

    monkeypatch.setenv("AUDIT_BUCKET", "")
    reset_app_caches()
    try:
        with pytest.raises(RuntimeError, match="AUDIT_BUCKET"):
            audit_log.write_entries("lead", "2030-01-01", "x", [{"a": 1}])
    finally:
        monkeypatch.undo()
        reset_app_caches()
