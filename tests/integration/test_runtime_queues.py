"""SQS handlers run by the local runtime: batches, partial failures, redrive to the DLQ."""

from __future__ import annotations

import json

import pytest

from tests.support.runtime import wait_until

pytestmark = pytest.mark.integration


def bodies(runtime) -> list[str]:
    return [r["body"] for call in runtime.records("on_queue") for r in call["event"]["Records"]]


def test_success_is_deleted_and_a_failing_message_ends_in_the_dlq(resources, start_runtime):
    runtime = start_runtime("queue")
    sqs = resources.emulator.client("sqs")
    good = json.dumps({"behaviour": "ok", "n": 1})
    bad = json.dumps({"behaviour": "report-failure", "n": 2})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=good,
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=bad)

    [dead] = resources.drain(resources.queue_dlq_url, expected=1)
    assert dead["Body"] == bad
    assert bodies(runtime).count(good) == 1
    assert bodies(runtime).count(bad) == 2  # maxReceiveCount 2, then the queue's redrive moved it
    wait_until(lambda: resources.depth(resources.queue_url) == 0)

    record = next(r for call in runtime.records("on_queue") for r in call["event"]["Records"] if r["body"] == good)
    assert set(record) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion"}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == resources.queue_arn(resources.queue_url)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"
    }


def test_filtered_out_messages_are_deleted_without_an_invocation(resources, start_runtime):
    keep_only = {"Filters": [{"Pattern": '{"body": {"kind": ["keep"]}}'}]}
    settings = resources.settings(on_queue={"FilterCriteria": keep_only})
    runtime = start_runtime("queue", settings=settings)
    sqs = resources.emulator.client("sqs")
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps({"kind": "drop"}))
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps({"kind": "keep"}))

    wait_until(lambda: resources.depth(resources.queue_url) == 0)
    assert [json.loads(b)["kind"] for b in bodies(runtime)] == ["keep"]


def test_a_handler_whose_queue_is_missing_is_reported_and_the_others_still_run(resources, start_runtime):
    resources.queue_name = "no-such-queue"
    runtime = start_runtime("queue", "stream")
    assert "handler=on_queue not started" in runtime.log_text()
    resources.put("still-served")
    wait_until(lambda: runtime.records("on_stream"))


def test_a_restart_strands_no_message_for_a_visibility_timeout(resources, start_runtime):
    """A killed poller's pending receive would take the next message and hide it for 60 s."""
    sqs = resources.emulator.client("sqs")
    sqs.set_queue_attributes(QueueUrl=resources.queue_url, Attributes={"VisibilityTimeout": "60"})
    runtime = start_runtime("queue")
    runtime.stop()
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps({"n": "after-stop"}))
    runtime.start()
    wait_until(lambda: bodies(runtime), timeout=15)  # well inside the 60 s visibility timeout
    assert [json.loads(b)["n"] for b in bodies(runtime)] == ["after-stop"]


def test_a_poison_message_goes_to_the_dlq_and_the_poller_keeps_running(resources, start_runtime):
    """A body nested deeper than the JSON parser goes (RecursionError) once crashed the
    poller on every delivery; it is now an ordinary failing message."""
    runtime = start_runtime("queue")
    sqs = resources.emulator.client("sqs")
    poison = "[" * 50_000 + "]" * 50_000
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=poison)
    [dead] = resources.drain(resources.queue_dlq_url, expected=1, timeout=30)
    assert dead["Body"] == poison
    after = json.dumps({"behaviour": "ok", "n": "after the poison"})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=after)
    wait_until(lambda: after in bodies(runtime))
    assert "crashed" not in runtime.log_text()
