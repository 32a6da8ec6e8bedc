"""DynamoDB stream handlers run by the local runtime with Lambda's semantics (over HTTP to the emulator)."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.runtime import wait_until

pytestmark = pytest.mark.integration


def ids_in(record: dict) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in record["event"]["Records"]]


def invocations(runtime) -> list[list[str]]:
    return [ids_in(r) for r in runtime.records("on_stream")]


def delivered(runtime) -> list[str]:
    return [item for batch in invocations(runtime) for item in batch]


def test_insert_reaches_handler_once_shaped_like_lambda_and_other_events_are_filtered(resources, start_runtime):
    runtime = start_runtime("stream")
    started = time.time()
    resources.put("lead-1", name="Ada")
    resources.put("lead-1", name="Ada Lovelace")  # MODIFY
    resources.emulator.client("dynamodb").delete_item(TableName=resources.table, Key={"id": {"S": "lead-1"}})
    resources.put("marker")  # a later INSERT: once it arrives, the MODIFY and REMOVE were read

    wait_until(lambda: "marker" in delivered(runtime))
    assert delivered(runtime) == ["lead-1", "marker"]
    first = runtime.records("on_stream")[0]
    record = first["event"]["Records"][0]
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                           "eventSourceARN"}
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == resources.stream_arn
    stream = record["dynamodb"]
    assert isinstance(stream["ApproximateCreationDateTime"], int)
    assert started - 2 <= stream["ApproximateCreationDateTime"] <= time.time()
    assert stream["Keys"] == {"id": {"S": "lead-1"}}
    assert stream["NewImage"] == {"id": {"S": "lead-1"}, "name": {"S": "Ada"}}
    assert stream["StreamViewType"] == "NEW_IMAGE"
    assert isinstance(stream["SequenceNumber"], str) and isinstance(stream["SizeBytes"], int)
    # Chalice's own DynamoDBRecord parsed it (table name from the ARN, timestamp from epoch seconds).
    assert first["parsed"][0]["table"] == resources.table
    assert first["parsed"][0]["name"] == "INSERT"


def test_reported_failure_is_retried_from_that_record_then_dead_lettered(resources, start_runtime):
    for item_id, behaviour in (("a", "ok"), ("b", "report-failure"), ("c", "ok")):
        resources.put(item_id, behaviour=behaviour)
    runtime = start_runtime("stream")  # TRIM_HORIZON: the first batch holds a, b and c

    [dead] = resources.drain(resources.stream_dlq_url, expected=1)
    # MaximumRetryAttempts 2: the first invocation, then b and everything after it twice more.
    assert invocations(runtime) == [["a", "b", "c"], ["b", "c"], ["b", "c"]]
    sequences = {r["dynamodb"]["Keys"]["id"]["S"]: r["dynamodb"]["SequenceNumber"]
                 for r in runtime.records("on_stream")[0]["event"]["Records"]}
    body = json.loads(dead["Body"])
    info = body["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == sequences["b"]
    assert info["endSequenceNumber"] == sequences["c"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == resources.stream_arn
    assert info["shardId"].startswith("shardId-")
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["requestContext"]["functionArn"].endswith(":function:runtime-fixture-local-on_stream")
    assert body["version"] == "1.0"

    resources.put("d")  # the shard moved on: d comes alone, b is not seen again
    wait_until(lambda: "d" in delivered(runtime))
    assert invocations(runtime)[3:] == [["d"]]


def test_a_crashing_record_is_isolated_by_bisecting_and_dead_lettered_alone(resources, start_runtime):
    for item_id, behaviour in (("a", "ok"), ("b", "raise"), ("c", "ok"), ("d", "ok")):
        resources.put(item_id, behaviour=behaviour)
    runtime = start_runtime("stream")

    [dead] = resources.drain(resources.stream_dlq_url, expected=1)
    wait_until(lambda: "d" in delivered(runtime)[-2:])
    # Halving does not use the retry quota; b alone is tried once and retried twice.
    assert invocations(runtime) == [["a", "b", "c", "d"], ["a", "b"], ["a"], ["b"], ["b"], ["b"], ["c", "d"]]
    body = json.loads(dead["Body"])
    assert body["DDBStreamBatchInfo"]["batchSize"] == 1
    assert body["DDBStreamBatchInfo"]["startSequenceNumber"] == body["DDBStreamBatchInfo"]["endSequenceNumber"]
    assert body["responseContext"]["functionError"] == "Unhandled"
    log = runtime.log_text()
    assert "outcome=error" in log and "error=CommandedFailure" in log
    assert "ada.lovelace@example.com" not in log  # the exception's message named it; the log masks it
    assert "a***@example.com" in log


def test_restart_resumes_after_the_last_checkpoint(resources, start_runtime):
    runtime = start_runtime("stream")
    resources.put("before-1")
    resources.put("before-2")
    wait_until(lambda: delivered(runtime) == ["before-1", "before-2"])
    runtime.stop()

    resources.put("while-down")
    runtime.start()
    resources.put("after")
    wait_until(lambda: "after" in delivered(runtime))
    assert delivered(runtime) == ["before-1", "before-2", "while-down", "after"]


def test_a_stale_stream_arn_resolves_to_the_tables_current_stream(resources):
    from devstack.events.engine import resolve_stream_arn

    stale = resources.stream_arn.rsplit("/", 1)[0] + "/2000-01-01T00:00:00.000"
    assert resolve_stream_arn(resources.emulator.client("dynamodb"), stale) == resources.stream_arn
