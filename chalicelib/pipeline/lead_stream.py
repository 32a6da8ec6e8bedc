"""Leads stream -> `lead.created` on the LeadEvents topic.

Only INSERTs matter (the event-source filter already drops the rest in
production; the check here keeps local and test runs honest). On a failure
the batch stops at that record and reports it: Lambda retries from there, so
per-lead order is kept and nothing after it is skipped.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import aws
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings
from chalicelib.core.states import MessageType
from chalicelib.pipeline.enrichment import enrich
from chalicelib.pipeline.signing import SIGNATURE_FIELD, signature
from chalicelib.store.items import from_item

# The lead fields that travel in the event (not index bookkeeping).
LEAD_FIELDS = ("id", "created_at", "name", "email", "phone", "message", "source", "metadata")


def lead_from_image(image: dict[str, Any]) -> dict[str, Any]:
    lead = from_item(image)
    return {name: lead[name] for name in LEAD_FIELDS if name in lead}


def lead_created_message(lead: dict[str, Any], enrichment: dict[str, Any]) -> dict[str, Any]:
    """The event, signed: the worker takes a lead.created only with this handler's signature."""
    return {
        "type": MessageType.LEAD_CREATED, "lead": lead, "enrichment": enrichment,
        SIGNATURE_FIELD: signature(lead, enrichment),
    }


def publish_lead_created(lead: dict[str, Any], enrichment: dict[str, Any]) -> str:
    response = aws.sns().publish(
        TopicArn=get_settings().lead_events_topic_arn,
        Message=json.dumps(lead_created_message(lead, enrichment)),
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": MessageType.LEAD_CREATED},
            "source": {"DataType": "String", "StringValue": str(lead.get("source", "website"))},
        },
    )
    return str(response["MessageId"])


def handle_insert(image: dict[str, Any]) -> None:
    lead = lead_from_image(image)
    publish_lead_created(lead, enrich(lead))


def handle_stream_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    for record in event:
        if record.event_name != "INSERT":
            continue
        try:
            handle_insert(record.new_image)
        except Exception:  # noqa: BLE001 - reported to Lambda as a partial batch failure
            get_logger().exception("lead stream: record %s failed", record.sequence_number)
            return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
    return {"batchItemFailures": []}
