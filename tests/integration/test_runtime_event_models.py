"""The models the runtime's events are checked against reject what AWS would never send
(so the checks in tests/runtime/conftest.py and test_ses_outbox.py can fail)."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from devstack.events import shapes
from tests.support import ses_events
from tests.support.event_models import validate_lambda_event, validate_ses_feedback

STREAM_RECORD = {
    "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "awsRegion": "us-east-1",
    "dynamodb": {"ApproximateCreationDateTime": 1700000000, "Keys": {"id": {"S": "a"}},
                 "NewImage": {"id": {"S": "a"}, "blob": {"B": b"\x00"}}, "SequenceNumber": "100",
                 "SizeBytes": 12, "StreamViewType": "NEW_IMAGE"},
}
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
SQS_MESSAGE = {"MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
               "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000", "SenderId": "A",
                              "ApproximateFirstReceiveTimestamp": "1700000000001"}}
SNS_ENVELOPE = {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                "Message": "hi", "Timestamp": "2024-01-01T00:00:00.000Z", "SignatureVersion": "1",
                "Signature": "s", "SigningCertURL": "https://example.com/c.pem",
                "UnsubscribeURL": "https://example.com/u"}


def events() -> dict[str, dict]:
    return {
        "dynamodb": {"Records": [shapes.dynamodb_record(STREAM_RECORD, STREAM_ARN)]},
        "sqs": {"Records": [shapes.sqs_record(SQS_MESSAGE, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")]},
        "sns": {"Records": [shapes.sns_record(SNS_ENVELOPE, "arn:aws:sns:us-east-1:123456789012:t:s")]},
    }


@pytest.mark.parametrize("kind", ["dynamodb", "sqs", "sns"])
def test_the_runtimes_shapes_pass_powertools_models(kind):
    validate_lambda_event(kind, events()[kind])


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("dynamodb", ("eventSource",), "aws:kinesis"),
        ("dynamodb", ("dynamodb", "StreamViewType"), "EVERYTHING"),
        ("sqs", ("md5OfBody",), None),
        ("sqs", ("attributes", "SentTimestamp"), None),
        ("sns", ("Sns", "Type"), "SubscriptionConfirmation"),
        ("sns", ("Sns", "TopicArn"), None),
    ],
)
def test_a_shape_lambda_would_not_send_is_rejected(kind, path, value):
    event = copy.deepcopy(events()[kind])
    node = event["Records"][0]
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    with pytest.raises(ValidationError):
        validate_lambda_event(kind, event)


def test_ses_feedback_models_accept_the_documented_examples_and_reject_a_mixed_format():
    for fmt in ses_events.FORMATS:
        for record in (ses_events.delivery(fmt, "m", ["a@example.com"]), ses_events.bounce(fmt, "m", ["a@example.com"]),
                       ses_events.complaint(fmt, "m", ["a@example.com"])):
            assert validate_ses_feedback(record)[0] == fmt
    mixed = ses_events.delivery(ses_events.IDENTITY, "m", ["a@example.com"])
    mixed["mail"]["tags"] = {"lead_id": ["L1"]}  # identity notifications carry no tags
    with pytest.raises(ValidationError):
        validate_ses_feedback(mixed)
    untagged = ses_events.bounce(ses_events.EVENT_PUBLISHING, "m", ["a@example.com"])
    del untagged["mail"]["tags"]
    with pytest.raises(ValidationError):
        validate_ses_feedback(untagged)
