"""Status callbacks against a local HTTP receiver: signed as documented, retried until a 2xx and
never again after, a 4xx not retried, private addresses refused, statuses in order."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.core.states import DeliveryStatus
from chalicelib.pipeline import callbacks, notification_status
from chalicelib.store import notifications
from tests.support.aws import SENDER_SECRET, apply_env
from tests.support.pipeline import receive_all, sent_emails
from tests.support.readme import verify_recipe
from tests.support.receiver import running_receiver
from tests.support.senders import ORDER, get, post, queued_callbacks, run_callbacks, run_worker


def order_with_callback(api_client, receiver, **extra) -> str:
    answer = post(api_client, {**ORDER, "reference": "A-100", "callback_url": receiver.url, **extra})
    assert answer.status_code == 202, answer.json_body
    return str(answer.json_body["id"])


def test_the_sent_callback_is_signed_as_the_readme_says(api_client, local_aws):
    verify = verify_recipe()
    with running_receiver() as receiver:
        notification_id = order_with_callback(api_client, receiver)
        run_worker(local_aws)
        assert len(sent_emails(local_aws)) == 1
        run_callbacks(queued_callbacks(local_aws))
        (got,) = receiver.requests
    event = got.json
    assert event["status"] == "sent" and event["notification_id"] == notification_id
    assert event["reference"] == "A-100" and event["kind"] == "order_confirmation"
    assert event["id"] == got.headers["Leadflow-Event-Id"] and event["time"]
    signature = got.headers["Leadflow-Signature"]
    assert verify(SENDER_SECRET, got.body, signature)
    assert not verify("another-secret", got.body, signature)
    assert not verify(SENDER_SECRET, got.body + b" ", signature)
    stale = signature.replace(signature.split(",")[0], f"t={int(time.time()) - 301}")
    assert not verify(SENDER_SECRET, got.body, stale)
    assert get(api_client, notification_id).json_body["callback"]["acknowledged"] == "sent"


def test_a_receiver_that_fails_twice_gets_the_event_until_it_succeeds_and_never_again(api_client, local_aws):
    with running_receiver(script=[500, 503]) as receiver:
        order_with_callback(api_client, receiver)
        run_worker(local_aws)
        message = queued_callbacks(local_aws)
        assert run_callbacks(message, 1)["batchItemFailures"]
        assert run_callbacks(message, 2)["batchItemFailures"]
        assert run_callbacks(message, 3) == {"batchItemFailures": []}
        # The same message again (SQS redelivers at least once) and the worker's own redelivery:
        assert run_callbacks(message, 4) == {"batchItemFailures": []}
        run_worker(local_aws)
        notification_status.observe(notifications.get(receiver.requests[0].json["notification_id"])["delivery_id"])
        run_callbacks(queued_callbacks(local_aws))
        answers = [r.answered for r in receiver.requests]
    assert answers == [500, 503, 200]
    assert len({r.json["id"] for r in receiver.requests}) == 1
    assert receive_all(local_aws["CALLBACKS_DLQ"]) == []


def test_the_retry_waits_follow_the_stage_schedule(local_aws, monkeypatch):
    apply_env(monkeypatch, {"CALLBACK_RETRY_SECONDS": "60,300,1800,7200,21600"})
    assert [callbacks.retry_delay(n) for n in range(1, 7)] == [60, 300, 1800, 7200, 21600, None]


def test_a_receiver_that_keeps_failing_ends_in_the_dlq_with_the_reason(api_client, local_aws, monkeypatch):
    apply_env(monkeypatch, {"CALLBACK_RETRY_SECONDS": "1,1"})
    with running_receiver(then=502) as receiver:
        order_with_callback(api_client, receiver)
        run_worker(local_aws)
        message = queued_callbacks(local_aws)
        for attempt in (1, 2, 3):
            run_callbacks(message, attempt)
        assert len(receiver.requests) == 3
    (dead,) = receive_all(local_aws["CALLBACKS_DLQ"])
    assert "no 2xx after 3 attempts: HTTP 502" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_a_400_receiver_is_not_retried_and_waits_in_the_dlq(api_client, local_aws):
    with running_receiver(then=400) as receiver:
        order_with_callback(api_client, receiver)
        run_worker(local_aws)
        assert run_callbacks(queued_callbacks(local_aws)) == {"batchItemFailures": []}
        assert len(receiver.requests) == 1
    (dead,) = receive_all(local_aws["CALLBACKS_DLQ"])
    assert "answered HTTP 400; not retried" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(dead["Body"])["status"] == "sent"


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(api_client, local_aws, status):
    with running_receiver(script=[status]) as receiver:
        order_with_callback(api_client, receiver)
        run_worker(local_aws)
        message = queued_callbacks(local_aws)
        assert run_callbacks(message, 1)["batchItemFailures"]
        assert run_callbacks(message, 2) == {"batchItemFailures": []}
        assert [r.answered for r in receiver.requests] == [status, 200]


def test_a_private_address_is_refused_at_request_time(api_client, local_aws):
    for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[fd00::1]/x"):
        answer = post(api_client, {**ORDER, "callback_url": url})
        assert answer.status_code == 400
        assert answer.json_body["details"][0]["field"] == "callback_url"


def test_a_url_refused_at_send_time_is_not_posted(api_client, local_aws, monkeypatch):
    """Checked again before each post: here loopback stops being allowed after the request."""
    with running_receiver() as receiver:
        order_with_callback(api_client, receiver)
        run_worker(local_aws)
        apply_env(monkeypatch, {"CALLBACK_ALLOW_LOOPBACK": "false"})
        run_callbacks(queued_callbacks(local_aws))
        assert receiver.requests == []
    (dead,) = receive_all(local_aws["CALLBACKS_DLQ"])
    assert "loopback" in dead["MessageAttributes"]["reason"]["StringValue"]


def record_statuses(notification_id: str, *statuses: DeliveryStatus) -> None:
    for status in statuses:
        notifications.record_status(notification_id, status, f"2026-01-01T00:00:0{status.rank}.000Z")


def test_never_a_delivered_callback_after_bounced(api_client, local_aws):
    with running_receiver(script=[500]) as receiver:
        notification_id = order_with_callback(api_client, receiver)
        record_statuses(notification_id, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
        delivered = {"notification_id": notification_id, "status": "delivered"}
        assert callbacks.deliver(delivered) is callbacks.CallbackResult.RETRY  # the receiver answered 500
        record_statuses(notification_id, DeliveryStatus.BOUNCED)
        assert callbacks.deliver({"notification_id": notification_id, "status": "bounced"}).value == "delivered"
        # delivered's retry, and a late `sent`: both older than what the receiver has
        assert callbacks.deliver(delivered).value == "superseded"
        assert callbacks.deliver({"notification_id": notification_id, "status": "sent"}).value == "superseded"
        seen = [r.json["status"] for r in receiver.acknowledged()]
    assert seen == ["bounced"]


def test_one_post_at_a_time_per_notification(api_client, local_aws):
    with running_receiver() as receiver:
        notification_id = order_with_callback(api_client, receiver)
        record_statuses(notification_id, DeliveryStatus.SENT)
        assert notifications.take_lease(notification_id, "someone-else", 30)
        assert callbacks.deliver({"notification_id": notification_id, "status": "sent"}).value == "busy"
        assert receiver.requests == []


def test_waiting_for_another_worker_s_post_uses_none_of_the_retries(api_client, local_aws, monkeypatch):
    """Two statuses close together (sent, then delivered) take turns at the lease: receives spent
    waiting for it are no failed posts. A callback that came round 9 times while waiting, then
    met one 500, is retried on schedule, never dead-lettered for attempts it did not make."""
    waits: list[int] = []
    monkeypatch.setattr(callbacks, "_come_back_in", lambda _handle, seconds: waits.append(seconds))
    with running_receiver(script=[500]) as receiver:
        notification_id = order_with_callback(api_client, receiver)
        run_worker(local_aws)
        message = queued_callbacks(local_aws)
        assert notifications.take_lease(notification_id, "someone-else", 30)
        assert run_callbacks(message, 1)["batchItemFailures"]  # busy: looks again soon...
        assert waits[-1] == callbacks.BUSY_RETRY_SECONDS
        assert run_callbacks(message, 8)["batchItemFailures"]  # ...then at the lease's end at the latest
        assert 28 <= waits[-1] <= 31
        notifications.release_lease(notification_id, "someone-else")
        assert run_callbacks(message, 9)["batchItemFailures"]  # its first post: a 500, retried
        assert waits[-1] == callbacks.retry_delay(1)
        assert receive_all(local_aws["CALLBACKS_DLQ"]) == []
        assert run_callbacks(message, 10) == {"batchItemFailures": []}
        assert [(r.json["status"], r.answered) for r in receiver.requests] == [("sent", 500), ("sent", 200)]
    assert notifications.failed_posts(notifications.get(notification_id) or {}) == 0  # reset by the 2xx


def test_the_history_is_in_order_whatever_order_it_is_observed_in(api_client, local_aws):
    notification_id = post(api_client, ORDER).json_body["id"]
    record_statuses(notification_id, DeliveryStatus.DELIVERED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    status = get(api_client, notification_id).json_body
    assert [step["status"] for step in status["history"]] == ["queued", "sent", "delivered"]
    assert status["status"] == "delivered"


def test_ses_feedback_drives_the_callbacks_in_order(api_client, local_aws):
    """The whole path: send, SES's Delivery then a permanent Bounce, each a callback, in order."""
    from chalicelib.pipeline import feedback
    from tests.support import ses_events
    from tests.support.pipeline import deliveries

    with running_receiver() as receiver:
        notification_id = order_with_callback(api_client, receiver)
        run_worker(local_aws)
        run_callbacks(queued_callbacks(local_aws))
        (row,) = [d for d in deliveries(local_aws) if d["lead_id"] == notification_id]
        tags = {"lead_id": notification_id, "kind": "order_confirmation"}
        for event in (ses_events.delivery("event", row["message_id"], ["buyer@example.com"], tags),
                      ses_events.bounce("event", row["message_id"], ["buyer@example.com"], tags)):
            feedback.handle_sns_message(json.dumps(event))
            feedback.handle_sns_message(json.dumps(event))  # SNS delivers at least once
            run_callbacks(queued_callbacks(local_aws))
        seen = [r.json["status"] for r in receiver.acknowledged()]
    assert seen == ["sent", "delivered", "bounced"]
    assert get(api_client, notification_id).json_body["status"] == "bounced"
    last = receiver.requests[-1].json
    assert last["reason"].startswith("bounce Permanent/") and "buyer@example.com" not in last["reason"]
