"""Other systems as senders, on a whole local stack over real HTTP: every curl example of the
README's "Send your own email through leadflow" runs as written and sends exactly one email;
callbacks reach a local receiver signed as documented, as the email is sent and delivered."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.stack import DEFAULT_SENDER_KEY, DEFAULT_SENDER_SECRET, LocalStack, StackConfig, free_port
from tests.support.readme import curl_commands, verify_recipe
from tests.support.receiver import running_receiver
from tests.support.stack import call, viewer

pytestmark = pytest.mark.e2e

README_API = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The documented sender key and signing secret: the README's examples use them as written.
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=tmp_path_factory.mktemp("outbox"))
    assert (config.sender_key, config.sender_secret) == (DEFAULT_SENDER_KEY, DEFAULT_SENDER_SECRET)
    with LocalStack(config) as running:
        yield running


def run_example(stack: LocalStack, command: str, notification_id: str = "") -> str:
    """One README example with only the stack's port and a fresh idempotency key swapped in."""
    command = command.replace(README_API, stack.config.api_url)
    command = command.replace("Idempotency-Key: order-A-100", f"Idempotency-Key: order-{uuid.uuid4().hex[:8]}")
    if notification_id:
        command = re.sub(r"ntf_[0-9a-f]{4}\.\.\.", notification_id, command)
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def emails_to(stack: LocalStack, address: str, expected: int, timeout: float = 10.0) -> list[dict]:
    mail = viewer(stack)
    answer = mail.call("GET", "/api/wait", to=address, count=expected, timeout=timeout, http_timeout=timeout + 30)
    assert answer.status in (200, 408), answer.body
    return list(answer.body["messages"])


def test_every_readme_example_works_as_written_and_sends_exactly_one_email(stack):
    examples = curl_commands()
    assert len(examples) == 2, "the README's sender examples changed: update this test"
    posting, reading = examples
    out = run_example(stack, posting)
    assert out.startswith("HTTP/1.1 202")
    notification_id = json.loads(re.split(r"\r?\n\r?\n", out, maxsplit=1)[1])["id"]
    assert f"Location: /notifications/{notification_id}" in out
    (sent,) = emails_to(stack, "buyer@example.com", 1)
    assert "A-100" in sent["subject"]
    time.sleep(1)  # and no second one turns up
    assert len(emails_to(stack, "buyer@example.com", 2, timeout=0)) == 1
    deadline = time.monotonic() + 10
    status: dict = {}
    while time.monotonic() < deadline and status.get("status") != "delivered":  # the local SES's feedback
        status = json.loads(run_example(stack, reading, notification_id))
        time.sleep(0.2)
    assert status["status"] == "delivered" and status["recipient"] == "b***@e***.com"
    assert [step["status"] for step in status["history"]] == ["queued", "sent", "delivered"]


def test_callbacks_arrive_signed_as_the_email_is_sent_and_delivered(stack):
    verify = verify_recipe()
    with running_receiver() as receiver:
        code, body = call(stack, "POST", "/notifications", {
            "kind": "order_confirmation", "recipient": "success@simulator.amazonses.com", "reference": "A-200",
            "data": {"order_id": "A-200"}, "callback_url": receiver.url,
        }, token=DEFAULT_SENDER_KEY)
        assert code == 202, body
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(r.json["status"] == "delivered" for r in receiver.requests):
            time.sleep(0.1)
        time.sleep(1)  # nothing more turns up
        got = list(receiver.requests)
    # `sent` is skipped when `delivered` is already known by the time it goes out (the latest status wins).
    assert [r.json["status"] for r in got] in (["sent", "delivered"], ["delivered"])
    for request in got:
        assert verify(DEFAULT_SENDER_SECRET, request.body, request.headers["Leadflow-Signature"])
        assert request.json["notification_id"] == body["id"] and request.json["reference"] == "A-200"
    code, status = call(stack, "GET", f"/notifications/{body['id']}", token=DEFAULT_SENDER_KEY)
    assert (code, status["status"], status["callback"]["acknowledged"]) == (200, "delivered", "delivered")


def test_a_private_callback_url_is_refused_at_the_door(stack):
    code, body = call(stack, "POST", "/notifications", {
        "kind": "order_confirmation", "recipient": "buyer@example.com", "data": {"order_id": "A-300"},
        "callback_url": "https://192.168.0.10/hook",
    }, token=DEFAULT_SENDER_KEY)
    assert code == 400 and [d["field"] for d in body["details"]] == ["callback_url"]
