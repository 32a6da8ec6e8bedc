"""The Deliveries table: the send ledger and each email's delivery status.

SES has no idempotency token, so exactly-once sending rests on this ledger:
a conditional write claims the send ("sending") before SES is called and the
SES message id is recorded after. A claim left behind by a crash is never
re-sent (at-most-once): it ends `failed` with a reason.

Statuses only move forward (GOV.UK Notify's rule): feedback that arrives
late or twice never takes a delivery back.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib import aws
from chalicelib.clock import iso_utc, now_epoch
from chalicelib.dynamo import from_item, to_item
from chalicelib.settings import get_settings
from chalicelib.suppression import suppression_key

QUEUED = "queued"
SENDING = "sending"  # internal: a worker holds the send; shown as "queued"
SENT = "sent"
DELIVERED = "delivered"
BOUNCED = "bounced"
COMPLAINED = "complained"
SUPPRESSED = "suppressed"
FAILED = "failed"

# Forward order. Suppressed and failed are terminal for a send that never
# reached SES; delivered -> bounced/complained is allowed because SES can
# report an asynchronous bounce or a complaint after a delivery.
STATUS_RANK: dict[str, int] = {
    QUEUED: 0,
    SENDING: 1,
    SENT: 2,
    DELIVERED: 3,
    BOUNCED: 4,
    COMPLAINED: 5,
    SUPPRESSED: 9,
    FAILED: 9,
}

# How long a claim protects a send in progress before it is judged abandoned.
CLAIM_LEASE_SECONDS = 30


@dataclass(frozen=True)
class DeliveryKey:
    ref_id: str
    kind: str
    recipient: str

    @property
    def delivery_id(self) -> str:
        raw = f"{self.ref_id}|{self.kind}|{self.recipient.strip().lower()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a send."""

    state: str  # "claimed" | "suppressed" | "erased" | "done" | "busy" | "abandoned"
    token: str = ""


def public_status(status: str) -> str:
    return QUEUED if status == SENDING else status


def _table() -> str:
    return get_settings().deliveries_table


def _expires_at() -> int:
    return int(now_epoch() + get_settings().delivery_ttl_days * 86400)


# A row a worker may (re)claim or record: none yet, or one given back for a retry.
_UNCLAIMED = "attribute_not_exists(delivery_id) OR #s = :queued"


def _row_fields(key: DeliveryKey, status: str, now: float) -> dict[str, Any]:
    """The fields every ledger write of a row sets."""
    return {
        "lead_id": key.ref_id,
        "kind": key.kind,
        "recipient": key.recipient,
        "status": status,
        "updated_at": iso_utc(now),
        "expires_at": _expires_at(),
    }


