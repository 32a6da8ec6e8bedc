"""POST /leads: from raw request to stored lead or a documented error."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice import Response

from chalicelib import leads, ratelimit
from chalicelib.responses import error_response, json_response
from chalicelib.validation import (
    MAX_BODY_BYTES,
    MAX_IDEMPOTENCY_KEY,
    is_honeypot_hit,
    validate_lead,
)


class Rejection(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def created(lead_id: str) -> Response:
    return json_response(
        201, {"id": lead_id, "status": "received"}, {"Location": f"/leads/{lead_id}"}
    )


def _is_json_content_type(value: str | None) -> bool:
    if not value:
        return False
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _reject_non_json_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; RFC 8259 JSON does not.
    raise ValueError(f"{name} is not JSON")


def parse_body(headers: Any, raw_body: bytes) -> Any:
    if not _is_json_content_type(headers.get("content-type")):
        raise Rejection(error_response(415, "unsupported_media_type", "send application/json"))
    if len(raw_body) > MAX_BODY_BYTES:
        raise Rejection(error_response(413, "payload_too_large", f"at most {MAX_BODY_BYTES} bytes"))
    try:
        return json.loads(raw_body.decode("utf-8"), parse_constant=_reject_non_json_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Rejection(error_response(400, "malformed_json", "the body is not valid UTF-8 JSON")) from None


def idempotency_key(headers: Any) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise Rejection(
            error_response(
                400,
                "validation_failed",
                details=[{"field": "Idempotency-Key", "message": "must be 1-128 characters"}],
            )
        )
    return key


def create_lead(headers: Any, raw_body: bytes, client_id: str) -> Response:
    try:
        body = parse_body(headers, raw_body)
        key = idempotency_key(headers)
    except Rejection as rejection:
        return rejection.response
    if is_honeypot_hit(body):
        # Answer like a success so the bot learns nothing; store nothing.
        return created(uuid.uuid4().hex)
    result = validate_lead(body)
    if not result.ok:
        details = [{"field": p.field, "message": p.message} for p in result.problems]
        return error_response(400, "validation_failed", details=details)
    fingerprint = leads.body_fingerprint(body)
    try:
        replay = leads.find_replay(key, fingerprint)
        if replay is not None:
            return created(replay.id)
        retry_after = ratelimit.acquire(client_id)
        if retry_after is not None:
            return error_response(
                429, "rate_limited", "too many submissions", headers={"Retry-After": str(retry_after)}
            )
        stored = leads.store_lead(result.lead, key, fingerprint)
    except leads.IdempotencyConflict:
        return error_response(
            409, "idempotency_conflict", "this Idempotency-Key was used with a different body"
        )
    return created(stored.id)
