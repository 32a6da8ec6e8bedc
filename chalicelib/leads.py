"""The Leads table: storing a lead (atomically with its idempotency key) and reading leads."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib import aws
from chalicelib.clock import iso_utc, now_epoch
from chalicelib.dynamo import from_item, to_item
from chalicelib.settings import get_settings

# Constant partition of the by_created index, which lists leads newest first.
LISTING_PARTITION = "lead"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


@dataclass(frozen=True)
class StoredLead:
    id: str
    replayed: bool


def body_fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_record_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_lead_item(lead: dict[str, Any]) -> dict[str, Any]:
    now = now_epoch()
    return {
        **lead,
        "id": uuid.uuid4().hex,
        "created_at": iso_utc(now),
        "listing": LISTING_PARTITION,
        "status": "received",
    }


def _replay(key: str, fingerprint: str) -> StoredLead | None:
    """The lead an unexpired idempotency record points at, if any."""
    settings = get_settings()
    found = aws.dynamodb().get_item(
        TableName=settings.idempotency_table,
        Key={"key": {"S": idempotency_record_key(key)}},
        ConsistentRead=True,
    ).get("Item")
    if not found:
        return None
    record = from_item(found)
    if record.get("expires_at", 0) <= now_epoch():
        return None
    if record["fingerprint"] != fingerprint:
        raise IdempotencyConflict()
    return StoredLead(id=record["lead_id"], replayed=True)


def find_replay(key: str | None, fingerprint: str) -> StoredLead | None:
    return _replay(key, fingerprint) if key else None


def store_lead(lead: dict[str, Any], key: str | None, fingerprint: str) -> StoredLead:
    """Put the lead; with a key, put the key's record in the same transaction."""
    settings = get_settings()
    item = new_lead_item(lead)
    client = aws.dynamodb()
    put_lead = {
        "TableName": settings.leads_table,
        "Item": to_item(item),
        "ConditionExpression": "attribute_not_exists(id)",
    }
    if not key:
        client.put_item(**put_lead)
        return StoredLead(id=item["id"], replayed=False)
    now = now_epoch()
    record = {
        "key": idempotency_record_key(key),
        "fingerprint": fingerprint,
        "lead_id": item["id"],
        "expires_at": int(now + settings.idempotency_ttl_seconds),
    }
    try:
        client.transact_write_items(
            TransactItems=[
                {"Put": put_lead},
                {
                    "Put": {
                        "TableName": settings.idempotency_table,
                        "Item": to_item(record),
                        "ConditionExpression": "attribute_not_exists(#k) OR expires_at <= :now",
                        "ExpressionAttributeNames": {"#k": "key"},
                        "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException:
        # A concurrent request with the same key won the race: answer as it did.
        replay = _replay(key, fingerprint)
        if replay is None:
            raise
        return replay
    return StoredLead(id=item["id"], replayed=False)


def get_lead(lead_id: str) -> dict[str, Any] | None:
    found = aws.dynamodb().get_item(
        TableName=get_settings().leads_table, Key={"id": {"S": lead_id}}
    ).get("Item")
    return from_item(found) if found else None
