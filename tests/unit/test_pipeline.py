"""The pipeline end to end in-process: POST -> stream -> SNS -> SQS -> SES."""

from __future__ import annotations

import email
from email.policy import default as default_policy

from chalicelib.pipeline import lead_stream, notifications
from tests.support.pipeline import (
    VALID_LEAD,
    deliveries,
    lead_image,
    post_lead,
    receive_all,
    sent_emails,
    sqs_event,
    stream_event,
)


def run_pipeline(api_client, env, body=None):
    lead_id = post_lead(api_client, body)
    result = lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    assert result == {"batchItemFailures": []}
    messages = receive_all(env["NOTIFICATIONS_QUEUE"])
    return lead_id, messages


def test_lead_yields_team_alert_and_confirmation(api_client, local_aws):
    lead_id, messages = run_pipeline(api_client, local_aws)
    assert len(messages) == 1
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    sent = sent_emails(local_aws)
    assert len(sent) == 2
    parsed = [email.message_from_string(m.raw_data, policy=default_policy) for m in sent]
    by_to = {str(m["To"]): m for m in parsed}
    alert = by_to["team@leadflow.example"]
    assert "Ada Lovelace" in str(alert["Subject"])
    assert "ada@example.com" in str(alert["Reply-To"])
    confirmation = by_to["ada@example.com"]
    for message in parsed:
        assert message.get_content_type() == "multipart/alternative"
        kinds = {part.get_content_type() for part in message.iter_parts()}
        assert kinds == {"text/plain", "text/html"}
    statuses = {(d["kind"], d["status"]) for d in deliveries(local_aws)}
    assert statuses == {("team_alert", "sent"), ("customer_confirmation", "sent")}
    assert confirmation["From"].addresses[0].addr_spec == "hello@leadflow.example"


def test_redelivered_message_sends_nothing_twice(api_client, local_aws):
    _, messages = run_pipeline(api_client, local_aws)
    notifications.handle_batch(sqs_event(messages))
    notifications.handle_batch(sqs_event(messages))
    assert len(sent_emails(local_aws)) == 2


def test_same_stream_record_twice_sends_once(api_client, local_aws):
    lead_id = post_lead(api_client)
    image = lead_image(local_aws, lead_id)
    lead_stream.handle_stream_batch(stream_event([image]))
    lead_stream.handle_stream_batch(stream_event([image]))
    messages = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    assert len(messages) == 2
    notifications.handle_batch(sqs_event(messages))
    assert len(sent_emails(local_aws)) == 2


def test_injection_in_name_is_escaped_and_adds_no_header(api_client, local_aws):
    hostile = {**VALID_LEAD, "name": "<script>alert(1)</script> Eve", "message": "x\r\nBcc: evil@example.com"}
    _, messages = run_pipeline(api_client, local_aws, hostile)
    notifications.handle_batch(sqs_event(messages))
    for sent in sent_emails(local_aws):
        message = email.message_from_string(sent.raw_data, policy=default_policy)
        assert message["Bcc"] is None
        html = message.get_body(("html",)).get_content()
        assert "<script>" not in html
        assert "&lt;script&gt;" in html or "Eve" not in html
        assert set(sent.destinations) in ({"team@leadflow.example"}, {"ada@example.com"})


def test_crlf_in_header_fields_cannot_add_a_header_or_recipient():
    from chalicelib.email.mime import build_message

    raw = build_message(
        "leadflow <alerts@leadflow.example>",
        "team@leadflow.example",
        "New lead: Eve\r\nBcc: evil@example.com",
        "text",
        "<p>html</p>",
        reply_to=("eve@example.com", "Eve\r\nBcc: evil@example.com"),
    )
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["eve@example.com"]
    assert [a.addr_spec for a in message["To"].addresses] == ["team@leadflow.example"]
    assert "\n" not in str(message["Subject"])
