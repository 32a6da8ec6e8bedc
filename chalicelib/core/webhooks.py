"""Posting JSON to a URL someone else chose (status callbacks) or the team configured (chat),
without letting that URL reach inside our network (SSRF, OWASP's cheat sheet):

- `https` only; `http` only to loopback, and loopback only where the stage
  allows it (`CALLBACK_ALLOW_LOOPBACK`: the local stage, for a receiver on
  this machine);
- no credentials in the URL; a host that resolves, and only to public
  addresses: private, loopback, link-local (the cloud metadata service),
  shared, multicast, reserved and unspecified ones are refused, checked when
  a request names the URL and again before every post;
- the post connects to the very address that was checked (no second lookup
  a rebinding DNS server could answer differently), keeps the host's name
  for TLS, follows no redirect, ignores proxy settings and gives up quickly.

urllib.request of the standard library rather than a client library: one
JSON POST needs no more, and a dependency here would ship to Lambda.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

MAX_URL_CHARS = 2048
POST_TIMEOUT_SECONDS = 5
MAX_ANSWER_BYTES = 4096
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class UrlRefused(ValueError):
    """The URL may not be posted to; the message says why."""


def _is_loopback_name(host: str) -> bool:
    return host.lower().rstrip(".") in LOOPBACK_NAMES


def _address_allowed(address: str, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def parse(url: str, allow_loopback: bool) -> urllib.parse.SplitResult:
    """The URL's parts if its form is allowed (resolution is checked by `resolve`)."""
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL_CHARS or any(c.isspace() for c in url):
        raise UrlRefused(f"must be a URL of at most {MAX_URL_CHARS} characters, without spaces")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("must not hold credentials")
    if parts.fragment:
        raise UrlRefused("must not have a #fragment")
    loopback = _is_loopback_name(host)
    if loopback and not allow_loopback:
        raise UrlRefused("must not point at this machine (loopback)")
    if parts.scheme == "http" and not loopback:
        raise UrlRefused("must be an https:// URL (http:// only to 127.0.0.1 or localhost, where allowed)")
    if port == 0:
        raise UrlRefused("must not use port 0")
    return parts


def resolve(parts: urllib.parse.SplitResult, allow_loopback: bool) -> str:
    """The address to connect to: every address the host resolves to must be allowed."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused("names a host that does not resolve") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise UrlRefused("names a host that does not resolve")
    for address in addresses:
        if not _address_allowed(address, allow_loopback and _is_loopback_name(host)):
            raise UrlRefused("resolves to a private, loopback, link-local or reserved address")
    return addresses[0]


def check(url: str, allow_loopback: bool) -> str:
    """Raise UrlRefused unless the URL may be posted to; return the address it would use."""
    return resolve(parse(url, allow_loopback), allow_loopback)


# --- Posting ---------------------------------------------------------------------------


class Answer:
    """A receiver's answer: the status (0 when none came) and why, for the record."""

    __slots__ = ("detail", "status", "timed_out")

    def __init__(self, status: int, detail: str, timed_out: bool = False) -> None:
        self.status = status
        self.detail = detail
        self.timed_out = timed_out

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _pinned_http(address: str) -> type[http.client.HTTPConnection]:
    class PinnedHTTPConnection(http.client.HTTPConnection):
        """Plain HTTP to the checked address (the Host header keeps the URL's name)."""

        def connect(self) -> None:
            self.sock = socket.create_connection((address, self.port), self.timeout)

    return PinnedHTTPConnection


def _pinned_https(address: str) -> type[http.client.HTTPSConnection]:
    class PinnedHTTPSConnection(http.client.HTTPSConnection):
        """TLS to the checked address; SNI and the certificate check use the URL's host name."""

        def connect(self) -> None:
            sock = socket.create_connection((address, self.port), self.timeout)
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]

    return PinnedHTTPSConnection


class _PinnedHttps(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__(context=ssl.create_default_context())
        self.address = address

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned_https(self.address), req, context=self._context)  # type: ignore[attr-defined]


class _PinnedHttp(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned_http(self.address), req)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer, not somewhere else to go


def post_json(url: str, body: bytes, headers: dict[str, str], allow_loopback: bool,
              timeout: float = POST_TIMEOUT_SECONDS) -> Answer:
    """POST `body` (JSON) to `url` after checking it again; UrlRefused if it is no longer allowed."""
    parts = parse(url, allow_loopback)
    address = resolve(parts, allow_loopback)
    opener = urllib.request.OpenerDirector()
    for handler in (_PinnedHttps(address), _PinnedHttp(address), _NoRedirects(), urllib.request.HTTPErrorProcessor(),
                    urllib.request.HTTPDefaultErrorHandler()):
        opener.add_handler(handler)
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "leadflow", **headers},
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(MAX_ANSWER_BYTES)
            return Answer(int(response.status), f"HTTP {response.status}")
    except urllib.error.HTTPError as error:
        return Answer(int(error.code), f"HTTP {error.code}")
    except TimeoutError:
        return Answer(0, "timed out", timed_out=True)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError | socket.timeout):
            return Answer(0, "timed out", timed_out=True)
        return Answer(0, f"no answer: {type(reason).__name__}")


def host_of(url: str) -> str:
    """What a log line may show of a URL (its path can be a credential, as Slack's is)."""
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
