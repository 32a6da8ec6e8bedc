"""POST /leads: from raw request to stored lead, or an ApiError the edge answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.app import Request, Response

from chalicelib.api import cors
from chalicelib.api.http import ApiError, Problem, error_response, json_response, validation_failed
from chalicelib.api.validation import MAX_BODY_BYTES, is_honeypot_hit, validate_lead
from chalicelib.core.digest import digest
from chalicelib.core.rules import MAX_IDEMPOTENCY_KEY
from chalicelib.core.states import LeadStatus
from chalicelib.store import idempotency, leads, rate_limits

METHODS = "POST,OPTIONS"


def created(lead_id: str) -> Response:
    return json_response(201, {"id": lead_id, "status": LeadStatus.RECEIVED}, {"Location": f"/leads/{lead_id}"})


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
        raise ApiError(415, "unsupported_media_type", "send application/json")
    if len(raw_body) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw_body.decode("utf-8"), parse_constant=_reject_non_json_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "the body is not valid UTF-8 JSON") from None


def idempotency_key(headers: Any) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise validation_failed([Problem("Idempotency-Key", f"must be 1-{MAX_IDEMPOTENCY_KEY} characters")])
    return str(key)


def body_fingerprint(body: Any) -> str:
    return digest(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def accept_lead(headers: Any, raw_body: bytes, client_id: str) -> Response:
    """Store the lead the request carries and answer 201, or raise ApiError."""
    body = parse_body(headers, raw_body)
    key = idempotency_key(headers)
    if is_honeypot_hit(body):
        # Answer like a success so the bot learns nothing; store nothing.
        return created(uuid.uuid4().hex)
    result = validate_lead(body)
    if not result.ok:
        raise validation_failed(result.problems)
    fingerprint = body_fingerprint(body)
    try:
        replay = idempotency.find_replay(key, result.lead["email"], fingerprint)
        if replay is not None:
            return created(replay)
        retry_after = rate_limits.acquire(client_id)
        if retry_after is not None:
            raise ApiError(429, "rate_limited", "too many submissions", headers={"Retry-After": str(retry_after)})
        return created(leads.store_lead(result.lead, key, fingerprint))
    except idempotency.IdempotencyConflict:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body") from None


def create_lead(headers: Any, raw_body: bytes, client_id: str) -> Response:
    """The answer to one POST /leads: 201, or the rejection in the API's error shape."""
    try:
        return accept_lead(headers, raw_body, client_id)
    except ApiError as error:
        return error_response(error)


def _client_id(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def handle_post(request: Request) -> Response:
    """The POST /leads view: the answer, with CORS headers for an allowed origin."""
    raw = request.raw_body or b""
    response = create_lead(request.headers, raw if isinstance(raw, bytes) else raw.encode(), _client_id(request))
    return cors.with_cors(response, request.headers.get("origin"), METHODS)


def handle_preflight(request: Request) -> Response:
    return cors.preflight(request.headers.get("origin"), METHODS)
