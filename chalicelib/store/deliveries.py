"""The Deliveries table: one row per email, its status and how it got there.

This module owns the row's shape, its reads and the status tracking that
feedback does (statuses only move forward: feedback that arrives late or
twice never takes a delivery back) and anonymisation for erasure. The send
ledger's claim and its token-guarded writes, on the same rows, are in
store/ledger.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.core import aws, keys
from chalicelib.core.clock import iso_utc, now_epoch
from chalicelib.core.masking import mask_text
from chalicelib.core.settings import get_settings
from chalicelib.core.states import DeliveryStatus
from chalicelib.store.items import from_item, set_clause, to_item

# The fields of a delivery that hold no personal data; erasure removes the rest
# (an allowlist, so a field added later is erased by default).
NON_PERSONAL_FIELDS = frozenset(
    {
        "delivery_id", "lead_id", "kind", "status", "message_id", "attempts", "claim_token",
        "claimed_at", "created_at", "updated_at", "sent_at", "expires_at", "feedback_key",
        "reason", "recipient_erased", "history",
    }
)

# The status history on each row: one entry per status change, appended by the write
# that changes the status. Statuses only move forward, so a row gains at most one entry
# per status (MAX_HISTORY bounds it all the same: a longer list is cut when read).
MAX_HISTORY = 20

ADOPTED_REASON = "send recorded from SES feedback: the worker stopped before it recorded the send"


@dataclass(frozen=True)
class DeliveryKey:
    ref_id: str
    kind: str
    recipient: str

    @property
    def delivery_id(self) -> str:
        """Deterministic for (ref, kind, recipient), so a redelivered job finds its row, and
        keyed (HMAC), so an id cannot confirm a guessed address. Rows written before the
        key existed (plain SHA-256 ids) keep their ids: they are found by lead and by
        SES message id, never recomputed, so they need no migration."""
        identity = f"{self.ref_id}|{self.kind}|{self.recipient.strip().lower()}"
        return keys.keyed_digest(keys.KeyPurpose.DELIVERY_ID, identity, 40)


def table() -> str:
    return get_settings().deliveries_table


def row_fields(key: DeliveryKey, status: DeliveryStatus, now: float) -> dict[str, Any]:
    """The fields every ledger write of a row sets."""
    return {
        "lead_id": key.ref_id,
        "kind": key.kind,
        "recipient": key.recipient,
        "status": status,
        "updated_at": iso_utc(now),
        "expires_at": int(now_epoch() + get_settings().delivery_ttl_days * 86400),
    }


def get(delivery_id: str) -> dict[str, Any] | None:
    found = aws.dynamodb().get_item(
        TableName=table(), Key={"delivery_id": {"S": delivery_id}}, ConsistentRead=True
    ).get("Item")
    return from_item(found) if found else None


# --- Status history ---------------------------------------------------------------


def history_entry(status: DeliveryStatus, at: str, reason: str = "") -> dict[str, str]:
    """One step of a row's history: the status it moved to, when, and why (if said)."""
    entry = {"status": str(status.public), "at": at}
    if reason:
        entry["reason"] = reason
    return entry


