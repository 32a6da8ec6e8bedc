"""The RateLimits table: submissions per client, and confirmations per recipient.

Submissions (the API): a sliding window per client network, approximated the
usual way from two fixed windows (the previous window's count, weighted by
how much of it still overlaps the last `window` seconds, plus the current
count), so a client cannot double its allowance at a window edge. Both
windows live in one record, so a submission costs one conditional
UpdateItem (two for the first of a new window, and for a refusal past the
weighted bound, which takes its count back); the counter never passes the
limit and a refused submission is not counted, so a client that keeps
hammering does not extend its own ban. A client is
its network: an IPv4 address, or an IPv6 /64 (one subscriber's prefix,
which it can fill with addresses at will).

Confirmations (the worker): the deliveries sent to one address in the last
hour, each with its time, so a redelivered job is counted once. Counted by
an Update inside the send claim's transaction (no request of its own); only
when its condition fails (the record is full, perhaps of older deliveries)
does a read and a conditional write judge exactly.

Keys are keyed digests (core/keys.py): the table holds no address, and a
key cannot be computed from a guessed one without the key.
"""

from __future__ import annotations

import math
from contextlib import suppress
from typing import Any

from chalicelib.core import aws, keys
from chalicelib.core.clock import now_epoch
from chalicelib.core.settings import get_settings

IPV6_CLIENT_PREFIX = 64
CONFIRMATION_WINDOW_SECONDS = 3600
_CONTENDED_WRITES = 5


class LimiterContended(RuntimeError):
    """Concurrent writers kept changing the record: try again later."""


def client_network(client_id: str) -> str:
    """What one client is: its IPv4 address, or the /64 of its IPv6 address."""
    import ipaddress  # here, not at module level: a few ms of every API cold start

    try:
        address = ipaddress.ip_address(client_id.strip())
    except ValueError:
        return client_id
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def client_bucket(client_id: str) -> str:
    return keys.keyed_digest(keys.KeyPurpose.RATE_LIMIT, client_network(client_id), 32)


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", 0))


def _retry_after(now: float, start: int, window: int, limit: int, previous: int, current: int) -> int:
    """Seconds until the weighted count leaves room for one more submission."""
    if current + 1 <= limit and previous:
        # Within this window, once enough of the previous one has slid out.
        moment = start + window * (1 - (limit - 1 - current) / previous)
    else:
        # In the next window, once enough of this one has.
        moment = start + window + window * max(0.0, 1 - (limit - 1) / max(current, 1))
    return max(1, math.ceil(moment - now))


def acquire(client_id: str) -> int | None:
    """Count one submission of a client (its network); None if allowed, else seconds to wait."""
    settings = get_settings()
    return _acquire(client_bucket(client_id), settings.rate_limit_max, settings.rate_limit_window_seconds)


def acquire_sender_key(key_id: str, limit: int, window: int) -> int | None:
    """Count one POST /notifications for a sender's API key (its own limit and window); None if
    allowed, else seconds to wait. The same sliding window as acquire(), in its own record."""
    return _acquire(f"sender-key#{key_id}", limit, window)


def _room(now: float, start: int, window: int, limit: int, previous: int) -> float:
    """The most the current window may hold before this submission: it is allowed while
    previous * overlap + current + 1 <= limit (6 decimals, so float noise decides nothing)."""
    return round(limit - 1 - previous * (1 - (now - start) / window), 6)


