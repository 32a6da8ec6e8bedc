"""POST /leads: from raw request to stored lead, or an ApiError the edge answers.

JSON bodies and website forms (api/forms.py turns a form into the same
dict) meet the same rules; the answer is JSON, or for a browser's own form
post a redirect or a page (api/negotiation.py, api/form_answers.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from chalice.app import Request, Response

from chalicelib.api import cors, negotiation
from chalicelib.api.http import ApiError, Problem, error_response, json_response, validation_failed
from chalicelib.api.negotiation import Submission
from chalicelib.api.validation import MAX_BODY_BYTES, is_honeypot_hit, validate_lead
from chalicelib.core import digest
from chalicelib.core.rules import MAX_IDEMPOTENCY_KEY
from chalicelib.core.settings import get_settings
from chalicelib.core.states import CaptchaVerdict, LeadStatus
from chalicelib.store import idempotency, leads, rate_limits

METHODS = "POST,OPTIONS"
# The header a JSON client (the embed script) sends a CAPTCHA token in: JSON bodies stay strict.
CAPTCHA_TOKEN_HEADER = "captcha-token"
UNSUPPORTED = "send application/json, application/x-www-form-urlencoded or multipart/form-data"


def created(lead_id: str) -> Response:
    return json_response(201, {"id": lead_id, "status": LeadStatus.RECEIVED}, {"Location": f"/leads/{lead_id}"})


def read_submission(headers: Any, raw_body: bytes) -> Submission:
    """The body as the rules see it: JSON as it is, a form as api/forms.py maps it."""
    content_type = headers.get("content-type") or ""
    media = negotiation.media_type(content_type)
    if media in negotiation.FORM_MEDIA_TYPES:
        from chalicelib.api import forms  # only form posts pay its import

        if len(raw_body) > forms.MAX_FORM_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"at most {forms.MAX_FORM_BODY_BYTES} bytes for a form")
        found = forms.submission(media, content_type, raw_body)
    else:
        found = Submission(negotiation.json_body(content_type, raw_body, MAX_BODY_BYTES, UNSUPPORTED))
    found.captcha_token = found.captcha_token or headers.get(CAPTCHA_TOKEN_HEADER) or None
    return found


def refuse_foreign_origin(headers: Any) -> None:
    """A POST from a page on an origin the stage does not allow stores nothing (no Origin: not a browser's)."""
    origin = headers.get("origin")
    if origin is None:
        return
    from chalicelib.core import origins  # only requests from browsers pay its import

    if not origins.is_allowed(origin, get_settings().allowed_origins):
        raise ApiError(403, "origin_not_allowed", "this origin may not call the API")


def idempotency_key(headers: Any) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise validation_failed([Problem("Idempotency-Key", f"must be 1-{MAX_IDEMPOTENCY_KEY} characters")])
    return str(key)


def accept_lead(headers: Any, submission: Submission, client_id: str) -> Response:
    """Store the lead the request carries and answer 201, or raise ApiError."""
    body = submission.body
    key = idempotency_key(headers)
    if is_honeypot_hit(body):
        # Answer like a success so the bot learns nothing; store nothing.
        return created(uuid.uuid4().hex)
    result = validate_lead(body)
    problems = [*submission.problems, *result.problems, *captcha_problems(submission)]
    if problems:
        raise validation_failed(problems)
    fingerprint = digest.fingerprint(body)
    repeat = None
    if submission.is_form:
        from chalicelib.store import repeats  # only form posts pay its import

        repeat = repeats.RepeatGuard(client_id, fingerprint)
    try:
        replay = idempotency.find_replay(key, result.lead["email"], fingerprint) or (
            repeat.replay() if repeat is not None else None
        )
        if replay is not None:
            return created(replay)
        retry_after = rate_limits.acquire(client_id)
        if retry_after is not None:
            raise ApiError(429, "rate_limited", "too many submissions", headers={"Retry-After": str(retry_after)})
        if not captcha_passed(submission):
            # Like the honeypot: a normal-looking answer, nothing stored (the reason is logged).
            return created(uuid.uuid4().hex)
        return created(leads.store_lead(result.lead, key, fingerprint, repeat))
    except idempotency.IdempotencyConflict:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body") from None


def captcha_enabled() -> bool:
    return get_settings().captcha_provider is not None


def captcha_problems(submission: Submission) -> list[Problem]:
    if captcha_enabled() and not submission.captcha_token:
        return [Problem("captcha", "is required: complete the CAPTCHA check")]
    return []


def captcha_passed(submission: Submission) -> bool:
    """After the replay and rate checks: a retry is not verified again (tokens are single-use)."""
    if not captcha_enabled():
        return True
    from chalicelib.api import captcha  # only stages with a CAPTCHA pay its import

    verdict = captcha.verify(submission.captcha_token or "")
    if verdict is CaptchaVerdict.UNAVAILABLE:
        raise ApiError(503, "captcha_unavailable", "the CAPTCHA check is unavailable; nothing was stored, try again")
    return verdict is CaptchaVerdict.PASSED


def create_lead(headers: Any, raw_body: bytes, client_id: str) -> Response:
    """The answer to one POST /leads: 201 or the rejection in the API's error shape,
    or for a browser's form post, 303 to the thank-you page or an error page."""
    html = negotiation.prefers_html(headers)
    try:
        refuse_foreign_origin(headers)
        submission = read_submission(headers, raw_body)
        response = accept_lead(headers, submission, client_id)
    except ApiError as error:
        if html:
            from chalicelib.api import form_answers

            return form_answers.error_page(error, headers)
        return error_response(error)
    if html:
        from chalicelib.api import form_answers

        return form_answers.see_other(submission, headers)
    return response


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
