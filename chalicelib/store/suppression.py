"""The Suppression table: addresses that hard-bounced or complained are never mailed again."""

from __future__ import annotations

import contextlib

from chalicelib.core import aws
from chalicelib.core.clock import iso_utc
from chalicelib.core.settings import get_settings


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
            },
            ConditionExpression="attribute_not_exists(address)",
        )
