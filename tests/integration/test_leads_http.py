"""POST /leads against the emulator server over HTTP: table item and stream record.

The app runs in chalice.test.Client, but every AWS call it makes goes over
HTTP to the session's emulator process (AWS_ENDPOINT_URL), and the checks
read the table and the DynamoDB stream back over HTTP too. The emulator is
shared by the whole session, so every count is scoped to a marker unique to
the test (never a global count).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import Emulator

pytestmark = pytest.mark.integration


@pytest.fixture
def http_api(emulator: Emulator, tmp_path: Path) -> Iterator[Any]:
    """chalice.test.Client whose AWS calls go to the emulator server."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(tmp_path)) as client:
        yield client


def post_lead(client: Any, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.http.post("/leads", headers=headers, body=json.dumps(body).encode())


def lead_body(marker: str) -> dict[str, Any]:
    return {"name": "Grace Hopper", "email": "grace@example.com", "message": marker}


def items_with_message(emulator: Emulator, marker: str) -> list[dict[str, Any]]:
    dynamodb = emulator.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=emulator.env["LEADS_TABLE"],
        FilterExpression="message = :m",
        ExpressionAttributeValues={":m": {"S": marker}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def shard_records(streams: Any, stream_arn: str, shard_id: str) -> list[dict[str, Any]]:
    """Every record of one shard from TRIM_HORIZON until the shard has no more."""
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(page["Records"])
        if not page["Records"]:
            break  # an open shard always returns a next iterator: stop at its end
        iterator = page.get("NextShardIterator")
    return records


def stream_records(emulator: Emulator) -> list[dict[str, Any]]:
    streams = emulator.client("dynamodbstreams")
    arn = emulator.env["LEADS_STREAM_ARN"]
    shards: list[dict[str, Any]] = []
    start: dict[str, str] = {}
    while True:
        description = streams.describe_stream(StreamArn=arn, **start)["StreamDescription"]
        shards.extend(description["Shards"])
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        start = {"ExclusiveStartShardId": last}
    return [record for shard in shards for record in shard_records(streams, arn, shard["ShardId"])]


def records_with_message(emulator: Emulator, marker: str) -> list[dict[str, Any]]:
    return [
        record
        for record in stream_records(emulator)
        if record["dynamodb"].get("NewImage", {}).get("message", {}).get("S") == marker
    ]


def test_valid_post_puts_one_item_and_one_insert_record(http_api, emulator):
    marker = f"integration {uuid.uuid4()}"
    response = post_lead(http_api, lead_body(marker))
    assert response.status_code == 201
    lead_id = response.json_body["id"]

    items = items_with_message(emulator, marker)
    assert [item["id"]["S"] for item in items] == [lead_id]
    assert items[0]["email"]["S"] == "grace@example.com"

    records = records_with_message(emulator, marker)
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert records[0]["dynamodb"]["Keys"] == {"id": {"S": lead_id}}
    assert records[0]["dynamodb"]["NewImage"]["id"] == {"S": lead_id}


def test_idempotent_repeat_adds_no_item_and_no_record(http_api, emulator):
    marker = f"integration {uuid.uuid4()}"
    key = f"key-{uuid.uuid4()}"
    first = post_lead(http_api, lead_body(marker), key)
    assert first.status_code == 201
    assert len(items_with_message(emulator, marker)) == 1
    assert len(records_with_message(emulator, marker)) == 1

    again = post_lead(http_api, lead_body(marker), key)
    assert again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers["Location"] == first.headers["Location"]
    assert [item["id"]["S"] for item in items_with_message(emulator, marker)] == [first.json_body["id"]]
    assert [r["eventName"] for r in records_with_message(emulator, marker)] == ["INSERT"]


def test_same_key_other_body_is_409_and_adds_nothing(http_api, emulator):
    marker, other = f"integration {uuid.uuid4()}", f"integration {uuid.uuid4()}"
    key = f"key-{uuid.uuid4()}"
    assert post_lead(http_api, lead_body(marker), key).status_code == 201
    conflict = post_lead(http_api, lead_body(other), key)
    assert conflict.status_code == 409
    assert items_with_message(emulator, other) == []
    assert records_with_message(emulator, other) == []


def test_invalid_post_stores_nothing_and_streams_nothing(http_api, emulator):
    marker = f"integration {uuid.uuid4()}"
    response = post_lead(http_api, {**lead_body(marker), "email": "not-an-address"})
    assert response.status_code == 400
    assert items_with_message(emulator, marker) == []
    assert records_with_message(emulator, marker) == []
