"""The customer confirmation is not a relay (red-team finding 6).

Anyone can post a lead with any address, so the confirmation goes to an
unverified address: it echoes no free text (at most the name, without
anything link-like) unless the stage sets CONFIRMATION_ECHO, and one address
gets at most CONFIRMATIONS_PER_HOUR confirmations; further leads are still
stored and alerted, their confirmation recorded `skipped`.
"""

from __future__ import annotations

import email
import json
from email.policy import default as default_policy
from typing import Any

import pytest

from tests.support.aws import reset_app_caches
from tests.support.pipeline import deliveries, lead_image, receive_all, sent_emails, sqs_event, stream_event

SPAM = {
    "name": "Cheap pills at https://evil.example/buy and www.spam.example",
    "email": "victim@example.com",
    "message": "Your account is locked: log in at http://phish.example/login",
    "metadata": {"promo": "evil.example"},
}


def post(api_client: Any, body: dict[str, Any]) -> str:
    response = api_client.http.post("/leads", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return str(response.json_body["id"])


def run(api_client: Any, env: dict[str, str], body: dict[str, Any]) -> str:
    from chalicelib.pipeline import lead_stream, notifications

    lead_id = post(api_client, body)
    lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    assert notifications.handle_batch(sqs_event(receive_all(env["NOTIFICATIONS_QUEUE"]))) == {
        "batchItemFailures": []
    }
    return lead_id


def mails_to(env: dict[str, str], address: str) -> list[Any]:
    found = [m for m in sent_emails(env) if address in m.destinations]
    return [email.message_from_string(m.raw_data, policy=default_policy) for m in found]


def text_of(message: Any) -> str:
    return " ".join(part.get_content() for part in message.iter_parts())


def test_the_confirmation_echoes_no_free_text_and_no_link(api_client, local_aws):
    run(api_client, local_aws, SPAM)
    [confirmation] = mails_to(local_aws, "victim@example.com")
    text = text_of(confirmation)
    for leaked in ("evil.example", "spam.example", "phish.example", "log in", "locked", "http", "www."):
        assert leaked not in text, leaked
    assert "Hello Cheap pills at and," in text  # the name, links removed
    [alert] = mails_to(local_aws, "team@leadflow.example")
    assert "phish.example/login" in text_of(alert)  # the team still sees everything


def test_a_name_that_is_only_a_link_greets_nobody_by_it(api_client, local_aws):
    run(api_client, local_aws, {"name": "evil.example", "email": "victim@example.com"})
    [confirmation] = mails_to(local_aws, "victim@example.com")
    assert "Hello there," in text_of(confirmation)


def test_the_stage_may_turn_echoing_on(api_client, local_aws, monkeypatch):
    monkeypatch.setenv("CONFIRMATION_ECHO", "true")
    reset_app_caches()
    run(api_client, local_aws, SPAM)
    [confirmation] = mails_to(local_aws, "victim@example.com")
    assert "phish.example/login" in text_of(confirmation) and "https://evil.example/buy" in text_of(confirmation)


@pytest.fixture
def two_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIRMATIONS_PER_HOUR", "2")
    reset_app_caches()


def test_one_address_gets_a_few_confirmations_an_hour_and_every_lead_is_alerted(
    api_client, local_aws, two_an_hour
):
    lead_ids = [run(api_client, local_aws, {"name": f"Try {i}", "email": "victim@example.com"}) for i in range(4)]
    assert len(mails_to(local_aws, "victim@example.com")) == 2
    assert len(mails_to(local_aws, "team@leadflow.example")) == 4
    rows = {(d["lead_id"], d["kind"]): d for d in deliveries(local_aws)}
    statuses = [rows[(lead_id, "customer_confirmation")]["status"] for lead_id in lead_ids]
    assert statuses == ["sent", "sent", "skipped", "skipped"]
    skipped = rows[(lead_ids[2], "customer_confirmation")]
    assert skipped["reason"].startswith("recipient limit: at most 2 confirmations an hour")
    # The lead's page shows why: the history ends with the skip and its reason.
    assert skipped["history"][-1]["status"] == "skipped"
    assert skipped["history"][-1]["reason"].startswith("recipient limit")
    assert all(rows[(lead_id, "team_alert")]["status"] == "sent" for lead_id in lead_ids)


def test_a_skipped_confirmation_stays_skipped_when_redelivered(api_client, local_aws, two_an_hour):
    from chalicelib.pipeline import lead_stream, notifications

    for i in range(2):
        run(api_client, local_aws, {"name": f"Try {i}", "email": "victim@example.com"})
    lead_id = post(api_client, {"name": "Again", "email": "victim@example.com"})
    lead_stream.handle_stream_batch(stream_event([lead_image(local_aws, lead_id)]))
    messages = receive_all(local_aws["NOTIFICATIONS_QUEUE"])
    for _ in range(3):  # the same event, delivered again
        notifications.handle_batch(sqs_event(messages))
    assert len(mails_to(local_aws, "victim@example.com")) == 2
    row = next(d for d in deliveries(local_aws) if d["lead_id"] == lead_id and d["kind"] == "customer_confirmation")
    assert row["status"] == "skipped"


def test_the_limit_is_per_address_and_slides_with_the_hour(api_client, local_aws, two_an_hour, monkeypatch):
    from chalicelib.store import rate_limits

    for i in range(2):
        run(api_client, local_aws, {"name": f"Try {i}", "email": "victim@example.com"})
    run(api_client, local_aws, {"name": "Other", "email": "someone.else@example.com"})
    assert len(mails_to(local_aws, "someone.else@example.com")) == 1
    later = rate_limits.now_epoch() + rate_limits.CONFIRMATION_WINDOW_SECONDS + 1
    monkeypatch.setattr(rate_limits, "now_epoch", lambda: later)
    run(api_client, local_aws, {"name": "An hour on", "email": "victim@example.com"})
    assert len(mails_to(local_aws, "victim@example.com")) == 3
