"""Header injection through RFC 2047 encoded words (red-team findings 1 and 2).

At the door: a name, metadata key or address holding `=?` is refused, as an
attacker would send it (over the API). At depth: every email kind, built by
the worker from hostile data in every field (data a door might let through
one day, or that was stored before it), re-read as a mail reader reads it,
has exactly the headers and recipients the code meant.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.core.states import LeadKind
from chalicelib.email import rendering
from chalicelib.email.mime import build_message, header_safe
from chalicelib.pipeline import jobs, lead_stream, notifications, sending
from chalicelib.pipeline.jobs import EmailJob
from tests.support.mail_headers import HOSTILE_VALUES, assert_headers_exactly
from tests.support.pipeline import lead_image, receive_all, sent_emails, sqs_event, stream_event

RED_TEAM_NAME = "x:=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNClgtSW5qZWN0ZWQ6IHllcw==?="
BODY_SPLIT_NAME = "x:=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNCg0KYXR0YWNrZXIgYm9keQ==?="
TEAM = "team@leadflow.example"


def post(api_client: Any, body: dict[str, Any]) -> Any:
    return api_client.http.post("/leads", headers={"Content-Type": "application/json"}, body=json.dumps(body))


def stored_count(env: dict[str, str]) -> int:
    import boto3

    return len(boto3.client("dynamodb").scan(TableName=env["LEADS_TABLE"])["Items"])


# --- at the door: over the API ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": RED_TEAM_NAME, "email": "ada@example.com"}, "name"),
        ({"name": BODY_SPLIT_NAME, "email": "ada@example.com"}, "name"),
        ({"name": "Ada =?utf-8?q?=0D=0ABcc:_x@evil.example?=", "email": "ada@example.com"}, "name"),
        ({"name": "Ada", "email": "ada@example.com", "metadata": {"=?utf-8?b?DQpCY2M6IHhAZXZpbA==?=": "v"}},
         "metadata.=?utf-8?b?DQpCY2M6IHhAZXZpbA==?="),
        ({"name": "Ada", "email": "=?utf-8?b?DQpCY2M6IHhAZXZpbA==?=@example.com"}, "email"),
        ({"name": "Ada", "email": "ada@example.com, victim@evil.example"}, "email"),
    ],
)
def test_encoded_words_and_address_lists_are_refused_at_the_door(api_client, local_aws, body, field):
    response = post(api_client, body)
    assert response.status_code == 400, response.json_body
    assert field in [d["field"] for d in response.json_body["details"]]
    assert stored_count(local_aws) == 0


def test_free_text_may_hold_encoded_words_they_only_reach_the_body(api_client, local_aws):
    response = post(api_client, {"name": "Ada", "email": "ada@example.com", "message": RED_TEAM_NAME,
                                 "metadata": {"utm": BODY_SPLIT_NAME}})
    assert response.status_code == 201


def test_the_red_team_alert_through_the_pipeline_has_only_the_meant_headers(api_client, local_aws):
    """Everything a form may send that reaches a header, at once, through the whole pipeline."""
    name = '"Eve" <eve@evil.example>, Ünï 名 \\ Bcc: victim@evil.example ?= x' + "y" * 100
    response = post(api_client, {"name": name, "email": "Ada.L+tag@Example.COM", "source": "partner-site",
                                 "metadata": {"Bcc: victim@evil.example": "=?utf-8?b?DQo=?="}})
    assert response.status_code == 201
    lead_id = response.json_body["id"]
    lead_stream.handle_stream_batch(stream_event([lead_image(local_aws, lead_id)]))
    assert notifications.handle_batch(sqs_event(receive_all(local_aws["NOTIFICATIONS_QUEUE"]))) == {
        "batchItemFailures": []
    }
    by_recipient = {m.destinations[0]: m.raw_data.encode() for m in sent_emails(local_aws)}
    alert = assert_headers_exactly(
        by_recipient[TEAM], {"From", "To", "Reply-To", "Subject", "X-Leadflow-Ref"}, TEAM,
        reply_to="Ada.L+tag@example.com", sender="alerts@leadflow.example",
    )
    assert str(alert["Subject"]) == header_safe(f"New lead: {name} via partner-site")
    assert alert["Reply-To"].addresses[0].display_name.replace(" ", "") == name.replace(" ", "")
    assert_headers_exactly(by_recipient["Ada.L+tag@example.com"], {"From", "To", "Subject", "X-Leadflow-Ref"},
                           "Ada.L+tag@example.com", sender="hello@leadflow.example")


# --- at depth: every kind, hostile data in every field -----------------------------------


def template_fields(kind: str) -> set[str]:
    """The `data` keys any of the kind's templates reads."""
    folder = rendering.TEMPLATES_DIR / kind
    text = "".join(path.read_text() for path in folder.iterdir())
    return {a or b for a, b in re.findall(r"data(?:\.(\w+)|\[\"(\w+)\"\])", text)} - {"get", "items"}


