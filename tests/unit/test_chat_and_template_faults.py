"""The team's chat message per lead (a local webhook receiver), and a template fault that waits in
the DLQ until it is fixed, then sends exactly once."""

from __future__ import annotations

import json
import shutil

import pytest

from chalicelib.email import rendering, schemas
from chalicelib.pipeline import lead_stream, notifications
from ops import dlq
from tests.support.aws import apply_env
from tests.support.pipeline import deliveries, lead_image, post_lead, receive_all, sent_emails, sqs_event, stream_event
from tests.support.receiver import running_receiver
from tests.support.senders import ORDER, get, post, run_worker

HOSTILE = {"name": "<!channel> Eve <http://evil.example|click>", "email": "eve@example.com",
           "message": "Please call\nme & my team"}


def lead_messages(api_client, env, body=None) -> tuple[str, list[dict]]:
    lead_id = post_lead(api_client, body)
    lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    return lead_id, receive_all(env["NOTIFICATIONS_QUEUE"])


def test_one_chat_message_per_lead_even_when_the_event_comes_twice(api_client, local_aws, monkeypatch):
    with running_receiver() as receiver:
        apply_env(monkeypatch, {"TEAM_WEBHOOK_URL": receiver.url})
        lead_id, messages = lead_messages(api_client, local_aws, HOSTILE)
        notifications.handle_batch(sqs_event(messages))
        notifications.handle_batch(sqs_event(messages))  # a duplicate delivery
        (got,) = receiver.requests
    text = got.json["text"]
    assert set(got.json) == {"text"}
    assert "&lt;!channel&gt; Eve &lt;http://evil.example|click&gt;" in text and "<" not in text
    assert "eve@example.com" in text and lead_id in text and "me &amp; my team" in text
    assert len(sent_emails(local_aws)) == 2  # the emails as before
    (chat,) = [d for d in deliveries(local_aws) if d["kind"] == "team_chat"]
    assert chat["status"] == "sent" and chat["lead_id"] == lead_id


def test_no_webhook_no_chat_job(api_client, local_aws):
    _, messages = lead_messages(api_client, local_aws)
    notifications.handle_batch(sqs_event(messages))
    assert {d["kind"] for d in deliveries(local_aws)} == {"team_alert", "customer_confirmation"}


def test_a_failing_webhook_is_retried_and_posts_once(api_client, local_aws, monkeypatch):
    with running_receiver(script=[503]) as receiver:
        apply_env(monkeypatch, {"TEAM_WEBHOOK_URL": receiver.url})
        _, messages = lead_messages(api_client, local_aws)
        assert notifications.handle_batch(sqs_event(messages))["batchItemFailures"]
        assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
        assert [r.answered for r in receiver.requests] == [503, 200]
    assert len(sent_emails(local_aws)) == 2  # neither email went twice


def test_a_webhook_that_refuses_holds_the_message_in_the_dlq(api_client, local_aws, monkeypatch):
    with running_receiver(then=404) as receiver:
        apply_env(monkeypatch, {"TEAM_WEBHOOK_URL": receiver.url})
        _, messages = lead_messages(api_client, local_aws)
        notifications.handle_batch(sqs_event(messages))
        assert len(receiver.requests) == 1
    (dead,) = receive_all(local_aws["NOTIFICATIONS_DLQ"])
    assert "answered HTTP 404" in dead["MessageAttributes"]["reason"]["StringValue"]
    (chat,) = [d for d in deliveries(local_aws) if d["kind"] == "team_chat"]
    assert chat["status"] == "queued" and "held for a redrive" in chat["reason"]


@pytest.fixture
def templates_copy(tmp_path, monkeypatch):
    """A copy of templates/ the test may break and fix."""
    copy = tmp_path / "templates"
    shutil.copytree(rendering.TEMPLATES_DIR, copy)
    for module in (rendering, schemas):
        monkeypatch.setattr(module, "TEMPLATES_DIR", copy)

    def clear() -> None:
        rendering.environment.cache_clear()
        rendering.available_kinds.cache_clear()
        schemas.schema.cache_clear()

    clear()
    yield copy
    clear()


def test_a_template_error_waits_in_the_dlq_and_a_redrive_after_the_fix_sends_once(api_client, local_aws,
                                                                                    templates_copy):
    body = templates_copy / "order_confirmation" / "body.txt"
    good = body.read_text()
    body.write_text(good + "{{ data.order_id | no_such_filter }}\n")
    rendering.environment.cache_clear()
    notification_id = post(api_client, ORDER).json_body["id"]
    run_worker(local_aws)
    assert sent_emails(local_aws) == []
    (letter,) = dlq.list_letters(["notifications"], "local")["notifications"]  # as `make dlq` lists it
    assert "held for a redrive" in letter.reason and "no_such_filter" in letter.reason
    (row,) = deliveries(local_aws)
    assert row["status"] == "queued" and "no_such_filter" in row["reason"]  # not failed: redrivable
    assert get(api_client, notification_id).json_body["status"] == "queued"

    body.write_text(good)  # the fix
    rendering.environment.cache_clear()
    report = dlq.redrive(["notifications"], "local", None)
    assert [r.outcome for r in report.results] == ["redriven"]
    run_worker(local_aws)
    run_worker(local_aws)
    assert len(sent_emails(local_aws)) == 1
    assert get(api_client, notification_id).json_body["status"] == "sent"
    again = dlq.redrive(["notifications"], "local", None)  # nothing left, nothing twice
    assert again.results == []


def test_a_programming_error_is_held_not_failed(api_client, local_aws, monkeypatch):
    from chalicelib.pipeline import sending

    def broken(*args, **kwargs):
        raise TypeError("'builtin_function_or_method' object is not iterable")

    monkeypatch.setattr(sending, "render", broken)
    _, messages = lead_messages(api_client, local_aws)
    notifications.handle_batch(sqs_event(messages))
    assert {d["status"] for d in deliveries(local_aws)} == {"queued"}
    (dead,) = receive_all(local_aws["NOTIFICATIONS_DLQ"])
    assert "TypeError" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(dead["Body"])["type"] == "lead.created"


def test_ses_rejecting_the_email_still_ends_failed(api_client, local_aws, monkeypatch):
    from chalicelib.email import ses

    def rejected(*args, **kwargs):
        raise ses.PermanentSendError("MessageRejected", "Email address is not verified")

    monkeypatch.setattr(ses, "send_raw", rejected)
    post(api_client, ORDER)
    run_worker(local_aws)
    (row,) = deliveries(local_aws)
    assert row["status"] == "failed" and row["reason"].startswith("MessageRejected")
    assert receive_all(local_aws["NOTIFICATIONS_DLQ"]) == []
