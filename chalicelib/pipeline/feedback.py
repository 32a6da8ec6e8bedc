"""SES feedback (Delivery, Bounce, Complaint) -> delivery status, suppression list, metrics.

SES publishes two formats to SNS: configuration-set event publishing
(`eventType`, with the message tags in `mail.tags`) and identity feedback
notifications (`notificationType`, no tags). Both carry `mail.messageId`,
which the send ledger recorded, and one or several recipients. SES may add
fields at any time, so only the fields used here are read.

Rules (GOV.UK Notify's, and SES's own guidance):
- Delivery -> delivered. Bounce Permanent -> bounced, address suppressed.
  Bounce Transient/Undetermined -> status unchanged (the address may work
  later), the reason noted. Complaint -> complained, address suppressed
  unless the feedback type is `not-spam`. Reject -> failed.
- A status only moves forward (store.deliveries.advance_status): a late or
  duplicate event changes nothing and is not counted twice. A Reject only
  fails a send not yet delivered, bounced or complained of.
- Nothing changes, and nothing is suppressed, until the event is matched to
  a ledger row carrying that SES message id and that recipient (the address
  SES was given: the recipient, or the sandbox address the row records).
  The one exception is a send whose record was lost (the worker stopped, or
  SES's answer was lost): a tagged event adopts it only with the claim token
  the worker tagged that send with. Whoever can publish to the feedback
  topic cannot guess one, so no forged event can move or suppress anything.
- Feedback that matches nothing (the ledger has not recorded the message
  yet, or it is not ours) raises FeedbackNotRecorded, so the invocation is
  retried, then dead-lettered, having suppressed nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.core import metrics
from chalicelib.core.clock import iso_utc
from chalicelib.core.digest import digest
from chalicelib.core.logs import get_logger
from chalicelib.core.masking import mask_email, mask_text
from chalicelib.core.states import REJECTABLE, DeliveryStatus, MessageTag
from chalicelib.pipeline import audit
from chalicelib.store import deliveries, suppression


class FeedbackType(StrEnum):
    """The SES event types that change a delivery (others, such as Send or Open, are ignored)."""

    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    REJECT = "Reject"


PERMANENT = "Permanent"
NOT_SPAM = "not-spam"


class MalformedFeedback(ValueError):
    """The SNS message is not an SES feedback record (retrying cannot help; it is dead-lettered)."""


class FeedbackNotRecorded(Exception):
    """The ledger has no delivery for this message yet; raise so the event is retried."""


@dataclass(frozen=True)
class FeedbackEvent:
    event_type: str
    message_id: str
    recipients: tuple[str, ...]
    timestamp: str
    tags: dict[str, str] = field(default_factory=dict)
    bounce_type: str = ""
    bounce_subtype: str = ""
    feedback_type: str = ""
    diagnostics: dict[str, str] = field(default_factory=dict)
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    recipient: str  # masked
    delivery_id: str
    status: str
    changed: bool
    ref_id: str = ""  # the row's lead_id: a lead, a notification or a topic request


def _first_values(tags: Any) -> dict[str, str]:
    """`mail.tags` maps each name to a list of values; lead_id and kind have one each."""
    if not isinstance(tags, dict):
        return {}
    return {str(k): str(v[0]) for k, v in tags.items() if isinstance(v, list) and v}


def _addresses(entries: Any) -> tuple[str, ...]:
    """Recipients are plain strings (delivery) or objects with `emailAddress` (bounce, complaint)."""
    found: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        address = entry.get("emailAddress") if isinstance(entry, dict) else entry
        if isinstance(address, str) and address.strip():
            found.append(address.strip())
    return tuple(found)


def _body(raw: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        raise MalformedFeedback("the SNS message is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedFeedback("the SNS message is not a JSON object")
    return body


def parse(raw: str | dict[str, Any]) -> FeedbackEvent:
    """Read either SES format; unknown fields are ignored."""
    body = _body(raw)
    event_type = str(body.get("eventType") or body.get("notificationType") or "")
    mail: dict[str, Any] = body["mail"] if isinstance(body.get("mail"), dict) else {}
    message_id = str(mail.get("messageId") or "")
    if not event_type or not message_id:
        raise MalformedFeedback("no eventType/notificationType or mail.messageId")
    common: dict[str, Any] = {
        "event_type": event_type, "message_id": message_id, "tags": _first_values(mail.get("tags"))
    }
    if event_type == FeedbackType.BOUNCE:
        bounce = body.get("bounce") or {}
        entries = bounce.get("bouncedRecipients") or []
        diagnostics = {
            e["emailAddress"].strip().lower(): str(e.get("diagnosticCode") or e.get("status") or "")
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("emailAddress"), str)
        }
        return FeedbackEvent(
            **common, recipients=_addresses(entries), timestamp=str(bounce.get("timestamp") or ""),
            bounce_type=str(bounce.get("bounceType") or ""),
            bounce_subtype=str(bounce.get("bounceSubType") or ""), diagnostics=diagnostics,
        )
    if event_type == FeedbackType.COMPLAINT:
        complaint = body.get("complaint") or {}
        return FeedbackEvent(
            **common, recipients=_addresses(complaint.get("complainedRecipients")),
            timestamp=str(complaint.get("timestamp") or ""),
            feedback_type=str(complaint.get("complaintFeedbackType") or ""),
        )
    if event_type == FeedbackType.DELIVERY:
        delivery = body.get("delivery") or {}
        return FeedbackEvent(
            **common, recipients=_addresses(delivery.get("recipients")),
            timestamp=str(delivery.get("timestamp") or ""),
        )
    if event_type == FeedbackType.REJECT:
        reject = body.get("reject") or {}
        return FeedbackEvent(
            **common, recipients=_addresses(mail.get("destination")),
            timestamp=str(mail.get("timestamp") or ""), detail=str(reject.get("reason") or ""),
        )
    # Send, Open, Click, DeliveryDelay, ...: no status of ours depends on them.
    return FeedbackEvent(**common, recipients=(), timestamp=str(mail.get("timestamp") or ""))


# --- Matching an event to ledger entries ---------------------------------------


def _same(address: Any, recipient: str) -> bool:
    return isinstance(address, str) and address.strip().lower() == recipient.strip().lower()


def addressed_to(delivery: dict[str, Any], recipient: str) -> bool:
    """Whether SES was given `recipient` for this row: its recipient, or the address it was redirected to."""
    return _same(delivery.get("recipient"), recipient) or _same(delivery.get("sent_to"), recipient)


def _by_tags(event: FeedbackEvent, recipient: str) -> dict[str, Any] | None:
    """A consistent read by key, from the tags, when the message-id index lags behind."""
    delivery_id = event.tags.get(MessageTag.DELIVERY)
    if not delivery_id:
        return None
    record = deliveries.get(delivery_id)
    if record and record.get("message_id") == event.message_id and addressed_to(record, recipient):
        return record
    return None


def match(event: FeedbackEvent, recipient: str, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ledger row of this message for this recipient among `candidates`; None if none."""
    for candidate in candidates:
        if candidate.get("message_id") == event.message_id and addressed_to(candidate, recipient):
            return candidate
    return None


