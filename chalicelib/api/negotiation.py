"""Who is asking, and what they sent: a program that wants JSON, or a browser
navigating with a form; and the Submission either one carries.

A request prefers JSON when its body is JSON or its `Accept` names JSON
(`application/json`, `...+json`); that is every API client and the embed
script. A browser's own form post sends a form body and an `Accept` without
JSON (`text/html,...`), and gets pages and redirects. Anything else (curl
with a text body, say) keeps the API's JSON answers.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.api.http import ApiError, Problem

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORM_MEDIA_TYPES = frozenset({URLENCODED, MULTIPART})


class Submission:
    """What one POST /leads carries, whatever its content type: the body the
    rules judge, plus what a form adds around it. A plain class for the
    cold-start reason api/http.py gives."""

    __slots__ = ("body", "captcha_token", "is_form", "next_url", "problems")

    def __init__(
        self,
        body: Any,
        is_form: bool = False,
        next_url: str | None = None,
        captcha_token: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.body = body
        self.is_form = is_form
        self.next_url = next_url
        self.captcha_token = captcha_token
        self.problems = problems if problems is not None else []


def media_type(value: str | None) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return (value or "").split(";", 1)[0].strip().lower()


def is_json_media_type(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _reject_non_json_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; RFC 8259 JSON does not.
    raise ValueError(f"{name} is not JSON")


def json_body(content_type: str | None, raw: bytes | str | None, max_bytes: int, unsupported: str) -> Any:
    """A request's JSON body, or the ApiError that refuses it: 415 (`unsupported` says what to
    send), 413 past `max_bytes`, 400 for anything that is not UTF-8 JSON."""
    if not is_json_media_type(media_type(content_type)):
        raise ApiError(415, "unsupported_media_type", unsupported)
    data = raw.encode() if isinstance(raw, str) else raw or b""
    if len(data) > max_bytes:
        raise ApiError(413, "payload_too_large", f"at most {max_bytes} bytes")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_non_json_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "the body is not valid UTF-8 JSON") from None


def accepted(accept: str | None) -> list[str]:
    """The media ranges of an Accept header that are wanted at all (q > 0)."""
    wanted = []
    for item in (accept or "").split(","):
        media, *params = (piece.strip() for piece in item.split(";"))
        refused = False
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    refused = float(value) <= 0
                except ValueError:
                    refused = False
        if media and not refused:
            wanted.append(media.lower())
    return wanted


def prefers_html(headers: Any) -> bool:
    """True for a browser's form navigation (pages, 303 redirects); False for JSON answers."""
    content = media_type(headers.get("content-type"))
    if is_json_media_type(content):
        return False
    ranges = accepted(headers.get("accept"))
    if any(is_json_media_type(media) for media in ranges):
        return False
    return content in FORM_MEDIA_TYPES or "text/html" in ranges