def hostile_lead(value: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex, "created_at": value, "name": value, "email": "ada@example.com", "phone": value,
        "message": value, "source": value, "metadata": {value: value, "plan": value},
    }


def hostile_context(kind: str, value: str) -> dict[str, Any]:
    lead = hostile_lead(value)
    enrichment = {"history": {"count": 2, "more": True, "last_at": value, "last_excerpt": value},
                  "related": {value: value, "account": value}}
    data = {field: value for field in template_fields(kind)}
    data["items"] = [value, value]
    return {"lead": lead, "enrichment": enrichment, "data": data, "echo": True}


def hostile_jobs(value: str) -> list[tuple[EmailJob, str | None]]:
    """One job of every kind there is a template for, with (job, the Reply-To it must carry)."""
    settings = get_settings()
    built: list[tuple[EmailJob, str | None]] = []
    for kind in sorted(rendering.available_kinds()):
        context = hostile_context(kind, value)
        ref = context["lead"]["id"]
        if kind == LeadKind.TEAM_ALERT:
            job = EmailJob(ref, kind, TEAM, settings.team_sender, context, reply_to=("ada@example.com", value))
            built.append((job, "ada@example.com"))
        elif kind == LeadKind.CUSTOMER_CONFIRMATION:
            # As echoed with CONFIRMATION_ECHO, and as sent by default (another lead).
            plain_lead = {**context["lead"], "id": uuid.uuid4().hex}
            for confirmation in (context, jobs.confirmation_context(plain_lead)):
                ref = confirmation["lead"]["id"]
                built.append((EmailJob(ref, kind, "ada@example.com", settings.customer_sender, confirmation), None))
        else:
            built.append((EmailJob(jobs.request_ref_id(uuid.uuid4().hex), kind, "buyer@example.com",
                                   settings.customer_sender, context), None))
    return built


