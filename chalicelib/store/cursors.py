"""Opaque page cursors: a page's last key as URL-safe base64 JSON under short names.

A cursor comes back from anyone, so it is checked field by field on the way in
(the set of names, each value against its rule) and only then turned back
into an ExclusiveStartKey: a cursor can only be one this API returned, and it
never carries a partition value the request names again (an address).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class BadCursor(ValueError):
    """A cursor this API did not return."""


def encode(fields: Mapping[str, str]) -> str:
    raw = json.dumps(dict(fields), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, checks: Mapping[str, Callable[[str], object]], max_chars: int) -> dict[str, str]:
    """The fields of a cursor, each passing its check; BadCursor otherwise."""
    if len(cursor) > max_chars or not _TOKEN.fullmatch(cursor):
        raise BadCursor(cursor)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadCursor(cursor) from None
    if not isinstance(data, dict) or set(data) != set(checks):
        raise BadCursor(cursor)
    for name, check in checks.items():
        if not isinstance(data[name], str) or not check(data[name]):
            raise BadCursor(cursor)
    return {name: str(value) for name, value in data.items()}