# --- Applying an event -----------------------------------------------------------


def _target(event: FeedbackEvent) -> DeliveryStatus | None:
    """The status this event moves a delivery to; None when it only notes a reason."""
    if event.event_type == FeedbackType.DELIVERY:
        return DeliveryStatus.DELIVERED
    if event.event_type == FeedbackType.BOUNCE:
        return DeliveryStatus.BOUNCED if event.bounce_type == PERMANENT else None
    if event.event_type == FeedbackType.COMPLAINT:
        return DeliveryStatus.COMPLAINED
    if event.event_type == FeedbackType.REJECT:
        return DeliveryStatus.FAILED
    return None


def _reason(event: FeedbackEvent, recipient: str) -> str:
    if event.event_type == FeedbackType.BOUNCE:
        diagnostic = event.diagnostics.get(recipient.strip().lower(), "")
        text = f"bounce {event.bounce_type}/{event.bounce_subtype}"
        return mask_text(f"{text}: {diagnostic}" if diagnostic else text)
    if event.event_type == FeedbackType.COMPLAINT:
        return f"complaint: {event.feedback_type or 'unspecified'}"
    if event.event_type == FeedbackType.REJECT:
        return mask_text(f"rejected by SES: {event.detail}")
    return ""


def should_suppress(event: FeedbackEvent) -> bool:
    if event.event_type == FeedbackType.BOUNCE:
        return event.bounce_type == PERMANENT
    if event.event_type == FeedbackType.COMPLAINT:
        return event.feedback_type.strip().lower() != NOT_SPAM
    return False


