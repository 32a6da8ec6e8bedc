"""Hypothesis strategies for hostile (and some friendly) HTTP requests."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

# Characters that break naive code: controls, NUL, DEL, C1, line/paragraph
# separators, bidi overrides and marks (RTL), zero-width and joiners, BOM,
# non-characters, private use, astral emoji and a ZWJ sequence, lone surrogates.
EDGE_CHARACTERS = [
    "\x00", "\x07", "\x1b", "\x1f", "\x7f", "\x85", "\x9b", "\r", "\n", "\t", "\r\n",
    "\u2028", "\u2029", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufffe", "\uffff", "\ufffd",
    "\ue000", "\uf8ff", "\U0001f600", "\U0001d573", "\U0010ffff", "\U000e0041",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "\u05e9\u05dc\u05d5\u05dd", "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627", "e\u0301",
    "\ud800", "\udfff", "\U0001fae8", "%00", "\\u0000", "<script>", "\"", "'", "\\",
    "Bcc: x@evil.example", "=?utf-8?b?AA==?=",
    # Encoded words a mail reader decodes into line breaks and headers, and address lists.
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNClgtSW5qZWN0ZWQ6IHllcw==?=",
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=", "=?ISO-8859-1?B?DQoNCmJvZHk=?=", "=?", "?=",
    ", victim@evil.example", "; victim@evil.example", "\"Eve\" <eve@evil.example>", "<victim@evil.example>",
]
# Whole values that smuggle a second recipient or an encoded word into an address field.
HOSTILE_ADDRESSES = [
    "ada@example.com, victim@evil.example", "ada@example.com,victim@evil.example",
    "ada@example.com;victim@evil.example",
    "Ada <ada@example.com>", "\"ada@example.com\" <victim@evil.example>", "=?utf-8?b?YQ==?=@example.com",
    "ada=?utf-8?q?=0D=0A?=@example.com", "ada@example.com\r\nBcc: victim@evil.example", "a,b@example.com",
]

edge_text = st.lists(
    st.one_of(st.sampled_from(EDGE_CHARACTERS), st.text(max_size=5)), max_size=12
).map("".join)

any_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    edge_text,
    st.sampled_from(["", " ", "   ", "\t", "null", "None", "0", "true"]),
)

huge_text = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["x", "\U0001f600", "\u200b", " ", "a@b.co", "\u202e"]),
    st.sampled_from([63, 64, 65, 199, 200, 201, 254, 255, 499, 500, 501, 4999, 5000, 5001, 9000]),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    any_text,
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)

# --- values that are definitely valid per field ----------------------------

_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-", min_size=1, max_size=12)
_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)

valid_emails = st.builds(
    lambda local, labels, tld, pad: f"{pad}{local}@{'.'.join(labels)}.{tld}{pad}",
    st.lists(_atom, min_size=1, max_size=3).map(".".join).filter(lambda s: len(s) <= 64),
    st.lists(_label, min_size=1, max_size=3),
    st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True),
    st.sampled_from(["", " ", "  "]),
)

_name_chars = st.characters(
    exclude_categories=["Cc", "Cs", "Zl", "Zp", "Cf"], exclude_characters=["\u200c", "\u200d"]
)
valid_names = st.one_of(
    st.text(_name_chars, min_size=1, max_size=60).filter(lambda s: 1 <= len(s.strip()) <= 200 and "=?" not in s),
    st.sampled_from(
        [
            "Ada Lovelace", "  Grace Hopper  ", "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
            "\u05e9\u05dc\u05d5\u05dd", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "<script>alert(1)</script>", "Robert'); DROP TABLE leads;--", "n" * 200, "\U0010fffd" * 5,
            '"Eve" <eve@evil.example>, Bcc: victim@evil.example', "Ünï 名 ?= x", "a\\\"b",
        ]
    ),
)
_text_chars = st.characters(exclude_categories=["Cc", "Cs"])
valid_messages = st.one_of(
    st.text(_text_chars, max_size=200),
    st.text(st.one_of(_text_chars, st.sampled_from(["\n", "\r", "\t"])), max_size=200),
    st.just("m" * 5000),
    st.sampled_from(["<img src=x onerror=alert(1)>", "Sent from my \uf8ff", "new emoji \U0001fae8", "\u202e"]),
)
valid_phones = st.text(alphabet="0123456789 +-().", min_size=1, max_size=40)
valid_sources = st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True)
valid_metadata = st.dictionaries(
    st.text(_name_chars, min_size=1, max_size=64).filter(lambda s: "=?" not in s),
    st.text(_text_chars, max_size=50),
    max_size=20,
)

VALID_BY_FIELD: dict[str, st.SearchStrategy[Any]] = {
    "name": valid_names,
    "email": valid_emails,
    "phone": st.one_of(valid_phones, st.none(), st.just("")),
    "message": st.one_of(valid_messages, st.none(), st.just("")),
    "source": valid_sources,
    "metadata": st.one_of(valid_metadata, st.none()),
    "_gotcha": st.just(""),
}


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = {"name": draw(valid_names), "email": draw(valid_emails)}
    for name in ("phone", "message", "source", "metadata", "_gotcha"):
        if draw(st.booleans()):
            body[name] = draw(VALID_BY_FIELD[name])
    return body


def _insert(text: str, piece: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + piece + text[at:]


@st.composite
def one_rule_broken(draw: st.DrawFn) -> dict[str, Any]:
    """A valid lead with one edge character slipped into one string (or metadata key):
    the sharpest probe of each field's character rules."""
    body = draw(valid_bodies())
    body.setdefault("message", "hello")
    body.setdefault("phone", "+1 555 0100")
    body.setdefault("metadata", {"plan": "pro"})
    body.setdefault("source", "landing")
    if not isinstance(body.get("metadata"), dict) or not body["metadata"]:
        body["metadata"] = {"plan": "pro"}
    piece = draw(st.sampled_from(EDGE_CHARACTERS))
    at = draw(st.integers(0, 300))
    target = draw(st.sampled_from(["name", "email", "phone", "message", "source", "metadata key", "metadata value"]))
    if target.startswith("metadata"):
        key = draw(st.sampled_from(sorted(body["metadata"])))
        value = body["metadata"].pop(key)
        if target == "metadata key":
            key = _insert(key, piece, at)
        else:
            value = _insert(str(value), piece, at)
        body["metadata"][key] = value
    else:
        body[target] = _insert(str(body[target] or "x"), piece, at)
    return body


