"""Pages and static files the app serves, each with the security headers every page gets.

One place that serves every page of the app (the form's thank-you and error pages,
the embed script and the pages' stylesheet; the team's dashboard too):
- `page_response`: an HTML page with a strict Content-Security-Policy (no
  script, no inline style, nothing from elsewhere), nosniff, no referrer,
  no framing;
- `static_response`: a file from chalicelib/api/static/ with its cache
  policy, an ETag and `304 Not Modified` for a matching If-None-Match;
- `render`: a page template from chalicelib/api/page_templates/ (Jinja2,
  autoescaped), built lazily: only requests that render a page pay its import.

Pages link their stylesheet and script relatively (`pages.css`), never from
"/": on AWS the API lives under a stage prefix (/api/...).
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "page_templates"

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HTML = "text/html; charset=utf-8"
NO_STORE = "no-store"
# For a URL whose content never changes (a versioned file).
IMMUTABLE = "public, max-age=31536000, immutable"


def page_response(
    status: int, html: str, headers: dict[str, str] | None = None, csp: str = PAGE_CSP
) -> Response:
    """An HTML page with the security headers; never cached (pages answer one request)."""
    return Response(
        body=html,
        status_code=status,
        headers={
            **(headers or {}),
            **SECURITY_HEADERS,
            "Content-Type": HTML,
            "Content-Security-Policy": csp,
            "Cache-Control": NO_STORE,
        },
    )


@lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader

    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)


def render(template: str, **context: Any) -> str:
    return str(environment().get_template(template).render(**context))


class StaticFile:
    """A file of chalicelib/api/static/, read once per container. `version` is a
    digest of its content: a URL carrying it names exactly this content."""

    __slots__ = ("etag", "text", "version")

    def __init__(self, text: str) -> None:
        self.text = text
        self.version = hashlib.sha256(text.encode()).hexdigest()[:12]
        self.etag = f'"{self.version}"'


@cache
def static_file(name: str) -> StaticFile:
    return StaticFile((STATIC_DIR / name).read_text(encoding="utf-8"))


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def static_response(
    request_headers: Any,
    name: str,
    content_type: str,
    cache_control: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """The static file `name`, or 304 when the client's copy is current."""
    found = static_file(name)
    sent: dict[str, str | list[str]] = {
        **(headers or {}),
        **SECURITY_HEADERS,
        "Content-Type": content_type,
        "Cache-Control": cache_control,
        "ETag": found.etag,
    }
    if _matches(request_headers.get("if-none-match"), found.etag):
        return Response(body="", status_code=304, headers=sent)
    return Response(body=found.text, status_code=200, headers=sent)
