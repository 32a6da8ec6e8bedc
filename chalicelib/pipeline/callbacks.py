"""Status callbacks: POST a signed JSON event to a sender's callback URL when its
notification's status changes, at least once and in order.

The Callbacks queue carries one message per status change (queued by
pipeline/notification_status.py). For a message, the worker:
- drops it if a later status exists (that status's own message sends it) or
  one as late was already acknowledged: never `delivered` after `bounced`;
- takes the notification's lease (one post at a time per notification, so
  the receiver sees them in order), re-reads the record under it, signs and
  posts the event (core/webhooks.py: no private addresses, no redirects);
- 2xx: acknowledged, recorded, never sent again; 5xx, 408, 429, no answer
  or a time-out: tried again after the stage's CALLBACK_RETRY_SECONDS (1 min,
  5 min, 30 min, 2 h, 6 h), then dead-lettered; any other answer (a 4xx), a
  URL no longer allowed or a sender without a signing secret: dead-lettered
  at once with the reason, since retrying cannot help. The DLQ is redrivable
  with `make dlq` like the others: a redriven message that is out of date by
  then is dropped.

Signature (as Stripe's and Novu's webhooks): `Leadflow-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the sender's
signing secret>`; a receiver recomputes it and refuses a `t` older than five
minutes (README: "Send your own email through leadflow").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from functools import cache
from typing import Any

from chalicelib.core import aws, metrics, senders, webhooks
from chalicelib.core.digest import digest
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings
from chalicelib.core.states import CALLBACK_STATUSES, CallbackResult, DeliveryStatus
from chalicelib.store import notifications

SIGNATURE_HEADER = "Leadflow-Signature"
EVENT_TYPE = "notification.status"
# Longer than a post can take (core/webhooks.POST_TIMEOUT_SECONDS), so a lease never ends mid-post.
LEASE_SECONDS = 30
# Another worker holds the lease (a duplicate message, or the next status): look again when
# its lease runs out, and no sooner than this.
BUSY_RETRY_SECONDS = 2
RETRYABLE_STATUSES = frozenset({408, 429})


class Refused(Exception):
    """This callback can never be delivered as things stand; it is dead-lettered with the reason."""


def event_id(notification_id: str, status: DeliveryStatus) -> str:
    """The same event, whenever and however often it is sent: the receiver's de-duplication key."""
    return "evt_" + digest(f"{notification_id}|{status}", 32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(record: dict[str, Any], status: DeliveryStatus) -> dict[str, Any]:
    entry = (record.get("history") or {}).get(str(status)) or {}
    return {
        "id": event_id(str(record["id"]), status),
        "type": EVENT_TYPE,
        "notification_id": record["id"],
        "reference": record.get("reference"),
        "kind": record.get("kind"),
        "status": str(status),
        "time": entry.get("at"),
        "reason": entry.get("reason") or None,
    }


def is_retryable(answer: webhooks.Answer) -> bool:
    return answer.status == 0 or answer.status in RETRYABLE_STATUSES or answer.status >= 500


def _current(record: dict[str, Any], status: DeliveryStatus) -> bool:
    """Still worth sending: the latest status, and nothing as late acknowledged."""
    return notifications.current_status(record) is status and notifications.acked_rank(record) < status.rank


def deliver(message: dict[str, Any]) -> CallbackResult:
    """One attempt at one message's callback. Refused when it must be dead-lettered."""
    notification_id, raw_status = str(message.get("notification_id", "")), str(message.get("status", ""))
    if raw_status not in {s.value for s in CALLBACK_STATUSES}:
        raise Refused(f"not a callback status: {raw_status[:32]!r}")
    status = DeliveryStatus(raw_status)
    record = notifications.get(notification_id)
    if record is None or not record.get("callback_url"):
        return CallbackResult.NO_CALLBACK
    if not _current(record, status):
        return CallbackResult.SUPERSEDED
    token = uuid.uuid4().hex
    if not notifications.take_lease(notification_id, token, LEASE_SECONDS):
        return CallbackResult.BUSY
    note: str | None = None
    try:
        record = notifications.get(notification_id) or record  # under the lease: the latest word
        if not _current(record, status):
            return CallbackResult.SUPERSEDED
        answer = post(record, status)
        if answer.ok:
            notifications.acknowledge(notification_id, token, status, event_id(notification_id, status))
            token = ""  # acknowledge gave the lease back
            metrics.emit("CallbacksDelivered", 1)
            return CallbackResult.DELIVERED
        note = answer.detail
        if is_retryable(answer):
            return CallbackResult.RETRY
        raise Refused(f"the receiver answered {answer.detail}; not retried")
    except (webhooks.UrlRefused, senders.SenderConfigError) as error:
        note = str(error)
        raise Refused(f"callback_url {error}" if isinstance(error, webhooks.UrlRefused) else str(error)) from None
    finally:
        if token:
            notifications.release_lease(notification_id, token, note)


def post(record: dict[str, Any], status: DeliveryStatus) -> webhooks.Answer:
    body = json.dumps(event(record, status), separators=(",", ":")).encode()
    secret = senders.signing_secret(str(record["sender"]))
    headers = {
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        "Leadflow-Event-Id": event_id(str(record["id"]), status),
    }
    return webhooks.post_json(str(record["callback_url"]), body, headers, get_settings().callback_allow_loopback)


# --- The queue handler -------------------------------------------------------------------


@cache
def _queue_url(name: str) -> str:
    return str(aws.sqs().get_queue_url(QueueName=name)["QueueUrl"])


def dead_letter(body: str, reason: str) -> None:
    aws.sqs().send_message(
        QueueUrl=_queue_url(get_settings().callbacks_dlq),
        MessageBody=body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
    )
    metrics.emit("CallbacksDeadLettered", 1)
    get_logger().warning("callback moved to the DLQ: %s", reason)


def retry_delay(receive_count: int) -> int | None:
    """Seconds until the next attempt after attempt `receive_count`; None: no attempts left."""
    schedule = get_settings().callback_retry_seconds
    return schedule[receive_count - 1] if receive_count <= len(schedule) else None


def _come_back_in(receipt_handle: str, seconds: int) -> None:
    try:
        aws.sqs().change_message_visibility(
            QueueUrl=_queue_url(get_settings().callbacks_queue), ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, 43_200)),
        )
    except Exception:  # noqa: BLE001 - the queue's own visibility timeout still brings it back
        get_logger().warning("could not set the callback's retry delay")


