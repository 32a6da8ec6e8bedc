"""Sending one email job exactly once: ledger claim (with the suppression and erasure checks), render, SES, record."""

from __future__ import annotations

from typing import Any

from chalicelib.core import metrics
from chalicelib.core.logs import get_logger
from chalicelib.core.masking import mask_email, mask_text
from chalicelib.core.settings import get_settings
from chalicelib.core.states import ClaimState, DeliveryStatus, LeadKind, MessageTag, SendOutcome
from chalicelib.email import ses
from chalicelib.email.mime import build_message, split_mailbox
from chalicelib.email.rendering import render
from chalicelib.pipeline.jobs import EmailJob
from chalicelib.store import ledger, rate_limits
from chalicelib.store.deliveries import DeliveryKey

ABANDONED_REASON = (
    "send outcome unknown: a worker stopped between claiming and recording the send; "
    "not resent, to avoid a duplicate"
)
SUPPRESSED_REASON = "address is on the suppression list"


def limit_reason() -> str:
    return (f"recipient limit: at most {get_settings().confirmations_per_hour} confirmations an hour "
            "to one address; the lead is stored and the team alerted")


class RetryLater(Exception):
    """The job must come back later (throttling, a send held while its outcome is unknown,
    a send in progress elsewhere)."""


def destination(job: EmailJob) -> str:
    """The address SES is given: the recipient, or the stage's sandbox address."""
    return get_settings().sandbox_address or job.recipient


class Parked(Exception):
    """The job cannot go out until a person fixes something that is not the email's fault (a
    template, the code, the stage's SES set-up): the claim is given back with the reason, so
    the ledger row says so and stays sendable, and the message goes to the DLQ with it, to be
    redriven once fixed (the ledger makes the redrive send exactly once)."""


def park(key: DeliveryKey, token: str, error: Exception) -> Parked:
    code = getattr(error, "code", None) or type(error).__name__
    reason = f"held for a redrive, not sent: {code}: {mask_text(str(error))[:200]}"
    ledger.release_for_retry(key, token, reason)
    return Parked(reason)


def sandboxed(job: EmailJob, subject: str) -> tuple[str, str]:
    """Recipient and subject after the stage's sandbox redirect, if any."""
    sandbox = get_settings().sandbox_address
    if not sandbox:
        return job.recipient, subject
    return sandbox, f"[SANDBOX for {mask_email(job.recipient)}] {subject}"


def recipient_limit(job: EmailJob) -> dict[str, Any] | None:
    """A confirmation's count under its recipient's hourly limit, carried by the claim's own
    transaction (so the form cannot make our sender mail one address over and over)."""
    if job.kind != LeadKind.CUSTOMER_CONFIRMATION:
        return None
    return rate_limits.confirmation_admission(job.recipient, job.key.delivery_id)


def over_recipient_limit(job: EmailJob, claim: ledger.Claim) -> bool:
    """Whether this confirmation exceeds its recipient's hourly limit: no, when the claim's
    transaction counted it; else judged exactly. Counted once per delivery, so a
    redelivered or retried job is judged as before."""
    if job.kind != LeadKind.CUSTOMER_CONFIRMATION or claim.guarded:
        return False
    token = claim.token
    try:
        return not rate_limits.admit_confirmation(job.recipient, job.key.delivery_id)
    except Exception as error:  # the table is unavailable: come back later, do not guess
        ledger.release_for_retry(job.key, token, "retrying: the recipient limit could not be checked")
        raise RetryLater("recipient limit unavailable") from error


