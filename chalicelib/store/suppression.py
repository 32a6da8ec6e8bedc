"""The Suppression table: addresses that hard-bounced or complained are never mailed again.

Rows carry a constant `listing` so the by_since index lists them newest first
without a scan; an operator may remove an address (store side of
DELETE /suppressions/{address}).
"""

from __future__ import annotations

import contextlib
from typing import Any

from chalicelib.core import aws
from chalicelib.core.clock import iso_utc
from chalicelib.core.settings import get_settings
from chalicelib.store import cursors
from chalicelib.store.items import from_item, to_item

# Constant partition of the by_since index.
LISTING_PARTITION = "suppressed"
MAX_CURSOR_CHARS = 1024


def _table() -> str:
    return get_settings().suppression_table


def suppression_key(address: str) -> str:
    return address.strip().lower()


def is_suppressed(address: str) -> bool:
    found = aws.dynamodb().get_item(
        TableName=get_settings().suppression_table,
        Key={"address": {"S": suppression_key(address)}},
        ConsistentRead=True,
    )
    return "Item" in found


def suppress(address: str, reason: str) -> None:
    """Add the address; the first reason and date are kept if it is already there."""
    client = aws.dynamodb()
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.put_item(
            TableName=get_settings().suppression_table,
            Item={
                "address": {"S": suppression_key(address)},
                "reason": {"S": reason},
                "since": {"S": iso_utc()},
                "listing": {"S": LISTING_PARTITION},
            },
            ConditionExpression="attribute_not_exists(address)",
        )


# --- The team's view ---------------------------------------------------------------


def view(item: dict[str, Any]) -> dict[str, str]:
    return {"address": str(item["address"]), "reason": str(item.get("reason", "")), "since": str(item.get("since", ""))}


def get(address: str) -> dict[str, str] | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"address": {"S": suppression_key(address)}}, ConsistentRead=True
    ).get("Item")
    return view(from_item(found)) if found else None


def _encode_cursor(last_key: dict[str, Any]) -> str:
    plain = from_item(last_key)
    return cursors.encode({"a": str(plain["address"]), "s": str(plain["since"])})


def _decode_cursor(cursor: str) -> dict[str, Any]:
    data = cursors.decode(cursor, {"a": lambda a: 0 < len(a) <= 320, "s": cursors.ISO_UTC.match}, MAX_CURSOR_CHARS)
    return to_item({"address": data["a"], "since": data["s"], "listing": LISTING_PARTITION})


def list_newest(limit: int, cursor: str | None = None) -> tuple[list[dict[str, str]], str | None]:
    """One page of suppressed addresses, newest first (the by_since index), and the next cursor."""
    query: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "by_since",
        "KeyConditionExpression": "listing = :l",
        "ExpressionAttributeValues": {":l": {"S": LISTING_PARTITION}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        query["ExclusiveStartKey"] = _decode_cursor(cursor)
    page = aws.dynamodb().query(**query)
    last = page.get("LastEvaluatedKey")
    return [view(from_item(item)) for item in page.get("Items", [])], (_encode_cursor(last) if last else None)


def remove(address: str) -> dict[str, str] | None:
    """Take the address off the list; the row it had, or None if it was not there."""
    client = aws.dynamodb()
    answer = client.delete_item(
        TableName=_table(), Key={"address": {"S": suppression_key(address)}}, ReturnValues="ALL_OLD"
    )
    old = answer.get("Attributes")
    return view(from_item(old)) if old else None
