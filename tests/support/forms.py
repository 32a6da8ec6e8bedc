"""Website form bodies as browsers encode them, and posting them like a browser or a program."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

# What Chromium sends with a form navigation, and what a fetch wanting JSON sends.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON_ACCEPT = "application/json"
URLENCODED = "application/x-www-form-urlencoded"

Fields = list[tuple[str, str]] | dict[str, str]


def pairs(fields: Fields) -> list[tuple[str, str]]:
    return list(fields.items()) if isinstance(fields, dict) else list(fields)


def urlencoded(fields: Fields) -> bytes:
    return urlencode(pairs(fields)).encode()


def multipart(fields: Fields, files: dict[str, tuple[str, bytes]] | None = None) -> tuple[str, bytes]:
    """(Content-Type, body) as a browser builds multipart/form-data: CRLF line ends,
    names quoted with `"` and line breaks percent-encoded, values raw UTF-8."""
    boundary = "----WebKitFormBoundary" + uuid.uuid4().hex[:16]
    chunks: list[bytes] = []

    def quoted(name: str) -> str:
        return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

    for name, value in pairs(fields):
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"\r\n\r\n'.encode()
            + value.replace("\r\n", "\n").replace("\n", "\r\n").encode()
            + b"\r\n"
        )
    for name, (filename, content) in (files or {}).items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


def unique_lead(**fields: str) -> dict[str, str]:
    unique = uuid.uuid4().hex[:8]
    return {"name": f"Form {unique}", "email": f"form.{unique}@example.com", **fields}


def post_form(
    client: Any,
    fields: Fields,
    *,
    browser: bool = True,
    content_type: str = URLENCODED,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a form to /leads with chalice.test.Client: as a browser navigation, or wanting JSON."""
    sent = {"Content-Type": content_type, "Accept": BROWSER_ACCEPT if browser else JSON_ACCEPT, **(headers or {})}
    return client.http.post("/leads", headers=sent, body=urlencoded(fields) if body is None else body)


def post_multipart(client: Any, fields: Fields, files: dict[str, tuple[str, bytes]] | None = None,
                   **options: Any) -> Any:
    content_type, body = multipart(fields, files)
    return post_form(client, fields, content_type=content_type, body=body, **options)


def text(response: Any) -> str:
    body = response.body
    return body.decode() if isinstance(body, bytes) else str(body)
