"""SES in the emulator: the outbox of sent mail and mailbox-simulator feedback events."""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import json
import uuid
from email.message import EmailMessage

import pytest

from devstack import outbox
from tests.support.aws import emulator_process, stage_env
from tests.support.runtime import wait_until

pytestmark = pytest.mark.integration

SENDER = "alerts@leadflow.example"


def mime(to: str, subject: str = "Hello") -> bytes:
    message = EmailMessage()
    message["From"] = f"leadflow alerts <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("plain text body")
    message.add_alternative("<p>html body</p>", subtype="html")
    return message.as_bytes()


@pytest.fixture
def ses(runtime_emulator):
    runtime_emulator.client("ses").verify_domain_identity(Domain="leadflow.example")
    return runtime_emulator.client("sesv2")


@pytest.fixture
def feedback(runtime_emulator):
    """A topic with a raw-delivery queue on it, to read what SES published."""
    sns, sqs = runtime_emulator.client("sns"), runtime_emulator.client("sqs")
    name = f"feedback-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic, queue


def events_for(runtime_emulator, queue: str, message_id: str, count: int) -> list[dict]:
    sqs = runtime_emulator.client("sqs")
    found: list[dict] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["mail"]["messageId"] == message_id:
                found.append(event)
        return len(found) >= count

    wait_until(more, timeout=10, interval=0)
    return found


def send(ses, to: str, configuration_set: str | None = None, tags: dict[str, str] | None = None) -> str:
    raw = mime(to)
    kwargs = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    response = ses.send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": [to]}, Content={"Raw": {"Data": raw}},
        EmailTags=[{"Name": k, "Value": v} for k, v in (tags or {}).items()], **kwargs,
    )
    return response["MessageId"]


def assert_stamped(stored: bytes, sent: bytes, message_id: str) -> None:
    """What SES adds (its Message-ID and Date) comes first; the rest is byte for byte what was sent."""
    message_id_line, date_line, rest = stored.split(b"\n", 2)
    assert message_id_line == f"Message-ID: <{message_id}@email.amazonses.com>".encode()
    assert email.utils.parsedate_to_datetime(date_line.decode().removeprefix("Date: ")).tzinfo is not None
    assert rest == sent


def test_a_sent_email_is_in_the_outbox_as_a_parseable_eml(runtime_emulator, ses):
    raw = mime("someone@example.com", subject="Your enquiry")
    message_id = ses.send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": ["someone@example.com"]}, Content={"Raw": {"Data": raw}}
    )["MessageId"]

    [path] = list(runtime_emulator.outbox.glob(f"*-{message_id}.eml"))  # written before SendEmail returned
    assert_stamped(path.read_bytes(), raw, message_id)
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Your enquiry"
    assert parsed["To"] == "someone@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert not list(runtime_emulator.outbox.glob(".*.tmp"))
    envelope = outbox.read_envelope(path)
    assert envelope is not None
    assert envelope["message_id"] == message_id and envelope["destination"] == ["someone@example.com"]
    assert envelope["source"] == SENDER and envelope["configuration_set"] is None


def test_ses_v1_send_raw_email_also_reaches_the_outbox(runtime_emulator, ses):
    raw = mime("v1@example.com")
    message_id = runtime_emulator.client("ses").send_raw_email(RawMessage={"Data": raw})["MessageId"]
    [path] = list(runtime_emulator.outbox.glob(f"*-{message_id}.eml"))
    assert_stamped(path.read_bytes(), raw, message_id)


def test_bounce_simulator_produces_a_bounce_event_with_that_message_id(runtime_emulator, ses, feedback):
    topic, queue = feedback
    configuration_set = f"set-{uuid.uuid4().hex[:8]}"
    ses.create_configuration_set(ConfigurationSetName=configuration_set)
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=configuration_set,
        EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"],
                          "SnsDestination": {"TopicArn": topic}},
    )
    message_id = send(ses, "bounce@simulator.amazonses.com", configuration_set, {"lead_id": "L1", "kind": "customer"})

    events = events_for(runtime_emulator, queue, message_id, count=2)
    assert [e["eventType"] for e in events] == ["Send", "Bounce"]
    bounce = events[1]
    assert bounce["bounce"]["bounceType"] == "Permanent"
    assert [r["emailAddress"] for r in bounce["bounce"]["bouncedRecipients"]] == ["bounce@simulator.amazonses.com"]
    mail = bounce["mail"]
    assert mail["messageId"] == message_id
    assert mail["destination"] == ["bounce@simulator.amazonses.com"]
    assert mail["tags"]["lead_id"] == ["L1"] and mail["tags"]["kind"] == ["customer"]
    assert mail["tags"]["ses:configuration-set"] == [configuration_set]
    assert mail["commonHeaders"]["messageId"] == message_id
    assert mail["commonHeaders"]["subject"] == "Hello"
    assert mail["source"] == SENDER


