"""The emulator's TransactWriteItems (devstack/emulator_dynamodb.py): all or nothing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def put(table: str, key: str, condition: str | None = None) -> dict:
    op = {"TableName": table, "Item": {"key": {"S": key}, "expires_at": {"N": "1"}, "fingerprint": {"S": "f"}}}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def existing_guarded(table: str) -> dict:
    op = put(table, "tx-existing", "attribute_not_exists(#k)")
    op["Put"]["ExpressionAttributeNames"] = {"#k": "key"}
    return op


def test_failed_condition_writes_nothing(emulator):
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]
    dynamodb.put_item(TableName=table, Item={"key": {"S": "tx-existing"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[put(table, "tx-new"), existing_guarded(table)]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"]
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"key": {"S": "tx-new"}})


def test_passing_conditions_write_everything(emulator):
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]
    dynamodb.transact_write_items(
        TransactItems=[
            put(table, "tx-a"),
            {"Update": {"TableName": table, "Key": {"key": {"S": "tx-b"}}, "UpdateExpression": "SET n = :one",
                        "ConditionExpression": "attribute_not_exists(n)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ]
    )
    assert "Item" in dynamodb.get_item(TableName=table, Key={"key": {"S": "tx-a"}})
    assert dynamodb.get_item(TableName=table, Key={"key": {"S": "tx-b"}})["Item"]["n"] == {"N": "1"}


def test_same_item_twice_is_rejected(emulator):
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[put(table, "tx-dup"), put(table, "tx-dup")])
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"key": {"S": "tx-dup"}})
