"""The send ledger, on the Deliveries table's rows: exactly-once sending.

SES has no idempotency token, so exactly-once sending rests on this ledger:
a conditional write claims the send (`sending`) before SES is called and the
SES message id is recorded after. A claim left behind by a crash is never
re-sent (at-most-once): it ends `failed` with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.core import aws
from chalicelib.core.clock import iso_utc, now_epoch
from chalicelib.core.settings import get_settings
from chalicelib.core.states import ClaimState, DeliveryStatus, LeadStatus
from chalicelib.store import deliveries
from chalicelib.store.deliveries import DeliveryKey
from chalicelib.store.items import failed_conditions, set_clause, to_item
from chalicelib.store.suppression import suppression_key

# How long a claim protects a send in progress before it is judged abandoned.
CLAIM_LEASE_SECONDS = 30

# A row a worker may (re)claim or record: none yet, or one given back for a retry.
_UNCLAIMED = "attribute_not_exists(delivery_id) OR #s = :queued"

# The claim transaction's items, in the order they are sent (the caller's guard last).
_CLAIM_ITEMS = ("suppression", "ledger", "lead", "guard")


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a send; `token` proves a CLAIMED one."""

    state: ClaimState
    token: str = ""
    # False: the caller's guard (an Update of its own, in the same transaction) failed its
    # condition, and the claim was taken without it; the caller judges that itself.
    guarded: bool = True


def claim(key: DeliveryKey, sent_to: str | None = None, guard: dict[str, Any] | None = None) -> Claim:
    """Take the right to send this email once, unless its recipient is suppressed
    or its lead was erased meanwhile (requests from other systems have no lead row).
    `sent_to`: the address SES will be given when it is not the recipient (the
    stage's sandbox address); feedback is matched against it. `guard`: a
    transaction Update the claim carries (the recipient limit's count), written
    only with the claim; if its condition alone fails, the claim is taken
    without it and says so (`guarded` False).

    One transaction: the checks and the conditional claim, so a send costs one
    ledger round trip. Safe under duplicates and races.
    """
    client = aws.dynamodb()
    settings = get_settings()
    token = uuid.uuid4().hex
    now = now_epoch()
    fields = {**deliveries.row_fields(key, DeliveryStatus.SENDING, now), "claim_token": token, "claimed_at": now}
    if sent_to and sent_to.strip().lower() != key.recipient.strip().lower():
        fields["sent_to"] = sent_to
    update, names, values = set_clause(fields)
    names["#s"] = "status"
    values |= {":queued": DeliveryStatus.QUEUED, ":now": iso_utc(now), ":one": 1}
    history_set, history_names, history_values = first_history(iso_utc(now))
    names |= history_names
    values |= history_values
    suppression_check = {
        "TableName": settings.suppression_table,
        "Key": {"address": {"S": suppression_key(key.recipient)}},
        "ConditionExpression": "attribute_not_exists(address)",
    }
    ledger_update = {
        "TableName": deliveries.table(),
        "Key": {"delivery_id": {"S": key.delivery_id}},
        "UpdateExpression": (
            f"SET {update}, created_at = if_not_exists(created_at, :now), {history_set} ADD attempts :one"
        ),
        "ConditionExpression": _UNCLAIMED,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_item(values),
    }
    lead_check = {
        "TableName": settings.leads_table,
        "Key": {"id": {"S": key.ref_id}},
        "ConditionExpression": "attribute_not_exists(id) OR #ls <> :erased",
        "ExpressionAttributeNames": {"#ls": "status"},
        "ExpressionAttributeValues": {":erased": {"S": LeadStatus.ERASED}},
    }
    try:
        # In _CLAIM_ITEMS order; written out so each item's action is visible (IAM).
        client.transact_write_items(
            TransactItems=[
                {"ConditionCheck": suppression_check},
                {"Update": ledger_update},
                {"ConditionCheck": lead_check},
                *({"Update": item} for item in ([guard] if guard else [])),
            ]
        )
    except client.exceptions.TransactionCanceledException as error:
        failed = failed_conditions(error, _CLAIM_ITEMS)
        if "lead" in failed:
            return Claim(ClaimState.ERASED)
        if "suppression" in failed:
            return Claim(ClaimState.SUPPRESSED)
        if "ledger" in failed:
            return _judge_existing(key)
        if "guard" in failed:
            taken = claim(key, sent_to)
            return Claim(taken.state, taken.token, guarded=False)
        raise
    return Claim(ClaimState.CLAIMED, token)


