"""The viewer's HTTP side: the page, its static files and the JSON API, on the standard library's server.

http.server's ThreadingHTTPServer rather than waitress (already a dependency)
or a framework: the live updates are a server-sent event stream held open per
page and written bit by bit, which a thread per connection does plainly,
while waitress buffers a WSGI app's output and would hold one of its fixed
worker threads per open page; the dozen routes need no framework.

Loopback only, and guarded as a local server a browser can reach must be:
requests must name this server in Host (a DNS-rebinding page cannot), and
changes (POST, DELETE) must come from this server's own page (Origin, and a
JSON body for POST, which a cross-site form cannot send without a preflight
that is never granted). The email's HTML is served with a CSP `sandbox` of
its own, so it cannot run scripts even when opened outside the page's frame.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from devstack.mailviewer import feedback
from devstack.mailviewer.ledger import LedgerView, StatusBook
from devstack.mailviewer.messages import Filters, Mail, Outbox, bodies, has_remote_images, headers
from devstack.stack import serves_html

log = logging.getLogger("devstack.mailviewer")

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
    "/static/icon.svg": ("icon.svg", "image/svg+xml"),
}
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The email's own HTML: no script at all (CSP sandbox without allow-scripts, on top of the frame's
# sandbox attribute), inline styles as email needs, no remote fetch but images once asked for.
EMAIL_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data: cid:{remote}; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
MESSAGE_ID = r"(?P<id>[A-Za-z0-9._-]{1,200})"
MAX_BODY = 64 * 1024
LIST_LIMIT = 200
MAX_LIMIT = 1000
WAIT_DEFAULT_SECONDS = 10.0
WAIT_MAX_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0
TICK_SECONDS = 0.5
DASHBOARD_PROBE_SECONDS = 30.0


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


class ChangeHub:
    """Notices new mail and status changes, only while someone listens (an open page, a wait call)."""

    def __init__(self, scan: Callable[[], bool], tick: float = TICK_SECONDS) -> None:
        self.version = 0
        self._scan = scan
        self._tick = tick
        self._changed = threading.Condition()
        self._listeners = 0
        threading.Thread(target=self._run, name="changes", daemon=True).start()

    @contextmanager
    def listening(self) -> Iterator[None]:
        with self._changed:
            self._listeners += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._listeners -= 1

    def bump(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_change(self, seen: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=max(0.0, timeout))
            return self.version

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._listeners > 0)
            try:
                if self._scan():
                    self.bump()
            except Exception:
                log.exception("looking for changes failed")
            time.sleep(self._tick)


@dataclass
class Viewer:
    """What the handlers share: the outbox, the statuses, the change hub, and where the API is."""

    outbox: Outbox
    book: StatusBook
    stage: str = "local"
    api_url: str = ""
    hub: ChangeHub = field(init=False)
    _last_ids: tuple[str, ...] = field(init=False, default=())
    _dashboard: tuple[float, bool] = field(init=False, default=(float("-inf"), False))

    def __post_init__(self) -> None:
        self.hub = ChangeHub(self._scan)

    def _scan(self) -> bool:
        mails = self.outbox.scan()
        ids = tuple(m.message_id for m in mails)
        changed = ids != self._last_ids
        self._last_ids = ids
        return self.book.refresh(mails) or changed

    def dashboard_url(self, lead_id: str | None) -> str | None:
        """The lead in the team's dashboard (GET /admin), once the API serves one."""
        if not self.api_url or not lead_id:
            return None
        checked, present = self._dashboard
        if time.monotonic() - checked > DASHBOARD_PROBE_SECONDS:
            present = serves_html(self.api_url + "/admin")
            self._dashboard = (time.monotonic(), present)
        return f"{self.api_url}/admin#/leads/{quote(lead_id, safe='')}" if present else None

    def summary(self, mail: Mail, view: LedgerView) -> dict[str, Any]:
        return {
            "id": mail.message_id,
            "from": mail.sender,
            "to": list(mail.to),
            "recipients": list(mail.recipients),
            "subject": mail.subject,
            "date": mail.date,
            "sent_at": mail.sent_at.isoformat().replace("+00:00", "Z"),
            "size": mail.size,
            "kind": mail.kind or view.kind,
            "lead_id": mail.lead_id or view.lead_id,
            "status": view.status,
            "status_note": view.note,
            "reason": view.reason,
        }

    def detail(self, mail: Mail) -> dict[str, Any]:
        view = self.book.view(mail, fresh=True)
        message = mail.parsed()
        text, html = bodies(message)
        found = self.summary(mail, view)
        base = f"/api/messages/{mail.message_id}"
        found.update({
            "headers": headers(message),
            "text": text,
            "html": html,
            "has_remote_images": has_remote_images(html),
            "deliveries": list(view.deliveries),
            "configuration_set": (mail.envelope or {}).get("configuration_set"),
            "tags": mail.tags,
            "dashboard_url": self.dashboard_url(found["lead_id"]),
            "links": {"raw": base + "/raw", "download": base + "/raw?download=1", "html": base + "/html"},
        })
        return found

    def matching(self, filters: Filters, refresh: bool) -> list[tuple[Mail, LedgerView]]:
        """Messages matching `filters`, newest first, with their ledger views."""
        mails = [m for m in self.outbox.scan() if filters.matches(m)]
        if refresh:
            self.book.refresh(mails)
        pairs = [(m, self.book.view(m)) for m in mails]
        return [(m, v) for m, v in pairs if not filters.status or v.status == filters.status]

    def mail(self, message_id: str) -> Mail:
        found = self.outbox.get(message_id)
        if found is None:
            raise ApiError(404, "not_found", f"no message {message_id} in the outbox")
        return found


