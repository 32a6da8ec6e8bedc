"""`chalice local` with the stage's Gateway Responses.

On AWS the stage's Gateway Responses (infra) give the authorizer's 401/403
and an unknown route's answer the API's documented error shape (and the
unknown route a 404); `chalice local` hard-codes API Gateway's default
bodies instead. This entry point runs the real `chalice local` with the same
answers, so local and AWS answer alike.

    python -m devstack.api --stage local --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import json
import sys
from typing import Any


def gateway_response_type(error: Any) -> str:
    """Which Gateway Response API Gateway would give for `chalice local`'s error."""
    if error.CODE == 401:
        return "UNAUTHORIZED"
    if error.CODE == 403:
        # chalice local raises its ForbiddenError for both, told apart by the error type it names.
        denied = error.headers.get("x-amzn-ErrorType") == "AccessDeniedException"
        return "ACCESS_DENIED" if denied else "MISSING_AUTHENTICATION_TOKEN"
    return ""


def install_gateway_responses() -> None:
    from chalice import local

    from chalicelib.api.http import GATEWAY_RESPONSE_BODIES

    original = local.ChaliceRequestHandler._send_error_response

    def send_error_response(self: Any, error: Any) -> None:
        kind = gateway_response_type(error)
        if kind in GATEWAY_RESPONSE_BODIES:
            status, body = GATEWAY_RESPONSE_BODIES[kind]
            error.CODE = status
            error.body = json.dumps(body).encode()
            error.headers = {**error.headers, "Content-Type": "application/json"}
        original(self, error)

    local.ChaliceRequestHandler._send_error_response = send_error_response  # type: ignore[method-assign]


def quiet_requests() -> None:
    """The access log is the API's per-request line (devstack/console.py)."""
    from chalice import local

    local.ChaliceRequestHandler.log_message = lambda self, format, *args: None


def main(argv: list[str]) -> None:
    import logging

    from chalice.cli import main as chalice_main

    from devstack import console, lifeline, stage_env

    lifeline.watch_parent()
    stage_env.keep_stack_environment()
    install_gateway_responses()
    # "Found credentials in environment variables." and the like, on the first AWS call of each client.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if console.quiet():
        quiet_requests()
    console.quiet_app_output()
    sys.argv = ["chalice", "local", *argv]
    chalice_main()


if __name__ == "__main__":
    main(sys.argv[1:])
