"""One error shape for every answer the function gives.

Chalice answers some requests itself, in its own shape
`{"Code": "...", "Message": "..."}`: 405 for a method a route lacks, 500 for
an unhandled exception, 4xx for a ChaliceViewError. `normalise_errors` is an
HTTP middleware that rewrites those into the documented
`{"error": "...", "message": "..."}`, and turns any exception that escapes
the view into a 500 of that shape that reveals nothing.

API Gateway's own answers (403 "Missing Authentication Token" for an unknown
path, throttling 429s) never reach the function; those need Gateway
Responses in the deploy template.

Wire it in app.py with:
    app.register_middleware(http_errors.normalise_errors, "http")
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from chalice import Response

_JSON = "application/json"
_INTERNAL = {"error": "internal_error", "message": "an internal error occurred"}
# Chalice's class-style codes mapped to the API's snake_case codes.
_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "BadRequestError": "bad_request",
    "UnauthorizedError": "unauthorized",
    "ForbiddenError": "forbidden",
    "NotFoundError": "not_found",
    "ConflictError": "conflict",
    "UnprocessableEntityError": "unprocessable_entity",
    "TooManyRequestsError": "rate_limited",
    "RequestTimeoutError": "request_timeout",
}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

log = logging.getLogger(__name__)


def is_chalice_error(response: Response) -> bool:
    body = response.body
    return response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}


def error_code(chalice_code: str) -> str:
    known = _CODES.get(chalice_code)
    if known:
        return known
    return _CAMEL_BOUNDARY.sub("_", chalice_code.removesuffix("Error")).lower() or "error"


def to_error_shape(response: Response) -> Response:
    """The same response with a Chalice-shaped error body in the API's shape."""
    if not is_chalice_error(response):
        return response
    if response.status_code >= 500:
        # Never pass on what went wrong inside: the log has it.
        body: dict[str, Any] = dict(_INTERNAL)
    else:
        body = {"error": error_code(str(response.body["Code"])), "message": str(response.body["Message"])}
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return Response(body=body, status_code=response.status_code, headers={**headers, "Content-Type": _JSON})


def internal_error() -> Response:
    return Response(body=dict(_INTERNAL), status_code=500, headers={"Content-Type": _JSON})


def normalise_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: every error the function returns has the API's shape."""
    try:
        response = get_response(event)
    except Exception:
        log.exception("unhandled error in an HTTP handler")
        return internal_error()
    return to_error_shape(response)
