"""The optional related table (RELATED_TABLE): a record of the team's own, read
by a key built from lead fields. Read-only; the table is not leadflow's."""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws
from chalicelib.store.items import from_item


def get_record(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The record under `key`, or None; through enrichment's budgeted client."""
    item = aws.enrichment_dynamodb().get_item(TableName=table, Key=key).get("Item")
    return from_item(item) if item else None
