"""Driving the team's dashboard (GET /admin) in the browser tests."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from devstack.stack import LocalStack


def expect() -> Any:  # imported late: playwright is only needed once a browser is there
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def dashboard_url(stack: LocalStack, fragment: str = "") -> str:
    return stack.config.api_url + "/admin" + fragment


def sign_in(page: Any, stack: LocalStack, token: str | None = None, fragment: str = "") -> None:
    """Open the dashboard (at `fragment`) and sign in; waits for the signed-in view."""
    page.goto(dashboard_url(stack, fragment))
    page.get_by_label("Admin token").fill(token or stack.config.admin_token)
    page.get_by_role("button", name="Sign in").click()
    if token is None:
        expect()(page.get_by_role("navigation", name="Dashboard sections")).to_be_visible()


def publish_request(stack: LocalStack, kind: str, recipient: str, data: dict[str, str]) -> str:
    """A notification.request from another system, on the notification-requests topic; its key."""
    from devstack.provision import local_client, stage_environment

    key = f"order-{uuid.uuid4().hex[:10]}"
    message = {"type": "notification.request", "kind": kind, "recipient": recipient, "data": data,
               "idempotency_key": key}
    local_client("sns", stack.config.aws_endpoint).publish(
        TopicArn=stage_environment(stack.config.stage)["NOTIFICATION_REQUESTS_TOPIC_ARN"], Message=json.dumps(message)
    )
    return key


def admin_get(stack: LocalStack, path: str) -> Any:
    request = urllib.request.Request(
        stack.config.api_url + path, headers={"Authorization": f"Bearer {stack.config.admin_token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
