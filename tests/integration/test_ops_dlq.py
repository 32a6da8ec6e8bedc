"""`python -m ops.dlq` against the emulator server over HTTP: listing each DLQ with its reason,
redriving chosen or all messages, replaying the stream DLQ's records through the handler.

The emulator is shared by the session, so every check is scoped to messages
and leads this test made (never a global count).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.pipeline import dead_letters
from ops import dlq
from tests.support import ses_events
from tests.support.aws import PROJECT_ROOT, Emulator, stream_shard_records

pytestmark = pytest.mark.integration

STAGE = "local"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:leadflow-local-{}"


@pytest.fixture
def ops_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # Short polls: the emulator has no SQS server sampling to defeat.
    monkeypatch.setattr(dead_letters, "RECEIVE_WAIT_SECONDS", 0)
    yield emulator


def queue_url(emulator: Emulator, suffix: str) -> str:
    return emulator.client("sqs").get_queue_url(QueueName=f"leadflow-{STAGE}-{suffix}")["QueueUrl"]


def send(emulator: Emulator, suffix: str, body: Any, attributes: dict[str, Any] | None = None) -> str:
    extra = {"MessageAttributes": attributes} if attributes else {}
    sent = emulator.client("sqs").send_message(
        QueueUrl=queue_url(emulator, suffix), MessageBody=json.dumps(body), **extra
    )
    return str(sent["MessageId"])


def drain_matching(emulator: Emulator, suffix: str, needle: str) -> list[str]:
    """Take (delete) the bodies in a queue containing `needle`; leave the others."""
    sqs, url = emulator.client("sqs"), queue_url(emulator, suffix)
    taken: list[str] = []
    others: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            break
        for message in batch:
            if needle in message["Body"]:
                taken.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message)
    for message in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return taken


def ids_in(letters: dict[str, list[dlq.DeadLetter]], queue: str) -> dict[str, dlq.DeadLetter]:
    return {letter.message_id: letter for letter in letters[queue]}


def store_lead(email: str = "ada@example.com") -> str:
    from chalicelib.store import leads

    return leads.store_lead({"name": "Ada", "email": email, "source": "website"}, None, uuid.uuid4().hex)


def lead_created(lead_id: str, email: str = "ada@example.com") -> dict[str, Any]:
    return {"type": "lead.created", "lead": {"id": lead_id, "email": email, "name": "Ada"}, "enrichment": {}}


# --- Listing ----------------------------------------------------------------------------


def test_list_shows_every_dlq_with_the_reason_and_keeps_the_messages(ops_env):
    from chalicelib.store import ledger
    from chalicelib.store.deliveries import DeliveryKey

    lead_id = store_lead()
    key = DeliveryKey(lead_id, "customer_confirmation", "ada@example.com")
    claim = ledger.claim(key)
    ledger.release_for_retry(key, claim.token, "retrying after TooManyRequestsException")
    notification = send(ops_env, "notifications-dlq", lead_created(lead_id))
    invalid = send(
        ops_env, "notifications-dlq", {"type": "nonsense"},
        {"reason": {"DataType": "String", "StringValue": "invalid notification message: unknown type"}},
    )
    message_id = f"msg-{uuid.uuid4()}"
    ses = ses_events.delivery("event", message_id, ["ada@example.com"])
    envelope = ses_events.sns_envelope(ses, "arn:aws:sns:us-east-1:123456789012:leadflow-local-ses-feedback")
    destination_record = {
        "version": "1.0",
        "timestamp": "2030-01-01T00:00:00.000Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()), "functionArn": FUNCTION_ARN.format("on_ses_feedback"),
            "condition": "RetriesExhausted", "approximateInvokeCount": 3,
        },
        "requestPayload": envelope,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "Delivery for message x: no delivery yet", "errorType": "FeedbackNotRecorded",
        },
    }
    feedback_destination = send(ops_env, "ses-feedback-dlq", destination_record)
    feedback_async_dlq = send(
        ops_env, "ses-feedback-dlq", envelope,
        {"ErrorMessage": {"DataType": "String", "StringValue": "Task timed out after 30.00 seconds"},
         "ErrorCode": {"DataType": "Number", "StringValue": "200"}},
    )
    stream_record = {
        "requestContext": {
            "requestId": str(uuid.uuid4()), "functionArn": FUNCTION_ARN.format("on_lead_stream"),
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2030-01-01T00:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001", "startSequenceNumber": "100", "endSequenceNumber": "102",
            "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00Z",
            "approximateArrivalOfLastRecord": "2030-01-01T00:00:00Z", "batchSize": 3,
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/leadflow-local-leads/stream/x",
        },
    }
    stream = send(ops_env, "lead-stream-dlq", stream_record)

    found = dlq.list_letters(list(dlq.QUEUES), STAGE)
    notifications = ids_in(found, "notifications")
    assert notifications[notification].summary == f"lead.created lead={lead_id}"
    expected = "customer_confirmation=queued (retrying after TooManyRequestsException)"
    assert expected in notifications[notification].reason
    assert notifications[invalid].reason.startswith("worker: invalid notification message")
    feedback_letters = ids_in(found, "ses-feedback")
    assert feedback_letters[feedback_destination].summary == f"SES Delivery for message {message_id}"
    assert feedback_letters[feedback_destination].reason == (
        "RetriesExhausted: Delivery for message x: no delivery yet"
    )
    assert feedback_letters[feedback_async_dlq].reason == "Task timed out after 30.00 seconds"
    letter = ids_in(found, "lead-stream")[stream]
    assert letter.summary == "on_lead_stream: 3 record(s) of shardId-00000001 seq 100..102"
    assert letter.reason.startswith("RetryAttemptsExhausted after 4 invocation(s)")
    assert "ada@example.com" not in json.dumps([(x.summary, x.reason) for q in found.values() for x in q])

    again = dlq.list_letters(list(dlq.QUEUES), STAGE)  # listing consumed nothing
    for queue, mine in (("notifications", {notification, invalid}), ("lead-stream", {stream}),
                        ("ses-feedback", {feedback_destination, feedback_async_dlq})):
        assert mine <= set(ids_in(again, queue))
    # Tidy up for the other tests on this shared emulator.
    for suffix, needle in (("notifications-dlq", lead_id), ("notifications-dlq", "nonsense"),
                           ("ses-feedback-dlq", message_id), ("lead-stream-dlq", "shardId-00000001")):
        drain_matching(ops_env, suffix, needle)


# --- Redriving the notifications DLQ ----------------------------------------------------------


def test_redrive_chosen_then_all_back_to_the_notifications_queue(ops_env):
    first, second = store_lead(), store_lead()
    first_message = send(ops_env, "notifications-dlq", lead_created(first))
    send(ops_env, "notifications-dlq", lead_created(second))

    report = dlq.redrive(["notifications"], STAGE, {first_message})
    assert [(r.message_id, r.outcome) for r in report.results] == [(first_message, "redriven")]
    assert [json.loads(b)["lead"]["id"] for b in drain_matching(ops_env, "notifications", first)] == [first]
    assert drain_matching(ops_env, "notifications", second) == []
    still = dlq.list_letters(["notifications"], STAGE)["notifications"]
    assert second in {dlq.lead_id_of(letter.payload) for letter in still}
    assert first not in {dlq.lead_id_of(letter.payload) for letter in still}

    report = dlq.redrive(["notifications"], STAGE, None)
    assert not report.failed
    assert [json.loads(b)["lead"]["id"] for b in drain_matching(ops_env, "notifications", second)] == [second]
    remaining = dlq.list_letters(["notifications"], STAGE)["notifications"]
    assert second not in {dlq.lead_id_of(letter.payload) for letter in remaining}


def test_redrive_drops_messages_about_an_erased_lead(ops_env):
    from chalicelib.api import admin

    lead_id = store_lead()
    message = send(ops_env, "notifications-dlq", lead_created(lead_id))
    assert admin.erase(lead_id) is not None
    report = dlq.redrive(["notifications"], STAGE, {message})
    assert [(r.outcome, r.detail) for r in report.results] == [("dropped", f"lead {lead_id} is erased or gone")]
    assert drain_matching(ops_env, "notifications", lead_id) == []
    assert drain_matching(ops_env, "notifications-dlq", lead_id) == []


def test_unknown_ids_are_reported_not_invented(ops_env):
    report = dlq.redrive(["notifications"], STAGE, {"no-such-message"})
    assert [(r.message_id, r.outcome) for r in report.results] == [("no-such-message", "skipped")]


# --- Redriving the SES feedback DLQ -------------------------------------------------------------


def test_redrive_republishes_feedback_to_the_topic(ops_env):
    sns, sqs = ops_env.client("sns"), ops_env.client("sqs")
    topic = f"arn:aws:sns:us-east-1:123456789012:leadflow-{STAGE}-ses-feedback"
    probe_url = sqs.create_queue(QueueName=f"probe-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=probe_arn, Attributes={"RawMessageDelivery": "true"}
    )["SubscriptionArn"]
    try:
        message_id = f"msg-{uuid.uuid4()}"
        record = ses_events.bounce("event", message_id, ["gone@example.com"])
        letter = send(ops_env, "ses-feedback-dlq", ses_events.sns_envelope(record, topic))
        report = dlq.redrive(["ses-feedback"], STAGE, {letter})
        assert [r.outcome for r in report.results] == ["redriven"]
        received = sqs.receive_message(QueueUrl=probe_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
        assert [json.loads(m["Body"]) for m in received] == [record]
        assert drain_matching(ops_env, "ses-feedback-dlq", message_id) == []
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=probe_url)


# --- Replaying the stream DLQ ----------------------------------------------------------------------


def insert_record_of(emulator: Emulator, lead_id: str) -> tuple[str, dict[str, Any]]:
    streams = emulator.client("dynamodbstreams")
    for shard_id, record in stream_shard_records(streams, os.environ["LEADS_STREAM_ARN"]):
        if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["id"]["S"] == lead_id:
            return shard_id, record
    raise AssertionError(f"no INSERT for {lead_id} in the stream")


def on_failure_record(shard_id: str, first: dict[str, Any], last: dict[str, Any], handler: str) -> dict[str, Any]:
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()), "functionArn": FUNCTION_ARN.format(handler),
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2030-01-01T00:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": "2030-01-01T00:00:00Z",
            "approximateArrivalOfLastRecord": "2030-01-01T00:00:00Z",
            "batchSize": 1,
            "streamArn": os.environ["LEADS_STREAM_ARN"],
        },
    }


def test_stream_dlq_records_are_reread_and_replayed_through_the_handler(ops_env):
    lead_id = store_lead()
    shard_id, record = insert_record_of(ops_env, lead_id)
    drain_matching(ops_env, "notifications", lead_id)  # whatever a runtime elsewhere may have left
    letter = send(ops_env, "lead-stream-dlq", on_failure_record(shard_id, record, record, "on_lead_stream"))

    report = dlq.redrive(["lead-stream"], STAGE, {letter})
    assert [(r.outcome, r.detail) for r in report.results] == [
        ("redriven", "1 record(s) replayed through on_lead_stream, 0 skipped")
    ]
    # on_lead_stream published lead.created to the LeadEvents topic, which feeds the notifications queue.
    replayed = [json.loads(b) for b in drain_matching(ops_env, "notifications", lead_id)]
    assert [(m["type"], m["lead"]["id"]) for m in replayed] == [("lead.created", lead_id)]
    assert letter not in ids_in(dlq.list_letters(["lead-stream"], STAGE), "lead-stream")


def test_audit_dlq_records_are_replayed_through_the_audit_consumer(ops_env):
    from tests.support.tracking import audit_lines

    lead_id = store_lead()
    shard_id, record = insert_record_of(ops_env, lead_id)
    letter = send(ops_env, "lead-audit-dlq", on_failure_record(shard_id, record, record, "on_lead_audit"))
    report = dlq.redrive(["lead-audit"], STAGE, {letter})
    assert [(r.outcome, r.detail) for r in report.results] == [
        ("redriven", "1 record(s) replayed through on_lead_audit, 0 skipped")
    ]
    lines = audit_lines(os.environ["AUDIT_BUCKET"], ops_env.client("s3"))
    assert [(line["action"], line["event_id"]) for line in lines if line["lead_id"] == lead_id] == [
        ("created", record["eventID"])
    ]


def test_stream_replay_skips_an_erased_lead(ops_env):
    from chalicelib.api import admin

    lead_id = store_lead()
    shard_id, record = insert_record_of(ops_env, lead_id)
    admin.erase(lead_id)
    letter = send(ops_env, "lead-stream-dlq", on_failure_record(shard_id, record, record, "on_lead_stream"))
    report = dlq.redrive(["lead-stream"], STAGE, {letter})
    assert [(r.outcome, r.detail) for r in report.results] == [
        ("redriven", "0 record(s) replayed through on_lead_stream, 1 skipped")
    ]
    assert drain_matching(ops_env, "notifications", lead_id) == []


def test_records_gone_from_the_stream_leave_the_message_in_the_dlq(ops_env):
    lead_id = store_lead()
    shard_id, record = insert_record_of(ops_env, lead_id)
    gone = {"dynamodb": {"SequenceNumber": "9" * 30}}
    letter = send(ops_env, "lead-stream-dlq", on_failure_record(shard_id, gone, gone, "on_lead_stream"))
    report = dlq.redrive(["lead-stream"], STAGE, {letter})
    assert [r.outcome for r in report.results] == ["failed"]
    assert "no longer in the stream" in report.results[0].detail
    assert letter in ids_in(dlq.list_letters(["lead-stream"], STAGE), "lead-stream")
    drain_matching(ops_env, "lead-stream-dlq", "9" * 30)


# --- The command line ------------------------------------------------------------------------------


def run_cli(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **emulator.env}
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "ops.dlq", *args], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_cli_lists_and_redrives(ops_env):
    lead_id = store_lead()
    letter = send(ops_env, "notifications-dlq", lead_created(lead_id))
    listed = run_cli(ops_env, "list", "--queue", "notifications")
    assert listed.returncode == 0, listed.stderr
    assert f"{letter}  age " in listed.stdout and f"lead.created lead={lead_id}" in listed.stdout
    assert "reason: the worker failed it" in listed.stdout

    redriven = run_cli(ops_env, "redrive", letter, "--queue", "notifications")
    assert redriven.returncode == 0, redriven.stderr
    assert f"{letter}  redriven" in redriven.stdout
    assert len(drain_matching(ops_env, "notifications", lead_id)) == 1


def test_cli_refuses_redrive_without_a_choice(ops_env):
    result = run_cli(ops_env, "redrive")
    assert result.returncode == 2
    assert "needs message ids or --all" in result.stderr


# --- Ordinary mistakes get one line; purging asks first and is audited ---------------------------


def run_cli_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.dlq", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
    )


def test_cli_with_the_local_stack_down_answers_in_one_line():
    from devstack.stack import free_port

    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    result = run_cli_env({**env, "LEADFLOW_AWS_PORT": port})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"make dlq: cannot reach the local stack's AWS emulator at http://127.0.0.1:{port}: start it with "
        "`make run`, or set LEADFLOW_AWS_PORT to the port it runs on"
    ]


def test_cli_finds_a_running_stack_from_its_run_file(ops_env, tmp_path, monkeypatch):
    from devstack import stack
    from ops import env as ops_env_module

    run_file = tmp_path / "local-stack.json"
    port = ops_env.endpoint.rsplit(":", 1)[1]
    run_file.write_text(json.dumps({"pid": os.getpid(), "aws_port": int(port), "api_port": 1, "mail_port": 2}))
    monkeypatch.setattr(stack, "RUN_FILE", run_file)
    monkeypatch.delenv("LEADFLOW_AWS_PORT", raising=False)
    monkeypatch.setattr(stack.running_stack, "__defaults__", (run_file,))
    assert ops_env_module.local_port() == port
    run_file.write_text(json.dumps({"pid": 2**22 + 12345, "aws_port": int(port)}))  # that process is gone
    assert ops_env_module.local_port() == "4566"


def test_cli_without_credentials_for_a_deployed_stage_answers_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "eu-west-1"})
    result = run_cli_env(env, "list", "--stage", "dev")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "make dlq: no AWS credentials for stage dev: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY), or run `aws configure`"
    ]


def test_purge_asks_for_confirmation_then_deletes_and_audits(ops_env):
    from tests.support.tracking import audit_lines

    env = {**os.environ, **ops_env.env}
    env.pop("AWS_PROFILE", None)
    hopeless = send(ops_env, "notifications-dlq", {"type": "notification.request", "kind": f"gone-{uuid.uuid4().hex}"},
                    {"reason": {"DataType": "String", "StringValue": "invalid notification message: unknown kind"}})
    refused = run_cli_env(env, "purge", hopeless, "--queue", "notifications")
    assert refused.returncode == 1
    assert "purge asks for confirmation" in refused.stderr and "nothing purged" in refused.stdout
    assert hopeless in ids_in(dlq.list_letters(["notifications"], STAGE), "notifications")

    purged = run_cli_env(env, "purge", hopeless, "--queue", "notifications", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert f"{hopeless}  purged" in purged.stdout
    assert "audit: leads/dt=" in purged.stdout
    assert hopeless not in ids_in(dlq.list_letters(["notifications"], STAGE), "notifications")
    entries = [e for e in audit_lines(os.environ["AUDIT_BUCKET"], ops_env.client("s3"))
               if e["action"] == "dead_letters_purged"]
    assert [e["message_ids"] for e in entries if hopeless in e["message_ids"]] == [[hopeless]]


def test_purge_needs_a_queue(ops_env):
    result = run_cli(ops_env, "purge", "--all")
    assert result.returncode == 2
    assert "purge needs --queue" in result.stderr
