"""Replaying the stream DLQs (lead-stream, lead-audit): Lambda's on-failure records hold
only a shard and a sequence range, so the records are read back from the Leads
stream (DynamoDB Streams keeps them 24 hours) and run through the handler the
record names (on_lead_stream or on_lead_audit): in this process with the
stage's configuration, or with --invoke-lambda through the deployed function.

Operator-only: it needs the stream's read rights and runs the handlers'
code, which the admin API's function has no business holding; the dashboard
shows the command instead.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.states import RedriveOutcome
from chalicelib.pipeline.dead_letters import (
    DeadLetter,
    RedriveResult,
    handler_of,
    is_erased_or_gone,
    stream_batch_info,
)


class RecordsExpired(Exception):
    pass


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda hands a stream handler."""
    dynamodb = dict(record["dynamodb"])
    dynamodb["ApproximateCreationDateTime"] = _epoch(dynamodb.get("ApproximateCreationDateTime", 0))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def read_stream_range(stream_arn: str, shard_id: str, start: str, end: str) -> list[dict[str, Any]]:
    """The records of one shard from `start` to `end` inclusive, while the stream still has them."""
    from chalicelib.core import aws

    streams = aws.client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )["ShardIterator"]
    except Exception as error:  # noqa: BLE001 - trimmed, expired or unknown shard
        raise RecordsExpired(f"{type(error).__name__}: {error}") from None
    found: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        records = page.get("Records", [])
        for record in records:
            if int(record["dynamodb"]["SequenceNumber"]) > int(end):
                return found
            found.append(record)
        if not records:
            return found
        iterator = page.get("NextShardIterator")
    return found


def _keep_for_replay(handler: str, record: dict[str, Any]) -> bool:
    """The notification consumer replays INSERTs of leads that still exist and are not erased."""
    if handler != "on_lead_stream":
        return True
    if record["eventName"] != "INSERT":
        return False
    lead_id = record["dynamodb"].get("Keys", {}).get("id", {}).get("S", "")
    return bool(lead_id) and not is_erased_or_gone(lead_id)


def invoke_in_process(handler: str, event: dict[str, Any]) -> dict[str, Any]:
    import app as app_module

    result = getattr(app_module, handler)(event, None)
    return result if isinstance(result, dict) else {}


def invoke_lambda(handler: str, event: dict[str, Any], stage: str) -> dict[str, Any]:
    from chalicelib.core import aws
    from infra.resources import lambda_function_name

    response = aws.client("lambda").invoke(
        FunctionName=lambda_function_name(stage, handler), Payload=json.dumps(event).encode()
    )
    text = response["Payload"].read().decode() or "null"
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    if response.get("FunctionError"):
        raise RuntimeError(f"{handler} failed: {body}")
    return body if isinstance(body, dict) else {}


def redrive_stream(letter: DeadLetter, stage: str, use_lambda: bool) -> RedriveResult:
    info = stream_batch_info(letter.payload)
    failed = RedriveOutcome.FAILED
    if not info:
        return RedriveResult(letter.message_id, failed, "not a stream on-failure record; left in the DLQ")
    from chalicelib.core import aws

    stream_arn = str(info.get("streamArn", ""))
    try:
        records = read_stream_range(
            stream_arn, str(info["shardId"]), str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
        )
    except RecordsExpired as error:
        return RedriveResult(letter.message_id, failed, f"records no longer in the stream (24 h): {error}")
    if not records:
        return RedriveResult(letter.message_id, failed, "records no longer in the stream (24 h)")
    handler = handler_of(letter.payload)
    region = aws.dynamodb().meta.region_name
    replay = [lambda_record(r, stream_arn, region) for r in records if _keep_for_replay(handler, r)]
    skipped = len(records) - len(replay)
    if replay:
        event = {"Records": replay}
        result = invoke_lambda(handler, event, stage) if use_lambda else invoke_in_process(handler, event)
        if result.get("batchItemFailures"):
            return RedriveResult(letter.message_id, failed, f"{handler} failed again: {result['batchItemFailures']}")
    return RedriveResult(
        letter.message_id, RedriveOutcome.REDRIVEN,
        f"{len(replay)} record(s) replayed through {handler}, {skipped} skipped",
    )
