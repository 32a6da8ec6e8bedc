"""The audit log: every change to a lead, appended to S3 as date-partitioned JSON lines.

Layout: `s3://<AUDIT_BUCKET>/leads/dt=YYYY-MM-DD/<kind>-<digest>.jsonl`, one
object per Lambda batch (S3 has no append; `dt=` partitions suit Athena).
Object keys are derived from what is being recorded (stream event ids, a
delivery and its new status), so a retried batch overwrites its own object
instead of adding a duplicate; every line carries an `event_id` as well.

Who writes what:
- Lead changes (created, updated, erased, deleted) come from a second
  consumer of the Leads stream (`on_lead_audit`), not from the API: the
  stream is the table's own change log, so every writer is covered (API,
  erasure, ops scripts), S3 latency and failures stay off the API path, and
  an audit outage cannot hold up notifications (a separate consumer with
  its own retries). It sees INSERT, MODIFY and REMOVE, unlike the
  notification consumer, whose filter passes INSERTs only.
- Delivery status changes (delivered, bounced, complained, failed) are
  written by the SES feedback handler, since the Deliveries table has no
  stream.

Personal data never reaches the log: entries are built from an allowlist of
fields, the address masked, other personal fields named but not copied.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from chalicelib import aws
from chalicelib.dynamo import from_item
from chalicelib.masking import mask_email
from chalicelib.settings import get_settings

PREFIX = "leads"
PERSONAL_LEAD_FIELDS = ("name", "email", "phone", "message", "metadata")
ERASED = "erased"


def object_key(kind: str, day: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"{PREFIX}/dt={day}/{kind}-{digest}.jsonl"


def write_entries(kind: str, day: str, identity: str, entries: list[dict[str, Any]]) -> str:
    bucket = get_settings().audit_bucket
    if not bucket:
        raise RuntimeError("AUDIT_BUCKET is not set; refusing to drop audit entries")
    key = object_key(kind, day, identity)
    body = "".join(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n" for entry in entries)
    aws.s3().put_object(
        Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson"
    )
    return key


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def lead_entry(event_name: str, event_id: str, at: datetime, keys: Any, image: Any) -> dict[str, Any]:
    """One audit line for one Leads stream record, with no personal data."""
    lead = from_item(image) if image else {}
    lead_id = lead.get("id") or from_item(keys or {}).get("id", "")
    entry: dict[str, Any] = {"at": _iso(at), "event_id": event_id, "lead_id": lead_id}
    if event_name == "REMOVE":
        return {**entry, "action": "deleted"}
    if lead.get("status") == ERASED:
        return {**entry, "action": "erased", "erased_at": lead.get("erased_at", "")}
    entry.update(
        {
            "action": "created" if event_name == "INSERT" else "updated",
            "status": lead.get("status", ""),
            "source": lead.get("source", ""),
            "email": mask_email(str(lead["email"])) if lead.get("email") else "",
            "fields": sorted(name for name in PERSONAL_LEAD_FIELDS if name in lead),
        }
    )
    return entry


def handle_stream_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    """The Leads stream -> one audit object per batch.

    A failed write raises, so the whole batch comes back: that works with or
    without ReportBatchItemFailures on the mapping, and the retried batch
    overwrites its own object.
    """
    records = list(event)
    if not records:
        return {"batchItemFailures": []}
    entries = [lead_entry(r.event_name, r.event_id, r.timestamp, r.keys, r.new_image) for r in records]
    identity = "|".join(r.event_id for r in records)
    write_entries("lead", entries[0]["at"][:10], identity, entries)
    return {"batchItemFailures": []}


def record_notification_status(
    delivery: dict[str, Any], status: str, event_type: str, at: str, recipient: str
) -> str:
    """Audit one delivery status change; the key makes a retried write idempotent."""
    delivery_id = str(delivery["delivery_id"])
    entry = {
        "at": at,
        "event_id": f"{delivery_id}:{status}",
        "action": "notification_status_changed",
        "lead_id": delivery.get("lead_id", ""),
        "kind": delivery.get("kind", ""),
        "delivery_id": delivery_id,
        "status": status,
        "feedback": event_type,
        "message_id": delivery.get("message_id", ""),
        "recipient": mask_email(recipient),
    }
    return write_entries("delivery", at[:10], entry["event_id"], [entry])
