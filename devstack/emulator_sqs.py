"""SQS in the emulator: Binary attributes as AWS delivers them, and a cheaper ReceiveMessage.

1. SNS raw delivery of Binary message attributes to SQS, as AWS delivers them.

moto 5.2.5 bug: SNS keeps a Binary attribute's value base64-encoded (the form
its JSON envelope shows) and hands that string, not the bytes, to SQS when a
subscription delivers raw (sns/models.py, Subscription.publish). SQS's MD5 of
the message attributes then fails on every ReceiveMessage (`TypeError:
Strings must be encoded before hashing`, a 500), so the message stays in
flight for good. An SQS message's BinaryValue is bytes whichever way it
arrives (SendMessage's is already decoded), so a string here can only be
SNS's base64 and is decoded back. Remove once moto decodes it itself.

2. ReceiveMessage's cost per message (moto/sqs/models.py, SQSBackend.receive_message):
for every message it hands out moto asks is_message_valid_based_on_retention_period,
which builds the queue's whole attribute map (Queue.attributes) to read one value,
and that map counts the queue's visible, in-flight and delayed messages, each count a
scan asking every message the time. So one receive cost O(messages) clock reads per
message received, and the event runtime's receives were a fifth of the main
emulator's time in a burst. The check now reads the queue's retention period itself.
And moto's clock (moto/core/utils.py unix_time, unix_time_millis, as sqs/models.py
imported them) builds two datetimes per call; "now" is time.time(), the same number.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import time
from collections.abc import Callable
from typing import Any


def _decoded(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    if not attributes:
        return attributes
    fixed = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue") if isinstance(value, dict) else None
        fixed[name] = {**value, "BinaryValue": base64.b64decode(binary)} if isinstance(binary, str) else value
    return fixed


def binary_attributes_as_bytes(send_message: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send_message)
    def wrapper(self: Any, queue_name: str, message_body: str, message_attributes: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        return send_message(self, queue_name, message_body, _decoded(message_attributes), *args, **kwargs)

    return wrapper


def retained(self: Any, queue_name: str, message: Any) -> bool:
    """SQSBackend.is_message_valid_based_on_retention_period, without building the attribute map."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_period + message.sent_timestamp / 1000 > time.time())


def now_or(original: Callable[[dt.datetime | None], float], scale: float) -> Callable[[dt.datetime | None], float]:
    """moto's unix_time/unix_time_millis: time.time() (times `scale`) for "now", moto's own for a given time."""

    @functools.wraps(original)
    def clock(moment: dt.datetime | None = None) -> float:
        return time.time() * scale if moment is None else original(moment)

    return clock


def install() -> None:
    from moto.sqs import models as sqs_models

    models: Any = sqs_models
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.is_message_valid_based_on_retention_period, "_devstack", False):
        return
    SQSBackend.send_message = binary_attributes_as_bytes(SQSBackend.send_message)  # type: ignore[method-assign]
    retained._devstack = True  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]
    setattr(models, "unix_time", now_or(models.unix_time, 1.0))  # noqa: B010 - typed as moto's own function
    setattr(models, "unix_time_millis", now_or(models.unix_time_millis, 1000.0))  # noqa: B010
