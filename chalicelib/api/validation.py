"""Validation of a POST /leads body against the API contract.

Hand-written rather than pydantic: the rules are few and flat, and pydantic
would roughly double the API function's cold start (see bench/cold_start.py).
Every invalid field is reported, not only the first.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.api.http import Problem
from chalicelib.core.rules import (
    has_control_chars,
    has_encoded_word,
    has_line_control_chars,
    is_valid_email,
    normalise_email,
)

MAX_BODY_BYTES = 16 * 1024

ALLOWED_FIELDS = frozenset(
    {"name", "email", "phone", "message", "source", "metadata", "_gotcha"}
)

ENCODED_WORD_MESSAGE = "must not contain '=?' (mail headers would decode it)"

_SOURCE_RE = re.compile(r"[a-z0-9_-]{1,64}")
_PHONE_RE = re.compile(r"[0-9 +\-().]{1,40}")


# A plain class rather than a dataclass: building a dataclass costs about a
# millisecond of import at every cold start.
class ValidationResult:
    __slots__ = ("lead", "problems")

    def __init__(self) -> None:
        self.lead: dict[str, Any] = {}
        self.problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        return not self.problems


def is_honeypot_hit(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    trap = body.get("_gotcha")
    return isinstance(trap, str) and trap != ""


def _check_name(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, str):
        out.problems.append(Problem("name", "must be a string"))
        return
    name = value.strip()
    if not 1 <= len(name) <= 200:
        out.problems.append(Problem("name", "must be 1-200 characters after trimming"))
    elif has_control_chars(name):
        out.problems.append(Problem("name", "must not contain control characters"))
    elif has_encoded_word(name):
        out.problems.append(Problem("name", ENCODED_WORD_MESSAGE))
    else:
        out.lead["name"] = name


def _check_email(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, str):
        out.problems.append(Problem("email", "must be a string"))
        return
    address = value.strip()
    if not is_valid_email(address):
        out.problems.append(Problem("email", "must be a valid email address of at most 254 characters"))
    else:
        out.lead["email"] = normalise_email(address)


def _check_phone(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, str) or not _PHONE_RE.fullmatch(value):
        out.problems.append(
            Problem("phone", "must be at most 40 characters of digits, spaces and +-().")
        )
    elif value.strip():
        out.lead["phone"] = value.strip()


def _check_message(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, str):
        out.problems.append(Problem("message", "must be a string"))
    elif len(value) > 5000:
        out.problems.append(Problem("message", "must be at most 5000 characters"))
    elif has_line_control_chars(value):
        out.problems.append(Problem("message", "must not contain control characters"))
    elif value.strip():
        out.lead["message"] = value


def _check_source(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, str) or not _SOURCE_RE.fullmatch(value):
        out.problems.append(Problem("source", "must be 1-64 characters of a-z, 0-9, _ and -"))
    else:
        out.lead["source"] = value


def _check_metadata(value: Any, out: ValidationResult) -> None:
    if not isinstance(value, dict):
        out.problems.append(Problem("metadata", "must be an object"))
        return
    if len(value) > 20:
        out.problems.append(Problem("metadata", "must have at most 20 keys"))
        return
    for key, item in value.items():
        if not 1 <= len(key) <= 64 or has_control_chars(key):
            out.problems.append(Problem(f"metadata.{key[:64]}", "keys must be 1-64 characters"))
        elif has_encoded_word(key):
            out.problems.append(Problem(f"metadata.{key}", f"keys {ENCODED_WORD_MESSAGE}"))
        elif not isinstance(item, str):
            out.problems.append(Problem(f"metadata.{key}", "must be a string"))
        elif len(item) > 500:
            out.problems.append(Problem(f"metadata.{key}", "must be at most 500 characters"))
        elif has_line_control_chars(item):
            out.problems.append(Problem(f"metadata.{key}", "must not contain control characters"))
    if not any(p.field.startswith("metadata") for p in out.problems):
        out.lead["metadata"] = dict(value)


# Optional fields a form sends as null or "" when left empty: absent, as the README says.
_OPTIONAL_BLANKABLE = frozenset({"phone", "message", "metadata", "source"})

_CHECKS = {
    "name": _check_name,
    "email": _check_email,
    "phone": _check_phone,
    "message": _check_message,
    "source": _check_source,
    "metadata": _check_metadata,
}


def validate_lead(body: Any) -> ValidationResult:
    """Check a parsed JSON body; return the clean lead or every problem found."""
    out = ValidationResult()
    if not isinstance(body, dict):
        out.problems.append(Problem("body", "must be a JSON object"))
        return out
    for unknown in sorted(set(body) - ALLOWED_FIELDS):
        out.problems.append(Problem(unknown[:64], "is not an allowed field"))
    for required in ("name", "email"):
        if required not in body:
            out.problems.append(Problem(required, "is required"))
    if body.get("_gotcha") is not None and not isinstance(body["_gotcha"], str):
        out.problems.append(Problem("_gotcha", "must be a string"))
    for name, check in _CHECKS.items():
        # Forms send null or "" for optional inputs left empty: treat as absent.
        if name in body and not (name in _OPTIONAL_BLANKABLE and body[name] in (None, "")):
            check(body[name], out)
    out.lead.setdefault("source", "website")
    return out
