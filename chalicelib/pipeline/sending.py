"""Sending one email job exactly once: ledger claim (with the suppression and erasure checks), render, SES, record."""

from __future__ import annotations

from chalicelib.core import metrics
from chalicelib.core.logs import get_logger
from chalicelib.core.masking import mask_email
from chalicelib.core.settings import get_settings
from chalicelib.core.states import ClaimState, DeliveryStatus, SendOutcome
from chalicelib.email import ses
from chalicelib.email.mime import build_message, split_mailbox
from chalicelib.email.rendering import render
from chalicelib.pipeline.jobs import EmailJob
from chalicelib.store import ledger

ABANDONED_REASON = (
    "send outcome unknown: a worker stopped between claiming and recording the send; "
    "not resent, to avoid a duplicate"
)
SUPPRESSED_REASON = "address is on the suppression list"


class RetryLater(Exception):
    """The job must come back later (throttling, 5xx, a send in progress elsewhere)."""


def sandboxed(job: EmailJob, subject: str) -> tuple[str, str]:
    """Recipient and subject after the stage's sandbox redirect, if any."""
    sandbox = get_settings().sandbox_address
    if not sandbox:
        return job.recipient, subject
    return sandbox, f"[SANDBOX for {mask_email(job.recipient)}] {subject}"


def send_job(job: EmailJob) -> SendOutcome:
    """Send the job unless the ledger says it is done; return what happened."""
    log = get_logger()
    key = job.key
    claim = ledger.claim(key)
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
        tags = {"lead_id": job.ref_id, "kind": job.kind}
        message_id = ses.send_raw(raw, sender_address, [recipient], tags)
    except ses.SendOutcomeUnknown as error:
        # Keep the claim: SES feedback for the message adopts it (sent), or the
        # lease runs out and it ends `failed`, outcome unknown. Never resent.
        log.warning("%s to %s: %s; held until SES feedback or the lease ends",
                    job.kind, mask_email(job.recipient), error.code)
        raise RetryLater(error.code) from error
    except ses.RetryableSendError as error:
        ledger.release_for_retry(key, token, f"retrying after {error.code}")
        log.warning("%s to %s: SES %s; will retry", job.kind, mask_email(job.recipient), error.code)
        raise RetryLater(error.code) from error
    except Exception as error:  # noqa: BLE001 - permanent: recorded, never retried
        reason = f"{getattr(error, 'code', type(error).__name__)}: {str(error)[:200]}"
        ledger.mark_failed(key, reason, token)
        metrics.emit("SendFailures", 1, kind=job.kind)
        log.warning("%s to %s failed permanently: %s", job.kind, mask_email(job.recipient), reason)
        return SendOutcome.FAILED
    ledger.mark_sent(key, token, message_id)
    metrics.emit("EmailsSent", 1, kind=job.kind)
    log.info("%s to %s sent as %s", job.kind, mask_email(job.recipient), message_id)
    return SendOutcome.SENT
