"""The emulator's TransactWriteItems (devstack/emulator_dynamodb.py): all or nothing,
and every conditional write atomic under concurrent requests, as on DynamoDB."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


# Enough contenders and items that an unlocked check-then-write lets two win
# somewhere (before the lock, about one item in ten had two winners).
CONTENDERS = 8
CONTESTED_ITEMS = 60


def winners(attempt: Any) -> list[int]:
    """For each of CONTESTED_ITEMS fresh keys, how many of CONTENDERS concurrent attempts won."""
    counts = []
    with ThreadPoolExecutor(CONTENDERS * 2) as pool:
        for _ in range(CONTESTED_ITEMS):
            key = f"race-{uuid.uuid4().hex}"
            counts.append(sum(pool.map(attempt, [key] * CONTENDERS)))
    return counts


def won(write: Any, **kwargs: Any) -> int:
    try:
        write(**kwargs)
    except ClientError as error:
        assert error.response["Error"]["Code"] in {"TransactionCanceledException", "ConditionalCheckFailedException"}
        return 0
    return 1


def test_concurrent_conditional_transactions_have_one_winner(emulator):
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]

    def attempt(key: str) -> int:
        claim = {"Update": {"TableName": table, "Key": {"key": {"S": key}}, "UpdateExpression": "SET n = :one",
                            "ConditionExpression": "attribute_not_exists(n)",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}}
        return won(dynamodb.transact_write_items, TransactItems=[claim])

    assert set(winners(attempt)) == {1}


def test_concurrent_conditional_updates_have_one_winner(emulator):
    dynamodb = emulator.client("dynamodb")
    table = emulator.env["IDEMPOTENCY_TABLE"]

    def attempt(key: str) -> int:
        return won(
            dynamodb.update_item, TableName=table, Key={"key": {"S": key}}, UpdateExpression="SET n = :one",
            ConditionExpression="attribute_not_exists(n)", ExpressionAttributeValues={":one": {"N": "1"}},
        )

    assert set(winners(attempt)) == {1}
