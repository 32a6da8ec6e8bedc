"""Masking of personal data before it reaches a log line."""

from __future__ import annotations

import re

_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+!#$&'*/=?^`{|}~-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE_RE = re.compile(r"\+?\d[\d ().-]{5,}\d")


def mask_email(address: str) -> str:
    """`ada@example.com` -> `a***@e***.com`: enough to tell addresses apart in a log."""
    if "@" not in address:
        return "***"
    local, domain = address.rsplit("@", 1)
    head, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{head[:1]}***.{tld}" if head else f"{local[:1]}***@***"


def mask_text(text: str) -> str:
    """Mask every address and phone-like number inside free text."""
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE_RE.sub("[phone]", text)