def send_job(job: EmailJob) -> SendOutcome:
    """Send the job unless the ledger says it is done; return what happened."""
    log = get_logger()
    key = job.key
    claim = ledger.claim(key, sent_to=destination(job), guard=recipient_limit(job))
    if claim.state is ClaimState.ERASED:
        # The lead was erased while its event was in flight: send and keep nothing.
        log.info("%s for an erased lead dropped", job.kind)
        return SendOutcome.ERASED
    if claim.state is ClaimState.SUPPRESSED:
        if ledger.record_outcome(key, DeliveryStatus.SUPPRESSED, SUPPRESSED_REASON):
            metrics.emit("Suppressed", 1, kind=job.kind)
            log.info("%s to %s suppressed", job.kind, mask_email(job.recipient))
        return SendOutcome.SUPPRESSED
    if claim.state is ClaimState.DONE:
        return SendOutcome.DUPLICATE
    if claim.state is ClaimState.BUSY:
        raise RetryLater("another worker holds this send")
    if claim.state is ClaimState.ABANDONED:
        if ledger.mark_failed(key, ABANDONED_REASON):
            metrics.emit("SendFailures", 1, kind=job.kind)
            log.warning("%s to %s: %s", job.kind, mask_email(job.recipient), ABANDONED_REASON)
        return SendOutcome.FAILED
    if job.kind == LeadKind.TEAM_CHAT:
        from chalicelib.pipeline import chat

        return chat.post_claimed(job, claim.token)
    if over_recipient_limit(job, claim):
        if ledger.mark_skipped(key, claim.token, limit_reason()):
            metrics.emit("ConfirmationsSkipped", 1, kind=job.kind)
            log.info("%s to %s skipped: recipient limit", job.kind, mask_email(job.recipient))
        return SendOutcome.SKIPPED
    return _send_claimed(job, claim.token)


def _send_claimed(job: EmailJob, token: str) -> SendOutcome:
    log = get_logger()
    key = job.key
    try:
        email = render(job.kind, job.context)
        recipient, subject = sandboxed(job, email.subject)
        raw = build_message(
            job.sender, recipient, subject, email.text, email.html, job.reply_to, reference=job.key.delivery_id
        )
        _, sender_address = split_mailbox(job.sender)
        # The claim token lets SES feedback complete this very send if its record is lost.
        tags: dict[str, str] = {
            MessageTag.LEAD: job.ref_id, MessageTag.KIND: job.kind, MessageTag.DELIVERY: key.delivery_id,
            MessageTag.CLAIM: token,
        }
        message_id = ses.send_raw(raw, sender_address, [recipient], tags)
    except ses.SendOutcomeUnknown as error:
        # Keep the claim: SES feedback for the message adopts it (sent), or the
        # lease runs out and it ends `failed`, outcome unknown. Never resent.
        # (A lost answer, or a 5xx: SES may have taken the message before failing.)
        log.warning("%s to %s: %s; held until SES feedback or the lease ends",
                    job.kind, mask_email(job.recipient), error.code)
        raise RetryLater(error.code) from error
    except ses.RetryableSendError as error:
        ledger.release_for_retry(key, token, f"retrying after {error.code}")
        log.warning("%s to %s: SES %s; will retry", job.kind, mask_email(job.recipient), error.code)
        raise RetryLater(error.code) from error
    except ses.PermanentSendError as error:
        if ses.is_configuration_error(error.code):
            log.warning("%s to %s: SES %s; held for a redrive", job.kind, mask_email(job.recipient), error.code)
            raise park(key, token, error) from error
        # SES's own permanent rejection of this email: recorded, never retried.
        reason = f"{error.code}: {str(error)[:200]}"
        ledger.mark_failed(key, reason, token)
        metrics.emit("SendFailures", 1, kind=job.kind)
        log.warning("%s to %s failed permanently: %s", job.kind, mask_email(job.recipient), reason)
        return SendOutcome.FAILED
    except Exception as error:  # a template or programming error is not the email's fault
        parked = park(key, token, error)
        log.warning("%s to %s: %s", job.kind, mask_email(job.recipient), parked)
        raise parked from error
    ledger.mark_sent(key, token, message_id)
    metrics.emit("EmailsSent", 1, kind=job.kind)
    log.info("%s to %s sent as %s", job.kind, mask_email(job.recipient), message_id)
    return SendOutcome.SENT
