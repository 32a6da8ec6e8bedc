"""The Leads table: storing a lead (with its idempotency record, atomically),
reading one, listing them newest first with an opaque cursor, the contact
history of an address, and the tombstone erasure leaves."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.core import aws
from chalicelib.core.clock import iso_utc
from chalicelib.core.settings import get_settings
from chalicelib.core.states import LeadStatus
from chalicelib.store import cursors, idempotency
from chalicelib.store.items import from_item, to_item

if TYPE_CHECKING:
    from chalicelib.store.repeats import RepeatGuard

# Constant partition of the by_created index, which lists leads newest first.
LISTING_PARTITION = "lead"
MAX_CURSOR_CHARS = 256

# Lead ids are uuid4().hex (new_lead_item); anything else cannot exist.
LEAD_ID = re.compile(r"^[0-9a-f]{32}$")

# What an erased lead keeps: nothing that identifies the person.
TOMBSTONE_FIELDS = ("id", "created_at", "listing", "source")


def _table() -> str:
    return get_settings().leads_table


def new_lead_item(lead: dict[str, Any]) -> dict[str, Any]:
    return {
        **lead,
        "id": uuid.uuid4().hex,
        "created_at": iso_utc(),
        "listing": LISTING_PARTITION,
        "status": LeadStatus.RECEIVED,
    }


def store_lead(lead: dict[str, Any], key: str | None, fingerprint: str, repeat: RepeatGuard | None = None) -> str:
    """Put the lead and return its id; with an idempotency key (its record scoped to the
    lead's email) or a form's repeat guard (store/repeats.py), put its record in the same
    transaction, and answer a
    concurrent twin's id instead."""
    item = new_lead_item(lead)
    client = aws.dynamodb()
    put_lead = {"TableName": _table(), "Item": to_item(item), "ConditionExpression": "attribute_not_exists(id)"}
    claims = [idempotency.claim_request(key, lead["email"], fingerprint, item["id"])] if key else []
    if repeat is not None:
        claims.append(repeat.claim(item["id"]))
    if not claims:
        client.put_item(**put_lead)
        return str(item["id"])
    try:
        client.transact_write_items(TransactItems=[{"Put": put_lead}, *({"Put": claim} for claim in claims)])
    except client.exceptions.TransactionCanceledException:
        # A concurrent request with the same key (or the same form body) won the race: answer as it did.
        replay = idempotency.find_replay(key, lead["email"], fingerprint) or (
            repeat.replay() if repeat is not None else None
        )
        if replay is None:
            raise
        return replay
    return str(item["id"])


def get_lead(lead_id: str) -> dict[str, Any] | None:
    if not LEAD_ID.match(lead_id):
        return None
    found = aws.dynamodb().get_item(TableName=_table(), Key={"id": {"S": lead_id}}, ConsistentRead=True).get("Item")
    return from_item(found) if found else None


# --- Listing -------------------------------------------------------------------


def _encode_cursor(last_key: dict[str, Any]) -> str:
    plain = from_item(last_key)
    return cursors.encode({"c": str(plain["created_at"]), "i": str(plain["id"])})


def _decode_cursor(cursor: str, partition: tuple[str, str]) -> dict[str, Any]:
    """The ExclusiveStartKey an opaque cursor stands for; cursors.BadCursor if it is not ours.
    `partition`: the index's partition key and value (the listing, an address, a source),
    which the request names again, so the cursor never carries an address."""
    data = cursors.decode(cursor, {"c": cursors.ISO_UTC.match, "i": LEAD_ID.match}, MAX_CURSOR_CHARS)
    name, value = partition
    return to_item({"id": data["i"], "created_at": data["c"], name: value})


def _listing_index(email: str | None, source: str | None) -> tuple[str, tuple[str, str]]:
    """The index a listing reads (never a scan): by address, by source, or all leads."""
    if email:
        return "by_email", ("email", email)
    if source:
        return "by_source", ("source", source)
    return "by_created", ("listing", LISTING_PARTITION)


def list_newest(
    limit: int,
    cursor: str | None = None,
    *,
    email: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    fields: tuple[str, ...] = (),
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of leads, newest first, and the cursor of the next page (None: no more).
    `fields`: read only these (a list view needs no message).

    `email` (exact) reads the by_email index, `source` the by_source index (with
    both, the source filters the address's leads); `since`/`until` bound
    created_at (both included)."""
    index, partition = _listing_index(email, source)
    condition = f"{partition[0]} = :p"
    values: dict[str, Any] = {":p": {"S": partition[1]}}
    if since and until:
        condition += " AND created_at BETWEEN :since AND :until"
        values |= {":since": {"S": since}, ":until": {"S": until}}
    elif since:
        condition += " AND created_at >= :since"
        values[":since"] = {"S": since}
    elif until:
        condition += " AND created_at <= :until"
        values[":until"] = {"S": until}
    query: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": limit,
    }
    names: dict[str, str] = {}
    if email and source:
        query["FilterExpression"] = "#src = :src"
        names["#src"] = "source"
        values[":src"] = {"S": source}
    if fields:
        names |= {f"#p{i}": name for i, name in enumerate(fields)}
        query["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(fields)))
    if names:
        query["ExpressionAttributeNames"] = names
    if cursor:
        query["ExclusiveStartKey"] = _decode_cursor(cursor, partition)
    page = aws.dynamodb().query(**query)
    last = page.get("LastEvaluatedKey")
    return [from_item(item) for item in page.get("Items", [])], (_encode_cursor(last) if last else None)


def all_by_email(email: str) -> list[dict[str, Any]]:
    """Every lead from one address (erasure by address), through the by_email index."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = list_newest(100, cursor, email=email)
        found.extend(page)
        if cursor is None:
            return found


def get_many(lead_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The leads with these ids that exist, by id (BatchGetItem, 100 keys a request)."""
    client = aws.dynamodb()
    wanted = sorted({lead_id for lead_id in lead_ids if LEAD_ID.match(lead_id)})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 100):
        keys: list[dict[str, Any]] = [{"id": {"S": lead_id}} for lead_id in wanted[start : start + 100]]
        request: dict[str, Any] = {_table(): {"Keys": keys, "ConsistentRead": True}}
        for _ in range(5):  # unprocessed keys come back under throttling: ask again
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(_table(), []):
                lead = from_item(item)
                found[str(lead["id"])] = lead
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("the Leads table kept leaving keys unprocessed")
    return found


def earlier_by_email(email: str, before: str, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Leads from the same address created before `before`, newest first, and whether
    there are more. Enrichment's question, so it goes through its budgeted client."""
    found = aws.enrichment_dynamodb().query(
        TableName=_table(),
        IndexName="by_email",
        KeyConditionExpression="email = :e AND created_at < :c",
        ExpressionAttributeValues={":e": {"S": email}, ":c": {"S": before}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [from_item(item) for item in found.get("Items", [])], "LastEvaluatedKey" in found


# --- Erasure -------------------------------------------------------------------


def tombstone(item: dict[str, Any]) -> dict[str, Any]:
    kept = {name: item[name] for name in TOMBSTONE_FIELDS if name in item}
    return {**kept, "status": LeadStatus.ERASED, "erased_at": item.get("erased_at") or iso_utc()}


def is_tombstone(item: dict[str, Any]) -> bool:
    """Erased, with nothing personal left (a repeated erasure has nothing to do)."""
    return item.get("status") == LeadStatus.ERASED and all(
        name in (*TOMBSTONE_FIELDS, "status", "erased_at") for name in item
    )


def replace_with_tombstone(item: dict[str, Any]) -> dict[str, Any]:
    """A put, not an update: the tombstone holds exactly the kept fields, whatever the lead had."""
    stone = tombstone(item)
    aws.dynamodb().put_item(TableName=_table(), Item=to_item(stone), ConditionExpression="attribute_exists(id)")
    return stone
