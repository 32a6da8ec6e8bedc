"""The team's chat message per lead: a Slack-compatible incoming webhook (TEAM_WEBHOOK_URL).

A job kind of its own (team_chat) through the same send ledger as the
emails: claimed before the post, recorded after, so a redelivered event
never posts twice. Throttling, 5xx and no connection are retried through the
notifications queue; a time-out after the request went out is held, never
reposted (as an SES send whose answer was lost, a duplicate is worse than a
gap); any other answer, a template fault or a refused URL holds the job and
dead-letters it with the reason, to be redriven once fixed.

The message shows no more than the team alert email does, escaped for
Slack's text format (`&`, `<`, `>`), so a lead cannot mention `@channel` or
forge a link. The URL is a credential (Slack's path is the secret): logs show
its host only. TEAM_WEBHOOK_URL may be the URL itself, or `secretsmanager`:
then the Secrets Manager secret `leadflow/<stage>/team-webhook` holds it.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache

from chalicelib.core import aws, metrics, webhooks
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings
from chalicelib.core.states import SendOutcome
from chalicelib.email.rendering import render_text
from chalicelib.pipeline.jobs import EmailJob
from chalicelib.pipeline.sending import RetryLater, park
from chalicelib.store import ledger

TEMPLATE = "team_chat/message.txt"
# The ledger row's recipient: the team's webhook (not an address; no feedback comes for it).
RECIPIENT = "team-webhook"
FROM_SECRET = "secretsmanager"
RETRYABLE_STATUSES = frozenset({408, 429})


def enabled() -> bool:
    return bool(get_settings().team_webhook_url.strip())


@lru_cache(maxsize=4)
def _secret_url(secret_id: str) -> str:
    return str(aws.secretsmanager().get_secret_value(SecretId=secret_id).get("SecretString") or "").strip()


def webhook_url() -> str:
    settings = get_settings()
    configured = settings.team_webhook_url.strip()
    return _secret_url(f"leadflow/{settings.stage}/team-webhook") if configured == FROM_SECRET else configured


def slack_escaped(text: str) -> str:
    """Slack's own escaping of message text: only these three are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(job: EmailJob) -> bytes:
    text = slack_escaped(render_text(TEMPLATE, job.context).strip())
    return json.dumps({"text": text}, ensure_ascii=False).encode()


def post_claimed(job: EmailJob, token: str) -> SendOutcome:
    log = get_logger()
    key = job.key
    try:
        body = message(job)
        url = webhook_url()
        answer = webhooks.post_json(url, body, {}, get_settings().callback_allow_loopback)
    except Exception as error:  # a template fault, a refused URL, a missing secret: fixed by a person
        parked = park(key, token, error)
        log.warning("team chat for lead %s: %s", job.ref_id, parked)
        raise parked from error
    host = webhooks.host_of(url)
    if answer.ok:
        ledger.mark_sent(key, token, f"chat-{uuid.uuid4().hex}")
        metrics.emit("ChatMessagesSent", 1)
        log.info("team chat for lead %s posted to %s", job.ref_id, host)
        return SendOutcome.SENT
    if answer.timed_out:
        # It may have been posted: keep the claim (never reposted; it ends `failed` when the lease runs out).
        log.warning("team chat for lead %s: %s timed out; not reposted", job.ref_id, host)
        raise RetryLater("chat webhook timed out")
    if answer.status == 0 or answer.status in RETRYABLE_STATUSES or answer.status >= 500:
        ledger.release_for_retry(key, token, f"retrying after {answer.detail}")
        log.warning("team chat for lead %s: %s answered %s; will retry", job.ref_id, host, answer.detail)
        raise RetryLater(answer.detail)
    parked = park(key, token, RuntimeError(f"the webhook at {host} answered {answer.detail}"))
    log.warning("team chat for lead %s: %s", job.ref_id, parked)
    raise parked
