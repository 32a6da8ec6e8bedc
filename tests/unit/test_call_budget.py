"""What each step of a lead costs in DynamoDB requests (issue 16: AWS calls per lead).

Every call is emulator CPU locally and money on AWS, so the store functions on
a lead's path make as few requests as their guarantees allow; these tests
count the requests the app's own clients make and check the guarantees that
made the requests necessary before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.api import leads as leads_api
from chalicelib.store import rate_limits
from tests.support.aws import reset_app_caches
from tests.support.limits import at

HEADERS = {"content-type": "application/json"}


@pytest.fixture
def calls(local_aws: dict[str, str]) -> Iterator[list[tuple[str, str]]]:
    """(operation, table) of every DynamoDB request the app's clients make during the test."""
    from chalicelib.core import aws

    seen: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, str(params.get("TableName", ""))))

    clients = (aws.dynamodb(), aws.enrichment_dynamodb())
    for client in clients:
        client.meta.events.register("provide-client-params.dynamodb.*", record)
    yield seen
    for client in clients:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)


def post(client: str = "198.51.100.1") -> int:
    body = {"name": "Ada", "email": f"ada.{uuid.uuid4().hex[:6]}@example.com"}
    return int(leads_api.create_lead(HEADERS, json.dumps(body).encode(), client).status_code)


def limiter_calls(calls: list[tuple[str, str]], env: dict[str, str]) -> list[str]:
    return [operation for operation, table in calls if table == env["RATE_LIMIT_TABLE"]]


START = 1_800_000_000 - 1_800_000_000 % 600


# --- the submission rate limit --------------------------------------------------------------


def test_a_submission_costs_one_limiter_request_and_a_new_window_two(local_aws, five_per_ten_minutes, calls,
                                                                      monkeypatch):
    at(monkeypatch, START + 10)
    assert post() == 201
    assert limiter_calls(calls, local_aws) == ["UpdateItem"]  # a new client: no read first
    calls.clear()
    assert post() == 201
    assert limiter_calls(calls, local_aws) == ["UpdateItem"]  # the previous window is in the same record
    calls.clear()
    at(monkeypatch, START + 610)
    assert post() == 201
    assert limiter_calls(calls, local_aws) == ["UpdateItem", "UpdateItem"]  # counted, then rolled over


def test_refused_submissions_are_not_counted(local_aws, five_per_ten_minutes, monkeypatch):
    """A client hammering past the weighted bound does not push its own ban further."""
    at(monkeypatch, START + 10)
    assert [post() for _ in range(5)] == [201] * 5
    at(monkeypatch, START + 900)  # half the full window has slid out: 2 more allowed, 2.5 + 2 + 1 > 5
    assert [post() for _ in range(12)] == [201, 201] + [429] * 10
    item = boto3.client("dynamodb").scan(TableName=local_aws["RATE_LIMIT_TABLE"])["Items"]
    [record] = [i for i in item if "win" in i]
    assert (record["win"]["N"], record["prev"]["N"], record["hits"]["N"]) == (str(START + 600), "5", "2")
    at(monkeypatch, START + 1140)  # overlap 0.1: 0.5 + 2 + 1 <= 5, so two more
    assert [post() for _ in range(3)] == [201, 201, 429]


def test_a_full_window_refuses_with_one_request_and_a_wait(local_aws, five_per_ten_minutes, calls,
                                                           monkeypatch):
    at(monkeypatch, START + 10)
    assert [post() for _ in range(5)] == [201] * 5
    calls.clear()
    assert post() == 429
    assert limiter_calls(calls, local_aws) == ["UpdateItem"]  # the failed condition answers the record


# --- SES feedback -------------------------------------------------------------------------


def delivered_event(message_id: str, recipients: list[str], lead_id: str, delivery_id: str) -> dict[str, Any]:
    from tests.support import ses_events

    tags = {"lead_id": lead_id, "kind": "team_alert", "delivery": delivery_id}
    return ses_events.delivery(ses_events.EVENT_PUBLISHING, message_id, recipients, tags)


