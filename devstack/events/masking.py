"""Mask personal data before it reaches a log line."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Seven or more digits, optionally separated the way phone numbers are written.
_PHONE = re.compile(r"\+?\d[\d ().-]{5,}\d")


def mask_email(address: str) -> str:
    """`ada@example.com` -> `a***@example.com`: enough to tell addresses apart in a log."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", address)


def _mask_phone(match: re.Match[str]) -> str:
    digits = [c for c in match.group(0) if c.isdigit()]
    if len(digits) < 7:
        return match.group(0)
    return "***" + "".join(digits[-2:])


def mask_text(text: str) -> str:
    """Mask every email address and phone-like number in free text."""
    return _PHONE.sub(_mask_phone, mask_email(text))
