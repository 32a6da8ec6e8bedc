"""The team's admin views of leads: one lead with its notifications and their history,
the newest-first list (searched by address, filtered by source or delivery status),
erasure of a lead and of everything from one address.

Authentication happens before these run (the built-in authorizer, api/auth.py).
Every list goes through an index; nothing here scans a table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice.app import Response

from chalicelib.api.http import ApiError, Problem, json_response, validation_failed
from chalicelib.core import metrics
from chalicelib.core.clock import iso_utc
from chalicelib.core.rules import is_valid_email, normalise_email
from chalicelib.core.states import DeliveryStatus, LeadKind, LeadStatus
from chalicelib.store import cursors, deliveries, idempotency, leads
from chalicelib.store.deliveries import DeliveryKey

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Per-lead notification look-ups of one page run side by side (boto3 clients are thread-safe).
LOOKUP_THREADS = 8

# What a lead shows; the rest of the item is index bookkeeping.
LEAD_VIEW_FIELDS = (
    "id", "created_at", "status", "source", "name", "email", "phone", "message", "metadata", "erased_at",
)
SOURCE = re.compile(r"^[a-z0-9_-]{1,64}$")
# The statuses a list can be filtered by: what the API shows.
PUBLIC_STATUSES = tuple(s for s in DeliveryStatus if s is not DeliveryStatus.SENDING)


def lead_view(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in LEAD_VIEW_FIELDS if name in item}


def notification_view(delivery: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": delivery.get("kind", ""),
        "recipient": delivery.get("recipient"),
        "status": DeliveryStatus(str(delivery.get("status", DeliveryStatus.QUEUED))).public,
        "message_id": delivery.get("message_id"),
        "updated_at": delivery.get("updated_at"),
        "history": deliveries.history_of(delivery),
    }


def _sorted_deliveries(lead_id: str) -> list[dict[str, Any]]:
    return sorted(deliveries.list_for_lead(lead_id), key=lambda d: (d.get("created_at", ""), d.get("kind", "")))


def _lead_or_404(lead_id: str) -> dict[str, Any]:
    item = leads.get_lead(lead_id)
    if item is None:
        raise ApiError(404, "not_found", "no lead with that id")
    return item


def enrichment_of(item: dict[str, Any]) -> dict[str, Any]:
    """What enrichment finds for the lead now (contact history, the related record)."""
    if leads.is_tombstone(item) or not item.get("email"):
        return {}
    from chalicelib.pipeline import enrichment

    return enrichment.enrich(item)


def get_lead(lead_id: str) -> Response:
    item = _lead_or_404(lead_id)
    sent = _sorted_deliveries(lead_id)
    body = {
        **lead_view(item),
        "enrichment": enrichment_of(item),
        "notifications": [notification_view(d) for d in sent],
    }
    return json_response(200, body)


# --- Listing -----------------------------------------------------------------------


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int | None:
    if raw is None or raw == "":
        return default
    # isascii(): str.isdigit() and int() also accept other scripts' digits ("٣").
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        return None
    return int(raw)


class ListQuery:
    """A validated GET /leads (or CSV export) query."""

    __slots__ = ("cursor", "email", "limit", "since", "source", "status", "until")

    def __init__(self, params: Mapping[str, str] | None, default_limit: int = DEFAULT_LIMIT) -> None:
        params = params or {}
        problems: list[Problem] = []
        limit = parse_limit(params.get("limit"), default_limit)
        if limit is None:
            problems.append(Problem("limit", f"an integer from 1 to {MAX_LIMIT}"))
        self.limit = limit or default_limit
        self.cursor = params.get("cursor") or None
        email = (params.get("email") or "").strip()
        if email and not is_valid_email(email):
            problems.append(Problem("email", "a whole email address (the search is exact)"))
        self.email = normalise_email(email) if email and is_valid_email(email) else None
        self.source = params.get("source") or None
        if self.source is not None and not SOURCE.match(self.source):
            problems.append(Problem("source", "1-64 characters of a-z, 0-9, _ and -"))
        status = params.get("status") or None
        if status is not None and status not in PUBLIC_STATUSES:
            problems.append(Problem("status", "one of " + ", ".join(PUBLIC_STATUSES)))
        self.status = DeliveryStatus(status) if status in PUBLIC_STATUSES else None
        self.since = params.get("since") or None
        self.until = params.get("until") or None
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not cursors.ISO_UTC.match(value):
                problems.append(Problem(name, "a UTC time such as 2030-01-31T00:00:00.000Z"))
        if self.status and (self.email or self.since or self.until):
            problems.append(Problem("status", "combines with source only"))
        if problems:
            raise validation_failed(problems)


def _bad_cursor() -> ApiError:
    return ApiError(400, "invalid_cursor", "the cursor is not one this API returned")


def _leads_with_status(query: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """Leads with a notification in `status`, most recent change first (the by_status index)."""
    assert query.status is not None
    try:
        rows, next_cursor = deliveries.page_by_status(query.status, query.limit, query.cursor)
    except cursors.BadCursor:
        raise _bad_cursor() from None
    order: list[str] = []
    for row in rows:
        lead_id = str(row.get("lead_id", ""))
        if leads.LEAD_ID.match(lead_id) and lead_id not in order:  # requests from other systems have no lead
            order.append(lead_id)
    found = leads.get_many(order)
    items = [found[lead_id] for lead_id in order if lead_id in found]
    if query.source:
        items = [item for item in items if item.get("source") == query.source]
    return items, next_cursor


# What a row of the list shows (the detail and the CSV read every field).
LIST_FIELDS = ("id", "created_at", "status", "source", "name", "email", "erased_at")


def page_of_leads(query: ListQuery, fields: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], str | None]:
    if query.status is not None:
        items, cursor = _leads_with_status(query)
        return ([{k: v for k, v in item.items() if k in fields} for item in items] if fields else items), cursor
    try:
        return leads.list_newest(
            query.limit, query.cursor, email=query.email, source=query.source, since=query.since, until=query.until,
            fields=fields,
        )
    except cursors.BadCursor:
        raise _bad_cursor() from None


def _expected_keys(item: dict[str, Any]) -> list[DeliveryKey]:
    """The emails a lead.created for this lead makes (pipeline/jobs.py), by their ledger keys."""
    from chalicelib.pipeline.jobs import team_recipients

    if leads.is_tombstone(item) or not item.get("email"):
        return []
    lead_id = str(item["id"])
    keys = [DeliveryKey(lead_id, LeadKind.TEAM_ALERT, a) for a in team_recipients(str(item.get("source", "website")))]
    return [*keys, DeliveryKey(lead_id, LeadKind.CUSTOMER_CONFIRMATION, str(item["email"]))]


def notification_summaries(items: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Each lead's notifications as {kind, status}: one BatchGetItem for the page, by the keys
    the pipeline uses; a lead none of whose rows are found that way (routing changed since,
    say) is looked up through the by_lead index instead."""
    expected = {str(item["id"]): _expected_keys(item) for item in items}
    rows = deliveries.get_many([key.delivery_id for keys in expected.values() for key in keys])

    def summary(found: list[dict[str, Any]]) -> list[dict[str, str]]:
        ordered = sorted(found, key=lambda d: (d.get("created_at", ""), d.get("kind", "")))
        return [
            {"kind": str(d.get("kind", "")), "status": DeliveryStatus(str(d.get("status", "queued"))).public}
            for d in ordered
        ]

    result: dict[str, list[dict[str, str]]] = {}
    missing: list[str] = []
    for lead_id, keys in expected.items():
        found = [rows[key.delivery_id] for key in keys if key.delivery_id in rows]
        if found:
            result[lead_id] = summary(found)
        else:
            missing.append(lead_id)
    if missing:
        with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(missing))) as pool:
            result.update(zip(missing, pool.map(lambda i: summary(deliveries.list_for_lead(i)), missing), strict=True))
    return result