def test_a_tagged_delivery_is_one_write_and_audited(local_aws, calls):
    from chalicelib.pipeline import feedback
    from tests.support.tracking import audit_lines, new_id, new_message_id, record_sent, status_of

    lead_id, message_id = new_id(), new_message_id()
    delivery_id = record_sent(lead_id, "team_alert", "ops@example.com", message_id)
    calls.clear()
    outcomes = feedback.handle_sns_message(json.dumps(delivered_event(message_id, ["ops@example.com"], lead_id,
                                                                      delivery_id)))
    assert [(o.delivery_id, o.status, o.changed) for o in outcomes] == [(delivery_id, "delivered", True)]
    assert calls == [("UpdateItem", local_aws["DELIVERIES_TABLE"])]  # no read of the row, before or after
    assert status_of(delivery_id) == "delivered"
    [line] = [x for x in audit_lines(local_aws["AUDIT_BUCKET"]) if x.get("delivery_id") == delivery_id]
    assert (line["status"], line["lead_id"], line["kind"], line["message_id"]) == (
        "delivered", lead_id, "team_alert", message_id)


def test_a_tagged_delivery_the_write_cannot_match_is_judged_as_before(local_aws, calls):
    """Another spelling of the address, a repeat, a tag naming another message's row: the
    read-free write changes nothing and the ordinary path decides."""
    from chalicelib.pipeline import feedback
    from tests.support.tracking import new_id, new_message_id, record_sent, status_of

    lead_id, message_id = new_id(), new_message_id()
    delivery_id = record_sent(lead_id, "team_alert", "Ops@Example.com", message_id)
    outcomes = feedback.handle(delivered_event(message_id, ["ops@example.com"], lead_id, delivery_id))
    assert [(o.status, o.changed) for o in outcomes] == [("delivered", True)]  # matched case-insensitively
    assert status_of(delivery_id) == "delivered"
    calls.clear()
    again = feedback.handle(delivered_event(message_id, ["ops@example.com"], lead_id, delivery_id))
    assert [(o.status, o.changed) for o in again] == [("delivered", False)]
    other_id = record_sent(new_id(), "team_alert", "ops@example.com", new_message_id())
    # The tag names a row of another message: that row is not touched; the message's own is found.
    moved = feedback.handle(delivered_event(message_id, ["ops@example.com"], lead_id, other_id))
    assert [(o.delivery_id, o.changed) for o in moved] == [(delivery_id, False)]
    assert status_of(other_id) == "sent"


def test_feedback_on_a_leads_row_reads_no_notification(local_aws, calls):
    """The notification hook runs for POST /notifications rows only: a lead's row is known as one."""
    from chalicelib.pipeline import feedback
    from tests.support.tracking import new_id, new_message_id, record_sent

    lead_id, message_id = new_id(), new_message_id()
    delivery_id = record_sent(lead_id, "team_alert", "ops@example.com", message_id)
    event = delivered_event(message_id, ["ops@example.com"], lead_id, delivery_id)
    del event["mail"]["tags"]["delivery"]  # the ordinary path: the message-id index, then the write
    calls.clear()
    feedback.handle_sns_message(json.dumps(event))
    assert [operation for operation, _ in calls] == ["Query", "UpdateItem"]


# --- the per-recipient confirmation limit -------------------------------------------------


@pytest.fixture
def two_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIRMATIONS_PER_HOUR", "2")
    reset_app_caches()


def confirmation(recipient: str) -> Any:
    from chalicelib.core.settings import get_settings
    from chalicelib.core.states import LeadKind
    from chalicelib.pipeline.jobs import EmailJob, confirmation_context

    lead = {"id": uuid.uuid4().hex, "name": "Ada", "email": recipient}
    return EmailJob(lead["id"], LeadKind.CUSTOMER_CONFIRMATION, recipient, get_settings().customer_sender,
                    confirmation_context(lead))


def counted(recipient: str, delivery_id: str) -> bool:
    """Whether the limit's own transaction item (alone) admits this delivery."""
    from chalicelib.core import aws

    client = aws.dynamodb()
    try:
        client.transact_write_items(TransactItems=[{"Update": rate_limits.confirmation_admission(recipient,
                                                                                                 delivery_id)}])
    except client.exceptions.TransactionCanceledException:
        return False
    return True


