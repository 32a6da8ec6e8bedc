"""Forged lead events (red-team finding 3): a `lead.created` published to the
notification-requests topic, as any system allowed to publish there could,
is refused; only the stream handler's signed events become emails, and every
recipient is one valid address."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from chalicelib.pipeline import lead_stream, notifications
from tests.support.pipeline import (
    deliveries,
    lead_image,
    post_lead,
    receive_all,
    sent_emails,
    sqs_event,
    stream_event,
)


def forged(email: str = "victim@example.com", lead_id: str | None = None) -> dict[str, Any]:
    lead = {"id": lead_id or uuid.uuid4().hex, "name": "Totally real", "email": email, "source": "website",
            "message": "Click https://evil.example", "created_at": "2030-01-01T00:00:00.000Z"}
    return {"type": "lead.created", "lead": lead, "enrichment": {}}


def publish_request(env: dict[str, str], message: dict[str, Any], **attributes: str) -> list[dict[str, Any]]:
    boto3.client("sns").publish(
        TopicArn=env["NOTIFICATION_REQUESTS_TOPIC_ARN"], Message=json.dumps(message),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    return receive_all(env["NOTIFICATIONS_QUEUE"])


def dead_reasons(env: dict[str, str]) -> list[str]:
    return [m["MessageAttributes"]["reason"]["StringValue"] for m in receive_all(env["NOTIFICATIONS_DLQ"])]


def test_lead_created_on_the_requests_topic_sends_nothing(local_aws):
    messages = publish_request(local_aws, forged(), kind="lead.created", source="website")
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert sent_emails(local_aws) == []
    assert deliveries(local_aws) == []
    assert dead_reasons(local_aws) == [
        "invalid notification message: lead.created without the stream handler's signature: "
        "not from the LeadEvents topic"
    ]


def test_a_copied_signature_does_not_carry_over_to_other_content(api_client, local_aws):
    """A real event's signature, lifted onto a lead of the attacker's making, is refused."""
    lead_id = post_lead(api_client)
    lead_stream.handle_stream_batch(stream_event([lead_image(local_aws, lead_id)]))
    [real] = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    event = json.loads(real["Body"])
    tampered = {**event, "lead": {**event["lead"], "email": "victim@example.com"}}
    messages = publish_request(local_aws, tampered)
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert sent_emails(local_aws) == []
    # The real one still goes out as usual.
    assert notifications.handle_batch(sqs_event([real])) == {"batchItemFailures": []}
    assert sorted(d for m in sent_emails(local_aws) for d in set(m.destinations)) == [
        "ada@example.com", "team@leadflow.example"
    ]


def test_a_comma_list_never_becomes_two_recipients(local_aws):
    """Even a correctly signed event (the stream handler's) with an address list is refused."""
    from chalicelib.pipeline import signing

    event = forged("victim@example.com, other@example.com")
    event["signature"] = signing.signature(event["lead"], event["enrichment"])
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=local_aws["NOTIFICATIONS_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    assert notifications.handle_batch(sqs_event(receive_all(local_aws["NOTIFICATIONS_QUEUE"]))) == {
        "batchItemFailures": []
    }
    assert sent_emails(local_aws) == []
    assert dead_reasons(local_aws) == [
        "invalid notification message: lead.created whose email is not one valid address"
    ]


def test_a_request_recipient_list_is_refused(local_aws):
    request = {"type": "notification.request", "kind": "order_confirmation", "recipient": "a@example.com,b@example.com",
               "data": {"order_id": "A-1"}, "idempotency_key": uuid.uuid4().hex}
    notifications.handle_batch(sqs_event(publish_request(local_aws, request)))
    assert sent_emails(local_aws) == []
    assert dead_reasons(local_aws) == [
        "invalid notification message: recipient: must be one valid email address of at most 254 characters"
    ]


def test_the_stream_handler_signs_what_it_publishes(api_client, local_aws):
    from chalicelib.pipeline import signing

    lead_id = post_lead(api_client)
    lead_stream.handle_stream_batch(stream_event([lead_image(local_aws, lead_id)]))
    [message] = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    event = json.loads(message["Body"])
    assert signing.is_genuine(event)
    assert not signing.is_genuine({**event, "signature": "0" * 64})
    assert not signing.is_genuine({key: value for key, value in event.items() if key != "signature"})
