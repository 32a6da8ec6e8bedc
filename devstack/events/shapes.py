"""The events Lambda hands to functions, and the records it sends to
on-failure destinations, built from what the emulator's APIs return.

Shapes follow AWS's documented examples: DynamoDB Streams and SQS event
source mappings, SNS subscriptions, and invocation records.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

SNS_EVENT_VERSION = "1.0"
_SQS_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId",
)


def iso_now() -> str:
    return iso(dt.datetime.now(dt.UTC))


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_seconds(value: Any) -> int:
    """Streams report creation time in epoch seconds, rounded down."""
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return int(float(value))


def wire_attribute(value: Any) -> Any:
    """boto3 decodes binary attribute values; the Lambda event carries them base64."""
    if isinstance(value, dict):
        return {key: _wire_typed(key, inner) for key, inner in value.items()}
    return value


def _wire_typed(kind: str, inner: Any) -> Any:
    if kind == "B":
        return base64.b64encode(inner).decode() if isinstance(inner, (bytes, bytearray)) else inner
    if kind == "BS":
        return [base64.b64encode(b).decode() if isinstance(b, (bytes, bytearray)) else b for b in inner]
    if kind == "M":
        return {name: wire_attribute(v) for name, v in inner.items()}
    if kind == "L":
        return [wire_attribute(v) for v in inner]
    return inner


def _wire_image(image: dict[str, Any]) -> dict[str, Any]:
    return {name: wire_attribute(value) for name, value in image.items()}


def dynamodb_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    stream = record["dynamodb"]
    body: dict[str, Any] = {"ApproximateCreationDateTime": epoch_seconds(stream["ApproximateCreationDateTime"])}
    for key in ("Keys", "NewImage", "OldImage"):
        if key in stream:
            body[key] = _wire_image(stream[key])
    body.update(
        SequenceNumber=stream["SequenceNumber"], SizeBytes=stream["SizeBytes"], StreamViewType=stream["StreamViewType"]
    )
    shaped = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record["awsRegion"],
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions carry it
        shaped["userIdentity"] = record["userIdentity"]
    return shaped


def _sqs_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    shaped["stringListValues"] = list(value.get("StringListValues", []))
    shaped["binaryListValues"] = [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])]
    shaped["dataType"] = value["DataType"]
    return shaped


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    shaped: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {key: attributes[key] for key in _SQS_ATTRIBUTE_ORDER if key in attributes},
        "messageAttributes": {
            name: _sqs_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        shaped["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return shaped


def sns_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """One SNS notification as Lambda delivers it (an HTTP/SQS envelope, re-cased)."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": SNS_EVENT_VERSION,
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope["Timestamp"],
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", envelope.get("SigningCertUrl", "")),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", envelope.get("UnsubscribeUrl", "")),
            "MessageAttributes": envelope.get("MessageAttributes") or {},
        },
    }


def _request_context(function_arn: str, condition: str, invoke_count: int) -> dict[str, Any]:
    return {
        "requestId": str(uuid.uuid4()),
        "functionArn": function_arn,
        "condition": condition,
        "approximateInvokeCount": invoke_count,
    }


def _response_context(function_error: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        context["functionError"] = function_error
    return context


def stream_failure_record(
    *,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: str | None,
    shard_id: str,
    stream_arn: str,
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """What a stream mapping sends to its OnFailure destination: metadata, not the records."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": _request_context(function_arn, condition, invoke_count),
        "responseContext": _response_context(function_error),
        "version": "1.0",
        "timestamp": iso_now(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso_seconds(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso_seconds(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _iso_seconds(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def async_failure_record(
    *,
    function_arn: str,
    condition: str,
    invoke_count: int,
    event: dict[str, Any],
    error: dict[str, Any] | None,
) -> dict[str, Any]:
    """What an asynchronous invocation (SNS -> Lambda) sends to its on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": iso_now(),
        "requestContext": _request_context(function_arn, condition, invoke_count),
        "requestPayload": event,
        "responseContext": _response_context("Unhandled" if error else None),
        "responsePayload": error,
    }