def test_complaint_and_success_via_the_stage_feedback_topic(runtime_emulator, ses):
    """A configuration set without a destination: the stage config names its feedback topic."""
    sns, sqs = runtime_emulator.client("sns"), runtime_emulator.client("sqs")
    local = stage_env("local")
    topic = sns.create_topic(Name=local["SES_FEEDBACK_TOPIC"])["TopicArn"]
    queue = sqs.create_queue(QueueName=f"stage-feedback-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    with contextlib.suppress(ses.exceptions.AlreadyExistsException):
        ses.create_configuration_set(ConfigurationSetName=local["SES_CONFIGURATION_SET"])

    complained = send(ses, "complaint@simulator.amazonses.com", local["SES_CONFIGURATION_SET"])
    delivered = send(ses, "success@simulator.amazonses.com", local["SES_CONFIGURATION_SET"])

    complaint_events = events_for(runtime_emulator, queue, complained, count=2)
    assert [e["eventType"] for e in complaint_events] == ["Delivery", "Complaint"]
    complaint = complaint_events[1]["complaint"]
    assert complaint["complainedRecipients"] == [{"emailAddress": "complaint@simulator.amazonses.com"}]
    assert complaint["complaintFeedbackType"] == "abuse"
    [delivery] = events_for(runtime_emulator, queue, delivered, count=1)
    assert delivery["eventType"] == "Delivery"
    assert delivery["delivery"]["recipients"] == ["success@simulator.amazonses.com"]


# --- the feedback's shape, in both formats ------------------------------------------

SIMULATED = ("success", "bounce", "complaint", "suppressionlist")
EXPECTED_TYPES = {
    "event": {"Send", "Delivery", "Bounce", "Complaint"},
    "identity": {"Delivery", "Bounce", "Complaint"},  # identity notifications have no Send
}


@pytest.fixture(scope="module")
def identity_emulator(tmp_path_factory):
    """An emulator whose SES publishes identity notifications (a stage's SES_FEEDBACK_FORMAT=identity)."""
    outbox = tmp_path_factory.mktemp("identity-outbox")
    with emulator_process(outbox, LEADFLOW_SES_FEEDBACK_FORMAT="identity") as server:
        yield server


def published(server, count_per_address: dict[str, int]) -> list[dict]:
    """Send to each simulator address through a configuration set whose destination takes every
    type; return everything SES published for those messages."""
    server.client("ses").verify_domain_identity(Domain="leadflow.example")
    ses, sns, sqs = server.client("sesv2"), server.client("sns"), server.client("sqs")
    name = f"shape-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    ses.create_configuration_set(ConfigurationSetName=name)
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=name, EventDestinationName="all",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "REJECT", "DELIVERY", "BOUNCE", "COMPLAINT"],
                          "SnsDestination": {"TopicArn": topic}},
    )
    events = []
    for local, count in count_per_address.items():
        message_id = send(ses, f"{local}@simulator.amazonses.com", name, {"lead_id": "L1", "kind": "customer"})
        events += events_for(server, queue, message_id, count)
    return events


@pytest.mark.parametrize("fmt", ["event", "identity"])
def test_every_feedback_record_has_the_documented_shape_in_both_formats(fmt, request):
    from tests.support.event_models import validate_ses_feedback

    server = request.getfixturevalue("runtime_emulator" if fmt == "event" else "identity_emulator")
    send_event = 1 if fmt == "event" else 0
    counts = {"success": 1 + send_event, "bounce": 1 + send_event, "complaint": 2 + send_event,
              "suppressionlist": 1 + send_event}
    events = published(server, {local: counts[local] for local in SIMULATED})

    checked = [validate_ses_feedback(event) for event in events]  # raises on any undocumented shape
    assert {f for f, _ in checked} == {fmt}
    assert {t for _, t in checked} == EXPECTED_TYPES[fmt]
    for event in events:
        if fmt == "event":
            assert event["mail"]["tags"]["lead_id"] == ["L1"]
        else:
            assert "tags" not in event["mail"]


def test_a_message_the_email_package_cannot_read_is_still_accepted_once(runtime_emulator, ses, feedback):
    """The local SES stored such a message and then answered 500 (building its events failed on
    a Reply-To whose encoded display name decodes to CR/LF); the app retried and sent it again."""
    topic, queue = feedback
    configuration_set = f"set-{uuid.uuid4().hex[:8]}"
    ses.create_configuration_set(ConfigurationSetName=configuration_set)
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=configuration_set, EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"],
                          "SnsDestination": {"TopicArn": topic}},
    )
    raw = (
        b"From: leadflow alerts <alerts@leadflow.example>\r\nTo: team@example.com\r\n"
        b"Reply-To: =?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGUNCg==?= <ada@example.com>\r\n"
        b"Subject: =?utf-8?b?eA0KWC1JbmplY3RlZDogeWVz?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain\r\n\r\nhello\r\n"
    )
    message_id = ses.send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": ["team@example.com"]}, Content={"Raw": {"Data": raw}},
        ConfigurationSetName=configuration_set,
    )["MessageId"]  # no ClientError: a 200 for the message it stored
    assert len(list(runtime_emulator.outbox.glob(f"*-{message_id}.eml"))) == 1
    events = events_for(runtime_emulator, queue, message_id, count=2)
    assert [e["eventType"] for e in events] == ["Send", "Delivery"]
