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


def test_handled_notifications_leave_the_tap_queue_and_run_once(resources, start_runtime):
    """The tap queue's deletes are batched (devstack/events/deletes.py): every handled
    notification is still deleted, so none comes back after the visibility timeout."""
    runtime = start_runtime("topic")
    sns = resources.emulator.client("sns")
    sent = [f"n{i}" for i in range(13)]  # a full batch of ten and a lingering three
    for body in sent:
        sns.publish(TopicArn=resources.topic_arn, Message=body)
    wait_until(lambda: sorted(messages(runtime)) == sorted(sent))

    sqs = resources.emulator.client("sqs")
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=resources.topic_arn)["Subscriptions"]
    tap = sqs.get_queue_url(QueueName=subscription["Endpoint"].rsplit(":", 1)[1])["QueueUrl"]
    wait_until(lambda: resources.depth(tap) == 0, timeout=5)
    assert sorted(messages(runtime)) == sorted(sent)