def first_history(at: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A new row's history starts `queued`; a claim again after a retry adds nothing
    (the public status stays queued; the retry's reason is on the row)."""
    return (
        "#hist = if_not_exists(#hist, :hist_first)",
        {"#hist": "history"},
        {":hist_first": [deliveries.history_entry(DeliveryStatus.QUEUED, at)]},
    )


def _judge_existing(key: DeliveryKey) -> Claim:
    record = deliveries.get(key.delivery_id)
    if record is None:  # vanished between the write and the read: try again later
        return Claim(ClaimState.BUSY)
    if record["status"] == DeliveryStatus.SENDING:
        held_for = now_epoch() - float(record.get("claimed_at", 0))
        return Claim(ClaimState.BUSY if held_for < CLAIM_LEASE_SECONDS else ClaimState.ABANDONED)
    return Claim(ClaimState.DONE)


def mark_sent(key: DeliveryKey, token: str, message_id: str) -> bool:
    now = iso_utc()
    return deliveries.update(
        key.delivery_id,
        {"status": DeliveryStatus.SENT, "message_id": message_id, "updated_at": now, "sent_at": now},
        "claim_token = :token AND #s IN (:sending, :failed)",
        {":token": token, ":sending": DeliveryStatus.SENDING, ":failed": DeliveryStatus.FAILED},
        [deliveries.history_entry(DeliveryStatus.SENT, now)],
    )


def mark_skipped(key: DeliveryKey, token: str, reason: str) -> bool:
    """Record, on the caller's own claim, a send decided against on purpose (never sent)."""
    now = iso_utc()
    return _while_claimed(key, token, {"status": DeliveryStatus.SKIPPED, "reason": reason, "updated_at": now},
                          [deliveries.history_entry(DeliveryStatus.SKIPPED, now, reason)])


def release_for_retry(key: DeliveryKey, token: str, reason: str) -> bool:
    """Give the claim back after a retryable error (throttling, no connection)."""
    return _while_claimed(key, token, {"status": DeliveryStatus.QUEUED, "reason": reason, "updated_at": iso_utc()})


def _while_claimed(
    key: DeliveryKey, token: str, fields: dict[str, Any], history: list[dict[str, str]] | None = None
) -> bool:
    """Write `fields` only while the row is still `sending` under the caller's own claim."""
    return deliveries.update(
        key.delivery_id,
        fields,
        "claim_token = :token AND #s = :sending",
        {":token": token, ":sending": DeliveryStatus.SENDING},
        history,
    )


def mark_failed(key: DeliveryKey, reason: str, token: str | None = None) -> bool:
    """Fail a send in progress: the caller's own claim (token), or an abandoned one (None)."""
    condition = "#s = :sending"
    values: dict[str, Any] = {":sending": DeliveryStatus.SENDING}
    if token is not None:
        condition, values = "claim_token = :token AND " + condition, {**values, ":token": token}
    now = iso_utc()
    return deliveries.update(
        key.delivery_id, {"status": DeliveryStatus.FAILED, "reason": reason, "updated_at": now}, condition,
        values, [deliveries.history_entry(DeliveryStatus.FAILED, now, reason)],
    )


def outcome_history(status: DeliveryStatus, at: str, reason: str) -> list[dict[str, str]]:
    """A send decided without SES: queued, then the outcome."""
    return [deliveries.history_entry(DeliveryStatus.QUEUED, at), deliveries.history_entry(status, at, reason)]


def record_outcome(key: DeliveryKey, status: DeliveryStatus, reason: str) -> bool:
    """Record a send that was decided without SES (suppressed, invalid): first writer wins."""
    client = aws.dynamodb()
    now = now_epoch()
    item = {
        "delivery_id": key.delivery_id,
        **deliveries.row_fields(key, status, now),
        "reason": reason,
        "attempts": 0,
        "created_at": iso_utc(now),
        "history": outcome_history(status, iso_utc(now), reason),
    }
    try:
        client.put_item(
            TableName=deliveries.table(),
            Item=to_item(item),
            ConditionExpression=_UNCLAIMED,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":queued": {"S": DeliveryStatus.QUEUED}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
