"""Web origins: which sites a stage trusts, and URLs that may only lead to them.

A stage lists its allowed origins (ALLOWED_ORIGINS) exactly as browsers send
them in the `Origin` header (`https://www.example.com`, lower case, no path);
an entry may end in `:*` for any port of that scheme and host
(`http://localhost:*`), which is what local development needs. Nothing else
is a pattern: no host wildcards, so a listed origin never covers its look-alikes.

Hand-written rather than a URL library's: the rules are the few lines below,
and every URL that leaves through a redirect must first pass them.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

# A serialised origin as browsers send it: scheme, host (a name, an IPv4 or a
# bracketed IPv6 address), optional port; nothing more.
_ORIGIN_RE = re.compile(
    r"(?P<base>https?://(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]))(?::(?P<port>[0-9]{1,5}))?"
)
_ANY_PORT = ":*"


def normalise_entry(entry: str) -> str:
    """A configured origin as compared: trimmed, lower case, without a trailing slash."""
    return entry.strip().rstrip("/").lower()


def is_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """True if `origin` (an `Origin` header's value) is one the stage lists.

    Compared as sent: browsers serialise origins in lower case, so `HTTP://...`
    or a trailing slash is not a browser's origin and is not allowed.
    """
    if not origin:
        return False
    match = _ORIGIN_RE.fullmatch(origin)
    if match is None:
        return False
    for entry in allowed:
        entry = normalise_entry(entry)
        if entry.endswith(_ANY_PORT):
            if match.group("base") == entry[: -len(_ANY_PORT)]:
                return True
        elif origin == entry:
            return True
    return False


def origin_of(parts: SplitResult) -> str | None:
    """The origin of an absolute http(s) URL, or None for anything else
    (another scheme, user information, an empty or odd host, a bad port)."""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc.lower()}"
    return origin if _ORIGIN_RE.fullmatch(origin) else None


def _is_plain_ascii(value: str) -> bool:
    # Browsers drop tabs and line breaks inside URLs and read a backslash as a
    # slash: "/\\evil.example" and "/\t/evil.example" both lead off-site.
    return all(0x21 <= ord(ch) <= 0x7E for ch in value) and "\\" not in value


def safe_redirect(target: str | None, allowed: tuple[str, ...], base_origin: str | None = None) -> str | None:
    """`target` as a URL safe to redirect a browser to, or None.

    Safe means: printable ASCII only, http or https, and the origin it leads to
    is allowed. A relative target (`/thanks.html`) is read against
    `base_origin` (the posting page's origin, already checked by the caller)
    and refused without one; `//host` is another host, not a path.
    """
    if not target or len(target) > 2048 or not _is_plain_ascii(target):
        return None
    parts = urlsplit(target)
    if not parts.scheme:
        if base_origin is None or not target.startswith("/") or target.startswith("//"):
            return None
        parts = urlsplit(base_origin + target)
    origin = origin_of(parts)
    if origin is None or not is_allowed(origin, allowed):
        return None
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, parts.query, parts.fragment))
