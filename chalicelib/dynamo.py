"""Conversion between plain Python values and DynamoDB's typed attribute maps.

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
