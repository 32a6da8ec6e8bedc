"""Faults end with exactly one email per recipient (or a recorded outcome)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.core import aws
from chalicelib.pipeline import lead_stream, notifications
from chalicelib.store import ledger, suppression
from tests.support.pipeline import deliveries as delivery_rows
from tests.support.pipeline import lead_image, post_lead, receive_all, sent_emails, sqs_event, stream_event


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
    )


class FlakySes:
    """Wraps the real (moto) SES client; the first `failures` sends raise `error`."""

    def __init__(self, real, failures: int, error: ClientError) -> None:
        self.real, self.failures, self.error, self.calls = real, failures, error, 0

    def send_email(self, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real.send_email(**kwargs)


def queued_messages(api_client, env, body=None):
    lead_id = post_lead(api_client, body)
    lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    return lead_id, receive_all(env["NOTIFICATIONS_QUEUE"])


def sent_tags(row) -> dict[str, str]:
    """The message tags the worker gave SES for this row's send (SES echoes them in its events)."""
    return {"lead_id": row["lead_id"], "kind": row["kind"], "delivery": row["delivery_id"],
            "claim": row["claim_token"]}


def recipients_sent(env) -> list[str]:
    return sorted(d for m in sent_emails(env) for d in set(m.destinations))


@pytest.mark.parametrize("code,status", [("TooManyRequestsException", 429), ("Throttling", 400)])
def test_ses_throttling_is_retried_then_sent_once(api_client, local_aws, monkeypatch, code, status):
    _, messages = queued_messages(api_client, local_aws)
    flaky = FlakySes(aws.sesv2(), failures=3, error=client_error(code, status))
    monkeypatch.setattr(aws, "sesv2", lambda: flaky)
    first = notifications.handle_batch(sqs_event(messages))
    assert first["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    for _ in range(3):  # the queue delivers the message again
        notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]
    assert {d["status"] for d in delivery_rows(local_aws)} == {"sent"}


@pytest.mark.parametrize("code,status", [("InternalFailure", 500), ("ServiceUnavailable", 503)])
def test_ses_5xx_is_held_not_resent(api_client, local_aws, monkeypatch, code, status):
    """A 5xx can come after SES took the message (the local SES once stored mail and then
    answered 500): the claim is held like a lost answer, never sent again; without SES
    feedback it ends failed, outcome unknown, for a person to check."""
    _, messages = queued_messages(api_client, local_aws)
    flaky = FlakySes(aws.sesv2(), failures=1, error=client_error(code, status))
    monkeypatch.setattr(aws, "sesv2", lambda: flaky)
    assert notifications.handle_batch(sqs_event(messages))["batchItemFailures"]
    held = [d for d in delivery_rows(local_aws) if d["status"] == "sending"]
    assert len(held) == 1
    notifications.handle_batch(sqs_event(messages))  # redelivered within the lease: held
    monkeypatch.setattr("chalicelib.store.ledger.now_epoch", lambda: 10**10)
    notifications.handle_batch(sqs_event(messages))  # after the lease: failed, not resent
    assert flaky.calls == 2  # one per recipient, never a second try
    failed = next(d for d in delivery_rows(local_aws) if d["delivery_id"] == held[0]["delivery_id"])
    assert failed["status"] == "failed" and "outcome unknown" in failed["reason"]


def test_permanent_rejection_is_failed_without_retry(api_client, local_aws, monkeypatch):
    _, messages = queued_messages(api_client, local_aws)
    flaky = FlakySes(aws.sesv2(), failures=100, error=client_error("MessageRejected"))
    monkeypatch.setattr(aws, "sesv2", lambda: flaky)
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    rows = delivery_rows(local_aws)
    assert {d["status"] for d in rows} == {"failed"}
    assert all("MessageRejected" in d["reason"] for d in rows)
    notifications.handle_batch(sqs_event(messages))
    assert flaky.calls == 2  # one per recipient, never again


def crash_once_after_send(monkeypatch) -> list[str]:
    """The first send is accepted by SES but never recorded; returns its message id(s)."""
    real_mark_sent = ledger.mark_sent
    crashed: list[str] = []

    def crash_once(key, token, message_id):
        if not crashed:
            crashed.append(message_id)
            raise RuntimeError("worker died after SES accepted the mail")
        return real_mark_sent(key, token, message_id)

    monkeypatch.setattr(ledger, "mark_sent", crash_once)
    return crashed


def test_crash_after_send_never_sends_twice(api_client, local_aws, monkeypatch):
    _, messages = queued_messages(api_client, local_aws)
    crash_once_after_send(monkeypatch)
    result = notifications.handle_batch(sqs_event(messages))
    assert result["batchItemFailures"], "the crashed message must come back"
    # Redelivered within the claim lease: held back, not sent.
    notifications.handle_batch(sqs_event(messages))
    # Redelivered after the lease: the abandoned claim is failed, not resent.
    monkeypatch.setattr("chalicelib.store.ledger.now_epoch", lambda: 10**10)
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]
    statuses = sorted(d["status"] for d in delivery_rows(local_aws))
    assert statuses == ["failed", "sent"]
    failed = next(d for d in delivery_rows(local_aws) if d["status"] == "failed")
    assert "outcome unknown" in failed["reason"]


