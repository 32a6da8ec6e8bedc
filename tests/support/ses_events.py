"""SES feedback records in the shapes AWS documents.

Two formats reach the SesFeedback topic:
- configuration-set event publishing ("Examples of event data that Amazon SES
  publishes to Amazon SNS", docs.aws.amazon.com/ses/latest/dg/
  event-publishing-retrieving-sns-examples.html): `eventType`, `mail.tags`;
- identity feedback notifications ("Amazon SNS notification examples for
  Amazon SES", docs.aws.amazon.com/ses/latest/dg/notification-examples.html):
  `notificationType`, no tags, `remoteMtaIp`/`sourceIp`/`callerIdentity`.
The builders below follow those examples field for field, with the message
id, recipients and tags as parameters.
"""

from __future__ import annotations

import json
from typing import Any

EVENT_PUBLISHING = "event"
IDENTITY = "identity"
FORMATS = (EVENT_PUBLISHING, IDENTITY)
SENDER = "Sender Name <sender@example.com>"


def _mail(fmt: str, message_id: str, recipients: list[str], tags: dict[str, str] | None) -> dict[str, Any]:
    mail: dict[str, Any] = {
        "timestamp": "2017-08-05T00:40:02.012Z",
        "source": SENDER,
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": list(recipients),
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": SENDER},
            {"name": "To", "value": ", ".join(recipients)},
            {"name": "Subject", "value": "Message sent from Amazon SES"},
            {"name": "MIME-Version", "value": "1.0"},
            {
                "name": "Content-Type",
                "value": 'multipart/alternative; boundary="----=_Part_7307378_1629847660.1516840721503"',
            },
        ],
        "commonHeaders": {
            "from": [SENDER],
            "to": list(recipients),
            "messageId": message_id,
            "subject": "Message sent from Amazon SES",
        },
    }
    if fmt == EVENT_PUBLISHING:
        mail["tags"] = {
            "ses:configuration-set": ["leadflow-local"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["ses_user"],
            **{name: [value] for name, value in (tags or {}).items()},
        }
    else:
        mail["sourceIp"] = "127.0.3.0"
        mail["callerIdentity"] = "IAM_user_or_role_name"
    return mail


def _type_key(fmt: str) -> str:
    return "eventType" if fmt == EVENT_PUBLISHING else "notificationType"


def delivery(fmt: str, message_id: str, recipients: list[str], tags: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timestamp": "2017-08-05T00:41:02.669Z",
        "processingTimeMillis": 11893,
        "recipients": list(recipients),
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "mta.example.com",
    }
    if fmt == IDENTITY:
        body["remoteMtaIp"] = "127.0.2.0"
    return {_type_key(fmt): "Delivery", "mail": _mail(fmt, message_id, recipients, tags), "delivery": body}


def bounce(
    fmt: str,
    message_id: str,
    recipients: list[str],
    tags: dict[str, str] | None = None,
    bounce_type: str = "Permanent",
    sub_type: str = "General",
    with_dsn: bool = True,
) -> dict[str, Any]:
    if with_dsn:
        bounced = [
            {
                "emailAddress": r,
                "action": "failed",
                "status": "5.1.1" if bounce_type == "Permanent" else "4.2.2",
                "diagnosticCode": f"smtp; 550 5.1.1 <{r}>... User unknown",
            }
            for r in recipients
        ]
    else:  # "Bounce notification without a DSN"
        bounced = [{"emailAddress": r} for r in recipients]
    body: dict[str, Any] = {
        "bounceType": bounce_type,
        "bounceSubType": sub_type,
        "bouncedRecipients": bounced,
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    }
    if with_dsn:
        body["reportingMTA"] = "dsn; mta.example.com"
    if fmt == IDENTITY and with_dsn:
        body["remoteMtaIp"] = "127.0.2.0"
    return {_type_key(fmt): "Bounce", "bounce": body, "mail": _mail(fmt, message_id, recipients, tags)}


def complaint(
    fmt: str,
    message_id: str,
    recipients: list[str],
    tags: dict[str, str] | None = None,
    feedback_type: str | None = "abuse",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainedRecipients": [{"emailAddress": r} for r in recipients],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    }
    if feedback_type is not None:  # "Complaint notification without a feedback report" has none
        body.update(
            {
                "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
                "complaintFeedbackType": feedback_type,
                "arrivalDate": "2017-08-05T00:41:02.669Z",
            }
        )
    if fmt == EVENT_PUBLISHING:
        body["complaintSubType"] = None
    return {_type_key(fmt): "Complaint", "complaint": body, "mail": _mail(fmt, message_id, recipients, tags)}


def sns_envelope(record: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    """The Lambda event SNS hands a subscribed function."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": json.dumps(record),
                    "Timestamp": "2017-08-05T00:41:03.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }
