"""The RateLimits table: submissions per client, and confirmations per recipient.

Submissions (the API): a sliding window per client network, approximated the
usual way from two fixed windows (the previous window's count, weighted by
how much of it still overlaps the last `window` seconds, plus the current
count), so a client cannot double its allowance at a window edge. One
GetItem and one conditional UpdateItem; the counter never passes the limit,
so a client that keeps hammering does not extend its own ban. A client is
its network: an IPv4 address, or an IPv6 /64 (one subscriber's prefix,
which it can fill with addresses at will).

Confirmations (the worker): the deliveries sent to one address in the last
hour, as a small map of delivery id -> time, so a redelivered job is
counted once.

Keys are keyed digests (core/keys.py): the table holds no address, and a
key cannot be computed from a guessed one without the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


def client_bucket(client_id: str, window_start: int) -> str:
    return f"{keys.keyed_digest(keys.KeyPurpose.RATE_LIMIT, client_network(client_id), 32)}#{window_start}"


def _hits(item: dict[str, Any] | None) -> int:
    return int((item or {}).get("hits", {}).get("N", 0))


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
    return _acquire(lambda start: client_bucket(client_id, start), settings.rate_limit_max,
                    settings.rate_limit_window_seconds)


def acquire_sender_key(key_id: str, limit: int, window: int) -> int | None:
    """Count one POST /notifications for a sender's API key (its own limit and window); None if
    allowed, else seconds to wait. The same sliding window as acquire(), in its own buckets."""
    return _acquire(lambda start: f"sender-key#{key_id}#{start}", limit, window)


def _acquire(bucket: Callable[[int], str], limit: int, window: int) -> int | None:
    now = now_epoch()
    start = int(now // window) * window
    client = aws.dynamodb()
    table = get_settings().rate_limit_table
    previous = _hits(client.get_item(TableName=table, Key={"bucket": {"S": bucket(start - window)}}).get("Item"))
    # The submission is allowed while previous * overlap + current + 1 <= limit.
    bound = limit - 1 - previous * (1 - (now - start) / window)
    key = {"bucket": {"S": bucket(start)}}
    if bound >= 0:
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="ADD hits :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(hits) OR hits <= :bound",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":bound": {"N": f"{bound:.6f}"},
                    ":exp": {"N": str(start + 2 * window)},
                },
            )
            return None
        except client.exceptions.ConditionalCheckFailedException:
            pass
    current = _hits(client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))
    return _retry_after(now, start, window, limit, previous, current)


def _confirmation_bucket(recipient: str) -> str:
    return "confirm#" + keys.keyed_digest(keys.KeyPurpose.CONFIRMATION_LIMIT, recipient.strip().lower(), 32)


def admit_confirmation(recipient: str, delivery_id: str) -> bool:
    """Whether this delivery may go to `recipient` under its hourly limit; the same
    delivery asked again gets the same answer while it is in the window."""
    settings = get_settings()
    limit, table = settings.confirmations_per_hour, settings.rate_limit_table
    client = aws.dynamodb()
    key = {"bucket": {"S": _confirmation_bucket(recipient)}}
    for _ in range(_CONTENDED_WRITES):
        item = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
        now = now_epoch()
        recent = {
            name: float(value["N"]) for name, value in item.get("sent", {}).get("M", {}).items()
            if float(value["N"]) > now - CONFIRMATION_WINDOW_SECONDS
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
                    "sent": {"M": {name: {"N": f"{at:.3f}"} for name, at in recent.items()}},
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
