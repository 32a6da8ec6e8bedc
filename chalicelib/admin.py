"""The team's admin routes: one lead with its notifications, the newest-first list, erasure.

Authentication happens before these run (the built-in authorizer, auth.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from chalice import Response

from chalicelib import aws, deliveries
from chalicelib.clock import iso_utc
from chalicelib.dynamo import from_item, to_item
from chalicelib.leads import LISTING_PARTITION
from chalicelib.responses import error_response, json_response
from chalicelib.settings import get_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 256
ERASED = "erased"

# Lead ids are uuid4().hex (leads.new_lead_item); anything else cannot exist.
_LEAD_ID = re.compile(r"^[0-9a-f]{32}$")
_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")

# What a lead shows; the rest of the item is index bookkeeping.
LEAD_VIEW_FIELDS = (
    "id", "created_at", "status", "source", "name", "email", "phone", "message", "metadata", "erased_at",
)
# What an erased lead keeps: nothing that identifies the person.
TOMBSTONE_FIELDS = ("id", "created_at", "listing", "source")


class BadCursor(ValueError):
    pass


def lead_view(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in LEAD_VIEW_FIELDS if name in item}


def notification_view(delivery: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": delivery.get("kind", ""),
        "recipient": delivery.get("recipient"),
        "status": deliveries.public_status(str(delivery.get("status", ""))),
        "message_id": delivery.get("message_id"),
        "updated_at": delivery.get("updated_at"),
    }


def _get_lead_item(lead_id: str) -> dict[str, Any] | None:
    if not _LEAD_ID.match(lead_id):
        return None
    found = aws.dynamodb().get_item(
        TableName=get_settings().leads_table, Key={"id": {"S": lead_id}}, ConsistentRead=True
    ).get("Item")
    return from_item(found) if found else None


def not_found() -> Response:
    return error_response(404, "not_found", "no lead with that id")


def get_lead(lead_id: str) -> Response:
    item = _get_lead_item(lead_id)
    if item is None:
        return not_found()
    sent = sorted(deliveries.list_for_lead(lead_id), key=lambda d: (d.get("created_at", ""), d.get("kind", "")))
    return json_response(200, {**lead_view(item), "notifications": [notification_view(d) for d in sent]})


# --- Listing -------------------------------------------------------------------


def encode_cursor(last_key: dict[str, Any]) -> str:
    plain = from_item(last_key)
    raw = json.dumps({"c": plain["created_at"], "i": plain["id"]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The by_created ExclusiveStartKey an opaque cursor stands for; BadCursor if it is not ours."""
    if len(cursor) > MAX_CURSOR_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise BadCursor(cursor)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadCursor(cursor) from None
    if (
        not isinstance(data, dict)
        or set(data) != {"c", "i"}
        or not isinstance(data["c"], str)
        or not isinstance(data["i"], str)
        or not _ISO_UTC.match(data["c"])
        or not _LEAD_ID.match(data["i"])
    ):
        raise BadCursor(cursor)
    return to_item({"id": data["i"], "created_at": data["c"], "listing": LISTING_PARTITION})


def parse_limit(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # isascii(): str.isdigit() and int() also accept other scripts' digits ("٣").
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        return None
    return int(raw)


def list_leads(params: dict[str, str] | None) -> Response:
    params = params or {}
    limit = parse_limit(params.get("limit"))
    if limit is None:
        return error_response(
            400, "validation_failed",
            details=[{"field": "limit", "message": f"an integer from 1 to {MAX_LIMIT}"}],
        )
    query: dict[str, Any] = {
        "TableName": get_settings().leads_table,
        "IndexName": "by_created",
        "KeyConditionExpression": "listing = :l",
        "ExpressionAttributeValues": {":l": {"S": LISTING_PARTITION}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if params.get("cursor"):
        try:
            query["ExclusiveStartKey"] = decode_cursor(params["cursor"])
        except BadCursor:
            return error_response(400, "invalid_cursor", "the cursor is not one this API returned")
    page = aws.dynamodb().query(**query)
    last = page.get("LastEvaluatedKey")
    return json_response(
        200,
        {
            "items": [lead_view(from_item(item)) for item in page.get("Items", [])],
            "next_cursor": encode_cursor(last) if last else None,
        },
    )


# --- Erasure -------------------------------------------------------------------


def tombstone(item: dict[str, Any]) -> dict[str, Any]:
    kept = {name: item[name] for name in TOMBSTONE_FIELDS if name in item}
    return {**kept, "status": ERASED, "erased_at": item.get("erased_at") or iso_utc()}


def _replace_with_tombstone(item: dict[str, Any]) -> dict[str, Any]:
    """A put, not an update: the tombstone holds exactly the kept fields, whatever the lead had."""
    stone = tombstone(item)
    aws.dynamodb().put_item(
        TableName=get_settings().leads_table,
        Item=to_item(stone),
        ConditionExpression="attribute_exists(id)",
    )
    return stone


def _forget_idempotency_records(lead_id: str) -> int:
    """The idempotency table keeps a body fingerprint per key for 24 h; it is derived from the
    lead's data, so it goes too. No index by lead: a filtered scan (erasure is rare)."""
    client = aws.dynamodb()
    table = get_settings().idempotency_table
    removed = 0
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="lead_id = :l",
        ExpressionAttributeValues={":l": {"S": lead_id}},
        ProjectionExpression="#k",
        ExpressionAttributeNames={"#k": "key"},
    )
    for page in pages:
        for found in page.get("Items", []):
            client.delete_item(TableName=table, Key={"key": found["key"]})
            removed += 1
    return removed


def _has_personal_fields(item: dict[str, Any]) -> bool:
    return any(name not in (*TOMBSTONE_FIELDS, "status", "erased_at") for name in item)


def erase(lead_id: str) -> tuple[dict[str, Any], bool] | None:
    """Right to erasure: tombstone the lead, anonymise its deliveries, forget its idempotency keys.

    Returns the tombstone and whether this call erased it (None: no such lead).
    Repeatable: a second call finds nothing left to remove. The audit entry
    comes from the Leads stream (the tombstone is a MODIFY).
    """
    item = _get_lead_item(lead_id)
    if item is None:
        return None
    already = item.get("status") == ERASED and not _has_personal_fields(item)
    stone = item if already else _replace_with_tombstone(item)
    for delivery in deliveries.list_for_lead(lead_id):
        deliveries.anonymise(str(delivery["delivery_id"]))
    _forget_idempotency_records(lead_id)
    return stone, not already


def erase_lead(lead_id: str) -> Response:
    erased = erase(lead_id)
    if erased is None:
        return not_found()
    stone, newly = erased
    if newly:
        from chalicelib import metrics

        metrics.emit("LeadsErased", 1)
    return json_response(200, {"id": stone["id"], "status": ERASED, "erased_at": stone["erased_at"]})
