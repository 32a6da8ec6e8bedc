"""Deliver on-failure records to an SQS queue or SNS topic, as Lambda does."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from devstack.events import clients

log = logging.getLogger("devstack.runtime")
SEND_ATTEMPTS = 3


class Destinations:
    def __init__(self) -> None:
        self._sqs = clients.client("sqs")
        self._sns = clients.client("sns")
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _queue_url(self, arn: str) -> str:
        with self._lock:
            if arn not in self._urls:
                _, _, _, _, account, name = arn.split(":", 5)
                self._urls[arn] = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            return self._urls[arn]

    def _send_once(self, arn: str, body: str) -> None:
        if arn.startswith("arn:aws:sns:"):
            self._sns.publish(TopicArn=arn, Message=body)
        else:
            self._sqs.send_message(QueueUrl=self._queue_url(arn), MessageBody=body)

    def send(self, arn: str, record: dict[str, Any]) -> bool:
        body = json.dumps(record)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                self._send_once(arn, body)
                return True
            except Exception as exc:  # noqa: BLE001 - reported below, retried
                log.error("on-failure destination %s attempt %d failed: %s", arn, attempt, type(exc).__name__)
                time.sleep(0.2 * attempt)
        return False
