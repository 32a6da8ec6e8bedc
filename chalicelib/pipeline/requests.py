"""A notification request from another system, checked the same way at both doors:
POST /notifications (a sender key) and the notification-requests SNS topic.

Every problem is listed: the envelope (kind, recipient, reference, callback
URL, idempotency key) and the kind's data against its schema
(email/schemas.py). Lead-only kinds cannot be requested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core import webhooks
from chalicelib.core.rules import MAX_IDEMPOTENCY_KEY, has_control_chars, is_valid_email, normalise_email
from chalicelib.core.settings import get_settings
from chalicelib.email import schemas

MAX_REFERENCE = 128
# Notification ids are made by POST /notifications (store/notifications.new_id).
NOTIFICATION_ID = re.compile(r"ntf_[0-9a-f]{32}")
# What a request body (HTTP) may hold; the topic's message adds `type` and, from our own API,
# `notification_id`.
BODY_FIELDS = frozenset({"kind", "recipient", "data", "reference", "callback_url", "idempotency_key"})
TOPIC_FIELDS = BODY_FIELDS | {"type", "notification_id"}

FieldProblem = tuple[str, str]


@dataclass
class NotificationRequest:
    kind: str = ""
    recipient: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None
    notification_id: str | None = None


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= limit and not has_control_chars(value) and "=?" not in value


def check(body: Any, allowed: frozenset[str] = BODY_FIELDS) -> tuple[NotificationRequest, list[FieldProblem]]:
    """The request a body asks for, and every problem with it ([]: it may be sent)."""
    request = NotificationRequest()
    problems: list[FieldProblem] = []
    if not isinstance(body, dict):
        return request, [("body", "must be a JSON object")]
    for unknown in sorted(set(body) - allowed, key=str):
        problems.append((str(unknown)[:64], "is not an allowed field"))
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        problems.append(("kind", "is required: the name of a template kind"))
    elif not schemas.requestable(kind):
        problems.append(("kind", "is not a kind of notification other systems may send"))
    else:
        request.kind = kind
    recipient = body.get("recipient")
    if not isinstance(recipient, str) or not is_valid_email(recipient.strip()):
        problems.append(("recipient", "must be one valid email address of at most 254 characters"))
    else:
        request.recipient = normalise_email(recipient)
    data = body.get("data", {})
    if data is None:
        data = {}
    if request.kind:
        problems.extend(schemas.validate(request.kind, data))
    elif not isinstance(data, dict):
        problems.append(("data", "must be an object"))
    if isinstance(data, dict) and not problems:
        request.data = data
    reference = body.get("reference")
    if reference not in (None, ""):
        if not _text(reference, MAX_REFERENCE):
            problems.append(("reference", f"must be 1-{MAX_REFERENCE} characters on one line"))
        else:
            request.reference = str(reference)
    key = body.get("idempotency_key")
    if key is not None:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
            problems.append(("idempotency_key", f"must be 1-{MAX_IDEMPOTENCY_KEY} characters"))
        else:
            request.idempotency_key = key
    url = body.get("callback_url")
    if url not in (None, ""):
        try:
            webhooks.check(str(url) if isinstance(url, str) else "", get_settings().callback_allow_loopback)
            request.callback_url = str(url)
        except webhooks.UrlRefused as refused:
            problems.append(("callback_url", str(refused)))
    return request, problems


def check_topic_message(message: dict[str, Any]) -> tuple[NotificationRequest, list[FieldProblem]]:
    """A `notification.request` from the topic: the same rules, an idempotency key required,
    and no callback (a callback needs a sender's signing secret: POST /notifications)."""
    request, problems = check(message, TOPIC_FIELDS)
    notification_id = message.get("notification_id")
    if notification_id is not None:
        if not isinstance(notification_id, str) or not NOTIFICATION_ID.fullmatch(notification_id):
            problems.append(("notification_id", "is not a notification id of POST /notifications"))
        else:
            request.notification_id = notification_id
    elif request.idempotency_key is None and "idempotency_key" not in [p[0] for p in problems]:
        problems.append(("idempotency_key", f"is required: 1-{MAX_IDEMPOTENCY_KEY} characters"))
    if message.get("callback_url") not in (None, ""):
        problems.append(("callback_url", "needs a sender key: send the request with POST /notifications"))
    return request, problems


def describe(problems: list[FieldProblem]) -> str:
    """One line for a dead letter's reason."""
    return "; ".join(f"{name}: {message}" for name, message in problems)
