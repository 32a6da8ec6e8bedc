"""The RateLimits table: a fixed-window submission counter per client.

One conditional UpdateItem per submission; the counter never passes the
limit, so a client that keeps hammering does not extend its own ban.
"""

from __future__ import annotations

from chalicelib.core import aws
from chalicelib.core.clock import now_epoch
from chalicelib.core.digest import digest
from chalicelib.core.settings import get_settings


def client_bucket(client_id: str, window_start: int) -> str:
    # Hash the IP: the table holds no personal data.
    return f"{digest(client_id, 32)}#{window_start}"


def acquire(client_id: str) -> int | None:
    """Count one submission; return None if allowed, else seconds to wait."""
    settings = get_settings()
    window = settings.rate_limit_window_seconds
    now = now_epoch()
    window_start = int(now // window) * window
    retry_after = max(1, int(window_start + window - now + 0.999))
    client = aws.dynamodb()
    try:
        client.update_item(
            TableName=settings.rate_limit_table,
            Key={"bucket": {"S": client_bucket(client_id, window_start)}},
            UpdateExpression="ADD hits :one SET expires_at = :exp",
            ConditionExpression="attribute_not_exists(hits) OR hits < :max",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":max": {"N": str(settings.rate_limit_max)},
                ":exp": {"N": str(window_start + 2 * window)},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return retry_after
    return None


def acquire_sender_key(key_id: str, limit: int, window: int) -> int | None:
    """Count one POST /notifications for a sender's API key (its own limit and window); None if
    allowed, else seconds to wait. The same fixed-window counter as acquire(), in its own buckets."""
    now = now_epoch()
    window_start = int(now // window) * window
    retry_after = max(1, int(window_start + window - now + 0.999))
    client = aws.dynamodb()
    try:
        client.update_item(
            TableName=get_settings().rate_limit_table,
            Key={"bucket": {"S": f"sender-key#{key_id}#{window_start}"}},
            UpdateExpression="ADD hits :one SET expires_at = :exp",
            ConditionExpression="attribute_not_exists(hits) OR hits < :max",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":max": {"N": str(limit)},
                ":exp": {"N": str(window_start + 2 * window)},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return retry_after
    return None
