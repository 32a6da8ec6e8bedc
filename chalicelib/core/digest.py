"""Digests of identifiers: one way to hash, so every short id is derived alike."""

from __future__ import annotations

import hashlib


def digest(text: str, chars: int = 64) -> str:
    """The first `chars` hex characters of SHA-256(text)."""
    return hashlib.sha256(text.encode()).hexdigest()[:chars]