def test_a_confirmation_is_claimed_and_counted_in_one_transaction(local_aws, two_an_hour, calls):
    from chalicelib.pipeline.sending import send_job
    from tests.support.tracking import status_of

    job = confirmation(f"ada.{uuid.uuid4().hex[:6]}@example.com")
    assert send_job(job) == "sent"
    assert [operation for operation, _ in calls] == ["TransactWriteItems", "UpdateItem"]  # claim+count, sent
    assert status_of(job.key.delivery_id) == "sent"


def test_the_limits_transaction_item_counts_a_delivery_once(local_aws, two_an_hour):
    recipient = f"ada.{uuid.uuid4().hex[:6]}@example.com"
    assert [counted(recipient, d) for d in ("d1", "d2", "d1", "d2", "d3")] == [True, True, True, True, False]
    assert counted("someone.else@example.com", "d3")


def test_a_full_record_of_older_deliveries_is_judged_exactly(local_aws, two_an_hour, monkeypatch):
    from chalicelib.pipeline.sending import send_job

    recipient = f"ada.{uuid.uuid4().hex[:6]}@example.com"
    assert [send_job(confirmation(recipient)) for _ in range(3)] == ["sent", "sent", "skipped"]
    later = rate_limits.now_epoch() + rate_limits.CONFIRMATION_WINDOW_SECONDS + 1
    monkeypatch.setattr(rate_limits, "now_epoch", lambda: later)
    # The record still names two deliveries, both older than the hour: the transaction's
    # condition fails, the exact judgement admits (and drops them).
    assert [send_job(confirmation(recipient)) for _ in range(3)] == ["sent", "sent", "skipped"]


def test_a_record_in_the_earlier_form_still_counts(local_aws, two_an_hour):
    from chalicelib.pipeline.sending import send_job

    recipient = f"ada.{uuid.uuid4().hex[:6]}@example.com"
    now = rate_limits.now_epoch()
    boto3.client("dynamodb").put_item(TableName=local_aws["RATE_LIMIT_TABLE"], Item={
        "bucket": {"S": rate_limits._confirmation_bucket(recipient)},
        "sent": {"M": {"old1": {"N": f"{now - 10:.3f}"}, "old2": {"N": f"{now - 20:.3f}"}}},
        "version": {"N": "3"}, "expires_at": {"N": str(int(now) + 3600)},
    })
    assert send_job(confirmation(recipient)) == "skipped"


# --- a whole lead ----------------------------------------------------------------------------


def test_a_lead_costs_two_requests_to_store_one_to_enrich_and_two_per_email(api_client, local_aws, calls):
    """The DynamoDB part of the bench's calls per lead (SNS, SES and S3 are the rest)."""
    from chalicelib.pipeline import lead_stream, notifications
    from tests.support.pipeline import lead_image, post_lead, receive_all, sqs_event, stream_event

    lead_id = post_lead(api_client, {"name": "Ada", "email": f"ada.{uuid.uuid4().hex[:6]}@example.com"})
    assert calls == [("UpdateItem", local_aws["RATE_LIMIT_TABLE"]), ("PutItem", local_aws["LEADS_TABLE"])]
    calls.clear()
    lead_stream.handle_stream_batch(stream_event([lead_image(local_aws, lead_id)]))
    assert calls == [("Query", local_aws["LEADS_TABLE"])]  # the contact history
    calls.clear()
    assert notifications.handle_batch(sqs_event(receive_all(local_aws["NOTIFICATIONS_QUEUE"]))) == {
        "batchItemFailures": []
    }
    # Per email: the claim (with its checks, and for the confirmation its recipient count), then the
    # record. The two emails go out side by side, so their requests may interleave.
    operations = [operation for operation, _ in calls]
    assert sorted(operations) == ["TransactWriteItems"] * 2 + ["UpdateItem"] * 2
    assert all(operations[:n].count("TransactWriteItems") >= operations[:n].count("UpdateItem")
               for n in range(len(operations) + 1))