def handle_record(body: str, receipt_handle: str, receive_count: int) -> bool:
    """Deliver one queued callback; False when the message must come back later."""
    try:
        message = json.loads(body)
        if not isinstance(message, dict):
            raise Refused("the message is not a JSON object")
        result = deliver(message)
    except (ValueError, Refused) as error:
        dead_letter(body, str(error))
        return True
    if result not in (CallbackResult.BUSY, CallbackResult.RETRY):
        return True
    record = notifications.get(str(message.get("notification_id", ""))) or {}
    if result is CallbackResult.BUSY:
        # Waiting for another worker's post is no attempt of this one: it uses none of the
        # retries. It looks again soon (a post takes milliseconds), then less and less often,
        # never later than that lease's end: a holder that died keeps its lease until then,
        # and every receive counts towards the queue's own maxReceiveCount.
        backoff = BUSY_RETRY_SECONDS * 2 ** min(max(receive_count - 1, 0), 4)
        _come_back_in(receipt_handle, int(min(backoff, notifications.lease_left(record) + 1)) or 1)
        return False
    # The schedule counts this notification's failed posts, not the message's receives
    # (a receive spent waiting for the lease posts nothing).
    attempts = notifications.failed_posts(record) or receive_count
    delay = retry_delay(attempts)
    if delay is None:
        dead_letter(body, f"no 2xx after {attempts} attempts: {record.get('cb_last_error', 'no answer')}")
        return True
    _come_back_in(receipt_handle, delay)
    return False


def handle_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event:
        raw = record.to_dict()
        count = int((raw.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        try:
            done = handle_record(record.body, record.receipt_handle, count)
        except Exception:  # noqa: BLE001 - one bad message never fails the batch
            get_logger().exception("callback %s failed", raw.get("messageId", ""))
            done = False
        if not done:
            failures.append({"itemIdentifier": str(raw.get("messageId", ""))})
    return {"batchItemFailures": failures}
