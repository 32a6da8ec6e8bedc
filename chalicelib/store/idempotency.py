"""The Idempotency table: a key's record (body fingerprint, lead id) for 24 hours.

A repeat with the same key and body answers the first response; the same
key with another body is a conflict. Keys are scoped to the person the lead
is from (its email): one client cannot squat on another's key or learn
whether it was used, and a person retrying from another network still gets
the first answer. Records hold keyed digests only (core/keys.py).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws, keys
from chalicelib.core.clock import now_epoch
from chalicelib.core.settings import get_settings
from chalicelib.store.items import from_item, to_item


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


def _table() -> str:
    return get_settings().idempotency_table


def record_key(key: str, scope: str) -> str:
    """The record of `key` within `scope` (the lead's email, case-insensitive)."""
    return keys.keyed_digest(keys.KeyPurpose.IDEMPOTENCY, f"{scope.strip().lower()}\n{key}")


def find_replay(key: str | None, scope: str, fingerprint: str) -> str | None:
    """The lead id an unexpired record for this key points at, if any; IdempotencyConflict
    when the key was used with another body."""
    if not key:
        return None
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"key": {"S": record_key(key, scope)}}, ConsistentRead=True
    ).get("Item")
    if not found:
        return None
    record = from_item(found)
    if record.get("expires_at", 0) <= now_epoch():
        return None
    if record["fingerprint"] != fingerprint:
        raise IdempotencyConflict()
    return str(record["lead_id"])


def claim_request(key: str, scope: str, fingerprint: str, lead_id: str) -> dict[str, Any]:
    """The transaction item that records the key, unless an unexpired record holds it."""
    return claim_item(
        {"key": record_key(key, scope), "fingerprint": fingerprint, "lead_id": lead_id},
        get_settings().idempotency_ttl_seconds,
    )


def claim_item(record: dict[str, Any], ttl_seconds: int) -> dict[str, Any]:
    """The transaction Put of a record of this table (with `key`; store/repeats.py's too) for
    `ttl_seconds`, unless an unexpired record holds its key."""
    now = int(now_epoch())
    return {
        "TableName": _table(),
        "Item": to_item({**record, "expires_at": now + ttl_seconds}),
        "ConditionExpression": "attribute_not_exists(#k) OR expires_at <= :now",
        "ExpressionAttributeNames": {"#k": "key"},
        "ExpressionAttributeValues": {":now": {"N": str(now)}},
    }


def forget_lead(lead_id: str) -> int:
    """Erasure: the records point at the lead and fingerprint its body, so they go too.
    No index by lead: a filtered scan (erasure is rare, the table holds 24 h of keys)."""
    client = aws.dynamodb()
    removed = 0
    pages = client.get_paginator("scan").paginate(
        TableName=_table(),
        FilterExpression="lead_id = :l",
        ExpressionAttributeValues={":l": {"S": lead_id}},
        ProjectionExpression="#k",
        ExpressionAttributeNames={"#k": "key"},
    )
    for page in pages:
        for found in page.get("Items", []):
            client.delete_item(TableName=_table(), Key={"key": found["key"]})
            removed += 1
    return removed