def test_every_kind_is_covered():
    kinds = {job.kind for job, _ in hostile_jobs("x")}
    assert kinds == set(rendering.available_kinds()) >= {"team_alert", "customer_confirmation", "order_confirmation"}


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_every_email_kind_with_hostile_data_has_exactly_the_meant_headers(local_aws, value):
    built = hostile_jobs(value)
    for job, _ in built:
        assert sending.send_job(job) == "sent", job.kind
    sent = {m.destinations[0] + "|" + m.raw_data.split("X-Leadflow-Ref: ", 1)[1][:40]: m
            for m in sent_emails(local_aws)}
    assert len(sent) == len(built)
    for job, reply_to in built:
        raw = sent[f"{job.recipient}|{job.key.delivery_id}"].raw_data.encode()
        meant = {"From", "To", "Subject", "X-Leadflow-Ref"} | ({"Reply-To"} if reply_to else set())
        message = assert_headers_exactly(raw, meant, job.recipient, reply_to=reply_to)
        subject = rendering.render(job.kind, job.context).subject
        assert str(message["Subject"]) == header_safe(subject), job.kind  # the text meant, as text
        assert str(message["X-Leadflow-Ref"]) == job.key.delivery_id


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_the_header_writer_alone_keeps_the_header_set(value):
    """build_message is the depth the fix lives at: hostile subject, display name, reference and bodies."""
    raw = build_message("leadflow alerts <alerts@leadflow.example>", "team@leadflow.example", value, value, value,
                        reply_to=("ada@example.com", value), reference=value)
    assert_headers_exactly(raw, {"From", "To", "Reply-To", "Subject", "X-Leadflow-Ref"}, "team@leadflow.example",
                           reply_to="ada@example.com", sender="alerts@leadflow.example")


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_subject_alone_keeps_the_header_set(value):
    """The order confirmation's case: data in the subject, no Reply-To (CPython issue 87720)."""
    raw = build_message("leadflow <hello@leadflow.example>", "buyer@example.com", f"Your order {value}", "t", "h")
    message = assert_headers_exactly(raw, {"From", "To", "Subject"}, "buyer@example.com")
    assert str(message["Subject"]) == header_safe(f"Your order {value}")


@pytest.mark.parametrize("recipient", ["a@example.com, b@example.com", "Eve <eve@evil.example>",
                                       "=?utf-8?b?DQpCY2M6IHhAZXZpbA==?=@example.com", "a@example.com\r\nBcc: x@y.z"])
def test_the_header_writer_takes_one_plain_address_only(recipient):
    from chalicelib.email.mime import InvalidAddress

    with pytest.raises(InvalidAddress):
        build_message("a <alerts@leadflow.example>", recipient, "s", "t", "<p>h</p>")
    with pytest.raises(InvalidAddress):
        build_message("a <alerts@leadflow.example>", "team@leadflow.example", "s", "t", "<p>h</p>",
                      reply_to=(recipient, "Eve"))


def test_request_data_that_reaches_a_subject_is_refused(local_aws):
    """order_id is in the order confirmation's subject: an encoded word there is a dead letter
    (`\r\nBcc: x@evil`, short enough for order_id's 64 characters)."""
    import boto3

    request = {"type": "notification.request", "kind": "order_confirmation", "recipient": "buyer@example.com",
               "data": {"order_id": "=?utf-8?b?DQpCY2M6IHhAZXZpbA==?=", "customer_name": "Bea"},
               "idempotency_key": uuid.uuid4().hex}
    boto3.client("sns").publish(TopicArn=local_aws["NOTIFICATION_REQUESTS_TOPIC_ARN"], Message=json.dumps(request))
    messages = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    assert notifications.handle_batch(sqs_event(messages)) == {"batchItemFailures": []}
    assert sent_emails(local_aws) == []
    [dead] = receive_all(local_aws["NOTIFICATIONS_DLQ"])
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert "data.order_id: must be one line without control characters or '=?'" in reason


def test_request_data_outside_the_subject_may_hold_anything(local_aws):
    """note is free text, only in the body: it is escaped there, and the headers are not touched."""
    import boto3

    request = {"type": "notification.request", "kind": "order_confirmation", "recipient": "buyer@example.com",
               "data": {"order_id": "A-1", "note": RED_TEAM_NAME}, "idempotency_key": uuid.uuid4().hex}
    boto3.client("sns").publish(TopicArn=local_aws["NOTIFICATION_REQUESTS_TOPIC_ARN"], Message=json.dumps(request))
    notifications.handle_batch(sqs_event(receive_all(local_aws["NOTIFICATIONS_QUEUE"])))
    [sent] = sent_emails(local_aws)
    assert_headers_exactly(sent.raw_data.encode(), {"From", "To", "Subject", "X-Leadflow-Ref"}, "buyer@example.com")
