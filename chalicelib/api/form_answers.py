"""The answers a browser's own form post gets (api/negotiation.py decides who that is).

- Accepted (or answered like it: the honeypot, a refused CAPTCHA): `303 See
  Other` to the thank-you page, which is the form's `_next` when it leads to
  an allowed origin, else the stage's THANK_YOU_URL, else the built-in
  `GET /thanks` (relative, so the stage prefix is kept). Never anywhere else.
- Refused: the same status as the JSON answer, as a page listing every
  invalid field with its message (escaped by the template) and a way back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib.api import pages
from chalicelib.api.http import ApiError
from chalicelib.api.negotiation import Submission
from chalicelib.core import origins
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings

THANKS_PATH = "thanks"

# What each refusal tells the person, by error code: (title, text).
_PAGES = {
    "validation_failed": ("Please check the form", "Your message was not sent. Please correct the following:"),
    "malformed_form": ("This form could not be read", "Your message was not sent: the form's data was damaged."),
    "origin_not_allowed": (
        "This form cannot be sent from this site",
        "Your message was not sent: this site is not allowed to send forms here.",
    ),
    "payload_too_large": ("Your message is too long", "Your message was not sent. Please shorten it and try again."),
    "unsupported_media_type": (
        "This form cannot be sent",
        "Your message was not sent: the form uses an encoding that is not accepted "
        "(use application/x-www-form-urlencoded or multipart/form-data).",
    ),
    "idempotency_conflict": (
        "This message was already sent",
        "A different message was already sent with the same key. Please reload the form and try again.",
    ),
    "captcha_unavailable": (
        "Please try again in a moment",
        "Your message was not sent: the spam check is not answering right now.",
    ),
}
_LABELS = {
    "name": "Name", "email": "Email", "phone": "Phone", "message": "Message", "source": "Source",
    "metadata": "Extra fields", "captcha": "Spam check", "_gotcha": "_gotcha", "body": "Form",
}


def _allowed() -> tuple[str, ...]:
    return get_settings().allowed_origins


def posting_origin(headers: Any) -> str | None:
    """The posting page's origin when the stage allows it (None: absent or not allowed)."""
    origin = headers.get("origin")
    return str(origin) if origins.is_allowed(origin, _allowed()) else None


def back_link(headers: Any) -> str | None:
    """Where "back" leads: the form's page (Referer) or its site, when allowed; else nowhere."""
    referer = origins.safe_redirect(headers.get("referer"), _allowed())
    if referer:
        return referer
    origin = posting_origin(headers)
    return origin + "/" if origin else None


def thank_you_target(next_url: str | None, headers: Any) -> str:
    settings = get_settings()
    chosen = origins.safe_redirect(next_url, settings.allowed_origins, posting_origin(headers))
    if chosen:
        return chosen
    if next_url:
        # The value itself may be anything an attacker wrote: not logged.
        get_logger().info("form _next refused: not an http(s) URL on an allowed origin")
    if settings.thank_you_url:
        return settings.thank_you_url
    back = back_link(headers)
    return THANKS_PATH + ("?" + urlencode({"back": back}) if back else "")


def see_other(submission: Submission, headers: Any) -> Response:
    location = thank_you_target(submission.next_url, headers)
    return Response(body="", status_code=303, headers={"Location": location, "Cache-Control": pages.NO_STORE})


def label(field: str) -> str:
    if field.startswith("metadata."):
        return field.removeprefix("metadata.")
    return _LABELS.get(field, field)


def _wait_text(retry_after: str | None) -> str:
    seconds = int(retry_after) if retry_after and retry_after.isdigit() else 0
    if seconds <= 0:
        return "later"
    if seconds < 120:
        return f"in {seconds} seconds"
    return f"in about {(seconds + 59) // 60} minutes"


def describe(error: ApiError) -> tuple[str, str]:
    if error.code == "rate_limited":
        wait = _wait_text(error.headers.get("Retry-After"))
        text = f"Your message was not sent: too many were sent from your network. Try again {wait}."
        return "Too many messages", text
    return _PAGES.get(error.code, ("Your message was not sent", error.message[:1].upper() + error.message[1:] + "."))


def error_page(error: ApiError, headers: Any) -> Response:
    title, text = describe(error)
    problems = [{"label": label(p.field), "message": p.message} for p in error.problems or []]
    html = pages.render("problem.html", title=title, tone="bad", text=text, problems=problems, back=back_link(headers))
    return pages.page_response(error.status, html, error.headers)


def thanks_page(query_params: Any) -> Response:
    """GET /thanks: the built-in thank-you page, with a link back when `back` is on an allowed origin."""
    back = origins.safe_redirect((query_params or {}).get("back"), _allowed())
    return pages.page_response(200, pages.render("thanks.html", title="Thank you", tone="ok", back=back))