def _acquire(bucket: str, limit: int, window: int) -> int | None:
    """One record per client holds both windows: `win` (the current window's start), `hits`
    (its count) and `prev` (the window before's). A submission is one UpdateItem that counts
    it in the current window and answers the record; only the first submission of a new
    window makes a second, which rolls the record over (conditional on the window it read)."""
    client = aws.dynamodb()
    table = get_settings().rate_limit_table
    key = {"bucket": {"S": bucket}}
    for _ in range(_CONTENDED_WRITES):
        now = now_epoch()
        start = int(now // window) * window
        expires = {":exp": {"N": str(start + 2 * window)}}
        try:
            counted = client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="ADD hits :one SET win = :start, prev = if_not_exists(prev, :zero), "
                "expires_at = :exp",
                # hits < limit: the weighted bound is never above it, so this alone keeps the
                # counter from passing the limit; the weighted check follows on the answer.
                ConditionExpression="attribute_not_exists(win) OR (win = :start AND hits < :limit)",
                ExpressionAttributeValues={
                    ":one": {"N": "1"}, ":zero": {"N": "0"}, ":start": {"N": str(start)},
                    ":limit": {"N": str(limit)}, **expires,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except client.exceptions.ConditionalCheckFailedException as error:
            found = error.response.get("Item") or {}
        else:
            previous, current = _number(counted, "prev"), _number(counted, "hits") - 1
            if current <= _room(now, start, window, limit, previous):
                return None
            # Over the weighted bound: take the count back, so a client that keeps
            # hammering does not extend its own ban.
            # (Rolled over meanwhile: the count moved to `prev`, which only errs strict.)
            with suppress(client.exceptions.ConditionalCheckFailedException):
                client.update_item(
                    TableName=table, Key=key, UpdateExpression="ADD hits :minus",
                    ConditionExpression="win = :start",
                    ExpressionAttributeValues={":minus": {"N": "-1"}, ":start": {"N": str(start)}},
                )
            return _retry_after(now, start, window, limit, previous, current)
        was = _number(found, "win")
        if was == start:  # this window is full
            return _retry_after(now, start, window, limit, _number(found, "prev"), _number(found, "hits"))
        if was > start:  # another clock is a moment ahead: its window has begun, ours not yet
            return 1
        previous = _number(found, "hits") if was == start - window else 0
        if _room(now, start, window, limit, previous) < 0:
            return _retry_after(now, start, window, limit, previous, 0)
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET win = :start, prev = :prev, hits = :one, expires_at = :exp",
                ConditionExpression="win = :was",
                ExpressionAttributeValues={
                    ":start": {"N": str(start)}, ":prev": {"N": str(previous)}, ":one": {"N": "1"},
                    ":was": {"N": str(was)}, **expires,
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            continue  # another submission rolled it over first: count again on the new record
        return None
    raise LimiterContended("the rate limit record kept changing")


def _confirmation_bucket(recipient: str) -> str:
    return "confirm#" + keys.keyed_digest(keys.KeyPurpose.CONFIRMATION_LIMIT, recipient.strip().lower(), 32)


# A recipient's record: `ids` (the delivery ids in it, a string set, for its size), one
# `at#<delivery id>` time for each, and `version` (moved by every write). Records written
# before (one `sent` map) are judged by admit_confirmation(), which rewrites them.
def _sent_at(delivery_id: str) -> str:
    return "at#" + delivery_id


def confirmation_admission(recipient: str, delivery_id: str) -> dict[str, Any]:
    """The transaction Update that counts this delivery for `recipient`, for the send claim's own
    transaction (store/ledger.py): its condition holds when the delivery is counted already and
    recent, or when the record holds fewer deliveries than the limit. Those may include some
    older than the hour, so a failed condition is not yet a refusal: admit_confirmation()
    decides exactly. A redelivered job's time moves to now, which only ever errs strict."""
    settings = get_settings()
    now = now_epoch()
    return {
        "TableName": settings.rate_limit_table,
        "Key": {"bucket": {"S": _confirmation_bucket(recipient)}},
        "UpdateExpression": "SET #at = :now, expires_at = :exp ADD ids :ids, version :one",
        "ConditionExpression": (
            "attribute_not_exists(sent) AND (#at > :cutoff OR attribute_not_exists(ids) OR size(ids) < :limit)"
        ),
        "ExpressionAttributeNames": {"#at": _sent_at(delivery_id)},
        "ExpressionAttributeValues": {
            ":now": {"N": f"{now:.3f}"},
            ":cutoff": {"N": f"{now - CONFIRMATION_WINDOW_SECONDS:.3f}"},
            ":exp": {"N": str(int(now) + CONFIRMATION_WINDOW_SECONDS)},
            ":ids": {"SS": [delivery_id]},
            ":one": {"N": "1"},
            ":limit": {"N": str(settings.confirmations_per_hour)},
        },
    }


def _recorded(item: dict[str, Any]) -> dict[str, float]:
    """delivery id -> when it was counted, from either form of the record."""
    found = {name: float(value["N"]) for name, value in item.get("sent", {}).get("M", {}).items()}
    for delivery_id in item.get("ids", {}).get("SS", []):
        if _sent_at(delivery_id) in item:
            found[delivery_id] = float(item[_sent_at(delivery_id)]["N"])
    return found


def admit_confirmation(recipient: str, delivery_id: str) -> bool:
    """Whether this delivery may go to `recipient` under its hourly limit; the same
    delivery asked again gets the same answer while it is in the window. The exact
    judgement (a read, then a conditional write that drops what left the hour), for
    when confirmation_admission()'s condition failed."""
    settings = get_settings()
    limit, table = settings.confirmations_per_hour, settings.rate_limit_table
    client = aws.dynamodb()
    key = {"bucket": {"S": _confirmation_bucket(recipient)}}
    for _ in range(_CONTENDED_WRITES):
        item = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
        now = now_epoch()
        recent = {
            name: at for name, at in _recorded(item).items() if at > now - CONFIRMATION_WINDOW_SECONDS
        }
        if delivery_id in recent:
            return True
        if len(recent) >= limit:
            return False
        version = int(item.get("version", {}).get("N", 0))
        recent[delivery_id] = now
        try:
            client.put_item(
                TableName=table,
                Item={
                    **key,
                    "ids": {"SS": sorted(recent)},
                    **{_sent_at(name): {"N": f"{at:.3f}"} for name, at in recent.items()},
                    "version": {"N": str(version + 1)},
                    "expires_at": {"N": str(int(now) + CONFIRMATION_WINDOW_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(version) OR version = :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            continue  # another worker wrote meanwhile: read again
        return True
    raise LimiterContended("the recipient limit record kept changing")
