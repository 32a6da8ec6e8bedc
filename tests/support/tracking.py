"""Shared helpers for the delivery-tracking tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from chalicelib.store import deliveries, ledger
from chalicelib.store.deliveries import DeliveryKey
from tests.support.aws import stream_records as all_stream_records


def new_id() -> str:
    return uuid.uuid4().hex


def new_message_id() -> str:
    return f"0100018f{uuid.uuid4().hex}-{uuid.uuid4()}-000000"


def record_sent(lead_id: str, kind: str, recipient: str, message_id: str) -> str:
    """A delivery the worker sent: claimed in the ledger, then marked sent with SES's message id."""
    key = DeliveryKey(lead_id, kind, recipient)
    claim = ledger.claim(key)
    assert claim.state == "claimed"
    assert ledger.mark_sent(key, claim.token, message_id)
    return key.delivery_id


def status_of(delivery_id: str) -> str:
    record = deliveries.get(delivery_id)
    assert record is not None
    return str(record["status"])


def is_suppressed(address: str) -> bool:
    from chalicelib.store import suppression

    return suppression.is_suppressed(address)


def audit_lines(bucket: str, client: Any = None) -> list[dict[str, Any]]:
    s3 = client or boto3.client("s3")
    lines: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
            lines.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return lines


def emf_metrics(output: str) -> list[str]:
    """The metric names of the EMF lines printed so far."""
    names: list[str] = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            names.extend(m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    return names


def address(local: str = "someone", domain: str = "example.com") -> str:
    """A fresh address, so a test sharing the tables sees only its own suppressions."""
    return f"{local}.{uuid.uuid4().hex[:10]}@{domain}"


def stream_records(env: dict[str, str], lead_id: str, client: Any = None) -> list[dict[str, Any]]:
    """The Leads stream records of one lead, in the shape Lambda hands a handler."""
    from ops.dlq.stream import lambda_record

    # In-process moto does not route botocore's account-based streams endpoint; name the classic one.
    streams = client or boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
    arn = env["LEADS_STREAM_ARN"]
    found = [
        r for r in all_stream_records(streams, arn) if r["dynamodb"].get("Keys", {}).get("id", {}).get("S") == lead_id
    ]
    return [lambda_record(r, arn, "us-east-1") for r in found]
