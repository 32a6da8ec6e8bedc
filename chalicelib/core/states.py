"""Every state leadflow records or returns, in one place.

StrEnums, so a member is its own string value in DynamoDB items, JSON bodies
and log lines, and a comparison with the stored string just works.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """Where one email stands (a Deliveries row's `status`)."""

    QUEUED = "queued"
    SENDING = "sending"  # internal: a worker holds the send; shown as "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not sent on purpose (a confirmation over the recipient's hourly limit)

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def public(self) -> DeliveryStatus:
        """What the API shows: a send in progress is still queued to the reader."""
        return DeliveryStatus.QUEUED if self is DeliveryStatus.SENDING else self

    def below(self) -> tuple[DeliveryStatus, ...]:
        """The statuses a row may hold for it to move forward to this one (never back)."""
        return tuple(s for s in DeliveryStatus if s.rank < self.rank and s is not DeliveryStatus.SENDING)


# Forward order (GOV.UK Notify's rule: a status never moves backwards).
# Suppressed, failed and skipped are terminal for a send that never reached SES;
# delivered -> bounced/complained is allowed because SES can report an
# asynchronous bounce or a complaint after a delivery.
_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.BOUNCED: 4,
    DeliveryStatus.COMPLAINED: 5,
    DeliveryStatus.SUPPRESSED: 9,
    DeliveryStatus.FAILED: 9,
    DeliveryStatus.SKIPPED: 9,
}

# What SES's Reject may fail: a send not yet known to have been delivered
# (a Reject after a Delivery, a bounce or a complaint changes nothing).
REJECTABLE = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT)


class ClaimState(StrEnum):
    """The outcome of trying to claim a send in the ledger."""

    CLAIMED = "claimed"  # this worker may send now
    SUPPRESSED = "suppressed"  # the recipient is on the suppression list
    ERASED = "erased"  # the lead was erased while its event was in flight
    DONE = "done"  # the row is already decided (sent, failed, ...)
    BUSY = "busy"  # another worker holds the send
    ABANDONED = "abandoned"  # a claim outlived its lease without an outcome


class SendOutcome(StrEnum):
    """What sending one job did."""

    SENT = "sent"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    ERASED = "erased"
    SKIPPED = "skipped"


class LeadStatus(StrEnum):
    RECEIVED = "received"
    ERASED = "erased"


class MessageType(StrEnum):
    """The `type` of a message on the notifications queue."""

    LEAD_CREATED = "lead.created"
    NOTIFICATION_REQUEST = "notification.request"


class LeadKind(StrEnum):
    """Notification kinds that need a lead; other systems may not request them."""

    TEAM_ALERT = "team_alert"
    CUSTOMER_CONFIRMATION = "customer_confirmation"
    TEAM_CHAT = "team_chat"  # the team's chat message (a webhook post, not an email)


class DeadLetterQueue(StrEnum):
    """The dead-letter queues, by the name operators and the admin API use."""

    NOTIFICATIONS = "notifications"
    SES_FEEDBACK = "ses-feedback"
    LEAD_STREAM = "lead-stream"
    LEAD_AUDIT = "lead-audit"
    CALLBACKS = "callbacks"


class RedriveOutcome(StrEnum):
    """What redriving (or purging) one dead letter did."""

    REDRIVEN = "redriven"  # sent back where it came from, then deleted from the DLQ
    DROPPED = "dropped"  # about an erased lead: deleted, never replayed
    PURGED = "purged"  # deleted on an operator's order: it would never succeed
    FAILED = "failed"  # left in the DLQ
    SKIPPED = "skipped"  # not found


class CaptchaProvider(StrEnum):
    """The CAPTCHA services a stage can verify with (CAPTCHA_PROVIDER)."""

    TURNSTILE = "turnstile"  # Cloudflare Turnstile
    HCAPTCHA = "hcaptcha"
    RECAPTCHA = "recaptcha"  # Google reCAPTCHA v2 or v3


class CaptchaVerdict(StrEnum):
    """What verifying one CAPTCHA token found."""

    PASSED = "passed"
    FAILED = "failed"  # the provider refused the token: answered like the honeypot
    UNAVAILABLE = "unavailable"  # no usable answer from the provider: 503, nothing stored


# The statuses a sender's callback reports (queued is where every notification starts).
CALLBACK_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.COMPLAINED,
    DeliveryStatus.SUPPRESSED,
    DeliveryStatus.FAILED,
)


class Caller(StrEnum):
    """Who is asking, on the routes both the team and senders use."""

    ADMIN = "admin"
    SENDER = "sender"


class CallbackResult(StrEnum):
    """What one attempt to deliver a status callback did."""

    DELIVERED = "delivered"  # the receiver answered 2xx
    SUPERSEDED = "superseded"  # a later status exists, or this one was already acknowledged
    NO_CALLBACK = "no_callback"  # the notification names no callback URL
    RETRY = "retry"  # 5xx, 408, 429, no connection, a timeout: tried again later
    BUSY = "busy"  # another worker is posting for this notification: looked at again shortly
    REFUSED = "refused"  # a 4xx, or the URL is no longer allowed: dead-lettered, not retried


class MessageTag(StrEnum):
    """The SES message tags of each send, which SES echoes in its feedback events
    (configuration-set format): the feedback handler matches events by them."""

    LEAD = "lead_id"
    KIND = "kind"
    DELIVERY = "delivery"  # the ledger row's delivery id
    CLAIM = "claim"  # the claim token of the send: proves an event is about that very send
