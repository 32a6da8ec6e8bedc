"""A website for the browser tests: the README's own form snippets, pasted into pages
and served from a loopback port of their own (so their origin is not the API's).

Pages (each with a strict Content-Security-Policy a real site might have: no
inline script or style, the API allowed for scripts, fetches and form posts):
- /plain.html      the README's plain form
- /enhanced.html   the README's enhanced form (data-leadflow + embed.js)
- /next.html       the enhanced form with a `_next` on this site
- /thanks.html     this site's own thank-you page
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.project import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
PLACEHOLDER = "https://YOUR-API"
SECTION = "## Put it on your website"


def readme_snippets(readme: Path = README) -> list[str]:
    """The ```html blocks of the README's website section, in order."""
    text = readme.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(r"```html\n(.*?)```", section, re.DOTALL)


def page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{title}</title>\n<link rel=\"stylesheet\" href=\"/site.css\">\n</head>\n"
        f"<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


SITE_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; max-width: 36rem; }
label, input, textarea, button { display: block; }
input, textarea { width: 100%; margin-bottom: 0.75rem; padding: 0.4rem; box-sizing: border-box; }
.leadflow-error { display: block; color: #b3261e; margin: -0.5rem 0 0.75rem; }
[aria-invalid="true"] { border: 2px solid #b3261e; }
.leadflow-success { color: #1a7f4b; font-weight: 600; }
.leadflow-error.leadflow-status { margin: 0.75rem 0 0; }
"""


def build_pages(api_url: str) -> dict[str, tuple[str, str]]:
    plain, enhanced = (snippet.replace(PLACEHOLDER, api_url) for snippet in readme_snippets()[:2])
    with_next = enhanced.replace(
        "<button", '<input type="hidden" name="_next" value="/thanks.html">\n  <button', 1
    )
    html = "text/html; charset=utf-8"
    return {
        "/plain.html": (html, page("Contact us", plain)),
        "/enhanced.html": (html, page("Contact us", enhanced)),
        "/next.html": (html, page("Contact us", with_next)),
        "/thanks.html": (html, page("Thanks from the site", "<p>Our own thank-you page.</p>")),
        "/site.css": ("text/css; charset=utf-8", SITE_CSS),
    }


@dataclass
class Site:
    url: str
    pages: dict[str, tuple[str, str]]

    @property
    def origin(self) -> str:
        return self.url


def handler_for(pages: dict[str, tuple[str, str]], csp: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = pages.get(self.path.split("?", 1)[0])
            if found is None:
                self.send_error(404)
                return
            content_type, text = found
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Security-Policy", csp)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def foreign_hosts() -> list[str]:
    """Loopback addresses that are origins the local stage does not allow: 127.0.0.2
    (every Linux), else ::1 (macOS has no 127.0.0.2 unless aliased)."""
    return ["127.0.0.2", "::1"]


@contextmanager
def serving_site(api_url: str, host: str = "127.0.0.1") -> Iterator[Site]:
    """The test site on a free port of `host` (another loopback address is another origin)."""
    csp = (
        f"default-src 'self'; script-src {api_url}; connect-src {api_url}; style-src 'self'; "
        f"form-action 'self' {api_url}; base-uri 'none'; frame-ancestors 'none'"
    )
    pages = build_pages(api_url)
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    server = server_class((host, 0), handler_for(pages, csp))
    threading.Thread(target=server.serve_forever, name=f"site-{host}", daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    try:
        yield Site(url=f"http://{shown}:{server.server_address[1]}", pages=pages)
    finally:
        server.shutdown()
        server.server_close()