def test_suppressed_address_is_not_mailed(api_client, local_aws):
    suppression.suppress("ada@example.com", "bounce")
    _, messages = queued_messages(api_client, local_aws)
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["team@leadflow.example"]
    by_kind = {d["kind"]: d for d in delivery_rows(local_aws)}
    assert by_kind["customer_confirmation"]["status"] == "suppressed"


def test_sandbox_redirects_every_recipient(api_client, local_aws, monkeypatch):
    from tests.support.aws import reset_app_caches

    monkeypatch.setenv("SANDBOX_ADDRESS", "sandbox@leadflow.example")
    reset_app_caches()
    _, messages = queued_messages(api_client, local_aws)
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["sandbox@leadflow.example", "sandbox@leadflow.example"]
    assert all("[SANDBOX" in m.raw_data for m in sent_emails(local_aws))


def test_routing_rules_pick_team_by_source(api_client, local_aws, monkeypatch):
    from tests.support.aws import reset_app_caches

    monkeypatch.setenv("TEAM_ROUTES", json.dumps({"partners": ["p1@leadflow.example", "p2@leadflow.example"]}))
    reset_app_caches()
    _, messages = queued_messages(
        api_client, local_aws, {"name": "Bo", "email": "bo@example.com", "source": "partners"}
    )
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["bo@example.com", "p1@leadflow.example", "p2@leadflow.example"]


def publish_request(env, message) -> list[dict]:
    boto3.client("sns").publish(TopicArn=env["NOTIFICATION_REQUESTS_TOPIC_ARN"], Message=json.dumps(message))
    return receive_all(env["NOTIFICATIONS_QUEUE"])


def test_order_confirmation_request_is_sent_once(local_aws):
    request = {
        "type": "notification.request",
        "kind": "order_confirmation",
        "recipient": "buyer@example.com",
        "data": {"order_id": "A-100", "customer_name": "Bea", "items": ["Tea"], "total": "4.00"},
        "idempotency_key": "order-A-100",
    }
    first = publish_request(local_aws, request)
    again = publish_request(local_aws, request)
    notifications.handle_batch(sqs_event(first + again))
    sent = sent_emails(local_aws)
    assert len(sent) == 1
    assert "A-100" in sent[0].raw_data


@pytest.mark.parametrize(
    "request_body",
    [
        {"type": "notification.request", "kind": "nope", "recipient": "a@example.com", "idempotency_key": "k"},
        {"type": "notification.request", "kind": "order_confirmation", "recipient": "bad", "idempotency_key": "k"},
        {"type": "notification.request", "kind": "order_confirmation", "recipient": "a@example.com"},
        {"type": "notification.request", "kind": "team_alert", "recipient": "a@example.com", "idempotency_key": "k"},
        {"type": "mystery"},
        "not an object",
    ],
)
def test_malformed_request_goes_to_dlq_and_batch_survives(api_client, local_aws, request_body):
    _, lead_messages = queued_messages(api_client, local_aws)
    bad = publish_request(local_aws, request_body)
    result = notifications.handle_batch(sqs_event(bad + lead_messages))
    assert result == {"batchItemFailures": []}
    assert len(sent_emails(local_aws)) == 2
    dead = receive_all(local_aws["NOTIFICATIONS_DLQ"])
    assert len(dead) == 1
    assert "invalid notification message" in dead[0]["MessageAttributes"]["reason"]["StringValue"]


