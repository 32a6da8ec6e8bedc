"""GET /admin and its script and stylesheet: the team's dashboard, served by the app itself.

The page holds no data: it asks for the admin token and calls the admin API
with it (relative URLs, so it works under a stage prefix such as /api/ on
AWS and at the root under `make run`). So these routes need no token. The
files ship inside chalicelib/ (admin_static/), read once per container.

Every answer carries a strict Content-Security-Policy (scripts and styles
from this origin only: no inline script or style, no eval, no framing), and
tells browsers not to sniff, not to send a Referer and not to cache.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalice.app import Response

STATIC = Path(__file__).resolve().parent / "admin_static"
# Route name -> (file, Content-Type).
FILES = {
    "page": ("index.html", "text/html; charset=utf-8"),
    "script": ("app.js", "text/javascript; charset=utf-8"),
    "style": ("app.css", "text/css; charset=utf-8"),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def serve(what: str) -> Response:
    """One of the dashboard's files with the security headers."""
    name, content_type = FILES[what]
    return Response(body=_read(name), status_code=200, headers={"Content-Type": content_type, **SECURITY_HEADERS})
