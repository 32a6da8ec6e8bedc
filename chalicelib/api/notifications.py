"""POST /notifications and GET /notifications/{id}: other systems sending through leadflow.

Who may: `Authorization: Bearer <sender key>` (core/senders.py: only the keys'
SHA-256 in configuration, each naming its sender and the kinds it may send);
GET also takes the admin token. No header: 401; a key that is not one: 403;
a kind the key may not send: 403.

POST checks the request as the notification-requests topic does
(pipeline/requests.py: every problem listed, 400), keeps a record of it
(store/notifications.py), and publishes it to that topic, which is how it
reaches the worker. `Idempotency-Key` (or `idempotency_key` in the body)
works as on POST /leads, per sender: a repeat with the same body answers the
first answer (and publishes again, which the send ledger makes harmless, so
a retry heals a publish that failed); the same key with another body is 409.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request, Response

from chalicelib.api import negotiation
from chalicelib.api.auth import bearer_token, is_admin_token
from chalicelib.api.http import ApiError, Problem, json_response, validation_failed
from chalicelib.core import aws, senders
from chalicelib.core.digest import fingerprint
from chalicelib.core.logs import get_logger
from chalicelib.core.masking import mask_email
from chalicelib.core.rules import MAX_IDEMPOTENCY_KEY
from chalicelib.core.settings import get_settings
from chalicelib.core.states import Caller, DeliveryStatus, MessageType
from chalicelib.pipeline import requests
from chalicelib.store import idempotency, notifications, rate_limits
from chalicelib.store.deliveries import DeliveryKey

MAX_BODY_BYTES = 64 * 1024
UNAUTHORIZED = "send Authorization: Bearer <sender key>"


def _caller(request: Request, admin_allowed: bool) -> tuple[Caller, senders.Sender | None]:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "unauthorized", UNAUTHORIZED)
    token = bearer_token(header)
    if admin_allowed and is_admin_token(token):
        return Caller.ADMIN, None
    sender = senders.authenticate(token)
    if sender is None:
        raise ApiError(403, "forbidden", "the key is not a sender key of this service")
    return Caller.SENDER, sender


def _idempotency_key(request: Request, body: Any, problems: list[Problem]) -> str | None:
    header = request.headers.get("idempotency-key")
    field = body.get("idempotency_key") if isinstance(body, dict) else None
    if header is not None and not 1 <= len(header) <= MAX_IDEMPOTENCY_KEY:
        problems.append(Problem("Idempotency-Key", f"must be 1-{MAX_IDEMPOTENCY_KEY} characters"))
        return None
    if header is not None and isinstance(field, str) and field != header:
        problems.append(Problem("idempotency_key", "differs from the Idempotency-Key header: send one of them"))
    return header if header is not None else field if isinstance(field, str) else None


def _fingerprint(request: requests.NotificationRequest) -> str:
    canonical = {"kind": request.kind, "recipient": request.recipient, "data": request.data,
                 "reference": request.reference, "callback_url": request.callback_url}
    return fingerprint(canonical)


def accepted(notification_id: str) -> Response:
    return json_response(202, {"id": notification_id, "status": DeliveryStatus.QUEUED},
                         {"Location": f"/notifications/{notification_id}"})


def publish(notification_id: str, sender: str, request: requests.NotificationRequest) -> None:
    """Hand the request to the worker through the notification-requests topic (the door the topic's
    own senders use, so both are checked and routed alike)."""
    message: dict[str, Any] = {
        "type": MessageType.NOTIFICATION_REQUEST, "notification_id": notification_id, "kind": request.kind,
        "recipient": request.recipient, "data": request.data,
    }
    if request.reference:
        message["reference"] = request.reference
    aws.sns().publish(
        TopicArn=get_settings().notification_requests_topic_arn,
        Message=json.dumps(message),
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": MessageType.NOTIFICATION_REQUEST},
            "sender": {"DataType": "String", "StringValue": sender},
        },
    )


def create(request: Request) -> Response:
    """The POST /notifications view: 202 with the notification's id, or the rejection."""
    _, sender = _caller(request, admin_allowed=False)
    assert sender is not None
    body = negotiation.json_body(
        request.headers.get("content-type"), request.raw_body, MAX_BODY_BYTES, "send application/json"
    )
    problems: list[Problem] = []
    key = _idempotency_key(request, body, problems)
    checked, found = requests.check(body)
    problems += [Problem(name, message) for name, message in found]
    if problems:
        raise validation_failed(problems)
    if not sender.may_send(checked.kind):
        raise ApiError(403, "kind_not_allowed", f"this sender key may not send {checked.kind}")
    fingerprint = _fingerprint(checked)
    try:
        replay = notifications.find_replay(sender.name, key, fingerprint)
        if replay is not None:
            publish(replay, sender.name, checked)
            return accepted(replay)
        settings = get_settings()
        retry_after = rate_limits.acquire_sender_key(
            sender.key_id, sender.rate_limit, settings.sender_rate_limit_window_seconds
        )
        if retry_after is not None:
            raise ApiError(429, "rate_limited", "too many requests for this sender key",
                           headers={"Retry-After": str(retry_after)})
        notification_id = notifications.new_id()
        fields = {"kind": checked.kind, "recipient": checked.recipient, "reference": checked.reference,
                  "callback_url": checked.callback_url}
        delivery_id = DeliveryKey(notification_id, checked.kind, checked.recipient).delivery_id
        record = notifications.new_record(notification_id, sender.name, fields, delivery_id)
        stored_id, new = notifications.store(record, key, fingerprint)
    except idempotency.IdempotencyConflict:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body") from None
    try:
        publish(stored_id, sender.name, checked)
    except Exception:  # noqa: BLE001 - answered 503; the log has the error
        get_logger().exception("notification %s could not be queued", stored_id)
        if new and not key:
            notifications.record_status(stored_id, DeliveryStatus.FAILED, record["created_at"],
                                        "could not be queued; not sent")
        raise ApiError(503, "unavailable", "the notification could not be queued; retry with the same "
                       "Idempotency-Key", headers={"Retry-After": "1"}) from None
    get_logger().info("notification %s of %s accepted for %s", stored_id, sender.name, mask_email(checked.recipient))
    return accepted(stored_id)


def view(record: dict[str, Any], caller: Caller) -> dict[str, Any]:
    recipient = str(record.get("recipient", ""))
    answer: dict[str, Any] = {
        "id": record["id"],
        "kind": record.get("kind"),
        "recipient": recipient if caller is Caller.ADMIN else mask_email(recipient),
        "reference": record.get("reference"),
        "status": notifications.current_status(record),
        "history": notifications.timeline(record),
        "created_at": record.get("created_at"),
    }
    if caller is Caller.ADMIN:
        answer["sender"] = record.get("sender")
    if record.get("callback_url"):
        answer["callback"] = {
            "url": record["callback_url"],
            "acknowledged": record.get("acked"),
            "last_error": record.get("cb_last_error"),
        }
    return answer


def read(request: Request, notification_id: str) -> Response:
    """The GET /notifications/{id} view. A sender sees only its own (anyone else's is a 404)."""
    caller, sender = _caller(request, admin_allowed=True)
    record = notifications.get(notification_id)
    if record is None or (sender is not None and record.get("sender") != sender.name):
        raise ApiError(404, "not_found", "no notification with that id")
    return json_response(200, view(record, caller))
