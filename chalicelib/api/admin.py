"""The team's admin views: one lead with its notifications, the newest-first list, erasure.

Authentication happens before these run (the built-in authorizer, api/auth.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice.app import Response

from chalicelib.api.http import ApiError, Problem, json_response, validation_failed
from chalicelib.core import metrics
from chalicelib.core.states import DeliveryStatus, LeadStatus
from chalicelib.store import deliveries, idempotency, leads

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

# What a lead shows; the rest of the item is index bookkeeping.
LEAD_VIEW_FIELDS = (
    "id", "created_at", "status", "source", "name", "email", "phone", "message", "metadata", "erased_at",
)


def lead_view(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in LEAD_VIEW_FIELDS if name in item}


def notification_view(delivery: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": delivery.get("kind", ""),
        "recipient": delivery.get("recipient"),
        "status": DeliveryStatus(str(delivery.get("status", DeliveryStatus.QUEUED))).public,
        "message_id": delivery.get("message_id"),
        "updated_at": delivery.get("updated_at"),
    }


def _lead_or_404(lead_id: str) -> dict[str, Any]:
    item = leads.get_lead(lead_id)
    if item is None:
        raise ApiError(404, "not_found", "no lead with that id")
    return item


def get_lead(lead_id: str) -> Response:
    item = _lead_or_404(lead_id)
    sent = sorted(deliveries.list_for_lead(lead_id), key=lambda d: (d.get("created_at", ""), d.get("kind", "")))
    return json_response(200, {**lead_view(item), "notifications": [notification_view(d) for d in sent]})


def parse_limit(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # isascii(): str.isdigit() and int() also accept other scripts' digits ("٣").
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        return None
    return int(raw)


def list_leads(params: Mapping[str, str] | None) -> Response:
    params = params or {}
    limit = parse_limit(params.get("limit"))
    if limit is None:
        raise validation_failed([Problem("limit", f"an integer from 1 to {MAX_LIMIT}")])
    try:
        items, next_cursor = leads.list_newest(limit, params.get("cursor") or None)
    except leads.BadCursor:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API returned") from None
    return json_response(200, {"items": [lead_view(item) for item in items], "next_cursor": next_cursor})


def erase(lead_id: str) -> tuple[dict[str, Any], bool]:
    """Right to erasure: tombstone the lead, anonymise its deliveries, forget its idempotency keys.

    Returns the tombstone and whether this call erased it. Repeatable: a
    second call finds nothing left to remove. The audit entry comes from the
    Leads stream (the tombstone is a MODIFY).
    """
    item = _lead_or_404(lead_id)
    already = leads.is_tombstone(item)
    stone = item if already else leads.replace_with_tombstone(item)
    for delivery in deliveries.list_for_lead(lead_id):
        deliveries.anonymise(str(delivery["delivery_id"]))
    idempotency.forget_lead(lead_id)
    return stone, not already


def erase_lead(lead_id: str) -> Response:
    stone, newly = erase(lead_id)
    if newly:
        metrics.emit("LeadsErased", 1)
    return json_response(200, {"id": stone["id"], "status": LeadStatus.ERASED, "erased_at": stone["erased_at"]})
