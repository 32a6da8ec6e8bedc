"""CORS for a list of allowed origins.

Chalice's CORSConfig takes a single origin, so the allowed one is echoed back
per request instead; an origin not configured gets no CORS headers at all.
Entries may allow any port of a host (`http://localhost:*`): core/origins.py.
"""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import ApiError, error_response
from chalicelib.core.settings import get_settings

# Captcha-Token: the embed script's CAPTCHA token (JSON bodies stay strict).
ALLOWED_HEADERS = "Content-Type,Idempotency-Key,Authorization,Captcha-Token"


def is_allowed_origin(origin: str | None) -> bool:
    if not origin:
        return False
    from chalicelib.core.origins import is_allowed  # only requests from browsers pay its import

    return is_allowed(origin, get_settings().allowed_origins)


def cors_headers(origin: str | None, methods: str) -> dict[str, str]:
    if not is_allowed_origin(origin):
        return {}
    return {
        "Access-Control-Allow-Origin": str(origin),
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Expose-Headers": "Location,Retry-After",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def with_cors(response: Response, origin: str | None, methods: str) -> Response:
    response.headers.update(cors_headers(origin, methods))
    return response


def preflight(origin: str | None, methods: str) -> Response:
    if not is_allowed_origin(origin):
        refused = ApiError(403, "origin_not_allowed", "this origin may not call the API", headers={"Vary": "Origin"})
        return error_response(refused)
    return Response(body="", status_code=204, headers={**cors_headers(origin, methods)})
