"""SQS event source mapping: long-poll, batch, invoke, delete what succeeded.

Failed messages are simply not deleted: they become visible again when the
queue's visibility timeout ends, and the queue's own redrive policy moves
them to its dead-letter queue after maxReceiveCount receives (the emulator
applies redrive on receive, as SQS does). Messages a FilterCriteria pattern
rejects are deleted without an invocation, as Lambda does for SQS.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from devstack.events import clients, filtering, shapes
from devstack.events.deletes import delete_messages
from devstack.events.invoker import Function, invoke
from devstack.events.receiver import RECEIVE_WAIT_SECONDS, SQS_MAX_BATCH, Receiver
from devstack.events.settings import HandlerSettings

log = logging.getLogger("devstack.runtime")


@dataclass(frozen=True)
class QueueSource:
    function: Function
    queue_url: str
    queue_arn: str
    batch_size: int
    window_seconds: float
    settings: HandlerSettings


def queue_arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


class QueueConsumer:
    """Reads batches as the mapping would and handles them; a Receiver drives it."""

    def __init__(self, source: QueueSource, stop: threading.Event) -> None:
        self.source = source
        self.stop = stop
        self.sqs = clients.client("sqs")

    def _receive(self, limit: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_BATCH, limit),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def read_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages, gathering for up to the batching window once one arrived."""
        source = self.source
        messages = self._receive(source.batch_size, RECEIVE_WAIT_SECONDS)
        if not messages:
            return []
        deadline = time.monotonic() + source.window_seconds
        while len(messages) < source.batch_size and not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and source.batch_size <= SQS_MAX_BATCH:
                break
            wait = max(0, min(RECEIVE_WAIT_SECONDS, math.ceil(remaining)))
            more = self._receive(source.batch_size - len(messages), wait)
            if not more and remaining <= 0:
                break
            messages.extend(more)
        return messages

    def read(self, free: int) -> list[list[dict[str, Any]]]:
        batch = self.read_batch()
        return [batch] if batch else []

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        handles = [m["ReceiptHandle"] for m in messages]
        delete_messages(self.sqs, self.source.queue_url, handles, self.source.function.name)

    def process(self, messages: list[dict[str, Any]]) -> None:
        source = self.source
        region = clients.region()
        records = [shapes.sqs_record(m, source.queue_arn, region) for m in messages]
        by_id = {m["MessageId"]: m for m in messages}
        wanted = [r for r in records if filtering.passes(filtering.sqs_filterable(r), source.settings.filters)]
        rejected = [by_id[r["messageId"]] for r in records if r not in wanted]
        if rejected:
            self._delete(rejected)
        if not wanted:
            return
        outcome = invoke(
            source.function,
            {"Records": wanted},
            source="sqs",
            batch_size=len(wanted),
            report_failures=source.settings.report_batch_item_failures,
            valid_ids={r["messageId"] for r in wanted},
        )
        if outcome.kind == "error":
            return  # every message becomes visible again after the visibility timeout
        failed = set(outcome.failed_ids)
        self._delete([by_id[r["messageId"]] for r in wanted if r["messageId"] not in failed])


def queue_receiver(source: QueueSource, workers: int, stop: threading.Event) -> Receiver:
    """Lambda runs several batches of one queue at once; each batch is one invocation."""
    consumer = QueueConsumer(source, stop)
    log.info("polling queue handler=%s queue=%s workers=%d", source.function.name, source.queue_arn, workers)
    return Receiver(f"sqs-{source.function.name}", consumer.sqs, source.queue_url, consumer.read,
                    consumer.process, workers, stop)
