"""Stage settings, read once per container from environment variables.

Every resource name and tunable reaches the code through the environment
variables declared per stage in `.chalice/config.json`; nothing is a literal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.core.states import CaptchaProvider


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name, "")
    return tuple(int(part) for part in raw.split(",") if part.strip()) or default


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _env(name).split(",") if part.strip())


def _env_json_object(name: str) -> dict[str, Any]:
    """A JSON object setting; empty means {}. Anything else is a configuration error, said at once."""
    raw = os.environ.get(name, "")
    value = json.loads(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


@dataclass(frozen=True)
class Settings:
    stage: str
    leads_table: str
    deliveries_table: str
    suppression_table: str
    idempotency_table: str
    rate_limit_table: str
    lead_events_topic_arn: str
    notification_requests_topic_arn: str
    notifications_queue: str
    notifications_dlq: str
    ses_feedback_dlq: str
    lead_stream_dlq: str
    lead_audit_dlq: str
    ses_feedback_topic: str
    ses_configuration_set: str
    audit_bucket: str
    team_addresses: tuple[str, ...]
    team_routes: dict[str, list[str]]
    team_sender: str
    customer_sender: str
    sandbox_address: str
    allowed_origins: tuple[str, ...]
    admin_token_sha256: str
    rate_limit_max: int
    rate_limit_window_seconds: int
    idempotency_ttl_seconds: int
    delivery_ttl_days: int
    related_table: str
    related_key_fields: dict[str, str]
    hmac_key: str
    hmac_key_secret: str
    confirmations_per_hour: int
    confirmation_echo: bool
    # Website forms (api/forms.py, api/browser.py): where a browser lands after a
    # post without an allowed `_next`, and how long a repeated form post is the same lead.
    thank_you_url: str
    form_repeat_seconds: int
    # CAPTCHA (api/captcha.py): off when no provider; the secret comes from the
    # deploy environment, never from committed configuration.
    captcha_provider: CaptchaProvider | None
    captcha_site_key: str
    captcha_secret: str
    captcha_verify_url: str
    captcha_timeout_seconds: float
    captcha_min_score: float
    # Other systems as senders (POST /notifications, status callbacks, team chat).
    notifications_table: str
    callbacks_queue: str
    callbacks_dlq: str
    sender_keys: dict[str, Any]
    sender_rate_limit_max: int
    sender_rate_limit_window_seconds: int
    callback_retry_seconds: tuple[int, ...]
    callback_allow_loopback: bool
    team_webhook_url: str


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        stage=_env("LEADFLOW_STAGE", "local"),
        leads_table=_env("LEADS_TABLE"),
        deliveries_table=_env("DELIVERIES_TABLE"),
        suppression_table=_env("SUPPRESSION_TABLE"),
        idempotency_table=_env("IDEMPOTENCY_TABLE"),
        rate_limit_table=_env("RATE_LIMIT_TABLE"),
        lead_events_topic_arn=_env("LEAD_EVENTS_TOPIC_ARN"),
        notification_requests_topic_arn=_env("NOTIFICATION_REQUESTS_TOPIC_ARN"),
        notifications_queue=_env("NOTIFICATIONS_QUEUE"),
        notifications_dlq=_env("NOTIFICATIONS_DLQ"),
        ses_feedback_dlq=_env("SES_FEEDBACK_DLQ"),
        lead_stream_dlq=_env("LEAD_STREAM_DLQ"),
        lead_audit_dlq=_env("LEAD_AUDIT_DLQ"),
        ses_feedback_topic=_env("SES_FEEDBACK_TOPIC"),
        ses_configuration_set=_env("SES_CONFIGURATION_SET"),
        audit_bucket=_env("AUDIT_BUCKET"),
        team_addresses=_env_list("TEAM_ADDRESSES"),
        team_routes=_env_json_object("TEAM_ROUTES"),
        team_sender=_env("TEAM_SENDER"),
        customer_sender=_env("CUSTOMER_SENDER"),
        sandbox_address=_env("SANDBOX_ADDRESS"),
        allowed_origins=_env_list("ALLOWED_ORIGINS"),
        admin_token_sha256=_env("ADMIN_TOKEN_SHA256"),
        rate_limit_max=_env_int("RATE_LIMIT_MAX", 5),
        rate_limit_window_seconds=_env_int("RATE_LIMIT_WINDOW_SECONDS", 600),
        idempotency_ttl_seconds=_env_int("IDEMPOTENCY_TTL_SECONDS", 86400),
        delivery_ttl_days=_env_int("DELIVERY_TTL_DAYS", 400),
        related_table=_env("RELATED_TABLE"),
        related_key_fields=_env_json_object("RELATED_KEY_FIELDS"),
        hmac_key=_env("HMAC_KEY"),
        hmac_key_secret=_env("HMAC_KEY_SECRET"),
        confirmations_per_hour=_env_int("CONFIRMATIONS_PER_HOUR", 3),
        confirmation_echo=_env_flag("CONFIRMATION_ECHO"),
        thank_you_url=_env("THANK_YOU_URL").strip(),
        form_repeat_seconds=_env_int("FORM_REPEAT_SECONDS", 60),
        captcha_provider=_captcha_provider(),
        captcha_site_key=_env("CAPTCHA_SITE_KEY").strip(),
        captcha_secret=_env("CAPTCHA_SECRET").strip(),
        captcha_verify_url=_env("CAPTCHA_VERIFY_URL").strip(),
        captcha_timeout_seconds=_env_float("CAPTCHA_TIMEOUT_SECONDS", 3.0),
        captcha_min_score=_env_float("CAPTCHA_MIN_SCORE", 0.5),
        notifications_table=_env("NOTIFICATIONS_TABLE"),
        callbacks_queue=_env("CALLBACKS_QUEUE"),
        callbacks_dlq=_env("CALLBACKS_DLQ"),
        sender_keys=_env_json_object("SENDER_KEYS"),
        sender_rate_limit_max=_env_int("SENDER_RATE_LIMIT_MAX", 600),
        sender_rate_limit_window_seconds=_env_int("SENDER_RATE_LIMIT_WINDOW_SECONDS", 60),
        # Stripe-like backoff between callback attempts: 1 min, 5 min, 30 min, 2 h, 6 h.
        callback_retry_seconds=_env_ints("CALLBACK_RETRY_SECONDS", (60, 300, 1800, 7200, 21600)),
        callback_allow_loopback=_env_flag("CALLBACK_ALLOW_LOOPBACK"),
        team_webhook_url=_env("TEAM_WEBHOOK_URL"),
    )


def _captcha_provider() -> CaptchaProvider | None:
    """CAPTCHA_PROVIDER: empty for none; an unknown name is a configuration error, said at once."""
    raw = _env("CAPTCHA_PROVIDER").strip().lower()
    if not raw:
        return None
    try:
        return CaptchaProvider(raw)
    except ValueError:
        known = ", ".join(p.value for p in CaptchaProvider)
        raise ValueError(f"CAPTCHA_PROVIDER must be empty or one of {known}, not {raw!r}") from None
