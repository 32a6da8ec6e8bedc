"""The audit log: every change to a lead and every delivery status change, as
JSON lines in the audit bucket (store/audit_log.py; one object per batch,
keyed by what it records, so a retried batch overwrites its own object).
Every line carries an `event_id` as well.

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

from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.core.clock import iso_utc
from chalicelib.core.masking import mask_email
from chalicelib.core.states import LeadStatus
from chalicelib.store.audit_log import write_entries
from chalicelib.store.items import from_item

PERSONAL_LEAD_FIELDS = ("name", "email", "phone", "message", "metadata")


class AuditAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    ERASED = "erased"
    DELETED = "deleted"
    NOTIFICATION_STATUS_CHANGED = "notification_status_changed"
    # An operator's actions through the admin API or `make dlq`.
    ERASED_BY_ADDRESS = "erased_by_address"
    SUPPRESSION_REMOVED = "suppression_removed"
    DEAD_LETTERS_REDRIVEN = "dead_letters_redriven"
    DEAD_LETTERS_PURGED = "dead_letters_purged"


def lead_entry(event_name: str, event_id: str, at: datetime, keys: Any, image: Any) -> dict[str, Any]:
    """One audit line for one Leads stream record, with no personal data."""
    lead = from_item(image) if image else {}
    lead_id = lead.get("id") or from_item(keys or {}).get("id", "")
    entry: dict[str, Any] = {"at": iso_utc(at), "event_id": event_id, "lead_id": lead_id}
    if event_name == "REMOVE":
        return {**entry, "action": AuditAction.DELETED}
    if lead.get("status") == LeadStatus.ERASED:
        return {**entry, "action": AuditAction.ERASED, "erased_at": lead.get("erased_at", "")}
    entry.update(
        {
            "action": AuditAction.CREATED if event_name == "INSERT" else AuditAction.UPDATED,
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
        "action": AuditAction.NOTIFICATION_STATUS_CHANGED,
        "lead_id": delivery.get("lead_id", ""),
        "kind": delivery.get("kind", ""),
        "delivery_id": delivery_id,
        "status": status,
        "feedback": event_type,
        "message_id": delivery.get("message_id", ""),
        "recipient": mask_email(recipient),
    }
    return write_entries("delivery", at[:10], entry["event_id"], [entry])


def record_admin_action(action: AuditAction, event_id: str, details: dict[str, Any]) -> str:
    """Audit one operator action. `details` must hold no personal data (mask addresses)."""
    at = iso_utc()
    entry = {"at": at, "event_id": event_id, "action": action, **details}
    return write_entries("admin", at[:10], event_id, [entry])
