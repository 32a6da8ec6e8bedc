"""SNS handlers run by the local runtime: event shape, filter policy, retries, on-failure."""

from __future__ import annotations

import json

import pytest

from tests.support.runtime import wait_until

pytestmark = pytest.mark.integration


def messages(runtime) -> list[str]:
    return [call["event"]["Records"][0]["Sns"]["Message"] for call in runtime.records("on_topic")]


def test_publish_reaches_the_handler_shaped_like_lambda(resources, start_runtime):
    runtime = start_runtime("topic")
    published = resources.emulator.client("sns").publish(
        TopicArn=resources.topic_arn, Message="hello", Subject="Greetings",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "lead.created"}},
    )

    [call] = wait_until(lambda: runtime.records("on_topic"))
    [record] = call["event"]["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"].startswith(resources.topic_arn + ":")
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    assert sns["MessageId"] == published["MessageId"]
    assert sns["TopicArn"] == resources.topic_arn
    assert sns["Subject"] == "Greetings" and call["subject"] == "Greetings"
    assert sns["Message"] == "hello"
    assert sns["MessageAttributes"] == {"kind": {"Type": "String", "Value": "lead.created"}}
    assert sns["Timestamp"].endswith("Z")
    assert {"SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl"} <= set(sns)


def test_filter_policy_and_retries_then_on_failure(resources, start_runtime):
    settings = resources.settings(on_topic={"FilterPolicy": {"kind": ["wanted"]}})
    runtime = start_runtime("topic", settings=settings)
    sns = resources.emulator.client("sns")

    def publish(body: dict, kind: str) -> str:
        attributes = {"kind": {"DataType": "String", "StringValue": kind}}
        return sns.publish(TopicArn=resources.topic_arn, Message=json.dumps(body), MessageAttributes=attributes)[
            "MessageId"
        ]

    publish({"behaviour": "ok", "n": "unwanted"}, "other")
    publish({"behaviour": "fail-times:1", "n": "flaky"}, "wanted")
    broken = publish({"behaviour": "raise", "n": "broken"}, "wanted")

    [dead] = resources.drain(resources.topic_dlq_url, expected=1, timeout=20)
    body = json.loads(dead["Body"])
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3  # the first try and Lambda's two retries
    assert body["requestPayload"]["Records"][0]["Sns"]["MessageId"] == broken
    assert body["responsePayload"]["errorType"] == "CommandedFailure"
    assert body["responseContext"]["functionError"] == "Unhandled"

    seen = [json.loads(m)["n"] for m in messages(runtime)]
    assert seen.count("broken") == 3
    assert seen.count("flaky") == 2  # failed once, retried, succeeded
    assert "unwanted" not in seen
