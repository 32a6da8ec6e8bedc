"""What a website embeds or lands on: GET /thanks, GET /embed.js, GET /pages.css.

The embed script's URL with `?v=<version>` (the digest of its content, given
by the unversioned answer's `Link: <embed.js?v=...>; rel="canonical"`) names
exactly one content and is cached for a year; the plain URL is cached for a
few minutes, so pages that use it pick up a new script soon after a deploy.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.api import form_answers, pages

EMBED_SCRIPT = "embed.js"
PAGE_STYLES = "pages.css"
JAVASCRIPT = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
SHORT_CACHE = "public, max-age=300"
STYLES_CACHE = "public, max-age=3600"
# Any site may load the script, with Subresource Integrity too (which needs CORS).
_EMBEDDABLE = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


def thanks(query_params: Any) -> Response:
    return form_answers.thanks_page(query_params)


def embed_script(headers: Any, query_params: Any) -> Response:
    version = pages.static_file(EMBED_SCRIPT).version
    pinned = (query_params or {}).get("v") == version
    extra = {**_EMBEDDABLE, "Link": f'<{EMBED_SCRIPT}?v={version}>; rel="canonical"'}
    cache = pages.IMMUTABLE if pinned else SHORT_CACHE
    return pages.static_response(headers, EMBED_SCRIPT, JAVASCRIPT, cache, extra)


def page_styles(headers: Any) -> Response:
    return pages.static_response(headers, PAGE_STYLES, CSS, STYLES_CACHE)