def history_append(entries: list[dict[str, str]]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The SET piece that appends `entries` to the row's history, with its names and values."""
    return (
        "#hist = list_append(if_not_exists(#hist, :hist_empty), :hist_new)",
        {"#hist": "history"},
        {":hist_empty": [], ":hist_new": entries},
    )


def history_of(record: dict[str, Any]) -> list[dict[str, str]]:
    """A row's history as the API returns it (rows written before history have none)."""
    found = record.get("history")
    if not isinstance(found, list):
        return []
    return [
        {k: str(v) for k, v in entry.items() if k in ("status", "at", "reason")}
        for entry in found[:MAX_HISTORY]
        if isinstance(entry, dict)
    ]


def update(
    delivery_id: str,
    fields: dict[str, Any],
    condition: str,
    values: dict[str, Any],
    history: list[dict[str, str]] | None = None,
) -> bool:
    """SET `fields` on the row if `condition` holds (`#s` names status); False if it does not.
    `history`: entries appended to the row's history by the same write."""
    return _update(delivery_id, fields, condition, values, history) is not None


def _update(
    delivery_id: str,
    fields: dict[str, Any],
    condition: str,
    values: dict[str, Any],
    history: list[dict[str, str]] | None = None,
    returning: bool = False,
) -> dict[str, Any] | None:
    """update(); the row as written when `returning` (else {}), None if `condition` fails."""
    client = aws.dynamodb()
    clause, names, attr_values = set_clause(fields)
    attr_values.update(values)
    names["#s"] = "status"
    if history:
        piece, history_names, history_values = history_append(history)
        clause += ", " + piece
        names.update(history_names)
        attr_values.update(history_values)
    try:
        answer = client.update_item(
            TableName=table(),
            Key={"delivery_id": {"S": delivery_id}},
            UpdateExpression="SET " + clause,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(attr_values),
            ReturnValues="ALL_NEW" if returning else "NONE",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return None
    return from_item(answer["Attributes"]) if returning else {}


def _status_in(statuses: tuple[DeliveryStatus, ...], prefix: str) -> tuple[str, dict[str, Any]]:
    placeholders = {f":{prefix}{i}": s for i, s in enumerate(statuses)}
    return "#s IN (" + ", ".join(placeholders) + ")", placeholders


# --- Status tracking (SES feedback) -------------------------------------------


def _advance_condition(
    status: DeliveryStatus, message_id: str | None, from_statuses: tuple[DeliveryStatus, ...] | None
) -> tuple[str, dict[str, Any]]:
    allowed = tuple(s for s in (from_statuses or status.below()) if s in status.below())
    lower, placeholders = _status_in(allowed, "low")
    condition = "attribute_exists(delivery_id) AND " + lower
    if message_id is not None:
        condition += " AND message_id = :mid"
        placeholders[":mid"] = message_id
    return condition, placeholders


def _advance_fields(status: DeliveryStatus, now: str, reason: str, extra: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": status, "updated_at": now, **extra}
    if reason:
        fields["reason"] = reason
    return fields


def advance_status(
    delivery_id: str,
    status: DeliveryStatus,
    reason: str = "",
    message_id: str | None = None,
    from_statuses: tuple[DeliveryStatus, ...] | None = None,
    **extra: Any,
) -> bool:
    """Move a delivery forward to `status`; a no-op (False) if it is already there or beyond
    (or, with `from_statuses`, in none of those), or (with `message_id`) if the row does not
    carry that SES message id."""
    now = iso_utc()
    condition, placeholders = _advance_condition(status, message_id, from_statuses)
    return update(delivery_id, _advance_fields(status, now, reason, extra), condition, placeholders,
                  [history_entry(status, now, reason)])


def advance_sent_to(
    delivery_id: str, status: DeliveryStatus, message_id: str, address: str, **extra: Any
) -> dict[str, Any] | None:
    """advance_status(), in the same one write, only for the row that carries `message_id` and was
    sent to `address` exactly as written (its recipient, or the sandbox address it records): the
    row as written, or None when any of that does not hold (the caller then reads the row and
    judges it; addresses compare case-insensitively there). Feedback's read-free path."""
    now = iso_utc()
    condition, placeholders = _advance_condition(status, message_id, None)
    condition += " AND (recipient = :to OR sent_to = :to)"
    placeholders[":to"] = address
    return _update(delivery_id, _advance_fields(status, now, "", extra), condition, placeholders,
                   [history_entry(status, now)], returning=True)


def adopt_unrecorded_send(
    delivery_id: str, message_id: str, status: DeliveryStatus, claim_token: str, **extra: Any
) -> bool:
    """SES feedback for a send the ledger never recorded (the worker stopped between the
    send and the record, or SES's answer was lost) proves the send: take its message id
    and status. Only with the claim token the worker tagged that very send with: the
    token is random and never leaves the row and the SES request, so feedback that
    merely names the row (lead id and kind are no secret) cannot adopt it."""
    if not claim_token:
        return False
    now = iso_utc()
    fields: dict[str, Any] = {
        "status": status, "message_id": message_id, "reason": ADOPTED_REASON, "updated_at": now, **extra
    }
    return update(
        delivery_id,
        fields,
        "#s IN (:sending, :failed) AND attribute_not_exists(message_id) AND claim_token = :claim",
        {":sending": DeliveryStatus.SENDING, ":failed": DeliveryStatus.FAILED, ":claim": claim_token},
        [history_entry(DeliveryStatus.SENT, now, ADOPTED_REASON), history_entry(status, now)],
    )


def record_reason(
    delivery_id: str, reason: str, statuses: tuple[DeliveryStatus, ...] = (DeliveryStatus.SENT,)
) -> bool:
    """Note why (a soft bounce, say) without moving the status; only while it is in `statuses`."""
    within, placeholders = _status_in(statuses, "st")
    return update(
        delivery_id, {"reason": reason, "updated_at": iso_utc()}, "attribute_exists(delivery_id) AND " + within,
        placeholders,
    )


# --- Queries -------------------------------------------------------------------


def find_by_message_id(message_id: str) -> list[dict[str, Any]]:
    found = aws.dynamodb().query(
        TableName=table(),
        IndexName="by_message_id",
        KeyConditionExpression="message_id = :m",
        ExpressionAttributeValues={":m": {"S": message_id}},
    )
    return [from_item(item) for item in found.get("Items", [])]


def list_for_lead(lead_id: str) -> list[dict[str, Any]]:
    return _query_all("by_lead", "lead_id", lead_id)


def _query_all(index: str, attribute: str, value: str) -> list[dict[str, Any]]:
    """Every row of `index` whose partition key `attribute` is `value`, over all pages."""
    pages = aws.dynamodb().get_paginator("query").paginate(
        TableName=table(),
        IndexName=index,
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": attribute},
        ExpressionAttributeValues={":v": {"S": value}},
    )
    return [from_item(item) for page in pages for item in page.get("Items", [])]


SUMMARY_FIELDS = ("delivery_id", "lead_id", "kind", "status", "created_at")


def get_many(delivery_ids: list[str], fields: tuple[str, ...] = SUMMARY_FIELDS) -> dict[str, dict[str, Any]]:
    """The rows with these ids that exist, by id (BatchGetItem, 100 keys a request), with `fields`."""
    client = aws.dynamodb()
    wanted = sorted(set(delivery_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 100):
        keys: list[dict[str, Any]] = [{"delivery_id": {"S": d}} for d in wanted[start : start + 100]]
        request: dict[str, Any] = {
            table(): {
                "Keys": keys,
                "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(fields))),
                "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(fields)},
            }
        }
        for _ in range(5):  # unprocessed keys come back under throttling: ask again
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table(), []):
                row = from_item(item)
                found[str(row["delivery_id"])] = row
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("the Deliveries table kept leaving keys unprocessed")
    return found


def list_for_recipient(recipient: str) -> list[dict[str, Any]]:
    """Every row addressed to `recipient` (erasure by address), through the by_recipient index."""
    return _query_all("by_recipient", "recipient", recipient)


def count_by_status(status: DeliveryStatus, first: str, last: str) -> int:
    """How many rows hold `status` with their last change from `first` to `last` (both included):
    the by_status index with Select=COUNT, so nothing is read but the count."""
    client = aws.dynamodb()
    total = 0
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "by_status",
        "KeyConditionExpression": "#s = :s AND updated_at BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": status}, ":a": {"S": first}, ":b": {"S": last}},
        "Select": "COUNT",
    }
    while True:
        page = client.query(**kwargs)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_STATUS_CURSOR_CHARS = 512
