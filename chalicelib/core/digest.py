"""Digests of identifiers: one way to hash, so every short id is derived alike."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(text: str, chars: int = 64) -> str:
    """The first `chars` hex characters of SHA-256(text)."""
    return hashlib.sha256(text.encode()).hexdigest()[:chars]


def fingerprint(value: Any) -> str:
    """The digest of a JSON value in canonical form (sorted keys, no spaces): the same body
    gives the same fingerprint whatever its key order."""
    return digest(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
