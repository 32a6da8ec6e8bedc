"""What POST /leads should answer, written from SPEC.md's API table.

The fuzz tests compare the app against this model. Where the spec leaves
room (an address the pragmatic rule may or may not accept, the order in which
several broken rules are reported) the model answers with every acceptable
status instead of guessing the implementation's choice.

Deliberately independent of chalicelib.api.validation: the character rules are
written out here as the spec + the documented decisions say them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 16 * 1024
MAX_FORM_BODY = 64 * 1024
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The local stage allows any port of http://localhost and http://127.0.0.1, as browsers send origins.
_LOCAL_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?")
MAX_KEY = 128
FIELDS = ("name", "email", "phone", "message", "source", "metadata", "_gotcha")
OPTIONAL_BLANKABLE = ("phone", "message", "metadata", "source")  # null or "" means "not given"
# RFC 2047's opener: refused in every value that can reach a mail header (names, metadata keys,
# addresses), since a mail reader would decode what follows it.
ENCODED_WORD = "=?"


class Unknown:
    """The spec does not settle whether this value is valid."""


class Invalid:
    """The value breaks a rule."""


UNKNOWN = Unknown()
INVALID = Invalid()

_STRICT_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
_PHONE_CHARS = frozenset("0123456789 +-().")
_SOURCE = re.compile(r"[a-z0-9_-]{1,64}")


def single_line_bad(ch: str) -> bool:
    """Forbidden in a name or metadata key: controls, separators, invisible formatting."""
    category = unicodedata.category(ch)
    if ch in ("\u200c", "\u200d"):  # ZWNJ/ZWJ: needed by real names and emoji
        return False
    return category in ("Cc", "Cs", "Zl", "Zp", "Cf")


def free_text_bad(ch: str) -> bool:
    """Forbidden in a message or metadata value: controls other than \\t \\n \\r, lone surrogates."""
    return unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media_type(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = media_type(content_type)
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def is_form_media_type(content_type: str | None) -> bool:
    return content_type is not None and media_type(content_type) in FORM_MEDIA_TYPES


def origin_allowed(origin: str | None) -> bool:
    return origin is not None and _LOCAL_ORIGIN.fullmatch(origin) is not None


def wants_html(content_type: str | None, accept: str | None) -> bool:
    """A browser's form navigation: no JSON body, no JSON wanted, and a form body or HTML wanted."""
    if is_json_media_type(content_type):
        return False
    wanted = []
    for item in (accept or "").split(","):
        media, *params = (piece.strip() for piece in item.split(";"))
        q = [p.partition("=")[2] for p in params if p.partition("=")[0].strip().lower() == "q"]
        try:
            refused = bool(q) and float(q[-1]) <= 0
        except ValueError:
            refused = False
        if media and not refused:
            wanted.append(media.lower())
    if any(is_json_media_type(media) for media in wanted):
        return False
    return is_form_media_type(content_type) or "text/html" in wanted


def parse_json(raw: bytes) -> tuple[bool, Any]:
    """(ok, value): strict UTF-8, RFC 8259 JSON (no NaN/Infinity)."""

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        return True, json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


def check_name(value: Any) -> Any:
    if not isinstance(value, str):
        return INVALID
    trimmed = value.strip()
    if not 1 <= len(trimmed) <= 200 or any(single_line_bad(c) for c in trimmed) or ENCODED_WORD in trimmed:
        return INVALID
    return trimmed


def check_email(value: Any) -> Any:
    if not isinstance(value, str):
        return INVALID
    address = value.strip()
    if len(address) > 254 or address.count("@") != 1 or ENCODED_WORD in address:
        return INVALID
    local, domain = address.split("@")
    if not local or len(local) > 64 or "." not in domain:
        return INVALID
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in address):
        return INVALID
    if _STRICT_ADDRESS.fullmatch(address) and all(len(label) <= 63 for label in domain.split(".")):
        return f"{local}@{domain.lower()}"
    return UNKNOWN


def check_phone(value: Any) -> Any:
    if not isinstance(value, str) or not 1 <= len(value) <= 40 or not set(value) <= _PHONE_CHARS:
        return INVALID
    return value.strip() or None


def check_message(value: Any) -> Any:
    if not isinstance(value, str) or len(value) > 5000 or any(free_text_bad(c) for c in value):
        return INVALID
    return value if value.strip() else None


def check_source(value: Any) -> Any:
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        return INVALID
    return value


