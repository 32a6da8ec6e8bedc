"""Lead events are signed by the stream handler and checked by the queue worker.

The notifications queue also carries requests other systems publish to the
notification-requests topic; a `lead.created` among them must not be taken
for a real lead (it would mail both kinds to addresses of the sender's
choosing). SNS cannot tell the worker which topic a raw-delivered message
came from, and anyone allowed to publish to a topic can set any attribute,
so the stream handler signs what it publishes with the app's HMAC key
(core/keys.py), which only it and the worker can read.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import keys

SIGNATURE_FIELD = "signature"


def _canonical(lead: Any, enrichment: Any) -> str:
    return json.dumps({"enrichment": enrichment, "lead": lead}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def signature(lead: dict[str, Any], enrichment: dict[str, Any]) -> str:
    return keys.keyed_digest(keys.KeyPurpose.LEAD_EVENT, _canonical(lead, enrichment))


def is_genuine(message: dict[str, Any]) -> bool:
    """Whether a lead.created message is one the stream handler published, unchanged."""
    canonical = _canonical(message.get("lead"), message.get("enrichment"))
    return keys.is_signed(keys.KeyPurpose.LEAD_EVENT, canonical, message.get(SIGNATURE_FIELD))