_DELIVERY_ID = re.compile(r"^[0-9A-Za-z_-]{8,128}$")


def page_by_status(
    status: DeliveryStatus, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows holding `status`, most recently changed first, and the cursor of the next page
    (cursors.BadCursor for a cursor this API did not return)."""
    query: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "by_status",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": status}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    from chalicelib.store import cursors  # only the dashboard pays its import, not the worker

    if cursor:
        start = cursors.decode(cursor, {"u": cursors.ISO_UTC.match, "d": _DELIVERY_ID.match}, _STATUS_CURSOR_CHARS)
        query["ExclusiveStartKey"] = to_item({"delivery_id": start["d"], "updated_at": start["u"], "status": status})
    page = aws.dynamodb().query(**query)
    last = page.get("LastEvaluatedKey")
    next_cursor = None
    if last:
        plain = from_item(last)
        next_cursor = cursors.encode({"u": str(plain["updated_at"]), "d": str(plain["delivery_id"])})
    return [from_item(item) for item in page.get("Items", [])], next_cursor


# --- Erasure -------------------------------------------------------------------


def masked_history(record: dict[str, Any]) -> list[dict[str, str]]:
    """The history with every reason masked (a failure reason can quote an address)."""
    return [
        {**entry, "reason": mask_text(entry["reason"])} if entry.get("reason") else entry
        for entry in history_of(record)
    ]


def anonymise(delivery_id: str) -> bool:
    """Right to erasure: drop the recipient and every other personal field, keep the status."""
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
    if record.get("history"):
        names["#hist"] = "history"
        values[":hist"] = to_item({"h": masked_history(record)})["h"]
        expression += ", #hist = :hist"
    if personal:
        expression += " REMOVE " + ", ".join(f"#p{i}" for i in range(len(personal)))
    kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
    aws.dynamodb().update_item(
        TableName=table(),
        Key={"delivery_id": {"S": delivery_id}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        **kwargs,
    )
    return True
