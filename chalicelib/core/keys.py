"""The app's HMAC key, for everything that must not be guessable from what it stands for:
ledger delivery ids, signed lead events, scoped idempotency records, the rate limiter's salt.

One secret, one derived key per purpose (HMAC(secret, purpose)), so a digest
made for one purpose can never stand in for another.

Where the secret comes from (never from the repository):
- AWS stages: the Secrets Manager secret named by HMAC_KEY_SECRET, which the
  resources stack generates (infra/resources.py); read once per container,
  by the functions that need it (infra/policies.py grants them GetSecretValue).
- the local stage: HMAC_KEY, a fixed development key documented in the
  README like the local admin token. Any other stage refuses it.

The key must stay the same for the life of a stage: delivery ids derive from
it, and a changed key would let a redelivered job claim a new ledger row.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from functools import cache

from chalicelib.core import aws
from chalicelib.core.settings import get_settings

# The one stage that may use a key written in its configuration.
DEVELOPMENT_KEY_STAGE = "local"


class KeyNotConfigured(RuntimeError):
    """The stage names no usable HMAC key: nothing keyed can be computed."""


class KeyPurpose(StrEnum):
    DELIVERY_ID = "delivery-id"
    LEAD_EVENT = "lead-event"
    IDEMPOTENCY = "idempotency"
    RATE_LIMIT = "rate-limit"
    CONFIRMATION_LIMIT = "confirmation-limit"
    FORM_REPEAT = "form-repeat"


@cache
def _secret(stage: str, development_key: str, secret_name: str) -> bytes:
    if development_key:
        if stage != DEVELOPMENT_KEY_STAGE:
            raise KeyNotConfigured(
                f"HMAC_KEY is the {DEVELOPMENT_KEY_STAGE} stage's development key; stage {stage} must use "
                "HMAC_KEY_SECRET"
            )
        return development_key.encode()
    if not secret_name:
        raise KeyNotConfigured("set HMAC_KEY_SECRET (a Secrets Manager secret) for this stage")
    value = aws.secretsmanager().get_secret_value(SecretId=secret_name)
    text = str(value.get("SecretString") or "")
    if len(text) < 32:
        raise KeyNotConfigured(f"the secret {secret_name} holds no key of at least 32 characters")
    return text.encode()


@cache
def _purpose_key(secret: bytes, purpose: KeyPurpose) -> bytes:
    return hmac.new(secret, purpose.value.encode(), hashlib.sha256).digest()


def purpose_key(purpose: KeyPurpose) -> bytes:
    settings = get_settings()
    return _purpose_key(_secret(settings.stage, settings.hmac_key, settings.hmac_key_secret), purpose)


def keyed_digest(purpose: KeyPurpose, text: str, chars: int = 64) -> str:
    """The first `chars` hex characters of HMAC-SHA256(purpose key, text)."""
    return hmac.new(purpose_key(purpose), text.encode(), hashlib.sha256).hexdigest()[:chars]


def is_signed(purpose: KeyPurpose, text: str, signature: object) -> bool:
    """Whether `signature` is keyed_digest(purpose, text), compared in constant time."""
    return isinstance(signature, str) and hmac.compare_digest(keyed_digest(purpose, text), signature)
