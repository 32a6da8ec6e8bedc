"""Re-reading an email we built the way a mail reader would, to check its header set.

Two readers: the standard library's modern parser (it decodes RFC 2047 encoded
words, as mail clients do) and the raw header block (lines that start a
header). Both must see exactly the headers and recipients the code meant.
"""

from __future__ import annotations

import email
import re
from email.policy import default as default_policy
from typing import Any

# Header values any hostile test can use: line breaks raw and encoded, lists, quotes, specials.
HOSTILE_VALUES = [
    "x:=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNClgtSW5qZWN0ZWQ6IHllcw==?=",
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNCg0KYXR0YWNrZXIgYm9keQ==?=",
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=",
    "=?ISO-8859-1?Q?=0A=0AReply-To:_evil@evil.example?= tail",
    "Eve\r\nBcc: victim@evil.example",
    "Eve\nX-Injected: yes\n\nbody",
    "Eve\u2028Bcc: victim@evil.example\u0085X: y",
    '"Eve" <eve@evil.example>, victim@evil.example',
    "Eve <eve@evil.example>; evil@evil.example",
    "a\\\"b\\\\c\"",
    "Ünïcødé 名前 \U0001f600 \u202e",
    "x" * 300,
    "=?" * 40,
    "?=",
]

# What a message of ours carries besides the headers a caller names.
STRUCTURE_HEADERS = frozenset({"Content-Type", "MIME-Version"})


def header_lines(raw: bytes) -> list[str]:
    """The names of the lines that start a header, in the raw header block."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in re.split(r"\r?\n", head) if line and line[0] not in " \t"]


def parsed(raw: bytes) -> Any:
    return email.message_from_bytes(raw, policy=default_policy)


def addresses(message: Any, name: str) -> list[str]:
    return [a.addr_spec for a in message[name].addresses] if message[name] is not None else []


def assert_headers_exactly(
    raw: bytes, meant: set[str], to: str, reply_to: str | None = None, sender: str | None = None
) -> Any:
    """The message has exactly the headers `meant` (plus its MIME structure headers), one To
    (`to`), the Reply-To meant (or none), and a body of two parts; returns it parsed."""
    assert raw.isascii(), "a raw message of ours is 7-bit"
    lines = header_lines(raw)
    expected = set(meant) | STRUCTURE_HEADERS
    assert sorted(lines) == sorted(expected), lines  # no header added, none twice
    message = parsed(raw)
    assert set(message.keys()) == expected, list(message.keys())
    assert addresses(message, "To") == [to]
    assert addresses(message, "Reply-To") == ([reply_to] if reply_to else [])
    if sender:
        assert addresses(message, "From") == [sender]
    for name in ("Bcc", "Cc", "X-Injected"):
        assert message[name] is None
    for name, value in message.items():  # decoded as a reader decodes them: still one line each
        assert "\r" not in str(value) and "\n" not in str(value), (name, str(value))
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"], parts
    return message