def _set_clause(fields: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """`#f0 = :f0, ...` with its attribute names and values."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":f{i}": value for i, value in enumerate(fields.values())}
    return ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))), names, values


def get(delivery_id: str) -> dict[str, Any] | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"delivery_id": {"S": delivery_id}}, ConsistentRead=True
    ).get("Item")
    return from_item(found) if found else None


ERASED_LEAD = "erased"


def claim(key: DeliveryKey) -> Claim:
    """Take the right to send this email once, unless its recipient is suppressed
    or its lead was erased meanwhile (requests from other systems have no lead row).

    One transaction: the checks and the conditional claim, so a send costs one
    ledger round trip. Safe under duplicates and races.
    """
    client = aws.dynamodb()
    settings = get_settings()
    token = uuid.uuid4().hex
    now = now_epoch()
    fields = {**_row_fields(key, SENDING, now), "claim_token": token, "claimed_at": now}
    update, names, values = _set_clause(fields)
    names["#s"] = "status"
    values |= {":queued": QUEUED, ":now": iso_utc(now), ":one": 1}
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": settings.suppression_table,
                        "Key": {"address": {"S": suppression_key(key.recipient)}},
                        "ConditionExpression": "attribute_not_exists(address)",
                    }
                },
                {
                    "Update": {
                        "TableName": _table(),
                        "Key": {"delivery_id": {"S": key.delivery_id}},
                        "UpdateExpression": f"SET {update}, created_at = if_not_exists(created_at, :now) "
                        "ADD attempts :one",
                        "ConditionExpression": _UNCLAIMED,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_item(values),
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": settings.leads_table,
                        "Key": {"id": {"S": key.ref_id}},
                        "ConditionExpression": "attribute_not_exists(id) OR #ls <> :erased",
                        "ExpressionAttributeNames": {"#ls": "status"},
                        "ExpressionAttributeValues": {":erased": {"S": ERASED_LEAD}},
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException as error:
        failed = [r.get("Code") == "ConditionalCheckFailed" for r in error.response.get("CancellationReasons", [])]
        if len(failed) > 2 and failed[2]:
            return Claim(state="erased")
        if failed and failed[0]:
            return Claim(state="suppressed")
        if len(failed) > 1 and failed[1]:
            return _judge_existing(key)
        raise
    return Claim(state="claimed", token=token)


def _judge_existing(key: DeliveryKey) -> Claim:
    record = get(key.delivery_id)
    if record is None:  # vanished between the write and the read: try again later
        return Claim(state="busy")
    if record["status"] == SENDING:
        held_for = now_epoch() - float(record.get("claimed_at", 0))
        return Claim(state="busy" if held_for < CLAIM_LEASE_SECONDS else "abandoned")
    return Claim(state="done")


def _update(delivery_id: str, fields: dict[str, Any], condition: str, values: dict[str, Any]) -> bool:
    client = aws.dynamodb()
    clause, names, attr_values = _set_clause(fields)
    attr_values.update(values)
    names["#s"] = "status"
    try:
        client.update_item(
            TableName=_table(),
            Key={"delivery_id": {"S": delivery_id}},
            UpdateExpression="SET " + clause,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(attr_values),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def mark_sent(key: DeliveryKey, token: str, message_id: str) -> bool:
    return _update(
        key.delivery_id,
        {"status": SENT, "message_id": message_id, "updated_at": iso_utc(), "sent_at": iso_utc()},
        "claim_token = :token AND #s IN (:sending, :failed)",
        {":token": token, ":sending": SENDING, ":failed": FAILED},
    )


def release_for_retry(key: DeliveryKey, token: str, reason: str) -> bool:
    """Give the claim back after a retryable error (throttling, 5xx)."""
    return _update(
        key.delivery_id,
        {"status": QUEUED, "reason": reason, "updated_at": iso_utc()},
        "claim_token = :token AND #s = :sending",
        {":token": token, ":sending": SENDING},
    )


def mark_failed(key: DeliveryKey, reason: str, token: str | None = None) -> bool:
    """Fail a send in progress: the caller's own claim (token), or an abandoned one (None)."""
    condition, values = "#s = :sending", {":sending": SENDING}
    if token is not None:
        condition, values = "claim_token = :token AND " + condition, {**values, ":token": token}
    return _update(key.delivery_id, {"status": FAILED, "reason": reason, "updated_at": iso_utc()}, condition, values)


def record_outcome(key: DeliveryKey, status: str, reason: str) -> bool:
    """Record a send that was decided without SES (suppressed, invalid): first writer wins."""
    client = aws.dynamodb()
    now = now_epoch()
    item = {
        "delivery_id": key.delivery_id,
        **_row_fields(key, status, now),
        "reason": reason,
        "attempts": 0,
        "created_at": iso_utc(now),
    }
    try:
        client.put_item(
            TableName=_table(),
            Item=to_item(item),
            ConditionExpression=_UNCLAIMED,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":queued": {"S": QUEUED}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def advance_status(
    delivery_id: str, status: str, reason: str = "", message_id: str | None = None, **extra: Any
) -> bool:
    """Move a delivery forward to `status`; a no-op (False) if it is already there or beyond,
    or (with `message_id`) if the row does not carry that SES message id."""
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status] and s != SENDING]
    fields: dict[str, Any] = {"status": status, "updated_at": iso_utc(), **extra}
    if reason:
        fields["reason"] = reason
    placeholders = {f":low{i}": s for i, s in enumerate(lower)}
    condition = "attribute_exists(delivery_id) AND #s IN (" + ", ".join(placeholders) + ")"
    if message_id is not None:
        condition += " AND message_id = :mid"
        placeholders[":mid"] = message_id
    return _update(delivery_id, fields, condition, placeholders)