def check_metadata(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) > 20:
        return INVALID
    for key, item in value.items():
        if not 1 <= len(key) <= 64 or any(single_line_bad(c) for c in key) or ENCODED_WORD in key:
            return INVALID
        if not isinstance(item, str) or len(item) > 500 or any(free_text_bad(c) for c in item):
            return INVALID
    return dict(value)


CHECKS = {
    "name": check_name,
    "email": check_email,
    "phone": check_phone,
    "message": check_message,
    "source": check_source,
    "metadata": check_metadata,
}


@dataclass
class Expectation:
    """Acceptable statuses; for a definitely valid lead, what must be stored."""

    statuses: set[int]
    lead: dict[str, Any] | None = None  # the clean lead when the body is definitely valid
    body: Any = None  # the parsed body, when it parsed
    honeypot: bool = False
    reasons: list[str] = field(default_factory=list)
    html: bool = False  # answered as a browser's form navigation: pages, and 303 for a success

    @property
    def may_store(self) -> bool:
        return 201 in self.statuses and not self.honeypot


def clean_lead(body: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str], bool]:
    """(clean lead or None, invalid fields, any undecidable field)."""
    problems = [key for key in body if key not in FIELDS]
    problems += [key for key in ("name", "email") if key not in body]
    if body.get("_gotcha") is not None and not isinstance(body["_gotcha"], str):
        problems.append("_gotcha")
    lead: dict[str, Any] = {"source": "website"}
    unsure = False
    for name, check in CHECKS.items():
        if name not in body or (name in OPTIONAL_BLANKABLE and body[name] in (None, "")):
            continue
        result = check(body[name])
        if result is INVALID:
            problems.append(name)
        elif result is UNKNOWN:
            unsure = True
        elif result is not None:
            lead[name] = result
    return (None if problems or unsure else lead), problems, unsure


def expect(
    content_type: str | None, idempotency_key: str | None, raw: bytes,
    origin: str | None = None, accept: str | None = None,
) -> Expectation:
    html = wants_html(content_type, accept)
    if origin is not None and not origin_allowed(origin):
        return Expectation({403}, reasons=["origin not allowed"], html=html)
    found = _expect_body(content_type, idempotency_key, raw)
    found.html = html
    return found


def _expect_body(content_type: str | None, idempotency_key: str | None, raw: bytes) -> Expectation:
    statuses: set[int] = set()
    reasons: list[str] = []
    if is_form_media_type(content_type):
        # The generated bodies are JSON or noise, never a form with a name and an address:
        # as a form they are invalid (or too large). Forms themselves: tests/unit/test_forms.py.
        too_large = len(raw) > MAX_FORM_BODY
        return Expectation({413} if too_large else {400}, reasons=["not a valid lead form"])
    if not is_json_media_type(content_type):
        statuses.add(415)
        reasons.append("not json")
    if len(raw) > MAX_BODY:
        statuses.add(413)
        reasons.append("too large")
    ok, body = parse_json(raw)
    if not ok:
        statuses.add(400)
        reasons.append("malformed")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_KEY:
        statuses.add(400)
        reasons.append("bad key")
    if statuses:
        return Expectation(statuses, body=body, reasons=reasons)
    if not isinstance(body, dict):
        return Expectation({400}, body=body, reasons=["not an object"])
    lead, problems, unsure = clean_lead(body)
    trap = body.get("_gotcha")
    if isinstance(trap, str) and trap:
        # Answered like a success; whether other broken rules are reported first is open.
        return Expectation({201, 400} if problems or unsure else {201}, body=body, honeypot=True)
    if problems:
        return Expectation({400}, body=body, reasons=problems)
    if unsure:
        return Expectation({201, 400}, body=body, reasons=["undecided field"])
    return Expectation({201}, lead=lead, body=body)


def idempotency_scope(body: Any) -> str | None:
    """Whose key it is: an Idempotency-Key belongs to the lead's email (any case), so
    another person's request with the same key is not a replay, nor a conflict."""
    if not isinstance(body, dict) or not isinstance(body.get("email"), str) or body["email"].count("@") != 1:
        return None
    return body["email"].strip().lower()


def stored_value_is_acceptable(name: str, value: Any) -> bool:
    """Whether a value the app stored for a lead field obeys the spec (for undecided inputs)."""
    if name == "email":
        return (
            isinstance(value, str)
            and value == value.strip()
            and len(value) <= 254
            and value.count("@") == 1
            and not any(c.isspace() or unicodedata.category(c).startswith("C") for c in value)
        )
    return CHECKS[name](value) not in (INVALID, UNKNOWN)
