"""SES feedback -> delivery status and suppression, for each format and type AWS documents.

In-process moto with the real tables (shared per module; every test uses
its own ids and addresses). Deliveries are set up as the worker leaves them
(ledger.claim + mark_sent).
"""

from __future__ import annotations

import json

import pytest

from chalicelib.pipeline import feedback
from chalicelib.store import deliveries, ledger
from chalicelib.store.deliveries import DeliveryKey
from tests.support import ses_events
from tests.support.tracking import (
    address,
    audit_lines,
    emf_metrics,
    is_suppressed,
    new_id,
    new_message_id,
    record_sent,
    status_of,
)

FORMATS = ses_events.FORMATS
CUSTOMER = "customer_confirmation"
TEAM = "team_alert"


def sent_to(recipients: list[str], kind: str = CUSTOMER) -> tuple[str, str, list[str]]:
    """One SES message to these recipients, one ledger entry per recipient."""
    lead_id, message_id = new_id(), new_message_id()
    ids = [record_sent(lead_id, kind, r, message_id) for r in recipients]
    return lead_id, message_id, ids


def tags(lead_id: str, kind: str = CUSTOMER, delivery_id: str | None = None, claim: str | None = None
         ) -> dict[str, str]:
    """The message tags the worker sets; `delivery_id` and `claim` as it tags a claimed send."""
    found = {"lead_id": lead_id, "kind": kind}
    if delivery_id:
        found["delivery"] = delivery_id
    if claim:
        found["claim"] = claim
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_delivery_one_recipient_becomes_delivered(shared_aws, fmt, capsys):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    capsys.readouterr()
    outcomes = feedback.handle(json.dumps(ses_events.delivery(fmt, message_id, [ada], tags(lead_id))))
    assert status_of(delivery_id) == "delivered"
    assert [(o.delivery_id, o.status, o.changed) for o in outcomes] == [(delivery_id, "delivered", True)]
    assert deliveries.get(delivery_id)["message_id"] == message_id
    assert not is_suppressed(ada)
    assert emf_metrics(capsys.readouterr().out) == ["Deliveries", "BounceRate", "ComplaintRate"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_delivery_several_recipients_each_delivered(shared_aws, fmt):
    team = [address("ops"), address("Sales", "Example.com"), address("boss")]
    lead_id, message_id, ids = sent_to(team, kind=TEAM)
    feedback.handle(ses_events.delivery(fmt, message_id, [r.lower() for r in team], tags(lead_id, TEAM)))
    assert [status_of(i) for i in ids] == ["delivered"] * 3


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("with_dsn", [True, False])
def test_permanent_bounce_bounces_and_suppresses_every_recipient(shared_aws, fmt, with_dsn, capsys):
    recipients = [address("gone"), address("nobody", "example.org")]
    lead_id, message_id, ids = sent_to(recipients)
    capsys.readouterr()
    feedback.handle(ses_events.bounce(fmt, message_id, recipients, tags(lead_id), with_dsn=with_dsn))
    assert [status_of(i) for i in ids] == ["bounced", "bounced"]
    assert all(is_suppressed(r) for r in recipients)
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics.count("Bounces") == 2 and metrics.count("BounceRate") == 2


def test_bounce_reason_is_recorded_masked(shared_aws):
    gone = address("gone")
    lead_id, message_id, (delivery_id,) = sent_to([gone])
    feedback.handle(ses_events.bounce("event", message_id, [gone], tags(lead_id)))
    reason = deliveries.get(delivery_id)["reason"]
    assert reason.startswith("bounce Permanent/General")
    assert gone not in reason and "g***@e***.com" in reason


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_soft_bounce_keeps_status_records_reason_and_does_not_suppress(shared_aws, fmt, bounce_type):
    full = address("full")
    lead_id, message_id, (delivery_id,) = sent_to([full])
    outcomes = feedback.handle(ses_events.bounce(fmt, message_id, [full], tags(lead_id), bounce_type, "MailboxFull"))
    record = deliveries.get(delivery_id)
    assert record["status"] == "sent"
    assert record["reason"].startswith(f"bounce {bounce_type}/MailboxFull")
    assert not is_suppressed(full)
    assert [o.changed for o in outcomes] == [False]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("feedback_type", ["abuse", "fraud", None])
def test_complaint_marks_complained_and_suppresses(shared_aws, fmt, feedback_type, capsys):
    recipients = [address("angry"), address("cross", "example.net")]
    lead_id, message_id, ids = sent_to(recipients)
    capsys.readouterr()
    feedback.handle(ses_events.complaint(fmt, message_id, recipients, tags(lead_id), feedback_type))
    assert [status_of(i) for i in ids] == ["complained", "complained"]
    assert all(is_suppressed(r) for r in recipients)
    assert emf_metrics(capsys.readouterr().out).count("Complaints") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_not_spam_complaint_is_recorded_but_not_suppressed(shared_aws, fmt):
    fine = address("fine")
    lead_id, message_id, (delivery_id,) = sent_to([fine])
    feedback.handle(ses_events.complaint(fmt, message_id, [fine], tags(lead_id), "not-spam"))
    assert status_of(delivery_id) == "complained"
    assert not is_suppressed(fine)


def test_unknown_fields_are_ignored(shared_aws):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.delivery("event", message_id, [ada], tags(lead_id))
    record["someFieldSesAddsLater"] = {"nested": [1, 2, 3]}
    record["mail"]["newMailField"] = "x"
    record["delivery"]["newDeliveryField"] = True
    feedback.handle(record)
    assert status_of(delivery_id) == "delivered"


def test_feedback_for_unrecorded_message_raises(shared_aws):
    with pytest.raises(feedback.FeedbackNotRecorded):
        feedback.handle(ses_events.delivery("event", new_message_id(), [address()]))


def test_feedback_retried_after_the_ledger_catches_up_is_applied(shared_aws):
    late = address("late")
    lead_id, message_id = new_id(), new_message_id()
    record = ses_events.delivery("identity", message_id, [late])
    with pytest.raises(feedback.FeedbackNotRecorded):
        feedback.handle(record)
    delivery_id = record_sent(lead_id, CUSTOMER, late, message_id)
    feedback.handle(record)  # the retry
    assert status_of(delivery_id) == "delivered"


def test_permanent_bounce_before_the_ledger_has_the_message_suppresses_only_once_matched(shared_aws):
    early = address("early")
    lead_id, message_id = new_id(), new_message_id()
    record = ses_events.bounce("event", message_id, [early])
    with pytest.raises(feedback.FeedbackNotRecorded):
        feedback.handle(record)
    assert not is_suppressed(early)  # nothing matched: nothing suppressed
    delivery_id = record_sent(lead_id, CUSTOMER, early, message_id)
    feedback.handle(record)  # the retry
    assert status_of(delivery_id) == "bounced"
    assert is_suppressed(early)


def test_claimed_but_not_yet_marked_sent_is_retried_without_tags(shared_aws):
    slow = address("slow")
    lead_id, message_id = new_id(), new_message_id()
    key = DeliveryKey(lead_id, CUSTOMER, slow)
    assert ledger.claim(key).state == "claimed"  # SES called, message id not recorded yet
    with pytest.raises(feedback.FeedbackNotRecorded):  # identity format: nothing ties it to the row
        feedback.handle(ses_events.delivery("identity", message_id, [slow]))
    assert status_of(key.delivery_id) == "sending"


def test_tagged_feedback_records_a_send_the_worker_has_not_recorded(shared_aws):
    slow = address("slower")
    lead_id, message_id = new_id(), new_message_id()
    key = DeliveryKey(lead_id, CUSTOMER, slow)
    claim = ledger.claim(key)
    feedback.handle(ses_events.delivery("event", message_id, [slow], tags(lead_id, CUSTOMER, key.delivery_id,
                                                                         claim.token)))
    assert status_of(key.delivery_id) == "delivered"
    assert deliveries.get(key.delivery_id)["message_id"] == message_id
    # The worker's late record changes nothing: the status stays delivered.
    assert not ledger.mark_sent(key, claim.token, message_id)
    assert status_of(key.delivery_id) == "delivered"


def test_tags_find_the_delivery_when_the_message_id_index_lags(shared_aws, monkeypatch):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    # The by_message_id GSI is eventually consistent; emulate it not having the item yet.
    monkeypatch.setattr(feedback.deliveries, "find_by_message_id", lambda _message_id: [])
    feedback.handle(ses_events.delivery("event", message_id, [ada], tags(lead_id, CUSTOMER, delivery_id)))
    assert status_of(delivery_id) == "delivered"
    with pytest.raises(feedback.FeedbackNotRecorded):  # no tags (identity format): retried instead
        feedback.handle(ses_events.bounce("identity", message_id, [ada]))


def test_the_one_ledger_entry_of_a_redirected_message_is_matched(shared_aws):
    # Sandbox mode sends to a test address; the ledger keeps the intended recipient and where it went.
    lead_id, message_id, sandbox = new_id(), new_message_id(), address("sandbox")
    key = DeliveryKey(lead_id, CUSTOMER, address("real.person"))
    claim = ledger.claim(key, sent_to=sandbox)
    assert ledger.mark_sent(key, claim.token, message_id)
    feedback.handle(ses_events.delivery("event", message_id, [sandbox]))
    assert status_of(key.delivery_id) == "delivered"


@pytest.mark.parametrize("event_type", ["Send", "Open", "Click", "DeliveryDelay", "Subscription"])
def test_other_event_types_change_nothing(shared_aws, event_type):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.delivery("event", message_id, [ada], tags(lead_id))
    record["eventType"] = event_type
    assert feedback.handle(record) == []
    assert status_of(delivery_id) == "sent"


def test_reject_fails_the_delivery(shared_aws):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = {
        "eventType": "Reject",
        "mail": ses_events.delivery("event", message_id, [ada], tags(lead_id))["mail"],
        "reject": {"reason": "Bad content"},
    }
    feedback.handle(record)
    assert status_of(delivery_id) == "failed"


@pytest.mark.parametrize("message", ["not json", "[1, 2]", json.dumps({"eventType": "Delivery"}), json.dumps({})])
def test_malformed_message_raises(shared_aws, message):
    with pytest.raises(feedback.MalformedFeedback):
        feedback.handle(message)


def test_duplicate_event_changes_nothing_and_counts_once(shared_aws, capsys):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.delivery("event", message_id, [ada], tags(lead_id))
    capsys.readouterr()
    first = feedback.handle(record)
    updated_at = deliveries.get(delivery_id)["updated_at"]
    second = feedback.handle(record)
    assert [o.changed for o in first + second] == [True, False]
    assert deliveries.get(delivery_id)["updated_at"] == updated_at
    assert emf_metrics(capsys.readouterr().out).count("Deliveries") == 1


def test_status_changes_are_audited_masked_and_once(shared_aws):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.bounce("event", message_id, [ada], tags(lead_id))
    feedback.handle(record)
    feedback.handle(record)  # duplicate: same audit object, not a second line
    lines = [line for line in audit_lines(shared_aws["AUDIT_BUCKET"]) if line.get("delivery_id") == delivery_id]
    assert len(lines) == 1
    assert lines[0]["action"] == "notification_status_changed"
    assert lines[0]["status"] == "bounced" and lines[0]["lead_id"] == lead_id
    assert lines[0]["recipient"] == "a***@e***.com"
    assert ada not in json.dumps(lines)


def test_audit_write_is_redone_when_a_retry_finds_its_own_change(shared_aws, monkeypatch):
    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.delivery("event", message_id, [ada], tags(lead_id))
    real_write = feedback.audit.record_notification_status

    def unavailable(*args, **kwargs):
        raise RuntimeError("S3 unavailable")

    monkeypatch.setattr(feedback.audit, "record_notification_status", unavailable)
    with pytest.raises(RuntimeError):
        feedback.handle(record)
    assert status_of(delivery_id) == "delivered"  # the status moved, the audit line did not get written
    monkeypatch.setattr(feedback.audit, "record_notification_status", real_write)
    feedback.handle(record)  # the retry
    audited = [line for line in audit_lines(shared_aws["AUDIT_BUCKET"]) if line.get("delivery_id") == delivery_id]
    assert [line["status"] for line in audited] == ["delivered"]


def test_sns_handler_in_app_processes_the_envelope(shared_aws):
    import app as app_module

    ada = address("ada")
    lead_id, message_id, (delivery_id,) = sent_to([ada])
    record = ses_events.complaint("event", message_id, [ada], tags(lead_id))
    topic = "arn:aws:sns:us-east-1:123456789012:leadflow-local-ses-feedback"
    app_module.on_ses_feedback(ses_events.sns_envelope(record, topic), None)
    assert status_of(delivery_id) == "complained"
    assert is_suppressed(ada)


def test_sns_handler_raises_for_unrecorded_messages_so_lambda_retries(shared_aws):
    import app as app_module

    record = ses_events.delivery("event", new_message_id(), [address()])
    with pytest.raises(feedback.FeedbackNotRecorded):
        app_module.on_ses_feedback(ses_events.sns_envelope(record, "arn:aws:sns:us-east-1:1:t"), None)
