"""End to end on the local stack: SES mailbox-simulator feedback, suppression, DLQ redrive.

One devstack.stack.LocalStack (emulator + `chalice local` + event runtime)
on free ports with a temporary outbox, shared by the module. Everything goes
through the real entry points: POST /leads and GET /leads/{id} over HTTP,
the Leads stream, SNS, SQS, the worker, SES into the outbox, SES feedback
events to the SesFeedback topic, and `python -m ops.dlq` as a command. Waits
poll with deadlines (generous: a 2-core CI box), never fixed sleeps.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.endpoints import endpoint_env
from devstack.provision import local_client
from devstack.stack import LocalStack, StackConfig
from tests.support.aws import PROJECT_ROOT, apply_env, free_port, reset_app_caches, stage_env
from tests.support.stack import call, dead_lettered_after

pytestmark = pytest.mark.e2e

DEADLINE = 90.0
TEAM = "team_alert"
CUSTOMER = "customer_confirmation"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=tmp_path_factory.mktemp("outbox"))
    running = LocalStack(config)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def stack_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process's chalicelib/ops pointed at the stack's emulator (for the ledger and ops.dlq)."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    env = {
        **stage_env(),
        **endpoint_env(stack.config.aws_endpoint),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LEADS_STREAM_ARN": stack.env.get("LEADS_STREAM_ARN", ""),
    }
    apply_env(monkeypatch, env)
    yield env
    reset_app_caches()


# --- HTTP, waiting, the outbox --------------------------------------------------------------



def post_lead(stack: LocalStack, email_address: str) -> str:
    status, body = call(stack, "POST", "/leads", {"name": f"E2E {uuid.uuid4().hex[:8]}", "email": email_address})
    assert status == 201, body
    return str(body["id"])


def wait_for(check: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}")
        time.sleep(0.25)


def statuses(stack: LocalStack, lead_id: str) -> dict[str, str]:
    status, body = call(stack, "GET", f"/leads/{lead_id}")
    assert status == 200, body
    return {n["kind"]: n["status"] for n in body["notifications"]}


def wait_for_statuses(stack: LocalStack, lead_id: str, expected: dict[str, str]) -> dict[str, str]:
    def reached() -> dict[str, str] | None:
        current = statuses(stack, lead_id)
        return current if all(current.get(k) == v for k, v in expected.items()) else None

    return wait_for(reached, f"lead {lead_id} notifications {expected}")  # type: ignore[no-any-return]


def outbox_headers(stack: LocalStack) -> list[email.message.Message]:
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(Path(stack.config.outbox).glob("*.eml"))]


def mails_to(stack: LocalStack, address: str) -> int:
    return sum(1 for m in outbox_headers(stack) if address.lower() in str(m.get("To", "")).lower())


def mails_for_delivery(stack: LocalStack, delivery_id: str) -> int:
    return sum(1 for m in outbox_headers(stack) if str(m.get("X-Leadflow-Ref", "")) == delivery_id)


def is_suppressed(stack: LocalStack, address: str) -> bool:
    dynamodb = local_client("dynamodb", stack.config.aws_endpoint)
    found = dynamodb.get_item(
        TableName=stage_env()["SUPPRESSION_TABLE"], Key={"address": {"S": address.lower()}}, ConsistentRead=True
    )
    return "Item" in found


# --- Mailbox simulator ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("simulator", "outcome"),
    [("bounce@simulator.amazonses.com", "bounced"), ("complaint@simulator.amazonses.com", "complained")],
)
def test_simulator_feedback_suppresses_and_the_next_lead_sends_no_customer_email(stack, simulator, outcome):
    first = post_lead(stack, simulator)
    wait_for_statuses(stack, first, {CUSTOMER: outcome, TEAM: "delivered"})
    assert is_suppressed(stack, simulator)
    assert mails_to(stack, simulator) == 1

    second = post_lead(stack, simulator)
    # The team still hears about the lead; the person is not mailed again.
    wait_for_statuses(stack, second, {CUSTOMER: "suppressed", TEAM: "delivered"})
    assert mails_to(stack, simulator) == 1
    assert statuses(stack, first)[CUSTOMER] == outcome  # nothing moved it back


def test_success_simulator_ends_delivered_and_is_not_suppressed(stack):
    lead_id = post_lead(stack, "success@simulator.amazonses.com")
    wait_for_statuses(stack, lead_id, {CUSTOMER: "delivered", TEAM: "delivered"})
    assert not is_suppressed(stack, "success@simulator.amazonses.com")


# --- A poisoned message, dead-lettered, fixed, redriven ----------------------------------------------


def run_ops(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in endpoint_env("")}
    env["LEADFLOW_AWS_PORT"] = str(stack.config.aws_port)  # what `make dlq` uses for the local stack
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "ops.dlq", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=180,
    )


def hold_claim(lead_id: str, address: str) -> tuple[Any, str]:
    """A send stuck in another worker's hands: claimed, with a lease that will not run out
    during the test, so every attempt of the worker is told to retry later."""
    from chalicelib.core import aws
    from chalicelib.store import ledger
    from chalicelib.store.deliveries import DeliveryKey

    key = DeliveryKey(lead_id, CUSTOMER, address)
    claim = ledger.claim(key)
    assert claim.state == "claimed"
    aws.dynamodb().update_item(
        TableName=os.environ["DELIVERIES_TABLE"], Key={"delivery_id": {"S": key.delivery_id}},
        UpdateExpression="SET claimed_at = :t", ExpressionAttributeValues={":t": {"N": str(time.time() + 3600)}},
    )
    return key, claim.token


def put_lead(lead_id: str, address: str) -> None:
    from chalicelib.core import aws

    aws.dynamodb().put_item(
        TableName=os.environ["LEADS_TABLE"],
        Item={
            "id": {"S": lead_id}, "created_at": {"S": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())},
            "listing": {"S": "lead"}, "status": {"S": "received"}, "source": {"S": "website"},
            "name": {"S": "Poisoned Lead"}, "email": {"S": address},
        },
    )


def test_poisoned_message_is_redriven_once_fixed_without_a_duplicate_email(stack, stack_env):
    from chalicelib.store import ledger
    from chalicelib.store.deliveries import DeliveryKey
    from ops import dlq

    lead_id, address = uuid.uuid4().hex, f"poisoned.{uuid.uuid4().hex[:8]}@example.com"
    key, token = hold_claim(lead_id, address)  # before the lead exists, so the first attempt already meets it
    put_lead(lead_id, address)

    # The team alert goes out; the confirmation keeps failing until the queue dead-letters the message.
    def dead_lettered() -> list[dlq.DeadLetter]:
        letters = dlq.list_letters(["notifications"], "local")["notifications"]
        return [letter for letter in letters if dlq.lead_id_of(letter.payload) == lead_id]

    with dead_lettered_after(stack, stack_env["NOTIFICATIONS_QUEUE"], receives=1):
        (letter,) = wait_for(dead_lettered, "the message in the notifications DLQ", deadline=180)
    team = DeliveryKey(lead_id, TEAM, stack_env["TEAM_ADDRESSES"].split(",")[0])
    wait_for_statuses(stack, lead_id, {TEAM: "delivered", CUSTOMER: "queued"})
    assert mails_for_delivery(stack, team.delivery_id) == 1
    assert mails_to(stack, address) == 0

    listed = run_ops(stack, "list", "--queue", "notifications")
    assert listed.returncode == 0, listed.stderr
    assert letter.message_id in listed.stdout and f"lead={lead_id}" in listed.stdout

    # The fix: the stuck send is released (as an operator would after finding the dead worker).
    assert ledger.release_for_retry(key, token, "released: the worker holding it was gone")

    redriven = run_ops(stack, "redrive", letter.message_id, "--queue", "notifications")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert f"{letter.message_id}  redriven" in redriven.stdout

    wait_for_statuses(stack, lead_id, {CUSTOMER: "delivered", TEAM: "delivered"})
    assert mails_to(stack, address) == 1
    assert mails_for_delivery(stack, team.delivery_id) == 1  # the replay did not send the alert again
    assert not dead_lettered()
