"""JSON responses in the shapes the API contract documents."""

from __future__ import annotations

from typing import Any

from chalice import Response

_JSON = {"Content-Type": "application/json"}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**_JSON, **(headers or {})})


def error_response(
    status: int,
    error: str,
    message: str | None = None,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": error}
    if message:
        body["message"] = message
    if details is not None:
        body["details"] = details
    return json_response(status, body, headers)
