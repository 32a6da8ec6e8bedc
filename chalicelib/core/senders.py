"""Other systems that send through leadflow: their API keys and signing secrets.

`SENDER_KEYS` (a stage setting) maps the SHA-256 (hex) of each API key to
what the key may do; the key itself is never stored:

    {"<sha256 of the key>": {"sender": "shop", "kinds": ["order_confirmation"],
                             "rate_limit": 600}}

- `sender`: the sender's name (1-64 of a-z 0-9 _ -); several keys may name
  the same sender (rotation), and a sender sees only its own notifications.
- `kinds`: the kinds it may send; `"*"` is every kind that needs no lead.
- `rate_limit`: requests per SENDER_RATE_LIMIT_WINDOW_SECONDS for this key
  (default SENDER_RATE_LIMIT_MAX).
- Signing secret (for status callbacks): on AWS stages the Secrets Manager
  secret `leadflow/<stage>/senders/<sender>` (or the entry's
  `signing_secret_id`), read once per container (infra/DEPLOY.md says how
  to create it); only the `local` stage may write one in its configuration
  (`signing_secret`), as the local admin token is documented.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.core import aws
from chalicelib.core.digest import digest
from chalicelib.core.settings import get_settings
from chalicelib.email import schemas

SENDER_NAME = re.compile(r"[a-z0-9_-]{1,64}")
ALL_KINDS = "*"
# The one stage whose configuration may hold a signing secret itself.
LITERAL_SECRET_STAGE = "local"
SECRET_CACHE_SECONDS = 300


class SenderConfigError(ValueError):
    """SENDER_KEYS is not what this module documents (a configuration fault)."""


@dataclass(frozen=True)
class Sender:
    name: str
    kinds: tuple[str, ...]
    rate_limit: int
    key_id: str  # the first characters of the key's hash: names the key in a log and its rate bucket

    def may_send(self, kind: str) -> bool:
        if kind in self.kinds:
            return True
        return ALL_KINDS in self.kinds and schemas.requestable(kind)


def _entry(key_hash: str, raw: Any) -> Sender:
    if not re.fullmatch(r"[0-9a-f]{64}", key_hash) or not isinstance(raw, dict):
        raise SenderConfigError("SENDER_KEYS maps a SHA-256 hex digest to an object")
    name, kinds = raw.get("sender"), raw.get("kinds")
    if not isinstance(name, str) or not SENDER_NAME.fullmatch(name):
        raise SenderConfigError("each SENDER_KEYS entry names its sender: 1-64 of a-z 0-9 _ -")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise SenderConfigError(f"sender {name}: kinds must be a list of kinds (or [\"*\"])")
    limit = raw.get("rate_limit", get_settings().sender_rate_limit_max)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise SenderConfigError(f"sender {name}: rate_limit must be a positive integer")
    return Sender(name, tuple(kinds), limit, key_hash[:12])


def senders() -> dict[str, Sender]:
    """Every configured key's sender, by key hash."""
    return {key_hash: _entry(key_hash, raw) for key_hash, raw in get_settings().sender_keys.items()}


def authenticate(key: str | None) -> Sender | None:
    """The sender whose API key this is; compared in constant time against every hash."""
    if not key:
        return None
    presented = digest(key)
    found = None
    for key_hash, sender in senders().items():
        if hmac.compare_digest(presented, key_hash):
            found = sender
    return found


def known(name: str) -> bool:
    return any(s.name == name for s in senders().values())


# --- Signing secrets --------------------------------------------------------------------


def secret_id(stage: str, sender: str) -> str:
    return f"leadflow/{stage}/senders/{sender}"


def _configured(sender: str) -> dict[str, Any] | None:
    for raw in get_settings().sender_keys.values():
        if isinstance(raw, dict) and raw.get("sender") == sender:
            return raw
    return None


@lru_cache(maxsize=64)
def _fetched(secret: str, epoch: int) -> str:
    value = aws.secretsmanager().get_secret_value(SecretId=secret)
    return str(value.get("SecretString") or "")


def signing_secret(sender: str) -> str:
    """The secret callbacks to this sender are signed with; SenderConfigError if there is none."""
    settings = get_settings()
    raw = _configured(sender)
    if raw is None:
        raise SenderConfigError(f"sender {sender} is no longer configured (SENDER_KEYS)")
    literal = raw.get("signing_secret")
    if literal:
        if settings.stage != LITERAL_SECRET_STAGE:
            raise SenderConfigError(
                f"sender {sender}: only the {LITERAL_SECRET_STAGE} stage may hold a signing secret in its "
                "configuration; use a Secrets Manager secret (infra/DEPLOY.md)"
            )
        return str(literal)
    # Cached per five minutes, so a rotated secret is picked up without a deploy.
    value = _fetched(str(raw.get("signing_secret_id") or secret_id(settings.stage, sender)),
                     int(time.time() // SECRET_CACHE_SECONDS))
    if len(value) < 16:
        raise SenderConfigError(f"sender {sender}: the signing secret must be at least 16 characters")
    return value