def test_non_json_message_goes_to_dlq(local_aws):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=local_aws["NOTIFICATIONS_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    messages = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert len(receive_all(local_aws["NOTIFICATIONS_DLQ"])) == 1


def test_stream_handler_ignores_modify_and_remove(api_client, local_aws):
    lead_id = post_lead(api_client)
    image = lead_image(local_aws, lead_id)
    for name in ("MODIFY", "REMOVE"):
        assert lead_stream.handle_stream_batch(stream_event([image], name)) == {"batchItemFailures": []}
    assert receive_all(local_aws["NOTIFICATIONS_QUEUE"]) == []


def test_stream_failure_reports_the_first_failed_record(api_client, local_aws, monkeypatch):
    images = [lead_image(local_aws, post_lead(api_client)) for _ in range(3)]
    calls: list[str] = []
    real = lead_stream.publish_lead_created

    def fail_second(lead, enrichment):
        calls.append(lead["id"])
        if len(calls) == 2:
            raise RuntimeError("SNS down")
        return real(lead, enrichment)

    monkeypatch.setattr(lead_stream, "publish_lead_created", fail_second)
    result = lead_stream.handle_stream_batch(stream_event(images))
    assert result == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert len(calls) == 2  # stops at the failure; the rest come again from there


def test_lead_erased_while_in_flight_gets_no_email(api_client, local_aws):
    from tests.support.aws import ADMIN_TOKEN

    lead_id, messages = queued_messages(api_client, local_aws)
    erased = api_client.http.delete(f"/leads/{lead_id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert erased.status_code == 200
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert sent_emails(local_aws) == []
    assert delivery_rows(local_aws) == []


def test_feedback_records_a_send_the_worker_died_before_recording(api_client, local_aws, monkeypatch):
    from chalicelib.pipeline import feedback
    from tests.support import ses_events

    _, messages = queued_messages(api_client, local_aws)
    sent_ids = crash_once_after_send(monkeypatch)
    notifications.handle_batch(sqs_event(messages))
    unrecorded = next(d for d in delivery_rows(local_aws) if d["status"] == "sending")
    tags = sent_tags(unrecorded)
    feedback.handle(ses_events.delivery("event", sent_ids[0], [unrecorded["recipient"]], tags))
    row = next(d for d in delivery_rows(local_aws) if d["delivery_id"] == unrecorded["delivery_id"])
    assert row["status"] == "delivered" and row["message_id"] == sent_ids[0]
    # The redelivered job finds it done: nothing is sent again.
    monkeypatch.setattr("chalicelib.store.ledger.now_epoch", lambda: 10**10)
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]


def lose_first_answer(monkeypatch) -> list[str]:
    """SES accepts the first send but its answer never arrives (a read timeout);
    returns the message id(s) SES gave it."""
    from botocore.exceptions import ReadTimeoutError

    real = aws.sesv2()
    lost: list[str] = []

    class AnswerLostSes:
        def send_email(self, **kwargs):
            response = real.send_email(**kwargs)
            if not lost:
                lost.append(response["MessageId"])
                raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")
            return response

    answer_lost = AnswerLostSes()
    monkeypatch.setattr(aws, "sesv2", lambda: answer_lost)
    return lost


def test_send_whose_answer_is_lost_is_never_resent(api_client, local_aws, monkeypatch):
    from chalicelib.pipeline import feedback
    from tests.support import ses_events

    _, messages = queued_messages(api_client, local_aws)
    lost_ids = lose_first_answer(monkeypatch)
    first = notifications.handle_batch(sqs_event(messages))
    assert first["batchItemFailures"], "the message comes back while the outcome is unknown"
    held = next(d for d in delivery_rows(local_aws) if d["status"] == "sending")
    notifications.handle_batch(sqs_event(messages))  # within the lease: held, not resent
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]
    tags = sent_tags(held)
    feedback.handle(ses_events.delivery("event", lost_ids[0], [held["recipient"]], tags))
    monkeypatch.setattr("chalicelib.store.ledger.now_epoch", lambda: 10**10)
    notifications.handle_batch(sqs_event(messages))
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]
    assert {d["status"] for d in delivery_rows(local_aws)} == {"sent", "delivered"}


def test_send_that_never_reached_ses_is_retried(api_client, local_aws, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    _, messages = queued_messages(api_client, local_aws)
    flaky = FlakySes(aws.sesv2(), failures=1, error=EndpointConnectionError(endpoint_url="https://ses"))
    monkeypatch.setattr(aws, "sesv2", lambda: flaky)
    assert notifications.handle_batch(sqs_event(messages))["batchItemFailures"]
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert recipients_sent(local_aws) == ["ada@example.com", "team@leadflow.example"]
    assert {d["status"] for d in delivery_rows(local_aws)} == {"sent"}


def test_ses_client_never_repeats_a_send_by_itself(monkeypatch):
    """botocore's own retries would resend after a timeout or a 5xx; the SES client makes one attempt."""
    import http.server
    import threading

    requests: list[str] = []

    class Failing(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"message": "injected"}'
            self.send_response(500)
            self.send_header("x-amzn-ErrorType", "InternalFailure")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        credentials = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        aws.forget_clients()
        with pytest.raises(ClientError):
            aws.sesv2().send_email(
                FromEmailAddress="a@leadflow.example", Destination={"ToAddresses": ["b@example.com"]},
                Content={"Raw": {"Data": b"Subject: x\r\n\r\nx"}},
            )
        assert len(requests) == 1
    finally:
        aws.forget_clients()
        server.shutdown()


def test_a_request_nested_too_deeply_goes_to_the_dlq_at_once(local_aws):
    """json.loads raises RecursionError, not ValueError: it was retried three times as a crash."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=local_aws["NOTIFICATIONS_QUEUE"])["QueueUrl"]
    deep = '{"type": "notification.request", "data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    sqs.send_message(QueueUrl=url, MessageBody=deep)
    assert notifications.handle_batch(sqs_event(receive_all(local_aws["NOTIFICATIONS_QUEUE"]))) == {
        "batchItemFailures": []
    }
    [dead] = receive_all(local_aws["NOTIFICATIONS_DLQ"])
    assert dead["MessageAttributes"]["reason"]["StringValue"] == "invalid notification message: JSON nested too deeply"
