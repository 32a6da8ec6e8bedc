"""Input rules shared by every way in (the lead form, notification requests):
addresses, single-line values and free text, and the contract's shared limits.
"""

from __future__ import annotations

import re
import unicodedata

MAX_IDEMPOTENCY_KEY = 128

# RFC 2047 encoded words (`=?charset?b?...?=`) are decoded by mail software
# after any check of ours, and Python's email package writes a decoded CR/LF
# out raw (CPython issue 87720): a name holding one could add headers. No
# real name, key or address contains the opener `=?`, so single-line values
# and addresses refuse it at the door; email/mime.py encodes what it writes
# itself as well, so nothing depends on this check alone.
ENCODED_WORD_OPENER = "=?"

# Pragmatic address check (RFC 5321 sizes, dot-atom local part, LDH domain
# labels with a TLD). Full RFC 5322 grammar accepts addresses SES rejects.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


# Single-line fields (name, metadata keys) refuse control characters in the
# wide sense: C0/C1 controls and DEL (Cc), lone surrogates (Cs), the Unicode
# line and paragraph separators (Zl, Zp), and invisible format characters
# (Cf: bidi overrides, zero-width space, BOM...), which can spoof what the
# team reads in an alert's subject. ZWNJ and ZWJ are format characters too,
# but real names need them (Persian, Indic scripts, emoji sequences).
_SINGLE_LINE_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp", "Cf"})
_JOINERS = frozenset({"\u200c", "\u200d"})
# Free text (message, metadata values) keeps line breaks, tabs and every
# printable or format character; private-use and not-yet-assigned code points
# are allowed because text from newer devices contains them (new emoji, the
# Apple logo). Lone surrogates cannot be stored or mailed.
_TEXT_ALLOWED_CONTROLS = frozenset("\n\r\t")


def has_control_chars(text: str) -> bool:
    """True if a single-line value holds a character it must not."""
    return any(
        unicodedata.category(ch) in _SINGLE_LINE_FORBIDDEN and ch not in _JOINERS for ch in text
    )


def has_encoded_word(text: str) -> bool:
    """True if the value could hold an RFC 2047 encoded word."""
    return ENCODED_WORD_OPENER in text


def is_single_line_text(text: str) -> bool:
    """A value that may reach a mail header: no control characters, no encoded-word syntax."""
    return not has_control_chars(text) and not has_encoded_word(text)


def has_line_control_chars(text: str) -> bool:
    """True if free text holds a control character other than a line break or tab."""
    return any(
        unicodedata.category(ch) in ("Cc", "Cs") and ch not in _TEXT_ALLOWED_CONTROLS for ch in text
    )


def is_valid_email(address: str) -> bool:
    """One plain address (never a list, a display name or an encoded word)."""
    if len(address) > 254 or address.count("@") != 1 or has_encoded_word(address):
        return False
    local, domain = address.rsplit("@", 1)
    if not local or len(local) > 64 or not _LOCAL_RE.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def normalise_email(address: str) -> str:
    """Trim and lower-case the domain; the local part is case-sensitive by RFC."""
    local, domain = address.strip().rsplit("@", 1)
    return f"{local}@{domain.lower()}"
