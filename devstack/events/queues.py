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

from botocore.exceptions import BotoCoreError, ClientError

from devstack.events import clients, filtering, shapes
from devstack.events.invoker import Function, busy, invoke
from devstack.events.settings import HandlerSettings

log = logging.getLogger("devstack.runtime")

SQS_MAX_RECEIVE = 10


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


class QueuePoller:
    def __init__(self, source: QueueSource, stop: threading.Event) -> None:
        self.source = source
        self.stop = stop
        self.sqs = clients.client("sqs")

    def _receive(self, limit: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_RECEIVE, limit),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def read_batch(self) -> list[dict[str, Any]]:
        source = self.source
        messages = self._receive(source.batch_size, clients.LONG_POLL_SECONDS)
        if not messages:
            return []
        deadline = time.monotonic() + source.window_seconds
        while len(messages) < source.batch_size and not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and source.batch_size <= SQS_MAX_RECEIVE:
                break
            more = self._receive(source.batch_size - len(messages), max(0, min(20, math.ceil(remaining))))
            if not more and remaining <= 0:
                break
            messages.extend(more)
        return messages

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            chunk = messages[start:start + SQS_MAX_RECEIVE]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                log.error("delete failed handler=%s code=%s", self.source.function.name, failure.get("Code"))

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

    def run(self) -> None:
        log.info("polling queue handler=%s queue=%s", self.source.function.name, self.source.queue_arn)
        backoff = 1.0
        while not self.stop.is_set():
            try:
                messages = self.read_batch()
                if messages and not self.stop.is_set():
                    with busy():
                        self.process(messages)
                backoff = 1.0
            except (BotoCoreError, ClientError) as exc:
                log.error("queue poll failed handler=%s: %s", self.source.function.name, exc)
                self.stop.wait(backoff)
                backoff = min(10.0, backoff * 2)
