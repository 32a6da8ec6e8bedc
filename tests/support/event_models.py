"""What the local runtime and the local SES produce, checked against the shapes AWS
documents: the Lambda events against Powertools' parser models, the SES feedback
against models written from SES's documentation (Powertools has none for it).

SES feedback, two formats:
- configuration-set event publishing ("Contents of event data that Amazon SES
  publishes to Amazon SNS"): `eventType`, `mail.tags`;
- identity feedback notifications ("Amazon SNS notification contents for
  Amazon SES"): `notificationType`, no tags, `mail.sourceIp` and
  `mail.callerIdentity`.
Objects forbid fields the documentation does not list, so the emulator cannot
drift into a shape SES never sends.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LAMBDA_MODELS = {"dynamodb": "DynamoDBStreamModel", "sqs": "SqsModel", "sns": "SnsModel"}


def validate_lambda_event(kind: str, event: dict[str, Any]) -> BaseModel:
    """The event Lambda would hand a stream ("dynamodb"), queue ("sqs") or topic ("sns") handler."""
    from aws_lambda_powertools.utilities.parser import models

    return getattr(models, LAMBDA_MODELS[kind]).model_validate(event)  # type: ignore[no-any-return]


class _Documented(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Header(_Documented):
    name: str
    value: str


class CommonHeaders(_Documented):
    from_: list[str] = Field(alias="from")
    to: list[str] | None = None
    cc: list[str] | None = None
    bcc: list[str] | None = None
    replyTo: list[str] | None = None
    sender: list[str] | None = None
    returnPath: str | None = None
    date: str | None = None
    messageId: str
    subject: str | None = None


class _Mail(_Documented):
    timestamp: str
    messageId: str
    source: str
    sourceArn: str
    sendingAccountId: str
    destination: list[str]
    headersTruncated: bool | None = None
    headers: list[Header] | None = None
    commonHeaders: CommonHeaders | None = None


class EventMail(_Mail):
    tags: dict[str, list[str]]


class IdentityMail(_Mail):
    sourceIp: str
    callerIdentity: str


class BouncedRecipient(_Documented):
    emailAddress: str
    action: str | None = None
    status: str | None = None
    diagnosticCode: str | None = None


class Bounce(_Documented):
    bounceType: Literal["Undetermined", "Permanent", "Transient"]
    bounceSubType: str
    bouncedRecipients: list[BouncedRecipient]
    timestamp: str
    feedbackId: str
    reportingMTA: str | None = None
    remoteMtaIp: str | None = None


class ComplainedRecipient(_Documented):
    emailAddress: str


class _Complaint(_Documented):
    complainedRecipients: list[ComplainedRecipient]
    timestamp: str
    feedbackId: str
    userAgent: str | None = None
    complaintFeedbackType: str | None = None
    arrivalDate: str | None = None


class EventComplaint(_Complaint):
    complaintSubType: Literal["OnAccountSuppressionList"] | None


class Delivery(_Documented):
    timestamp: str
    processingTimeMillis: int
    recipients: list[str]
    smtpResponse: str
    reportingMTA: str
    remoteMtaIp: str | None = None


class IdentityDelivery(Delivery):
    remoteMtaIp: str


class Reject(_Documented):
    reason: str


class EventBounce(_Documented):
    eventType: Literal["Bounce"]
    mail: EventMail
    bounce: Bounce


class EventComplaintRecord(_Documented):
    eventType: Literal["Complaint"]
    mail: EventMail
    complaint: EventComplaint


class EventDelivery(_Documented):
    eventType: Literal["Delivery"]
    mail: EventMail
    delivery: Delivery


class EventSend(_Documented):
    eventType: Literal["Send"]
    mail: EventMail
    send: dict[str, Any]


class EventReject(_Documented):
    eventType: Literal["Reject"]
    mail: EventMail
    reject: Reject


class IdentityBounce(_Documented):
    notificationType: Literal["Bounce"]
    mail: IdentityMail
    bounce: Bounce


class IdentityComplaint(_Documented):
    notificationType: Literal["Complaint"]
    mail: IdentityMail
    complaint: _Complaint


class IdentityDeliveryRecord(_Documented):
    notificationType: Literal["Delivery"]
    mail: IdentityMail
    delivery: IdentityDelivery


EVENT_RECORDS: dict[str, type[_Documented]] = {
    "Bounce": EventBounce, "Complaint": EventComplaintRecord, "Delivery": EventDelivery, "Send": EventSend,
    "Reject": EventReject,
}
IDENTITY_RECORDS: dict[str, type[_Documented]] = {
    "Bounce": IdentityBounce, "Complaint": IdentityComplaint, "Delivery": IdentityDeliveryRecord,
}


def validate_ses_feedback(record: dict[str, Any]) -> tuple[str, str]:
    """Check one SES feedback record; returns (format, type): ("event" | "identity", "Bounce", ...)."""
    if "eventType" in record:
        EVENT_RECORDS[record["eventType"]].model_validate(record)
        return "event", str(record["eventType"])
    IDENTITY_RECORDS[record["notificationType"]].model_validate(record)
    return "identity", str(record["notificationType"])
