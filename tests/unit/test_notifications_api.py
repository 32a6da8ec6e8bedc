"""POST /notifications and GET /notifications/{id}: every rule, every key rule, idempotency, rate limit."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.pipeline import jobs
from tests.support.aws import ADMIN_TOKEN, apply_env
from tests.support.pipeline import receive_all, sent_emails
from tests.support.senders import ORDER, add_sender, get, post, run_worker


def test_a_request_is_accepted_and_sent_exactly_once(api_client, local_aws):
    answer = post(api_client, ORDER)
    assert answer.status_code == 202, answer.body
    notification_id = answer.json_body["id"]
    assert answer.json_body == {"id": notification_id, "status": "queued"}
    assert answer.headers["Location"] == f"/notifications/{notification_id}"
    run_worker(local_aws)
    sent = sent_emails(local_aws)
    assert len(sent) == 1 and "A-100" in sent[0].raw_data
    assert set(sent[0].destinations) == {"buyer@example.com"}
    run_worker(local_aws)  # nothing left, nothing twice
    assert len(sent_emails(local_aws)) == 1
    status = get(api_client, notification_id).json_body
    assert status["status"] == "sent"
    assert [step["status"] for step in status["history"]] == ["queued", "sent"]
    assert status["recipient"] == "b***@e***.com"
    assert status["kind"] == "order_confirmation" and status["reference"] is None


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "unauthorized"), ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
     ({"Authorization": "Basic abc"}, 403, "forbidden"),
     ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, 403, "forbidden")],
)
def test_the_sender_key_rules(api_client, local_aws, headers, status, code):
    answer = post(api_client, ORDER, key=None, headers=headers)
    assert (answer.status_code, answer.json_body["error"]) == (status, code)
    run_worker(local_aws)
    assert sent_emails(local_aws) == []


def test_a_key_sends_only_its_kinds(api_client, local_aws, monkeypatch):
    add_sender(monkeypatch, local_aws, "crm-key", sender="crm", kinds=["welcome"])
    answer = post(api_client, ORDER, key="crm-key")
    assert (answer.status_code, answer.json_body["error"]) == (403, "kind_not_allowed")
    run_worker(local_aws)
    assert sent_emails(local_aws) == []


def test_every_invalid_field_is_listed(api_client, local_aws):
    answer = post(api_client, {
        "kind": "order_confirmation", "recipient": "a@b.example, c@d.example",
        "data": {"customer_name": "x=?utf-8?q?hi?=", "items": "Tea"}, "reference": "r\nx",
        "callback_url": "https://10.0.0.8/hook", "colour": "blue",
    })
    assert answer.status_code == 400
    fields = {d["field"] for d in answer.json_body["details"]}
    assert fields == {"colour", "recipient", "data.order_id", "data.customer_name", "data.items", "reference",
                      "callback_url"}
    run_worker(local_aws)
    assert sent_emails(local_aws) == [] and receive_all(local_aws["NOTIFICATIONS_DLQ"]) == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [(b"{", {}, 400, "malformed_json"), (b"[]", {}, 400, "validation_failed"),
     (json.dumps(ORDER), {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
     (json.dumps({**ORDER, "data": {"order_id": "A", "note": "x" * 70000}}), {}, 413, "payload_too_large"),
     (json.dumps({**ORDER, "kind": "team_alert"}), {}, 400, "validation_failed"),
     (json.dumps(ORDER), {"Idempotency-Key": "k" * 129}, 400, "validation_failed"),
     (json.dumps({**ORDER, "idempotency_key": "a"}), {"Idempotency-Key": "b"}, 400, "validation_failed")],
)
def test_the_request_rules(api_client, local_aws, body, headers, status, code):
    answer = post(api_client, body, headers=headers)
    assert (answer.status_code, answer.json_body["error"]) == (status, code), answer.json_body


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://127.0.0.1/hook", "https://localhost/x",
                                 "https://169.254.169.254/latest/meta-data", "https://[::1]/x",
                                 "https://192.168.1.10/x", "https://user:pw@hooks.example/x", "ftp://x/y"])
def test_a_callback_url_must_be_public_https_where_loopback_is_not_allowed(api_client, local_aws, monkeypatch, url):
    apply_env(monkeypatch, {"CALLBACK_ALLOW_LOOPBACK": "false"})
    answer = post(api_client, {**ORDER, "callback_url": url})
    assert answer.status_code == 400
    assert [d["field"] for d in answer.json_body["details"]] == ["callback_url"]


def test_idempotency_same_key_same_answer_other_body_conflict(api_client, local_aws):
    first = post(api_client, ORDER, headers={"Idempotency-Key": "order-A-100"})
    again = post(api_client, {**ORDER, "idempotency_key": "order-A-100"})  # the field, same key
    assert first.status_code == again.status_code == 202
    assert first.json_body == again.json_body
    other = post(api_client, {**ORDER, "recipient": "someone@example.com"}, headers={"Idempotency-Key": "order-A-100"})
    assert (other.status_code, other.json_body["error"]) == (409, "idempotency_conflict")
    run_worker(local_aws)
    run_worker(local_aws)
    assert len(sent_emails(local_aws)) == 1


def test_idempotency_keys_are_per_sender(api_client, local_aws, monkeypatch):
    add_sender(monkeypatch, local_aws, "crm-key", sender="crm")
    mine = post(api_client, ORDER, headers={"Idempotency-Key": "k1"})
    theirs = post(api_client, {**ORDER, "recipient": "x@example.com"}, key="crm-key", headers={"Idempotency-Key": "k1"})
    assert mine.status_code == theirs.status_code == 202
    assert mine.json_body["id"] != theirs.json_body["id"]


def test_the_rate_limit_is_per_key(api_client, local_aws, monkeypatch):
    add_sender(monkeypatch, local_aws, "small-key", sender="small", rate_limit=2)
    answers = [post(api_client, ORDER, key="small-key").status_code for _ in range(3)]
    assert answers == [202, 202, 429]
    limited = post(api_client, ORDER, key="small-key")
    assert limited.json_body["error"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert post(api_client, ORDER).status_code == 202  # another key is not limited
    replay = post(api_client, ORDER, key="small-key", headers={"Idempotency-Key": "x"})
    assert replay.status_code == 429


def test_get_sees_only_its_own_and_the_team_sees_all(api_client, local_aws, monkeypatch):
    add_sender(monkeypatch, local_aws, "crm-key", sender="crm")
    notification_id = post(api_client, {**ORDER, "reference": "order-A-100"}).json_body["id"]
    assert get(api_client, notification_id, key="crm-key").status_code == 404
    assert get(api_client, "ntf_" + "0" * 32).status_code == 404
    assert get(api_client, notification_id, key=None).status_code == 401
    assert get(api_client, notification_id, key="nope").status_code == 403
    team = get(api_client, notification_id, key=ADMIN_TOKEN).json_body
    assert team["recipient"] == "buyer@example.com" and team["sender"] == "local"
    assert team["reference"] == "order-A-100" and team["status"] == "queued"


def test_the_topic_takes_the_same_checks(local_aws):
    with pytest.raises(jobs.InvalidRequest) as refused:
        jobs.job_for_request({"type": "notification.request", "kind": "order_confirmation", "recipient": "a@b.example",
                              "data": {"total": 4}, "idempotency_key": "k", "callback_url": "https://x.example/h"})
    reason = str(refused.value)
    for named in ("data.order_id: is required", "data.total: must be a string", "callback_url: needs a sender key"):
        assert named in reason


def test_a_publish_failure_is_a_503_that_a_retry_with_the_key_heals(api_client, local_aws, monkeypatch):
    from chalicelib.core import aws

    real = aws.sns()

    class Down:
        def publish(self, **kwargs):
            raise RuntimeError("SNS is down")

    monkeypatch.setattr(aws, "sns", lambda: Down())
    failed = post(api_client, ORDER, headers={"Idempotency-Key": "heal-1"})
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    monkeypatch.setattr(aws, "sns", lambda: real)
    healed = post(api_client, ORDER, headers={"Idempotency-Key": "heal-1"})
    assert healed.status_code == 202
    run_worker(local_aws)
    assert len(sent_emails(local_aws)) == 1
    assert get(api_client, healed.json_body["id"]).json_body["status"] == "sent"


def test_the_record_keeps_no_more_than_it_needs(api_client, local_aws):
    notification_id = post(api_client, {**ORDER, "callback_url": "http://127.0.0.1:9/hook"}).json_body["id"]
    item = boto3.client("dynamodb").get_item(TableName=local_aws["NOTIFICATIONS_TABLE"],
                                            Key={"id": {"S": notification_id}})["Item"]
    assert "data" not in item  # the email's data travels with the job only
    assert set(item) >= {"sender", "kind", "recipient", "callback_url", "delivery_id", "history", "expires_at"}
