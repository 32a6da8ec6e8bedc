"""DynamoDB items: conversion between plain values and typed attribute maps, and request pieces every table uses.

The low-level client is used (not the boto3 resource layer) because the
resource layer costs tens of milliseconds of import at cold start.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _serializer.serialize(_to_dynamo_value(value))
        for key, value in data.items()
        if value is not None
    }


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_dynamo_value(_deserializer.deserialize(value)) for key, value in item.items()}


def set_clause(fields: dict[str, Any], prefix: str = "f") -> tuple[str, dict[str, str], dict[str, Any]]:
    """`#f0 = :f0, ...` for an UpdateExpression's SET, with its names and (plain) values."""
    names = {f"#{prefix}{i}": name for i, name in enumerate(fields)}
    values = {f":{prefix}{i}": value for i, value in enumerate(fields.values())}
    return ", ".join(f"#{prefix}{i} = :{prefix}{i}" for i in range(len(fields))), names, values


def failed_conditions(error: Any, item_names: tuple[str, ...]) -> frozenset[str]:
    """The names of a cancelled transaction's items whose condition failed.

    DynamoDB answers one CancellationReason per item, in the order the items
    were sent; naming them here keeps callers from decoding by position.
    """
    reasons = error.response.get("CancellationReasons", []) if hasattr(error, "response") else []
    return frozenset(
        name for name, reason in zip(item_names, reasons, strict=False)
        if reason.get("Code") == "ConditionalCheckFailed"
    )
