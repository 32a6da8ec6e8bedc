"""Fault injection for the local event runtime (dev-only; the soak uses it).

Set LEADFLOW_FAULTS to a JSON object of rates (0..1) and the runtime process
patches the app's seams before it starts polling:

    ses_throttle                SES SendEmail answers TooManyRequests (the message is not taken)
    ses_5xx                     SES takes the message, then answers InternalFailure (500): the
                                answer says nothing about the send, so it must not be sent again
    crash_before_send           the worker dies before it claims a send
    crash_after_send            the worker dies after SES accepted, before the ledger records it
    duplicate_stream            a stream batch is handled twice
    duplicate_sqs               a queue batch is handled twice
    enrichment_throttle         enrichment reads answer ProvisionedThroughputExceeded
    seed                        random seed (default 1)

A crash is an InjectedCrash, a BaseException: like a process dying, it is
not caught by the app's `except Exception` handlers.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

ENV_VAR = "LEADFLOW_FAULTS"


class InjectedCrash(BaseException):
    """The handler's process 'died' here."""


class Faults:
    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = rates
        self.random = random.Random(rates.get("seed", 1))
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> bool:
        if self.random.random() < float(self.rates.get(name, 0)):
            self.counts[name] = self.counts.get(name, 0) + 1
            return True
        return False


def client_error(code: str, status: int, operation: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


# A planned failure: (fault name, error code, HTTP status, whether the real call happens first).
Plan = tuple[str, str, int, bool]


class FlakyClient:
    """A boto3 client proxy whose named operations fail at the configured rates, before the
    real call (nothing happened) or after it (it happened, but the answer is an error)."""

    def __init__(self, real: Any, faults: Faults, failures: dict[str, list[Plan]]) -> None:
        self._real, self._faults, self._failures = real, faults, failures

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        plans = self._failures.get(name)
        if not plans:
            return attribute

        def call(**kwargs: Any) -> Any:
            for fault, code, status, after in plans:
                if not after and self._faults.hit(fault):
                    raise client_error(code, status, name)
            result = attribute(**kwargs)
            for fault, code, status, after in plans:
                if after and self._faults.hit(fault):
                    raise client_error(code, status, name)
            return result

        return call


def _twice(faults: Faults, fault: str, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def handle(event: Any) -> Any:
        result = handler(event)
        if faults.hit(fault):
            result = handler(event)  # the same batch delivered again
        return result

    return handle


def _crash_first(faults: Faults, fault: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if faults.hit(fault):
            raise InjectedCrash(fault)
        return function(*args, **kwargs)

    return wrapped


def install(rates: dict[str, float]) -> Faults:
    from chalicelib.core import aws
    from chalicelib.pipeline import lead_stream, notifications
    from chalicelib.store import ledger

    faults = Faults(rates)
    real_sesv2, real_enrichment = aws.sesv2, aws.enrichment_dynamodb
    ses_plan: dict[str, list[Plan]] = {
        "send_email": [("ses_throttle", "TooManyRequestsException", 429, False),
                       ("ses_5xx", "InternalFailure", 500, True)],
    }
    throttle: list[Plan] = [("enrichment_throttle", "ProvisionedThroughputExceededException", 400, False)]
    enrichment_plan = {"query": throttle, "get_item": throttle}
    aws.sesv2 = lambda: FlakyClient(real_sesv2(), faults, ses_plan)
    aws.enrichment_dynamodb = lambda: FlakyClient(real_enrichment(), faults, enrichment_plan)
    ledger.claim = _crash_first(faults, "crash_before_send", ledger.claim)
    ledger.mark_sent = _crash_first(faults, "crash_after_send", ledger.mark_sent)
    lead_stream.handle_stream_batch = _twice(faults, "duplicate_stream", lead_stream.handle_stream_batch)  # type: ignore[assignment]
    notifications.handle_batch = _twice(faults, "duplicate_sqs", notifications.handle_batch)  # type: ignore[assignment]
    return faults


def install_from_environment() -> Faults | None:
    raw = os.environ.get(ENV_VAR, "").strip()
    return install(json.loads(raw)) if raw else None
