"""Forged or mismatched SES feedback (red-team finding 4), published to the feedback
topic as SES would publish it (the app's SNS handler gets the envelope).

Feedback moves a delivery, or suppresses an address, only once it is matched
to a ledger row for that SES message id and that recipient; a send whose
record was lost is adopted only with the claim token the worker tagged it
with. Statuses never move backwards; a Reject after a Delivery changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import app as app_module
from chalicelib.core import aws
from chalicelib.pipeline import feedback, lead_stream, notifications
from chalicelib.store import suppression
from tests.support import ses_events
from tests.support.pipeline import deliveries, lead_image, post_lead, receive_all, sqs_event, stream_event

TOPIC = "arn:aws:sns:us-east-1:123456789012:leadflow-local-ses-feedback"
TEAM = "team@leadflow.example"


def publish(record: dict[str, Any]) -> None:
    """What the SesFeedback topic hands the handler."""
    app_module.on_ses_feedback(ses_events.sns_envelope(record, TOPIC), None)


class RecordingSes:
    """The real (moto) SES, remembering each send's message id and tags."""

    def __init__(self, real: Any, fail_with: Exception | None = None) -> None:
        self.real, self.fail_with, self.sends = real, fail_with, []

    def send_email(self, **kwargs: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        response = self.real.send_email(**kwargs)
        tags = {t["Name"]: t["Value"] for t in kwargs["EmailTags"]}
        self.sends.append((response["MessageId"], kwargs["Destination"]["ToAddresses"], tags))
        return response


def run_lead(api_client: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
             fail_with: Exception | None = None) -> tuple[str, RecordingSes]:
    ses = RecordingSes(aws.sesv2(), fail_with)
    monkeypatch.setattr(aws, "sesv2", lambda: ses)
    lead_id = post_lead(api_client, {"name": "Ada", "email": f"ada.{uuid.uuid4().hex[:6]}@example.com"})
    lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    notifications.handle_batch(sqs_event(receive_all(env["NOTIFICATIONS_QUEUE"])))
    return lead_id, ses


def row(env: dict[str, str], lead_id: str, kind: str) -> dict[str, Any]:
    return next(d for d in deliveries(env) if d["lead_id"] == lead_id and d["kind"] == kind)


def test_a_complaint_for_an_unknown_message_suppresses_no_one(api_client, local_aws, monkeypatch):
    """It once put the team address on the suppression list: every later alert ended `suppressed`."""
    with pytest.raises(feedback.FeedbackNotRecorded):  # retried by Lambda, then dead-lettered
        publish(ses_events.complaint("event", f"forged-{uuid.uuid4()}", [TEAM]))
    with pytest.raises(feedback.FeedbackNotRecorded):
        publish(ses_events.bounce("identity", f"forged-{uuid.uuid4()}", [TEAM]))
    assert not suppression.is_suppressed(TEAM)
    lead_id, _ = run_lead(api_client, local_aws, monkeypatch)
    assert row(local_aws, lead_id, "team_alert")["status"] == "sent"


def test_a_complaint_for_a_real_message_naming_another_address_suppresses_neither(
    api_client, local_aws, monkeypatch
):
    lead_id, ses = run_lead(api_client, local_aws, monkeypatch)
    message_id, _to, tags = next(s for s in ses.sends if s[1] == [TEAM])
    with pytest.raises(feedback.FeedbackNotRecorded):
        publish(ses_events.complaint("event", message_id, ["bystander@example.com"], tags))
    assert not suppression.is_suppressed("bystander@example.com")
    assert not suppression.is_suppressed(TEAM)
    assert row(local_aws, lead_id, "team_alert")["status"] == "sent"


def test_a_matched_complaint_still_complains_and_suppresses(api_client, local_aws, monkeypatch):
    lead_id, ses = run_lead(api_client, local_aws, monkeypatch)
    message_id, to, tags = next(s for s in ses.sends if s[1] != [TEAM])
    publish(ses_events.complaint("event", message_id, to, tags))
    assert row(local_aws, lead_id, "customer_confirmation")["status"] == "complained"
    assert suppression.is_suppressed(to[0])


def test_the_worker_tags_each_send_with_its_row_and_claim(api_client, local_aws, monkeypatch):
    lead_id, ses = run_lead(api_client, local_aws, monkeypatch)
    for message_id, _to, tags in ses.sends:
        delivery = next(d for d in deliveries(local_aws) if d["message_id"] == message_id)
        assert tags == {"lead_id": lead_id, "kind": delivery["kind"], "delivery": delivery["delivery_id"],
                        "claim": delivery["claim_token"]}


def test_a_delivery_with_the_right_tags_cannot_revive_an_alert_that_never_went_out(
    api_client, local_aws, monkeypatch
):
    from botocore.exceptions import ClientError

    rejected = ClientError({"Error": {"Code": "MessageRejected", "Message": "no"},
                            "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendEmail")
    lead_id, _ = run_lead(api_client, local_aws, monkeypatch, fail_with=rejected)
    alert = row(local_aws, lead_id, "team_alert")
    assert alert["status"] == "failed"
    for tags in ({"lead_id": lead_id, "kind": "team_alert"},
                 {"lead_id": lead_id, "kind": "team_alert", "delivery": alert["delivery_id"]},
                 {"lead_id": lead_id, "kind": "team_alert", "delivery": alert["delivery_id"], "claim": "guess"}):
        with pytest.raises(feedback.FeedbackNotRecorded):
            publish(ses_events.delivery("event", f"forged-{uuid.uuid4()}", [TEAM], tags))
    assert row(local_aws, lead_id, "team_alert")["status"] == "failed"
    assert "message_id" not in row(local_aws, lead_id, "team_alert")


def test_a_held_send_is_adopted_only_with_its_claim_token(api_client, local_aws, monkeypatch):
    """SES's answer was lost: feedback with the worker's tags completes the row, a forgery does not."""
    from botocore.exceptions import ReadTimeoutError

    lead_id, _ = run_lead(api_client, local_aws, monkeypatch, fail_with=ReadTimeoutError(endpoint_url="https://x"))
    held = row(local_aws, lead_id, "team_alert")
    assert held["status"] == "sending"
    forged = {"lead_id": lead_id, "kind": "team_alert", "delivery": held["delivery_id"], "claim": uuid.uuid4().hex}
    with pytest.raises(feedback.FeedbackNotRecorded):
        publish(ses_events.delivery("event", f"forged-{uuid.uuid4()}", [TEAM], forged))
    assert row(local_aws, lead_id, "team_alert")["status"] == "sending"
    wrong_address = {**forged, "claim": held["claim_token"]}
    with pytest.raises(feedback.FeedbackNotRecorded):
        publish(ses_events.delivery("event", "m-1", ["someone.else@example.com"], wrong_address))
    assert row(local_aws, lead_id, "team_alert")["status"] == "sending"
    publish(ses_events.delivery("event", "m-2", [TEAM], wrong_address))
    adopted = row(local_aws, lead_id, "team_alert")
    assert adopted["status"] == "delivered" and adopted["message_id"] == "m-2"


def test_a_reject_after_delivery_changes_nothing(api_client, local_aws, monkeypatch):
    lead_id, ses = run_lead(api_client, local_aws, monkeypatch)
    message_id, to, tags = next(s for s in ses.sends if s[1] == [TEAM])
    publish(ses_events.delivery("event", message_id, to, tags))
    reject = {"eventType": "Reject", "mail": ses_events.delivery("event", message_id, to, tags)["mail"],
              "reject": {"reason": "Bad content"}}
    publish(reject)
    assert row(local_aws, lead_id, "team_alert")["status"] == "delivered"


def test_a_bounce_for_a_complained_delivery_keeps_complained(api_client, local_aws, monkeypatch):
    lead_id, ses = run_lead(api_client, local_aws, monkeypatch)
    message_id, to, tags = next(s for s in ses.sends if s[1] != [TEAM])
    publish(ses_events.complaint("event", message_id, to, tags))
    publish(ses_events.bounce("event", message_id, to, tags))
    assert row(local_aws, lead_id, "customer_confirmation")["status"] == "complained"
