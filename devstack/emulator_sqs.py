"""SNS raw delivery of Binary message attributes to SQS, as AWS delivers them.

moto 5.2.5 bug: SNS keeps a Binary attribute's value base64-encoded (the form
its JSON envelope shows) and hands that string, not the bytes, to SQS when a
subscription delivers raw (sns/models.py, Subscription.publish). SQS's MD5 of
the message attributes then fails on every ReceiveMessage (`TypeError:
Strings must be encoded before hashing`, a 500), so the message stays in
flight for good. An SQS message's BinaryValue is bytes whichever way it
arrives (SendMessage's is already decoded), so a string here can only be
SNS's base64 and is decoded back. Remove once moto decodes it itself.
"""

from __future__ import annotations

import base64
import functools
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


def install() -> None:
    from moto.sqs.models import SQSBackend

    SQSBackend.send_message = binary_attributes_as_bytes(SQSBackend.send_message)  # type: ignore[method-assign]
