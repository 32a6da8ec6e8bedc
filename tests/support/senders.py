"""Driving POST /notifications and what follows it in-process: the worker, feedback, callbacks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.pipeline import callbacks, notifications
from tests.support.aws import SENDER_KEY, apply_env
from tests.support.pipeline import receive_all, sqs_event

ORDER = {"kind": "order_confirmation", "recipient": "buyer@example.com",
         "data": {"order_id": "A-100", "customer_name": "Bea"}}


def post(api_client: Any, body: Any, key: str | None = SENDER_KEY, headers: dict[str, str] | None = None) -> Any:
    sent = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {}),
            **(headers or {})}
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return api_client.http.post("/notifications", headers=sent, body=raw)


def get(api_client: Any, notification_id: str, key: str | None = SENDER_KEY) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return api_client.http.get(f"/notifications/{notification_id}", headers=headers)


def run_worker(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every queued notification message through the worker once; the messages it had."""
    messages = receive_all(env["NOTIFICATIONS_QUEUE"])
    if messages:
        notifications.handle_batch(sqs_event(messages))
    return messages


def queued_callbacks(env: dict[str, str]) -> list[dict[str, Any]]:
    return receive_all(env["CALLBACKS_QUEUE"])


def run_callbacks(messages: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """The callback handler over these messages, as their `receive_count`-th delivery."""
    for message in messages:
        message["Attributes"] = {**message.get("Attributes", {}), "ApproximateReceiveCount": str(receive_count)}
    return callbacks.handle_batch(sqs_event(messages))


def add_sender(monkeypatch: Any, env: dict[str, str], key: str, **entry: Any) -> None:
    """Another key in SENDER_KEYS (the test sender's stays)."""
    keys = json.loads(env["SENDER_KEYS"])
    keys[hashlib.sha256(key.encode()).hexdigest()] = {"kinds": ["*"], **entry}
    env["SENDER_KEYS"] = json.dumps(keys)
    apply_env(monkeypatch, {"SENDER_KEYS": env["SENDER_KEYS"]})