def list_leads(params: Mapping[str, str] | None) -> Response:
    params = params or {}
    if params.get("format"):
        if params["format"] != "csv":
            raise validation_failed([Problem("format", "csv, or leave it out for JSON")])
        from chalicelib.api import admin_export

        return admin_export.leads_csv(params)
    query = ListQuery(params)
    items, next_cursor = page_of_leads(query, LIST_FIELDS)
    summaries = notification_summaries(items)
    body = {
        "items": [{**lead_view(item), "notifications": summaries.get(str(item["id"]), [])} for item in items],
        "next_cursor": next_cursor,
    }
    return json_response(200, body)


# --- Erasure -------------------------------------------------------------------------


def erase(lead_id: str) -> tuple[dict[str, Any], bool]:
    """Right to erasure in the tables: tombstone the lead, anonymise its deliveries, forget its
    idempotency keys. (DELETE /leads/{id} also clears the dead-letter queues: erase_lead.)

    Returns the tombstone and whether this call erased it. Repeatable: a
    second call finds nothing left to remove. The audit entry comes from the
    Leads stream (the tombstone is a MODIFY).
    """
    stone, newly, _ = _erase(_lead_or_404(lead_id))
    return stone, newly


def _erase(item: dict[str, Any]) -> tuple[dict[str, Any], bool, list[dict[str, Any]]]:
    """erase(), also answering the lead's delivery rows as they were (for the DLQ scrub)."""
    lead_id = str(item["id"])
    already = leads.is_tombstone(item)
    stone = item if already else leads.replace_with_tombstone(item)
    rows = deliveries.list_for_lead(lead_id)
    for delivery in rows:
        deliveries.anonymise(str(delivery["delivery_id"]))
    idempotency.forget_lead(lead_id)
    return stone, not already, rows


