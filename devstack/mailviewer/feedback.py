"""SES feedback for one filed message, when a developer asks: Delivery, Bounce (permanent or transient), Complaint.

The events come from the emulator's own builders (devstack/ses_outbox.py),
fed the message as filed and its envelope, so they are SES's documented
event-publishing records for the real message id, tags and recipients. They
go where SES would send them: the configuration set's enabled SNS event
destinations (read through the SESv2 API, as any client would), filtered by
their MatchingEventTypes; a set without destinations falls back to the
stage's SES_FEEDBACK_TOPIC, as the emulator does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

from devstack import ses_outbox
from devstack.mailviewer.messages import Mail
from devstack.provision import LOCAL_ACCOUNT, LOCAL_REGION, local_client, stage_environment
from devstack.ses_outbox import SentMail

KINDS = ("delivery", "bounce", "complaint")
BOUNCE_TYPES = ("permanent", "transient")
# What a full mailbox looks like: SES retried and gave up, and the address may work later.
TRANSIENT = {"bounceType": "Transient", "bounceSubType": "MailboxFull"}
TRANSIENT_RECIPIENT = {"action": "failed", "status": "4.2.2", "diagnosticCode": "smtp; 452 4.2.2 mailbox full"}


class FeedbackRefused(Exception):
    """The request cannot be met (no envelope, no destination, a wrong kind); `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sent_mail(mail: Mail) -> SentMail:
    """The message as the emulator's SES held it when it accepted it."""
    envelope = mail.envelope
    if not envelope:
        raise FeedbackRefused("no_envelope", "this message was filed without its envelope (an older outbox)")
    return SentMail(
        message_id=mail.message_id,
        raw=mail.raw(),
        source=str(envelope.get("source", "")),
        destination=[str(r) for r in envelope.get("destination") or mail.recipients],
        configuration_set=envelope.get("configuration_set"),
        tags={str(k): str(v) for k, v in (envelope.get("tags") or {}).items()},
        account_id=str(envelope.get("account_id") or LOCAL_ACCOUNT),
        region=str(envelope.get("region") or LOCAL_REGION),
        sent_at=dt.datetime.fromisoformat(envelope["sent_at"]) if envelope.get("sent_at") else mail.sent_at,
    )


def build_event(sent: SentMail, kind: str, bounce_type: str = "permanent") -> dict[str, Any]:
    recipients = list(sent.destination)
    if kind == "delivery":
        return ses_outbox._delivery(sent, recipients)
    if kind == "complaint":
        return ses_outbox._complaint(sent, recipients)
    if kind != "bounce" or bounce_type not in BOUNCE_TYPES:
        raise FeedbackRefused("bad_request", f"type must be one of {', '.join(KINDS)}; bounce_type one of "
                                             f"{', '.join(BOUNCE_TYPES)}")
    event = ses_outbox._bounce(sent, recipients, "General")
    if bounce_type == "transient":
        event["bounce"].update(TRANSIENT)
        for entry in event["bounce"]["bouncedRecipients"]:
            entry.update(TRANSIENT_RECIPIENT)
    return event


def destinations(configuration_set: str | None, stage: str) -> list[tuple[str, frozenset[str]]]:
    """(topic ARN, event types) SES would publish this set's events to."""
    if not configuration_set:
        return []
    sesv2 = local_client("sesv2", os.environ.get("AWS_ENDPOINT_URL", ""))
    try:
        found = sesv2.get_configuration_set_event_destinations(ConfigurationSetName=configuration_set)
    except sesv2.exceptions.NotFoundException:
        return []
    targets = [
        (str(d["SnsDestination"]["TopicArn"]), frozenset(str(t).upper() for t in d.get("MatchingEventTypes", [])))
        for d in found.get("EventDestinations", [])
        if d.get("Enabled") and (d.get("SnsDestination") or {}).get("TopicArn")
    ]
    if targets or found.get("EventDestinations"):
        return targets
    env = stage_environment(stage)
    topic = env.get("SES_FEEDBACK_TOPIC", "") if env.get("SES_CONFIGURATION_SET") == configuration_set else ""
    if not topic:
        return []
    arn = topic if topic.startswith("arn:") else f"arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{topic}"
    return [(arn, frozenset({"DELIVERY", "BOUNCE", "COMPLAINT"}))]


def publish(mail: Mail, kind: str, bounce_type: str, stage: str) -> dict[str, Any]:
    """Publish one feedback event for `mail`; return it and the topics it went to."""
    sent = sent_mail(mail)
    event = build_event(sent, kind, bounce_type)
    topics = [topic for topic, types in destinations(sent.configuration_set, stage) if kind.upper() in types]
    if not topics:
        raise FeedbackRefused(
            "no_feedback_destination",
            f"configuration set {sent.configuration_set!r} publishes no {event['eventType']} events to SNS"
            if sent.configuration_set else "the message was sent without a configuration set, so SES publishes "
                                           "no events for it",
        )
    sns = local_client("sns", os.environ.get("AWS_ENDPOINT_URL", ""))
    for topic in topics:
        sns.publish(TopicArn=topic, Message=json.dumps(event), Subject=ses_outbox.EVENT_SUBJECT)
    return {"event": event, "topics": topics}