def _number(query: dict[str, list[str]], name: str, default: float, low: float, high: float) -> float:
    raw = (query.get(name) or [""])[-1].strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a number") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name} must be between {low:g} and {high:g}")
    return value


def _filters(query: dict[str, list[str]]) -> Filters:
    try:
        return Filters.from_query(query)
    except ValueError:
        raise ApiError(400, "bad_request", "since must be an ISO 8601 time or seconds since the epoch") from None


class ViewerServer(ThreadingHTTPServer):
    daemon_threads = True  # open event streams must not hold up a stop

    def __init__(self, address: tuple[str, int], viewer: Viewer) -> None:
        super().__init__(address, Handler)
        self.viewer = viewer
        port = self.server_address[1]
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"{address[0]}:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}


Route = tuple[str, re.Pattern[str], str]
ROUTES: list[Route] = [
    ("GET", re.compile(r"/api/health"), "health"),
    ("GET", re.compile(r"/api/messages"), "list_messages"),
    ("DELETE", re.compile(r"/api/messages"), "clear"),
    ("GET", re.compile(r"/api/wait"), "wait"),
    ("GET", re.compile(r"/api/events"), "events"),
    ("GET", re.compile(rf"/api/messages/{MESSAGE_ID}"), "message"),
    ("GET", re.compile(rf"/api/messages/{MESSAGE_ID}/raw"), "raw"),
    ("GET", re.compile(rf"/api/messages/{MESSAGE_ID}/html"), "html"),
    ("POST", re.compile(rf"/api/messages/{MESSAGE_ID}/feedback"), "trigger_feedback"),
]


class Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    protocol_version = "HTTP/1.1"  # keep-alive for the page's fetches
    server_version = "leadflow-mailviewer"

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request lines: they would drown the stack's own output."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET", head=True)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------

    @property
    def viewer(self) -> Viewer:
        return self.server.viewer

    def _dispatch(self, method: str, head: bool = False) -> None:
        self._head = head
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            if self.headers.get("Host", "") not in self.server.hosts:
                raise ApiError(421, "wrong_host", "this server answers only to its loopback address")
            if method in ("POST", "DELETE"):
                self._check_same_origin()
            if method == "GET" and url.path in STATIC_FILES:
                self._static(*STATIC_FILES[url.path])
                return
            allowed = []
            for route_method, pattern, name in ROUTES:
                found = pattern.fullmatch(url.path)
                if found:
                    if route_method == method:
                        getattr(self, name)(query, **found.groupdict())
                        return
                    allowed.append(route_method)
            if allowed:
                raise ApiError(405, "method_not_allowed", f"{method} is not allowed here", allow=allowed)
            raise ApiError(404, "not_found", f"no such page: {url.path}")
        except ApiError as error:
            extra = {"Allow": ", ".join(error.extra.pop("allow"))} if "allow" in error.extra else {}
            self._json(error.status, {"error": error.code, "message": str(error), **error.extra}, extra)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            log.exception("request %s %s failed", method, url.path)
            self._json(500, {"error": "internal", "message": "the viewer failed; see the stack's output"})

    def _check_same_origin(self) -> None:
        origin = self.headers.get("Origin")
        site = self.headers.get("Sec-Fetch-Site")
        if (origin is not None and origin not in self.server.origins) or site not in (None, "same-origin", "none"):
            raise ApiError(403, "cross_origin", "changes are accepted only from the viewer's own page")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers_out = {**COMMON_HEADERS, "Content-Type": content_type, "Content-Length": str(len(body)),
                       "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                       "X-Frame-Options": "DENY", **(extra or {})}
        for name, value in headers_out.items():
            self.send_header(name, value)
        self.end_headers()
        if not self._head:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", extra)

    def _static(self, name: str, content_type: str) -> None:
        extra = {"Content-Security-Policy": PAGE_CSP} if content_type.startswith("text/html") else {}
        self._send(200, (STATIC / name).read_bytes(), content_type, extra)

    def _body(self) -> dict[str, Any]:
        if self.headers.get_content_type() != "application/json":
            raise ApiError(415, "unsupported_media_type", "send a JSON body (Content-Type: application/json)")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "too_large", "the body is too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ApiError(400, "bad_request", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the body must be a JSON object")
        return body

    # -- routes --------------------------------------------------------------------------

    def health(self, query: dict[str, list[str]]) -> None:
        self._json(200, {"status": "ok"})

    def list_messages(self, query: dict[str, list[str]]) -> None:
        filters = _filters(query)
        limit = int(_number(query, "limit", LIST_LIMIT, 1, MAX_LIMIT))
        found = self.viewer.matching(filters, refresh=True)
        page = [self.viewer.summary(m, v) for m, v in found[:limit]]
        self._json(200, {"messages": page, "total": len(found), "version": self.viewer.hub.version})

    def message(self, query: dict[str, list[str]], id: str) -> None:
        self._json(200, self.viewer.detail(self.viewer.mail(id)))

    def raw(self, query: dict[str, list[str]], id: str) -> None:
        mail = self.viewer.mail(id)
        if (query.get("download") or [""])[-1] in ("1", "true"):
            extra = {"Content-Disposition": f'attachment; filename="{mail.path.name}"'}
            self._send(200, mail.raw(), "message/rfc822", extra)
        else:
            self._send(200, mail.raw(), "text/plain; charset=utf-8")

    def html(self, query: dict[str, list[str]], id: str) -> None:
        _, html = bodies(self.viewer.mail(id).parsed())
        if html is None:
            self._send(404, b"This message has no HTML part.", "text/plain; charset=utf-8")
            return
        remote = " https: http:" if (query.get("images") or [""])[-1] in ("1", "true") else ""
        csp = {"Content-Security-Policy": EMAIL_CSP.format(remote=remote), "X-Frame-Options": "SAMEORIGIN"}
        self._send(200, html.encode("utf-8"), "text/html; charset=utf-8", csp)

    def trigger_feedback(self, query: dict[str, list[str]], id: str) -> None:
        body = self._body()
        mail = self.viewer.mail(id)
        kind = str(body.get("type", "")).lower()
        bounce_type = str(body.get("bounce_type") or "permanent").lower()
        self.viewer.book.view(mail)  # known to the book, so it can be watched
        try:
            published = feedback.publish(mail, kind, bounce_type, self.viewer.stage)
        except feedback.FeedbackRefused as refused:
            status = 400 if refused.code == "bad_request" else 409
            raise ApiError(status, refused.code, str(refused)) from None
        self.viewer.book.watch(mail.message_id)
        event = published["event"]
        self._json(202, {"message_id": mail.message_id, "event_type": event["eventType"],
                         "topics": published["topics"], "event": event})

    def clear(self, query: dict[str, list[str]]) -> None:
        removed = self.viewer.outbox.clear()
        self.viewer.book.forget()
        self.viewer.hub.bump()
        self._json(200, {"removed": removed})

    def wait(self, query: dict[str, list[str]]) -> None:
        """Until `count` messages match (default 1), or `timeout` seconds pass (408)."""
        filters = _filters(query)
        count = int(_number(query, "count", 1, 1, MAX_LIMIT))
        timeout = _number(query, "timeout", WAIT_DEFAULT_SECONDS, 0, WAIT_MAX_SECONDS)
        deadline = time.monotonic() + timeout
        hub = self.viewer.hub
        with hub.listening():
            seen = hub.version
            while True:
                found = self.viewer.matching(filters, refresh=False)
                messages = [self.viewer.summary(m, v) for m, v in found]
                if len(found) >= count:
                    self._json(200, {"messages": messages, "total": len(found)})
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ApiError(408, "timeout", f"{len(found)} of {count} matching message(s) after {timeout:g} s",
                                   messages=messages)
                seen = hub.wait_change(seen, remaining)

    def events(self, query: dict[str, list[str]]) -> None:
        """Server-sent events: `change` whenever mail arrives or leaves or a status moves."""
        self.send_response(200)
        for name, value in {**COMMON_HEADERS, "Content-Type": "text/event-stream"}.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True  # the stream ends only when the page goes
        hub = self.viewer.hub
        with hub.listening():
            seen = hub.version
            self._event(f"retry: 2000\nevent: change\ndata: {json.dumps({'version': seen})}\n\n")
            while True:
                latest = hub.wait_change(seen, KEEPALIVE_SECONDS)
                if latest == seen:
                    self._event(": still here\n\n")  # finds a closed page, keeps proxies from timing out
                    continue
                seen = latest
                self._event(f"event: change\ndata: {json.dumps({'version': seen})}\n\n")

    def _event(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()


def make_server(host: str, port: int, outbox_dir: Path, stage: str, api_url: str,
                stack_started: dt.datetime | None) -> ViewerServer:
    viewer = Viewer(Outbox(outbox_dir), StatusBook(stack_started=stack_started), stage=stage, api_url=api_url)
    return ViewerServer((host, port), viewer)