def scrub_dead_letters(items: list[dict[str, Any]], rows: list[dict[str, Any]], address: str = "") -> int:
    """Delete the person's messages from the DLQs (whole lead.created messages, SES feedback
    with their address); the recipients and message ids are read before anonymising."""
    from chalicelib.pipeline import dead_letters

    addresses = {str(i["email"]).strip().lower() for i in items if i.get("email")}
    addresses |= {str(r["recipient"]).strip().lower() for r in rows if r.get("recipient")}
    if address:
        addresses.add(address.strip().lower())
    person = dead_letters.Person(
        lead_ids=frozenset(str(i["id"]) for i in items),
        addresses=frozenset(addresses),
        message_ids=frozenset(str(r["message_id"]) for r in rows if r.get("message_id")),
    )
    return dead_letters.scrub(person)


def erase_lead(lead_id: str) -> Response:
    """DELETE /leads/{id}: erase() and delete the lead's copies from the DLQs (a message
    that reaches a DLQ later is dropped, never replayed, by any redrive)."""
    item = _lead_or_404(lead_id)
    stone, newly, rows = _erase(item)
    removed = scrub_dead_letters([item], rows) if newly else 0
    if newly:
        metrics.emit("LeadsErased", 1)
    body = {"id": stone["id"], "status": LeadStatus.ERASED, "erased_at": stone["erased_at"],
            "dead_letters_removed": removed}
    return json_response(200, body)


def erase_by_email(body: Any) -> Response:
    """POST /erasures {"email": ...}: every lead of that address and every email sent to it.

    The address travels in the body, never in a URL (which logs and browser
    history keep). The audit log gets one entry with counts and lead ids only.
    """
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not is_valid_email(email.strip()):
        raise validation_failed([Problem("email", "the email address whose data to erase")])
    address = normalise_email(email)
    found = leads.all_by_email(address)
    lead_rows = [row for item in found for row in deliveries.list_for_lead(str(item["id"]))]
    direct = deliveries.list_for_recipient(address)
    if address.lower() != address:
        direct += deliveries.list_for_recipient(address.lower())
    originals = [item for item in found if not leads.is_tombstone(item)]
    erased = [str(item["id"]) for item in originals]
    for item in originals:
        leads.replace_with_tombstone(item)
    anonymised = 0
    for row in {str(r["delivery_id"]): r for r in lead_rows + direct}.values():
        if row.get("recipient") and deliveries.anonymise(str(row["delivery_id"])):
            anonymised += 1
    for item in found:
        idempotency.forget_lead(str(item["id"]))
    removed = scrub_dead_letters(originals, lead_rows + direct, address)
    if erased:
        metrics.emit("LeadsErased", len(erased))
    from chalicelib.pipeline import audit

    audit.record_admin_action(
        audit.AuditAction.ERASED_BY_ADDRESS,
        str(uuid.uuid4()),
        {"lead_ids": sorted(str(item["id"]) for item in found), "leads_erased": len(erased),
         "deliveries_anonymised": anonymised, "dead_letters_removed": removed},
    )
    return json_response(
        200,
        {
            "status": LeadStatus.ERASED,
            "erased_at": iso_utc(),
            "leads": sorted(str(item["id"]) for item in found),
            "leads_erased": len(erased),
            "deliveries_anonymised": anonymised,
            "dead_letters_removed": removed,
        },
    )
