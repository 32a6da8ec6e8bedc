"""Turning queue messages into email jobs: one job per email.

A `lead.created` event becomes a team alert per team address (routed by the
lead's source when the stage has routing rules) and a confirmation to the
person who wrote in; it is taken only with the stream handler's signature
(pipeline/signing.py), so one published to the notification-requests topic
is refused. A `notification.request` from another system becomes one job,
after validation. Every recipient is exactly one valid address.

The confirmation goes to an address nobody has verified, so it echoes no
free text: the name without anything link-like, unless the stage sets
CONFIRMATION_ECHO (then the name and message as written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.digest import digest
from chalicelib.core.rules import is_valid_email
from chalicelib.core.settings import get_settings
from chalicelib.core.states import LeadKind, MessageType
from chalicelib.email.rendering import without_links
from chalicelib.pipeline import requests
from chalicelib.pipeline.signing import is_genuine
from chalicelib.store.deliveries import DeliveryKey


class InvalidRequest(ValueError):
    """A message that can never be sent; it goes to the DLQ with this reason."""


@dataclass(frozen=True)
class EmailJob:
    ref_id: str
    kind: str
    recipient: str
    sender: str
    context: dict[str, Any] = field(hash=False)
    reply_to: tuple[str, str] | None = None  # (address, display name)

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.ref_id, self.kind, self.recipient)


def team_recipients(source: str) -> tuple[str, ...]:
    settings = get_settings()
    routed = settings.team_routes.get(source)
    return tuple(routed) if routed else settings.team_addresses


def confirmation_context(lead: dict[str, Any]) -> dict[str, Any]:
    """What the confirmation may show: the echo setting decides whether free text goes back."""
    if get_settings().confirmation_echo:
        return {"lead": lead, "echo": True}
    return {"lead": {"id": lead["id"], "name": without_links(str(lead.get("name", "")))}, "echo": False}


def jobs_for_lead(message: dict[str, Any]) -> list[EmailJob]:
    if not is_genuine(message):
        raise InvalidRequest("lead.created without the stream handler's signature: not from the LeadEvents topic")
    lead = message.get("lead")
    if not isinstance(lead, dict) or not lead.get("id") or not isinstance(lead.get("email"), str):
        raise InvalidRequest("lead.created without a lead id and email")
    email = lead["email"].strip()
    if not is_valid_email(email):
        raise InvalidRequest("lead.created whose email is not one valid address")
    settings = get_settings()
    context = {"lead": lead, "enrichment": message.get("enrichment") or {}}
    reply_to = (email, str(lead.get("name", "")))
    team = team_recipients(str(lead.get("source", "website")))
    if not all(is_valid_email(address) for address in team):
        raise InvalidRequest("a team address of this stage is not one valid address (TEAM_ADDRESSES, TEAM_ROUTES)")
    jobs = [
        EmailJob(lead["id"], LeadKind.TEAM_ALERT, address, settings.team_sender, context, reply_to=reply_to)
        for address in team
    ]
    jobs.append(
        EmailJob(lead["id"], LeadKind.CUSTOMER_CONFIRMATION, email, settings.customer_sender,
                 confirmation_context(lead))
    )
    jobs.extend(chat_jobs(lead, context))
    return jobs


def chat_jobs(lead: dict[str, Any], context: dict[str, Any]) -> list[EmailJob]:
    """The team's chat message, when the stage has a webhook (TEAM_WEBHOOK_URL)."""
    if not get_settings().team_webhook_url.strip():
        return []
    from chalicelib.pipeline.chat import RECIPIENT

    return [EmailJob(lead["id"], LeadKind.TEAM_CHAT, RECIPIENT, "", context)]


def request_ref_id(idempotency_key: str) -> str:
    return "req-" + digest(idempotency_key, 32)


def job_for_request(message: dict[str, Any]) -> EmailJob:
    """One email from a `notification.request`, after the checks POST /notifications makes
    too (pipeline/requests.py): every problem is named in the dead letter's reason."""
    request, problems = requests.check_topic_message(message)
    if problems:
        raise InvalidRequest(requests.describe(problems))
    # POST /notifications keys the ledger by its notification id; the topic by the request's key.
    ref_id = request.notification_id or request_ref_id(str(request.idempotency_key))
    return EmailJob(ref_id, request.kind, request.recipient, get_settings().customer_sender, {"data": request.data})


def jobs_for_message(message: Any) -> list[EmailJob]:
    if not isinstance(message, dict):
        raise InvalidRequest("message is not a JSON object")
    kind = message.get("type")
    if kind == MessageType.LEAD_CREATED:
        return jobs_for_lead(message)
    if kind == MessageType.NOTIFICATION_REQUEST:
        return [job_for_request(message)]
    raise InvalidRequest(f"unknown message type {str(kind)[:64]!r}")
