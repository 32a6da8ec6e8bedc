"""A fake CAPTCHA verifier: the siteverify wire format of Turnstile, hCaptcha and
reCAPTCHA, answered by token, on loopback. Never shipped.

    python -m devstack.captcha --port 8030 [--secret local-captcha-secret]

POST any path with form fields `secret` and `response` (what the app sends):
- a wrong or missing secret: `{"success": false, "error-codes": ["invalid-input-secret"]}`;
- no token: `missing-input-response`;
- a token starting with `pass`: `{"success": true, "hostname": "localhost", ...}`;
- a token starting with `outage`: HTTP 503 (the provider is down);
- any other token: `invalid-input-response` (the sender failed the check).

`make run` starts it when LEADFLOW_CAPTCHA names a provider; the tests start
it in-process (`serving`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

DEFAULT_SECRET = "local-captcha-secret"
PASS_PREFIX = "pass"
OUTAGE_PREFIX = "outage"
MAX_BODY = 64 * 1024


def answer(form: dict[str, str], secret: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON answer for one siteverify request."""
    if form.get("secret") != secret:
        return 200, {"success": False, "error-codes": ["invalid-input-secret"]}
    token = form.get("response", "")
    if not token:
        return 200, {"success": False, "error-codes": ["missing-input-response"]}
    if token.startswith(OUTAGE_PREFIX):
        return 503, {"success": False, "error-codes": ["internal-error"]}
    if token.startswith(PASS_PREFIX):
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"success": True, "challenge_ts": now, "hostname": "localhost", "error-codes": []}
    return 200, {"success": False, "error-codes": ["invalid-input-response"]}


def handler_for(secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, MAX_BODY)).decode("utf-8", "replace")
            form = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
            status, body = answer(form, secret)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tokens are no one's business in a log

    return Handler


@contextmanager
def serving(port: int = 0, secret: str = DEFAULT_SECRET) -> Iterator[str]:
    """The verifier on a loopback port (0: a free one) in a thread; yields its siteverify URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(secret))
    thread = threading.Thread(target=server.serve_forever, name="fake-captcha", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    from devstack import lifeline

    parser = argparse.ArgumentParser(prog="python -m devstack.captcha", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    args = parser.parse_args(argv)
    lifeline.watch_parent()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(args.secret))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
