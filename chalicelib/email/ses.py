"""Sending through SES (v2 SendEmail with raw content), with errors sorted into
retryable (throttling, no connection: SES did not take the message, the job
comes back later), outcome unknown (the request reached SES and no usable
answer came back: a lost answer, or a 5xx, since a server error can come
after the message was taken; it may have been sent, so it is never resent)
and permanent (the delivery is recorded `failed` and not retried)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core import aws
from chalicelib.core.settings import get_settings

# Throttling: SES refused the request before taking the message.
RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
    }
)


class SendError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class RetryableSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


class SendOutcomeUnknown(SendError):
    """The request was sent but its answer lost (a read timeout, a dropped
    connection): SES may have accepted the message, so it must not be resent."""


def classify(error: Exception) -> SendError:
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    response = getattr(error, "response", None)
    if isinstance(error, ReadTimeoutError | ConnectionClosedError):
        return SendOutcomeUnknown(type(error).__name__, str(error))
    if not response:  # the request never reached SES (no connection): safe to retry
        return RetryableSendError(type(error).__name__, str(error))
    code = str(response.get("Error", {}).get("Code", "Unknown"))
    message = str(response.get("Error", {}).get("Message", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    if status >= 500:
        return SendOutcomeUnknown(code, message)
    if code in RETRYABLE_CODES or status == 429:
        return RetryableSendError(code, message)
    return PermanentSendError(code, message)


def send_raw(raw: bytes, sender: str, recipients: Sequence[str], tags: dict[str, str]) -> str:
    """Send one raw message; return SES's message id."""
    settings = get_settings()
    try:
        response = aws.sesv2().send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": list(recipients)},
            Content={"Raw": {"Data": raw}},
            ConfigurationSetName=settings.ses_configuration_set,
            EmailTags=[{"Name": name, "Value": value} for name, value in tags.items()],
        )
    except Exception as error:
        raise classify(error) from error
    return str(response["MessageId"])


# Permanent answers that are not about the email but about our own set-up (an unverified
# sender, a missing configuration set, a paused or suspended account, missing permissions):
# the email is held and dead-lettered, to be redriven once the set-up is fixed.
CONFIGURATION_ERRORS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "NotFoundException",
        "ConfigurationSetDoesNotExist",
        "ConfigurationSetDoesNotExistException",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    }
)


def is_configuration_error(code: str) -> bool:
    return code in CONFIGURATION_ERRORS