def _feedback_key(event: FeedbackEvent, recipient: str) -> str:
    """Which event made a change (hashed: the ledger keeps no address outside `recipient`)."""
    return digest(f"{event.event_type}|{event.message_id}|{recipient.strip().lower()}", 32)


def _emit_metrics(status: DeliveryStatus) -> None:
    """Counts, plus 0/1 samples whose Average over a period is the rate (a ratio, as SES's
    Reputation.BounceRate): review at BounceRate 0.05 and ComplaintRate 0.001."""
    if status is DeliveryStatus.DELIVERED:
        metrics.emit("Deliveries", 1)
        metrics.emit("BounceRate", 0, unit="None")
        metrics.emit("ComplaintRate", 0, unit="None")
    elif status is DeliveryStatus.BOUNCED:
        metrics.emit("Bounces", 1)
        metrics.emit("BounceRate", 1, unit="None")
    elif status is DeliveryStatus.COMPLAINED:
        metrics.emit("Complaints", 1)
        metrics.emit("ComplaintRate", 1, unit="None")


def _audit_if_ours(delivery: dict[str, Any], status: DeliveryStatus, key: str, event: FeedbackEvent, recipient: str,
                   changed: bool) -> None:
    """Audit the change; on a retry, only if this very event made it (the audit write may have failed)."""
    if not changed:
        current = deliveries.get(str(delivery["delivery_id"])) or {}
        if current.get("status") != status or current.get("feedback_key") != key:
            return
    audit.record_notification_status(delivery, status, event.event_type, event.timestamp or iso_utc(), recipient)


def _from_statuses(event: FeedbackEvent) -> tuple[DeliveryStatus, ...] | None:
    """Where the event may move a row from (None: anywhere below its target)."""
    return REJECTABLE if event.event_type == FeedbackType.REJECT else None


def suppress_if_due(event: FeedbackEvent, recipient: str) -> None:
    """A hard bounce or a complaint of a matched delivery puts the address SES mailed on the list."""
    if should_suppress(event):
        suppression.suppress(recipient, _reason(event, recipient))


def _ref(delivery: dict[str, Any]) -> str:
    return str(delivery.get("lead_id") or "")


def apply(event: FeedbackEvent, recipient: str, delivery: dict[str, Any]) -> Outcome:
    delivery_id = str(delivery["delivery_id"])
    target = _target(event)
    reason = _reason(event, recipient)
    suppress_if_due(event, recipient)
    if target is None:
        deliveries.record_reason(delivery_id, reason)
        if event.event_type == FeedbackType.BOUNCE:
            metrics.emit("SoftBounces", 1)
        return Outcome(mask_email(recipient), delivery_id, str(delivery.get("status", "")), False, _ref(delivery))
    key = _feedback_key(event, recipient)
    changed = deliveries.advance_status(
        delivery_id, target, reason, message_id=event.message_id, from_statuses=_from_statuses(event),
        feedback_key=key,
    )
    if changed:
        _emit_metrics(target)
    _audit_if_ours(delivery, target, key, event, recipient, changed)
    return Outcome(mask_email(recipient), delivery_id, target, changed, _ref(delivery))


