"""Form double submits: the same form body from the same client within
FORM_REPEAT_SECONDS (60 s) is the same lead, without JavaScript or a key.

A browser resubmits a form when the button is clicked twice or the page is
reloaded; it sends no Idempotency-Key. Each stored form lead leaves a record
keyed by a keyed digest of the client and the body's fingerprint, written in the
lead's own transaction (store/leads.py); a repeat finds it and gets the first
lead's answer, and nothing new is stored or sent.

The records live in the Idempotency table, in a key namespace of their own
(`repeat#...`): Idempotency-Key records (store/idempotency.py) are digests
without a prefix, so the two never meet, and whatever scope those records
get, this guard is unaffected. They hold digests and the lead id only;
erasure's sweep of the table by lead id (idempotency.forget_lead) removes
them too.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import aws, keys
from chalicelib.core.clock import now_epoch
from chalicelib.core.settings import get_settings
from chalicelib.store import idempotency
from chalicelib.store.items import from_item

NAMESPACE = "repeat#"


def _table() -> str:
    return get_settings().idempotency_table


class RepeatGuard:
    """One form submission's double-submit record: find a twin, or claim it for a new lead."""

    __slots__ = ("key",)

    def __init__(self, client_id: str, fingerprint: str) -> None:
        # Keyed (core/keys.py): the table holds no digest of an IP address anyone could recompute.
        self.key = NAMESPACE + keys.keyed_digest(keys.KeyPurpose.FORM_REPEAT, f"{client_id}\n{fingerprint}")

    def replay(self) -> str | None:
        """The lead id of the same submission within the window, if there was one."""
        found = aws.dynamodb().get_item(
            TableName=_table(), Key={"key": {"S": self.key}}, ConsistentRead=True
        ).get("Item")
        if not found:
            return None
        record = from_item(found)
        if record.get("expires_at", 0) <= now_epoch():
            return None  # TTL deletes late: an expired record is no twin
        return str(record["lead_id"])

    def claim(self, lead_id: str) -> dict[str, Any]:
        """The transaction item that records this submission, unless an unexpired twin holds it."""
        return idempotency.claim_item({"key": self.key, "lead_id": lead_id}, get_settings().form_repeat_seconds)
