"""Both SES feedback formats end to end on the local stack: configuration-set events
(`eventType`, tags name the ledger row) and identity notifications
(`notificationType`, no tags: the feedback handler finds the row by message id)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.provision import local_client
from devstack.stack import LocalStack, StackConfig
from tests.support.aws import free_port, stage_env
from tests.support.event_models import validate_ses_feedback
from tests.support.stack import call

pytestmark = pytest.mark.e2e

DEADLINE = 90.0
CUSTOMER = "customer_confirmation"


@pytest.fixture(scope="module", params=["event", "identity"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(aws_port=free_port(), api_port=free_port(), outbox=tmp_path_factory.mktemp("outbox"),
                         ses_feedback_format=request.param)
    with LocalStack(config) as running:
        yield running



def feedback_tap(stack: LocalStack) -> str:
    """A raw queue on the SesFeedback topic, to read what the local SES published."""
    sns, sqs = (local_client(s, stack.config.aws_endpoint) for s in ("sns", "sqs"))
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                 if t["TopicArn"].endswith(":" + stage_env()["SES_FEEDBACK_TOPIC"]))
    queue = sqs.create_queue(QueueName=f"e2e-feedback-tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return str(queue)


def wait_for_customer_status(stack: LocalStack, lead_id: str, wanted: str) -> None:
    end = time.monotonic() + DEADLINE
    status = None
    while time.monotonic() < end:
        code, body = call(stack, "GET", f"/leads/{lead_id}")
        assert code == 200, body
        status = {n["kind"]: n["status"] for n in body["notifications"]}.get(CUSTOMER)
        if status == wanted:
            return
        time.sleep(0.25)
    raise AssertionError(f"lead {lead_id}: customer email {status}, not {wanted}, after {DEADLINE}s")


def test_simulator_outcomes_reach_the_ledger_in_the_stacks_feedback_format(stack):
    tap = feedback_tap(stack)
    outcomes = {"bounce": "bounced", "complaint": "complained", "success": "delivered"}
    leads = {}
    for local in outcomes:
        lead = {"name": f"Format {local}", "email": f"{local}@simulator.amazonses.com"}
        code, body = call(stack, "POST", "/leads", lead)
        assert code == 201, body
        leads[local] = body["id"]
    for local, status in outcomes.items():
        wait_for_customer_status(stack, leads[local], status)

    sqs = local_client("sqs", stack.config.aws_endpoint)
    records = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=tap, MaxNumberOfMessages=10,
                                                                   WaitTimeSeconds=1).get("Messages", [])]
    assert records
    assert {validate_ses_feedback(record)[0] for record in records} == {stack.config.ses_feedback_format}