def hostile_value(name: str) -> st.SearchStrategy[Any]:
    """Mostly plausible, often broken, sometimes of the wrong type entirely."""
    extra = [st.sampled_from(HOSTILE_ADDRESSES)] if name == "email" else []
    return st.one_of(VALID_BY_FIELD[name], any_text, huge_text, json_values, *extra)


@st.composite
def lead_like_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A lead with some fields missing, broken or extra."""
    body: dict[str, Any] = {}
    for name in ("name", "email", "phone", "message", "source", "metadata", "_gotcha"):
        presence = draw(st.sampled_from(["valid", "valid", "hostile", "absent"]))
        if presence == "valid" and name in ("name", "email"):
            body[name] = draw(VALID_BY_FIELD[name])
        elif presence == "hostile" or (presence == "valid" and draw(st.booleans())):
            body[name] = draw(hostile_value(name) if presence == "hostile" else VALID_BY_FIELD[name])
    if draw(st.integers(0, 4)) == 0:
        body.update(draw(st.dictionaries(any_text, json_values, min_size=1, max_size=3)))
    return body


def encode_body(body: Any, ascii_only: bool) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, the only way JSON carries them.
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8")


_SURROGATE_ESCAPE = re.compile(r"\\ud[89a-f]", re.IGNORECASE)


def has_surrogates(value: Any) -> bool:
    return bool(_SURROGATE_ESCAPE.search(json.dumps(value)))


@st.composite
def encoded(draw: st.DrawFn, bodies: st.SearchStrategy[Any]) -> bytes:
    body = draw(bodies)
    ascii_only = True if has_surrogates(body) else draw(st.booleans())
    raw = encode_body(body, ascii_only)
    if draw(st.integers(0, 5)) == 0:  # pretty-printed now and then
        raw = json.dumps(body, indent=draw(st.sampled_from([None, 1, "\t"]))).encode()
    return raw


def _deep(depth: int, opener: str, closer: str, core: str = "1") -> bytes:
    return (opener * depth + core + closer * depth).encode()


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.just(b""),
    st.sampled_from(
        [
            b"{", b"}", b"[", b"null", b"true", b"0", b'"lead"', b"[]", b"{}", b"NaN", b"Infinity",
            b'{"name": NaN, "email": "a@example.com"}', b'{"name": "A", "email": "a@example.com", }',
            b"\xef\xbb\xbf{}", b'{"name": "\xff", "email": "a@example.com"}',
            b'{"name": "\xed\xa0\x80", "email": "a@example.com"}', b'{"name": "\xc0\xaf"}',
            b'{"name": "A"\x00, "email": "a@example.com"}', b"1" * 5000, b"-" + b"9" * 4400,
            b'{"name": "A", "name": "B", "email": "a@example.com"}', b'{"__proto__": {"admin": true}}',
        ]
    ),
    st.builds(_deep, st.integers(1, 8000), st.just("["), st.just("]")),
    st.builds(lambda d: ('{"a":' * d + "1" + "}" * d).encode(), st.integers(1, 3000)),
    st.builds(
        lambda d: json.dumps({"name": "A", "email": "a@example.com", "metadata": {"k": "v"}})[:-1].encode()
        + b', "x": ' + _deep(d, "[", "]") + b"}",
        st.integers(1, 5000),
    ),
    st.builds(lambda n: json.dumps({"name": "A", "email": "a@example.com", "message": "m" * n}).encode(),
              st.sampled_from([4990, 16300, 16330, 16340, 16400, 20000, 70000])),
    encoded(lead_like_bodies()).flatmap(
        lambda raw: st.sampled_from([raw[: len(raw) // 2], raw + b"x", raw.replace(b'"', b"'", 1), raw + b"\xff"])
    ),
)

JSON_CONTENT_TYPES = [
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8",
    "application/vnd.api+json", "application/json; boundary=x", " application/json ",
]
OTHER_CONTENT_TYPES = [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json",
    "application/jsonx", "application/xml", "json", "application", "*/*", "application/octet-stream", "",
    "text/html; charset=utf-8", "application/json\x00", "image/png",
]
content_types = st.one_of(
    st.sampled_from(JSON_CONTENT_TYPES),
    st.sampled_from(JSON_CONTENT_TYPES),
    st.sampled_from(OTHER_CONTENT_TYPES),
    st.none(),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40),
)

# Header values as HTTP can carry them: latin-1 text without CR, LF or NUL.
header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=100, max_size=300),
    st.sampled_from(["", " ", "null", "undefined", "*", "\t"]),
)
idempotency_keys = st.one_of(
    st.none(),
    st.none(),
    st.sampled_from(["fuzz-key-1", "fuzz-key-2", "fuzz-key-3"]),
    header_values,
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=120, max_size=140),
)
_RESERVED = {"content-type", "idempotency-key", "origin", "authorization", "host", "content-length"}
odd_header_names = st.one_of(
    st.sampled_from(["X-Forwarded-For", "X-Real-IP", "Accept", "Accept-Encoding", "User-Agent", "Cookie",
                     "Referer", "X-Amz-Security-Token", "Transfer-Encoding", "Expect", "X-HTTP-Method-Override"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,30}", fullmatch=True),
).filter(lambda name: name.lower() not in _RESERVED)
odd_headers = st.dictionaries(odd_header_names, header_values, max_size=4).map(
    lambda headers: {k: v for k, v in {h.lower(): (h, v) for h, v in headers.items()}.values()}
)
origins = st.one_of(
    st.none(),
    st.sampled_from(
        ["http://localhost:3000", "http://127.0.0.1:3000", "https://evil.example", "null", "http://localhost:3000.evil",
         "HTTP://LOCALHOST:3000", "http://localhost:3000/", "*"]
    ),
    header_values,
)