def deliver_by_tags(event: FeedbackEvent, recipient: str) -> Outcome | None:
    """The common case in one request: a Delivery event whose tags name the row, which carries
    its message id and was sent to this address as SES reports it. The conditional write is
    the match (apply() after a read would make the same change); None: take the ordinary
    path, which reads the row and judges it (a repeat, another spelling of the address, ...).
    A Delivery suppresses nothing, so nothing has to happen before the write."""
    delivery_id = event.tags.get(MessageTag.DELIVERY)
    if event.event_type != FeedbackType.DELIVERY or not delivery_id:
        return None
    key = _feedback_key(event, recipient)
    row = deliveries.advance_sent_to(
        delivery_id, DeliveryStatus.DELIVERED, event.message_id, recipient, feedback_key=key
    )
    if row is None:
        return None
    _emit_metrics(DeliveryStatus.DELIVERED)
    audit.record_notification_status(row, DeliveryStatus.DELIVERED, event.event_type, event.timestamp or iso_utc(),
                                      recipient)
    return Outcome(mask_email(recipient), delivery_id, DeliveryStatus.DELIVERED, True, _ref(row))


def adopt(event: FeedbackEvent, recipient: str) -> Outcome | None:
    """A tagged event for a send the ledger never recorded: adopted only with the send's
    claim token and for the address that send went to. None: take the ordinary path."""
    delivery_id, claim, target = event.tags.get(MessageTag.DELIVERY), event.tags.get(MessageTag.CLAIM), _target(event)
    if not delivery_id or not claim or target is None:
        return None
    row = deliveries.get(delivery_id)
    if row is None or row.get("message_id") or not addressed_to(row, recipient):
        return None
    key = _feedback_key(event, recipient)
    if not deliveries.adopt_unrecorded_send(delivery_id, event.message_id, target, claim, feedback_key=key):
        return None
    suppress_if_due(event, recipient)
    _emit_metrics(target)
    delivery = {**row, "message_id": event.message_id}
    audit.record_notification_status(delivery, target, event.event_type, event.timestamp or iso_utc(), recipient)
    return Outcome(mask_email(recipient), delivery_id, target, True, _ref(row))


def handle(raw: str | dict[str, Any]) -> list[Outcome]:
    """Process one SES feedback record; raise FeedbackNotRecorded if any recipient is unmatched
    (after applying the matched ones: a retry finds those done)."""
    event = parse(raw)
    if event.event_type not in tuple(FeedbackType):
        return []
    outcomes: list[Outcome] = []
    candidates: list[dict[str, Any]] | None = None
    unmatched: list[str] = []
    for recipient in event.recipients:
        delivered = deliver_by_tags(event, recipient)
        if delivered is not None:
            outcomes.append(delivered)
            continue
        # The tags name the row (one consistent read); without them, or for an older
        # send, the message-id index does.
        delivery = _by_tags(event, recipient)
        if delivery is None:
            if candidates is None:
                candidates = deliveries.find_by_message_id(event.message_id)
            delivery = match(event, recipient, candidates)
        if delivery is not None:
            outcomes.append(apply(event, recipient, delivery))
            continue
        adopted = adopt(event, recipient)
        if adopted is None:
            unmatched.append(mask_email(recipient))
        else:
            outcomes.append(adopted)
    if unmatched:
        metrics.emit("FeedbackUnmatched", len(unmatched))
        raise FeedbackNotRecorded(
            f"{event.event_type} for message {event.message_id}: no delivery yet for {', '.join(unmatched)}"
        )
    return outcomes


def handle_sns_message(message: str) -> list[Outcome]:
    """The SNS handler's entry point: process and log (masked)."""
    outcomes = handle(message)
    observe_notifications(outcomes)
    for outcome in outcomes:
        get_logger().info(
            "feedback: delivery %s -> %s (%s) for %s",
            outcome.delivery_id, outcome.status, "changed" if outcome.changed else "no change",
            outcome.recipient,
        )
    return outcomes


def observe_notifications(outcomes: list[Outcome]) -> None:
    """The hook for POST /notifications: each row this feedback touched, as its sender sees it
    (its history, its status callback). Also on a repeat that changed nothing, so a retry after
    a fault here still reports the change. A lead's rows are not notifications: the row already
    read names its reference, so they cost no second read of it."""
    from chalicelib.pipeline import notification_status

    for outcome in outcomes:
        if notification_status.is_notification(outcome.ref_id):
            notification_status.observe(outcome.delivery_id)
