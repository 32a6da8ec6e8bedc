"""HTTP answers, in the shapes the API contract documents: every error body
is built here, and every way a view rejects a request ends here.

- A view returns `json_response(...)` for success, or raises `ApiError` to
  reject: `normalise_errors` (an HTTP middleware, registered in app.py)
  turns it into `{"error": "<code>", "message": "...", "details": [...]}`.
- Chalice answers some requests itself, in its own shape
  `{"Code": "...", "Message": "..."}`: 405 for a method a route lacks, 500
  for an unhandled exception, 4xx for a ChaliceViewError. The middleware
  rewrites those into the same shape, and turns any exception that escapes
  a view into a 500 that reveals nothing.
- API Gateway's own answers (an unknown path, throttling 429s, the
  authorizer's 401/403) never reach the function: the deploy template maps
  them with Gateway Responses (GATEWAY_RESPONSE_BODIES), and `make run`
  serves the same bodies.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from chalice.app import ChaliceUnhandledError, Response

JSON = "application/json"
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

# The answers the gateway gives itself (API Gateway Gateway Responses): the
# authorizer's 401/403, and a path or method the API does not have, which API
# Gateway calls MISSING_AUTHENTICATION_TOKEN and answers 403 unless told otherwise.
GATEWAY_RESPONSE_BODIES: dict[str, tuple[int, dict[str, str]]] = {
    "UNAUTHORIZED": (401, {"error": "unauthorized", "message": "send Authorization: Bearer <admin token>"}),
    "ACCESS_DENIED": (403, {"error": "forbidden", "message": "the admin token is not valid"}),
    "MISSING_AUTHENTICATION_TOKEN": (404, {"error": "not_found", "message": "no such route"}),
}

log = logging.getLogger(__name__)


class Problem:
    """One invalid field. A plain class rather than a dataclass: building a
    dataclass costs about a millisecond of import at every cold start."""

    __slots__ = ("field", "message")

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"Problem({self.field!r}, {self.message!r})"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ApiError(ChaliceUnhandledError):
    """A request the API refuses, with everything its answer needs. A
    ChaliceUnhandledError, so Chalice lets it through to the middleware."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems
        self.headers = headers or {}


def validation_failed(problems: list[Problem]) -> ApiError:
    return ApiError(400, "validation_failed", "the request has invalid fields", problems)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": JSON, **(headers or {})})


def error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.problems is not None:
        body["details"] = [problem.as_dict() for problem in error.problems]
    return json_response(error.status, body, error.headers)


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
    return Response(body=body, status_code=response.status_code, headers={**headers, "Content-Type": JSON})


def internal_error() -> Response:
    return json_response(500, dict(_INTERNAL))


def normalise_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: every error the function returns has the API's shape."""
    try:
        response = get_response(event)
    except ApiError as error:
        return error_response(error)
    except Exception:
        log.exception("unhandled error in an HTTP handler")
        return internal_error()
    return to_error_shape(response)
