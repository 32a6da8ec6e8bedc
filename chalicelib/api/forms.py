"""Website form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`
turned into the same dict a JSON body is, so one set of rules (api/validation.py)
judges both.

- The documented fields (name, email, phone, message, source, _gotcha) map as
  they are, each at most once.
- Any other field (a form's "company", "budget") and `metadata[key]=value` go
  into `metadata`; empty ones are dropped (an input left blank says nothing),
  and a name sent several times (checkboxes) keeps its values joined by ", ".
  metadata's limits then apply as to JSON: past them the request is invalid.
- `_next` (where to land afterwards), the CAPTCHA widgets' token fields and
  the browser's `_charset_` are not lead data and are set apart.
- A file part is refused (every one named), and nothing is stored.
- Line breaks arrive as CRLF from a browser's form and as LF from fetch; both
  are stored as LF, so the same text is the same lead whichever way it came.

Parsed with the standard library: parse_qsl (strict, bounded) and, only for
multipart posts, the email package's MIME parser, imported when first needed.
Imported itself only for form posts (api/leads.py).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.api.http import ApiError, Problem
from chalicelib.api.negotiation import MULTIPART, Submission

# A form's body is larger than the same lead in JSON: percent-encoding makes
# each non-ASCII byte three, so 5000 characters of Cyrillic take ~30 KB.
MAX_FORM_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100

NEXT_FIELD = "_next"
CHARSET_FIELD = "_charset_"
# What the CAPTCHA widgets add to a form (Turnstile, hCaptcha, reCAPTCHA; hCaptcha adds both of its own).
CAPTCHA_FIELDS = ("cf-turnstile-response", "h-captcha-response", "g-recaptcha-response")
DOCUMENTED_FIELDS = frozenset({"name", "email", "phone", "message", "source", "_gotcha"})
_METADATA_FIELD = re.compile(r"metadata\[(.*)\]", re.DOTALL)
_LINE_BREAKS = re.compile(r"\r\n?")


def malformed() -> ApiError:
    return ApiError(400, "malformed_form", "the body is not a valid form")


def parse_urlencoded(raw: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
            encoding="utf-8", errors="strict", max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise malformed() from None


def parse_multipart(content_type: str, raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """The text fields, in order, and the names of any file parts."""
    # The modern policy reads non-ASCII parameters (browsers send field names raw in
    # UTF-8); importing it costs a few milliseconds, so only multipart posts pay it.
    from email import policy
    from email.message import Message
    from email.parser import BytesParser

    head = b"MIME-Version: 1.0\r\nContent-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    parts = message.get_payload() if message.is_multipart() else None
    if not message.get_boundary() or not isinstance(parts, list) or message.defects:
        raise malformed()
    if len(parts) > MAX_FORM_FIELDS:
        raise malformed()
    fields: list[tuple[str, str]] = []
    files: list[str] = []
    try:
        for part in parts:
            if not isinstance(part, Message):
                raise malformed()
            name = part.get_param("name", header="content-disposition")
            if part.get_content_disposition() != "form-data" or not isinstance(name, str) or part.defects:
                raise malformed()
            if part.get_param("filename", header="content-disposition") is not None:
                files.append(name)
                continue
            payload = part.get_payload(decode=True)
            fields.append((name, bytes(payload or b"").decode("utf-8")))
    except UnicodeError:
        raise malformed() from None
    return fields, files


def submission(media_type: str, content_type: str, raw: bytes) -> Submission:
    """The form body as the dict the JSON path validates (size already checked)."""
    if media_type == MULTIPART:
        fields, files = parse_multipart(content_type, raw)
    else:
        fields, files = parse_urlencoded(raw), []
    return to_submission(fields, files)


def to_submission(fields: list[tuple[str, str]], files: list[str]) -> Submission:
    body: dict[str, Any] = {}
    metadata: dict[str, list[str]] = {}
    found = Submission(body, is_form=True)
    problems = found.problems
    for name, raw_value in fields:
        value = _LINE_BREAKS.sub("\n", raw_value)
        if name == NEXT_FIELD:
            found.next_url = found.next_url or value
        elif name in CAPTCHA_FIELDS:
            found.captcha_token = found.captcha_token or value or None
        elif name == CHARSET_FIELD:
            continue
        elif name in DOCUMENTED_FIELDS:
            if name in body:
                if not any(p.field == name for p in problems):
                    problems.append(Problem(name, "must be sent once"))
            else:
                body[name] = value
        elif name == "metadata":
            problems.append(Problem("metadata", "send metadata as metadata[key]=value fields"))
        elif value:
            match = _METADATA_FIELD.fullmatch(name)
            metadata.setdefault(match.group(1) if match else name, []).append(value)
    for name in files:
        problems.append(Problem(name[:64], "files are not accepted: send text fields only"))
    if metadata:
        body["metadata"] = {key: ", ".join(values) for key, values in metadata.items()}
    return found
