"""Driving the pipeline in-process: stream record -> SNS -> SQS -> worker -> SES."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.app import DynamoDBEvent, SQSEvent

VALID_LEAD = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "Hello there"}


def post_lead(api_client: Any, body: dict[str, Any] | None = None) -> str:
    response = api_client.http.post(
        "/leads", headers={"Content-Type": "application/json"}, body=json.dumps(body or VALID_LEAD)
    )
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def lead_image(env: dict[str, str], lead_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=env["LEADS_TABLE"], Key={"id": {"S": lead_id}})
    return item["Item"]


def stream_event(images: list[dict[str, Any]], event_name: str = "INSERT") -> DynamoDBEvent:
    records = [
        {
            "eventID": str(i),
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
            "dynamodb": {
                "Keys": {"id": image["id"]},
                "NewImage": image,
                "SequenceNumber": f"{100 + i}",
                "SizeBytes": 100,
                "StreamViewType": "NEW_IMAGE",
                "ApproximateCreationDateTime": 1700000000,
            },
        }
        for i, image in enumerate(images)
    ]
    return DynamoDBEvent({"Records": records}, None)


def queue_url(name: str) -> str:
    return boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def receive_all(queue: str, max_rounds: int = 10) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = queue_url(queue)
    messages: list[dict[str, Any]] = []
    for _ in range(max_rounds):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    return messages


def sqs_event(messages: list[dict[str, Any]]) -> SQSEvent:
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {"ApproximateReceiveCount": "1"}),
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        }
        for m in messages
    ]
    return SQSEvent({"Records": records}, None)


def sent_emails(env: dict[str, str]) -> list[dict[str, Any]]:
    """What moto's SES backend accepted (in-process only)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return list(backend.sent_messages)


def deliveries(env: dict[str, str]) -> list[dict[str, Any]]:
    from chalicelib.store.items import from_item

    items = boto3.client("dynamodb").scan(TableName=env["DELIVERIES_TABLE"])["Items"]
    return [from_item(i) for i in items]