ADOPTED_REASON = "send recorded from SES feedback: the worker stopped before it recorded the send"


def adopt_unrecorded_send(delivery_id: str, message_id: str, status: str, **extra: Any) -> bool:
    """SES feedback for a send the ledger never recorded (the worker stopped between the
    send and the record) proves the send: take its message id and status. Each ledger
    row is sent at most once, so a message tagged for this row can only be that send."""
    fields: dict[str, Any] = {
        "status": status, "message_id": message_id, "reason": ADOPTED_REASON, "updated_at": iso_utc(), **extra
    }
    return _update(
        delivery_id,
        fields,
        "#s IN (:sending, :failed) AND attribute_not_exists(message_id)",
        {":sending": SENDING, ":failed": FAILED},
    )


def find_by_message_id(message_id: str) -> list[dict[str, Any]]:
    found = aws.dynamodb().query(
        TableName=_table(),
        IndexName="by_message_id",
        KeyConditionExpression="message_id = :m",
        ExpressionAttributeValues={":m": {"S": message_id}},
    )
    return [from_item(item) for item in found.get("Items", [])]


def list_for_lead(lead_id: str) -> list[dict[str, Any]]:
    client = aws.dynamodb()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "by_lead",
        "KeyConditionExpression": "lead_id = :l",
        "ExpressionAttributeValues": {":l": {"S": lead_id}},
    }
    while True:
        page = client.query(**kwargs)
        items.extend(from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- Added for delivery tracking (feedback, erasure) -------------------------

# The fields of a delivery that hold no personal data; erasure removes the rest
# (an allowlist, so a field added later is erased by default).
NON_PERSONAL_FIELDS = frozenset(
    {
        "delivery_id", "lead_id", "kind", "status", "message_id", "attempts", "claim_token",
        "claimed_at", "created_at", "updated_at", "sent_at", "expires_at", "feedback_key",
        "reason", "recipient_erased",
    }
)


def record_reason(delivery_id: str, reason: str, statuses: tuple[str, ...] = (SENT,)) -> bool:
    """Note why (a soft bounce, say) without moving the status; only while it is in `statuses`."""
    placeholders = {f":st{i}": s for i, s in enumerate(statuses)}
    condition = "attribute_exists(delivery_id) AND #s IN (" + ", ".join(placeholders) + ")"
    return _update(delivery_id, {"reason": reason, "updated_at": iso_utc()}, condition, placeholders)


def anonymise(delivery_id: str) -> bool:
    """Right to erasure: drop the recipient and every other personal field, keep the status."""
    from chalicelib.masking import mask_text

    record = get(delivery_id)
    if record is None:
        return False
    personal = sorted(name for name in record if name not in NON_PERSONAL_FIELDS)
    names = {f"#p{i}": name for i, name in enumerate(personal)}
    values: dict[str, Any] = {":yes": {"BOOL": True}}
    expression = "SET recipient_erased = :yes"
    if record.get("reason"):
        # A bounce diagnostic can quote the address.
        names["#reason"] = "reason"
        values[":reason"] = {"S": mask_text(str(record["reason"]))}
        expression += ", #reason = :reason"
    if personal:
        expression += " REMOVE " + ", ".join(f"#p{i}" for i in range(len(personal)))
    kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
    aws.dynamodb().update_item(
        TableName=_table(),
        Key={"delivery_id": {"S": delivery_id}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        **kwargs,
    )
    return True
