"""The unit tier's AWS is provisioned once and restored per test (tests/support/moto_snapshot.py):
each test must still start from freshly provisioned resources with nothing a previous test wrote."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.support import aws


def _write_everywhere(env: dict[str, str]) -> str:
    boto3.client("dynamodb").put_item(TableName=env["LEADS_TABLE"], Item={"id": {"S": "left-behind"}})
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=env["NOTIFICATIONS_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="left behind")
    boto3.client("s3").put_object(Bucket=env["AUDIT_BUCKET"], Key="left-behind", Body=b"x")
    return str(queue)


def test_a_test_s_writes_never_reach_the_next_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for run in range(3):  # the first provisions and snapshots, the later ones restore
        with aws.provisioned_moto(monkeypatch, tmp_path / f"outbox-{run}") as env:
            dynamodb, sqs, s3 = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3")
            assert dynamodb.scan(TableName=env["LEADS_TABLE"])["Items"] == []
            queue = sqs.get_queue_url(QueueName=env["NOTIFICATIONS_QUEUE"])["QueueUrl"]
            assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []
            assert s3.list_objects_v2(Bucket=env["AUDIT_BUCKET"]).get("KeyCount") == 0
            assert env["LEADS_STREAM_ARN"].startswith("arn:aws:dynamodb:")
            _write_everywhere(env)


def test_a_restored_aws_still_fans_out_and_long_polls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SNS -> SQS subscriptions survive the copy, and SQS's long poll (a Condition around the
    queue's lock, rebuilt by the copy) still waits and wakes."""
    for run in range(2):
        with aws.provisioned_moto(monkeypatch, tmp_path / f"outbox-{run}") as env:
            sns, sqs = boto3.client("sns"), boto3.client("sqs")
            sns.publish(TopicArn=env["LEAD_EVENTS_TOPIC_ARN"], Message=json.dumps({"run": run}),
                        MessageAttributes={"type": {"DataType": "String", "StringValue": "lead.created"}})
            queue = sqs.get_queue_url(QueueName=env["NOTIFICATIONS_QUEUE"])["QueueUrl"]
            received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10)
            bodies = [message["Body"] for message in received.get("Messages", [])]
            assert any(str(run) in body for body in bodies), bodies
            assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []) == []
