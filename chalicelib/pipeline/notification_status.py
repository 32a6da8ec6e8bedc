"""A notification's status as its sender sees it: the hook the send and feedback paths call.

`observe(delivery_id)` reads the ledger row (the truth) after anything that
may have changed it: a send, a suppression, a failure, SES feedback, and a
redelivered job or event that changed nothing. It notes the row's status in
the notification's history and, if the notification has a callback URL,
queues a callback for it (pipeline/callbacks.py). Both are idempotent, and
the callers call it again when they are retried, so a fault between the
status change and this hook loses nothing.
"""

from __future__ import annotations

import json
from functools import cache

from chalicelib.core import aws
from chalicelib.core.masking import mask_text
from chalicelib.core.settings import get_settings
from chalicelib.core.states import CALLBACK_STATUSES, DeliveryStatus
from chalicelib.pipeline.requests import NOTIFICATION_ID
from chalicelib.store import deliveries, notifications

# Statuses whose reason the sender is told (why it failed, bounced, ...).
_WITH_REASON = frozenset({DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED, DeliveryStatus.SUPPRESSED,
                          DeliveryStatus.FAILED})
CALLBACK_MESSAGE_TYPE = "notification.status"


def is_notification(ref_id: str) -> bool:
    """A ledger reference that is a POST /notifications id (not a lead, not a topic request)."""
    return bool(NOTIFICATION_ID.fullmatch(ref_id))


@cache
def _queue_url(name: str) -> str:
    return str(aws.sqs().get_queue_url(QueueName=name)["QueueUrl"])


def queue_callback(notification_id: str, status: DeliveryStatus) -> None:
    aws.sqs().send_message(
        QueueUrl=_queue_url(get_settings().callbacks_queue),
        MessageBody=json.dumps({"type": CALLBACK_MESSAGE_TYPE, "notification_id": notification_id,
                                "status": str(status)}),
    )


def observe(delivery_id: str) -> DeliveryStatus | None:
    """Bring the notification of this ledger row up to date; the status noted (None: not a
    notification, or nothing to report yet)."""
    row = deliveries.get(delivery_id)
    if row is None or not is_notification(str(row.get("lead_id", ""))):
        return None
    status = DeliveryStatus(str(row.get("status", DeliveryStatus.QUEUED))).public
    if status not in CALLBACK_STATUSES:
        return None
    reason = mask_text(str(row.get("reason") or ""))[:300] if status in _WITH_REASON else ""
    record = notifications.record_status(str(row["lead_id"]), status, str(row.get("updated_at", "")), reason)
    if record is None:
        return None
    if record.get("callback_url"):
        queue_callback(str(record["id"]), status)
    return status
