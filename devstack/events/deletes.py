"""Deleting handled messages from a queue the runtime reads: ten to a DeleteMessageBatch.

SNS invokes a subscribed Lambda function directly; there is nothing to delete.
The local runtime reads each topic through a tap queue (devstack/events/topics.py),
and deleting every handled notification on its own cost one more AWS call per
notification than Lambda makes: two per lead, a tenth of all the calls of a
burst. DeferredDeletes collects the receipt handles of handled messages and
deletes them ten at a time, or what has gathered after LINGER_SECONDS.

What a deferred delete risks is what a failed delete risks now: the message
becomes visible again after the tap queue's visibility timeout and its
handler runs once more (the runtime killed before the flush). SNS delivers
at least once too, and the app's handlers are idempotent.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.events.receiver import SQS_MAX_BATCH

log = logging.getLogger("devstack.runtime")

# How long a handled message waits for others to share its delete (it stays invisible meanwhile).
LINGER_SECONDS = 0.2


def delete_messages(sqs: Any, queue_url: str, receipt_handles: list[str], name: str) -> None:
    """DeleteMessageBatch, ten handles to a call; each handle SQS refuses is logged."""
    for start in range(0, len(receipt_handles), SQS_MAX_BATCH):
        chunk = receipt_handles[start:start + SQS_MAX_BATCH]
        entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
        response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            log.error("delete failed handler=%s code=%s", name, failure.get("Code"))


class DeferredDeletes:
    """`add(receipt_handle)` from any worker; `run` (a thread of its own) sends what gathered.

    A batch of ten is sent at once by the worker that completed it. Once `stop`
    is set, `run` sends what is left and ends, and each later `add` is sent at
    once: work that finishes during the runtime's stop grace is not left behind.
    """

    def __init__(self, sqs: Any, queue_url: str, name: str, stop: threading.Event,
                 linger_seconds: float = LINGER_SECONDS) -> None:
        self.sqs, self.queue_url, self.name, self.stop = sqs, queue_url, name, stop
        self.linger_seconds = linger_seconds
        self._pending: list[str] = []
        self._changed = threading.Condition()

    def add(self, receipt_handle: str) -> None:
        with self._changed:
            self._pending.append(receipt_handle)
            if len(self._pending) < SQS_MAX_BATCH and not self.stop.is_set():
                self._changed.notify()
                return
            taken, self._pending = self._pending, []
        self._send(taken)

    def run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self.stop.is_set():
                    self._changed.wait(0.5)
                if not self._pending:
                    return  # stopped, nothing left
            self.stop.wait(self.linger_seconds)  # returns at once after a stop
            with self._changed:
                taken, self._pending = self._pending, []
            self._send(taken)

    def _send(self, receipt_handles: list[str]) -> None:
        if not receipt_handles:
            return
        try:
            delete_messages(self.sqs, self.queue_url, receipt_handles, self.name)
        except (BotoCoreError, ClientError) as exc:
            # Not deleted: they come back after the visibility timeout, and are handled again.
            log.error("delete failed handler=%s messages=%d: %s", self.name, len(receipt_handles), exc)
