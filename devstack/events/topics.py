"""SNS -> Lambda subscription: each publish on the topic invokes the handler once.

The runtime subscribes its own "tap" SQS queue to the topic (standard, not
raw delivery) and long-polls it. Why a queue rather than an HTTP endpoint on
loopback: the emulator then evaluates the subscription's filter policy with
its own SNS code, the envelope (MessageId, Subject, Timestamp, attributes,
signature fields) is the one SNS builds, and publishes made while the
runtime is down or restarting wait in the queue instead of being lost.

Lambda invokes SNS subscribers asynchronously: a function error is retried
twice (MaximumRetryAttempts, default 2) with backoff, then the event goes to
the OnFailure destination if one is configured, else it is dropped. Lambda
waits about 1 and then 2 minutes; locally the waits are scaled to 1 s and
2 s (`retry_delay_seconds` times 1, 2, 4 ...), kept in the tap queue as
message visibility so they also survive a restart. Several notifications
are handled at once (Lambda invokes SNS subscribers concurrently). Handled
notifications are deleted from the tap ten to a call (devstack/events/deletes.py):
SNS itself keeps nothing to delete, so the tap costs Lambda no extra call per
notification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from devstack.events import clients, shapes
from devstack.events.deletes import DeferredDeletes
from devstack.events.destinations import Destinations
from devstack.events.invoker import Function, invoke
from devstack.events.receiver import RECEIVE_WAIT_SECONDS, SQS_MAX_BATCH, Receiver
from devstack.events.settings import ASYNC_DEFAULT_MAX_AGE, HandlerSettings

log = logging.getLogger("devstack.runtime")

TAP_VISIBILITY_MARGIN_SECONDS = 30


@dataclass(frozen=True)
class TopicSource:
    function: Function
    topic_arn: str
    settings: HandlerSettings
    app_name: str
    stage: str
    retry_delay_seconds: float = 1.0


# Every tap queue's name starts so (the soak finds them by it).
TAP_PREFIX = "devstack-sns-"


def tap_queue_name(source: TopicSource) -> str:
    """Stable per (app, stage, handler, topic), so a restart finds its backlog."""
    digest = hashlib.sha256(f"{source.app_name}|{source.stage}|{source.topic_arn}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", f"{TAP_PREFIX}{source.function.name}")[:60]
    return f"{readable}-{digest}"


class TopicSubscriber:
    def __init__(self, source: TopicSource, destinations: Destinations, stop: threading.Event) -> None:
        self.source = source
        self.destinations = destinations
        self.stop = stop
        self.sqs = clients.client("sqs")
        self.sns = clients.client("sns")
        self.queue_url = ""
        self.subscription_arn = ""
        self.deletes: DeferredDeletes | None = None

    # -- setup ---------------------------------------------------------------

    def _create_tap(self) -> str:
        name = tap_queue_name(self.source)
        try:
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except ClientError:
            visibility = self.source.function.timeout_seconds + TAP_VISIBILITY_MARGIN_SECONDS
            created = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})
            return str(created["QueueUrl"])

    def _subscription_attributes(self) -> dict[str, str]:
        policy = self.source.settings.filter_policy
        if not policy:
            return {}
        return {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": self.source.settings.filter_policy_scope}

    def _existing_subscription(self, queue_arn: str) -> str | None:
        paginator = self.sns.get_paginator("list_subscriptions_by_topic")
        for page in paginator.paginate(TopicArn=self.source.topic_arn):
            for subscription in page.get("Subscriptions", []):
                if subscription.get("Endpoint") == queue_arn and subscription.get("Protocol") == "sqs":
                    return str(subscription["SubscriptionArn"])
        return None

    def _sync_filter_policy(self, subscription_arn: str) -> None:
        wanted = self._subscription_attributes()
        current = self.sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
        if current.get("FilterPolicy", "") and not wanted:
            log.warning("tap subscription %s keeps an old filter policy; delete the tap queue to clear it",
                        subscription_arn)
        for name, value in wanted.items():
            if current.get(name) != value:
                self.sns.set_subscription_attributes(
                    SubscriptionArn=subscription_arn, AttributeName=name, AttributeValue=value
                )

    def setup(self) -> None:
        self.queue_url = self._create_tap()
        self.deletes = DeferredDeletes(self.sqs, self.queue_url, self.source.function.name, self.stop)
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        existing = self._existing_subscription(queue_arn)
        if existing:
            self._sync_filter_policy(existing)
            self.subscription_arn = existing
        else:
            self.subscription_arn = self.sns.subscribe(
                TopicArn=self.source.topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes=self._subscription_attributes(),
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        log.info("subscribed handler=%s topic=%s", self.source.function.name, self.source.topic_arn)

    # -- delivery ------------------------------------------------------------

    def _too_old(self, envelope: dict[str, Any]) -> bool:
        max_age = self.source.settings.maximum_record_age_seconds
        max_age = ASYNC_DEFAULT_MAX_AGE if max_age < 0 else max_age
        try:
            published = dt.datetime.fromisoformat(envelope["Timestamp"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return False
        return (dt.datetime.now(dt.UTC) - published).total_seconds() > max_age

    def _give_up(self, event: dict[str, Any], condition: str, attempts: int, error: dict[str, Any] | None) -> None:
        destination = self.source.settings.on_failure
        if destination:
            record = shapes.async_failure_record(
                function_arn=self.source.function.function_arn,
                condition=condition,
                invoke_count=attempts,
                event=event,
                error=error,
            )
            self.destinations.send(destination, record)
        log.warning(
            "gave up handler=%s condition=%s attempts=%d destination=%s",
            self.source.function.name, condition, attempts, "on-failure" if destination else "none (dropped)",
        )

    def _tap_deletes(self) -> DeferredDeletes:
        if self.deletes is None:
            raise RuntimeError("TopicSubscriber.setup() was not called")
        return self.deletes

    def _delete(self, message: dict[str, Any]) -> None:
        """Done with: deleted with others (devstack/events/deletes.py); SNS itself keeps nothing."""
        self._tap_deletes().add(message["ReceiptHandle"])

    def deliver(self, message: dict[str, Any]) -> None:
        envelope = json.loads(message["Body"])
        if envelope.get("Type", "Notification") != "Notification":
            self._delete(message)
            return
        event = {"Records": [shapes.sns_record(envelope, self.subscription_arn)]}
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if self._too_old(envelope):
            self._give_up(event, "EventAgeExceeded", attempt - 1, None)
            self._delete(message)
            return
        outcome = invoke(self.source.function, event, source="sns", batch_size=1)
        if outcome.ok:
            self._delete(message)
        elif attempt > self.source.settings.async_retries():
            self._give_up(event, "RetriesExhausted", attempt, outcome.error)
            self._delete(message)
        else:
            delay = round(self.source.retry_delay_seconds * 2 ** (attempt - 1))
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
            )

    def read(self, free: int) -> list[list[dict[str, Any]]]:
        """Each notification is its own invocation, as SNS invokes Lambda once per message."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_BATCH, free),
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [[message] for message in response.get("Messages", [])]

    def handle(self, unit: list[dict[str, Any]]) -> None:
        for message in unit:
            self.deliver(message)

    def receiver(self, workers: int) -> Receiver:
        return Receiver(f"sns-{self.source.function.name}", self.sqs, self.queue_url, self.read, self.handle,
                        workers, self.stop, companions=(("deletes", self._tap_deletes().run),))
