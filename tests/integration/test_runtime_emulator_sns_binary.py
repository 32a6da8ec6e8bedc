"""A Binary message attribute published to SNS, delivered raw to SQS (a moto bug
the emulator works around: devstack/emulator_sqs.py)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.runtime import wait_until

pytestmark = pytest.mark.integration

PAYLOAD = b"\x00\x01binary\xff"


def subscribe_raw(resources) -> None:
    sns = resources.emulator.client("sns")
    sns.subscribe(TopicArn=resources.topic_arn, Protocol="sqs", Endpoint=resources.queue_arn(resources.queue_url),
                  Attributes={"RawMessageDelivery": "true"})


def publish(resources) -> str:
    return resources.emulator.client("sns").publish(
        TopicArn=resources.topic_arn, Message=json.dumps({"n": "binary"}),
        MessageAttributes={"blob": {"DataType": "Binary", "BinaryValue": PAYLOAD},
                           "kind": {"DataType": "String", "StringValue": "lead.created"}},
    )["MessageId"]


def test_receive_message_returns_the_binary_attribute_as_sent(resources):
    subscribe_raw(resources)
    publish(resources)
    sqs = resources.emulator.client("sqs")
    # Before the fix this answered 500 (TypeError in moto's attribute MD5), every time.
    response = sqs.receive_message(QueueUrl=resources.queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=2)
    [message] = response["Messages"]
    assert message["MessageAttributes"]["blob"] == {"DataType": "Binary", "BinaryValue": PAYLOAD}
    assert message["MessageAttributes"]["kind"] == {"DataType": "String", "StringValue": "lead.created"}
    assert len(message["MD5OfMessageAttributes"]) == 32


def test_the_runtime_hands_the_binary_attribute_to_the_queue_handler(resources, start_runtime):
    subscribe_raw(resources)
    runtime = start_runtime("queue")
    publish(resources)
    [call] = wait_until(lambda: runtime.records("on_queue"))
    [record] = call["event"]["Records"]
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": base64.b64encode(PAYLOAD).decode(), "stringListValues": [], "binaryListValues": [],
        "dataType": "Binary",
    }
