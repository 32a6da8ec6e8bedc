"""The Notifications table: one record per POST /notifications request, keyed by its id.

A record holds who asked (`sender`), what (`kind`, `recipient`, `reference`,
`callback_url`), the ledger row it became (`delivery_id`), its status
history and the state of its status callbacks. The history is a map from
status to `{at, reason}`: a status is reached at most once (statuses never
move backwards), so writing an entry is idempotent whatever order the
observations come in, and the history in rank order is the timeline.

Callbacks: one worker at a time may post for a notification (a lease,
`cb_lease_until`/`cb_lease_token`), which is what keeps them in order;
`acked`/`acked_rank` is the latest status the receiver acknowledged, so an
older or repeated event is never sent again once one is acknowledged.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from chalicelib.core import aws
from chalicelib.core.clock import iso_utc, now_epoch
from chalicelib.core.settings import get_settings
from chalicelib.core.states import DeliveryStatus
from chalicelib.store import idempotency
from chalicelib.store.items import from_item, to_item

ID_PREFIX = "ntf_"
_STATUS_NAMES = frozenset(s.value for s in DeliveryStatus)


def _table() -> str:
    return get_settings().notifications_table


def new_id() -> str:
    return ID_PREFIX + uuid.uuid4().hex


def idempotency_scope(sender: str) -> str:
    """Keys are the sender's own: two senders may use the same one (and a lead's keys are its
    person's, store/idempotency.py)."""
    return f"notifications|{sender}"


def new_record(notification_id: str, sender: str, fields: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    now = now_epoch()
    created = iso_utc(now)
    return {
        **{name: value for name, value in fields.items() if value is not None},
        "id": notification_id,
        "sender": sender,
        "delivery_id": delivery_id,
        "created_at": created,
        "history": {DeliveryStatus.QUEUED.value: {"at": created}},
        "expires_at": int(now + get_settings().delivery_ttl_days * 86400),
    }


def store(record: dict[str, Any], key: str | None, fingerprint: str) -> tuple[str, bool]:
    """Put the record (with its idempotency record, atomically); return the id and whether it is
    new. IdempotencyConflict if the key was used with another body."""
    client = aws.dynamodb()
    put = {"TableName": _table(), "Item": to_item(record), "ConditionExpression": "attribute_not_exists(id)"}
    if not key:
        client.put_item(**put)
        return str(record["id"]), True
    scope = idempotency_scope(str(record["sender"]))
    try:
        client.transact_write_items(
            TransactItems=[{"Put": put}, {"Put": idempotency.claim_request(key, scope, fingerprint, str(record["id"]))}]
        )
    except client.exceptions.TransactionCanceledException:
        replay = idempotency.find_replay(key, scope, fingerprint)  # a concurrent twin won: answer as it did
        if replay is None:
            raise
        return replay, False
    return str(record["id"]), True


def find_replay(sender: str, key: str | None, fingerprint: str) -> str | None:
    return idempotency.find_replay(key, idempotency_scope(sender), fingerprint)


def get(notification_id: str) -> dict[str, Any] | None:
    if not notification_id.startswith(ID_PREFIX) or len(notification_id) != len(ID_PREFIX) + 32:
        return None
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"id": {"S": notification_id}}, ConsistentRead=True
    ).get("Item")
    return from_item(found) if found else None


# --- Status history -------------------------------------------------------------------


def record_status(notification_id: str, status: DeliveryStatus, at: str, reason: str = "") -> dict[str, Any] | None:
    """Note that the notification reached `status` (the first time counts); the record after,
    or None when there is no such notification."""
    client = aws.dynamodb()
    entry: dict[str, Any] = {"at": at, **({"reason": reason} if reason else {})}
    try:
        found = client.update_item(
            TableName=_table(),
            Key={"id": {"S": notification_id}},
            UpdateExpression="SET history.#st = if_not_exists(history.#st, :entry)",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeNames={"#st": str(status)},
            ExpressionAttributeValues=to_item({":entry": entry}),
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return None
    return from_item(found["Attributes"])


def timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The history oldest first: [{"status", "at", "reason"?}]."""
    history = record.get("history") or {}
    steps = [{"status": DeliveryStatus(name), **dict(entry)} for name, entry in history.items()
             if name in _STATUS_NAMES and isinstance(entry, dict)]
    steps.sort(key=lambda step: (step["status"].rank, str(step.get("at", ""))))
    return [{**step, "status": str(step["status"])} for step in steps]


def current_status(record: dict[str, Any]) -> DeliveryStatus:
    steps = timeline(record)
    return DeliveryStatus(steps[-1]["status"]) if steps else DeliveryStatus.QUEUED


# --- Callback lease and acknowledgement ---------------------------------------------------


def take_lease(notification_id: str, token: str, seconds: int) -> bool:
    """The right to post this notification's callback now; False if another worker holds it."""
    client = aws.dynamodb()
    now = now_epoch()
    try:
        client.update_item(
            TableName=_table(),
            Key={"id": {"S": notification_id}},
            UpdateExpression="SET cb_lease_until = :until, cb_lease_token = :token",
            ConditionExpression=(
                "attribute_exists(id) AND (attribute_not_exists(cb_lease_until) OR cb_lease_until < :now)"
            ),
            ExpressionAttributeValues=to_item({":until": int(now + seconds), ":token": token, ":now": int(now)}),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def release_lease(notification_id: str, token: str, note: str | None = None) -> None:
    """Give the lease back; with a `note` (why the post failed), count one more failed post."""
    client = aws.dynamodb()
    update = "REMOVE cb_lease_until, cb_lease_token"
    values: dict[str, Any] = {":token": token}
    if note is not None:
        update = "SET cb_last_error = :note ADD cb_failures :one " + update
        values[":note"] = note
        values[":one"] = 1
    # A failed condition: the lease ran out and another worker took it; nothing of ours to give back.
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=_table(),
            Key={"id": {"S": notification_id}},
            UpdateExpression=update,
            ConditionExpression="cb_lease_token = :token",
            ExpressionAttributeValues=to_item(values),
        )


def failed_posts(record: dict[str, Any]) -> int:
    """Posts that failed in a row since the last acknowledged one (the retry schedule's count)."""
    return int(record.get("cb_failures", 0))


def lease_left(record: dict[str, Any]) -> float:
    """Seconds until the lease another worker holds runs out (0: none held)."""
    return max(0.0, float(record.get("cb_lease_until", 0)) - now_epoch())


def acknowledge(notification_id: str, token: str, status: DeliveryStatus, event_id: str) -> bool:
    """The receiver took `status`'s event: record it and give the lease back, in one write."""
    client = aws.dynamodb()
    try:
        client.update_item(
            TableName=_table(),
            Key={"id": {"S": notification_id}},
            UpdateExpression=(
                "SET acked = :status, acked_rank = :rank, acked_event = :event, acked_at = :at "
                "REMOVE cb_lease_until, cb_lease_token, cb_last_error, cb_failures"
            ),
            ConditionExpression="cb_lease_token = :token",
            ExpressionAttributeValues=to_item(
                {":status": str(status), ":rank": status.rank, ":event": event_id, ":at": iso_utc(), ":token": token}
            ),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def acked_rank(record: dict[str, Any]) -> int:
    return int(record.get("acked_rank", -1))
